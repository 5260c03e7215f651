"""Bytes to a raw mapping plus body, with every limit enforced before the costly step.

Accepted: YAML front matter between `---` lines, TOML between `+++` lines, a JSON
object at the start of the file, and bare `.yaml`/`.yml`/`.json` mappings.
"""

import codecs
import json
import re
import tomllib
from dataclasses import dataclass
from typing import Any

import yaml

from app.ingest import commonyaml
from app.ingest.errors import DocumentError

try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML wheels ship libyaml
    from yaml import SafeLoader  # type: ignore[assignment]


@dataclass(frozen=True)
class Limits:
    max_document_bytes: int = 1024 * 1024
    max_depth: int = 64


@dataclass
class ParsedDocument:
    mapping: dict[str, Any]
    body: str | None
    format: str


_FOREIGN_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}
_FENCE = {"---": "yaml", "+++": "toml"}
_CLOSING = {
    "yaml": re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.M),
    "toml": re.compile(r"^\+\+\+[ \t]*$", re.M),
}
_BARE = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}


def decode(data: bytes, limits: Limits) -> str:
    """UTF-8 (BOM optional) to text with LF line ends; anything else is rejected."""
    if len(data) > limits.max_document_bytes:
        raise DocumentError.single(
            f"document is {len(data)} bytes, over the limit of {limits.max_document_bytes} "
            "bytes (max_document_bytes)"
        )
    for bom, name in _FOREIGN_BOMS.items():
        if data.startswith(bom):
            raise DocumentError.single(f"document is {name}; only UTF-8 is accepted")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError.single(
            f"document is not valid UTF-8 (invalid byte at offset {exc.start}); "
            "only UTF-8, with or without BOM, is accepted"
        ) from None
    if "\x00" in text:
        raise DocumentError.single(
            "document contains NUL characters; it is not UTF-8 text (UTF-16 or UTF-32?), "
            "and only UTF-8 is accepted"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(name: str, data: bytes, limits: Limits = Limits()) -> ParsedDocument:
    """Parse one document's bytes; raise DocumentError with a clear message otherwise."""
    text = decode(data, limits)
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    first_line = text.split("\n", 1)[0].rstrip()
    fmt = _FENCE.get(first_line)
    if fmt is not None:
        closing = _CLOSING[fmt].search(text, len(first_line) + 1)
        if closing is None:
            if suffix in (".yaml", ".yml") and fmt == "yaml":
                return ParsedDocument(_load("yaml", text, limits), None, "yaml")
            raise DocumentError.single(f"front matter opened with {first_line} is never closed")
        head = text[len(first_line) + 1 : closing.start()]
        body = text[closing.end() + 1 :]
        return ParsedDocument(_load(fmt, head, limits), _body(body), fmt)
    if text.lstrip().startswith("{") and suffix not in (".yaml", ".yml"):
        return _json_front_matter(text, limits, bare=suffix == ".json")
    if suffix in _BARE:
        return ParsedDocument(_load(_BARE[suffix], text, limits), None, _BARE[suffix])
    raise DocumentError.single(
        "no front matter: a document starts with a --- (YAML) or +++ (TOML) fence, or a JSON object"
    )


def _body(body: str) -> str | None:
    body = body.strip("\n")
    return body if body.strip() else None


def _json_front_matter(text: str, limits: Limits, *, bare: bool) -> ParsedDocument:
    start = len(text) - len(text.lstrip())
    _check_bracket_depth(text, limits)
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError) as exc:
        raise DocumentError.single(f"invalid JSON: {exc}") from None
    rest = text[end:]
    if bare and rest.strip():
        raise DocumentError.single("invalid JSON: extra data after the object")
    return ParsedDocument(_json_mapping(value, limits), _body(rest), "json")


def _load(fmt: str, text: str, limits: Limits) -> dict[str, Any]:
    if fmt == "yaml":
        return load_yaml(text, limits)
    if fmt == "toml":
        _check_bracket_depth(text, limits)
        _check_toml_key_depth(text, limits)
        try:
            return _mapping(tomllib.loads(text), limits)
        except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
            raise DocumentError.single(f"invalid TOML: {exc}") from None
    _check_bracket_depth(text, limits)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DocumentError.single(f"invalid JSON: {exc}") from None
    return _json_mapping(value, limits)


def load_yaml(text: str, limits: Limits) -> dict[str, Any]:
    """YAML front matter to its mapping; the common shape is built in one pass."""
    common = commonyaml.load(text, _Loader, limits.max_depth)
    if common is not None:  # within the depth limit, free of NUL characters and aliases
        return common
    return load_yaml_fully(text, limits)


def load_yaml_fully(text: str, limits: Limits) -> dict[str, Any]:
    """PyYAML's C loader and every check: what any YAML means, or why it is rejected."""
    return _mapping(_load_yaml(text, limits), limits)


def _load_yaml(text: str, limits: Limits) -> Any:
    if _yaml_needs_event_check(text, limits):
        _check_yaml_events(text, limits)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a CSafeLoader subclass
    except yaml.constructor.ConstructorError as exc:
        raise DocumentError.single(f"unsupported YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise DocumentError.single(f"invalid YAML: {_yaml_message(exc)}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise DocumentError.single(f"invalid YAML: {exc}") from None
    except (LookupError, AttributeError):
        # PyYAML's constructors fail this way on explicitly tagged junk
        # (`!!bool maybe`, `!!int ""`, `!!timestamp foo`)
        raise DocumentError.single("invalid YAML: a tagged value does not match its tag") from None


class _Loader(SafeLoader):
    """The safe loader, with integers bounded like Python's own int() of text."""


def _construct_int(loader: SafeLoader, node: yaml.ScalarNode) -> int:
    # YAML 1.1 base-60 integers (1:59:59:...) cost quadratic time to build; hex and
    # binary ones bypass Python's 4300-digit cap. No integer needs that many characters.
    if len(node.value) > 4300:
        raise ValueError(f"integer of {len(node.value)} characters is too long (over 4300)")
    return loader.construct_yaml_int(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _yaml_message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        return f"{exc.problem or exc.context}{where}"
    return str(exc)


_LINE_INDICATORS = re.compile(r"(?:^|\s)[-?:](?=\s|$)")


def _yaml_needs_event_check(text: str, limits: Limits) -> bool:
    """Cheap upper bound on nesting and alias use; only suspicious text pays for the walk."""
    if "*" in text and "&" in text:
        return True
    flow = text.count("[") + text.count("{")
    if flow > limits.max_depth:
        return True
    block = 0
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        block = max(block, indent + len(_LINE_INDICATORS.findall(stripped)))
    return flow + 2 * block + 2 > limits.max_depth


def _check_yaml_events(text: str, limits: Limits) -> None:
    """Walk libyaml's event stream (iterative, no recursion): depth and alias expansion.

    Sizes count a byte per node besides its text, so that aliases of many empty values
    count too; only what aliases add is held against the limit, on top of the text.
    """
    depth = 0
    total = 0
    expansion = 0
    sizes: dict[str, int] = {}
    open_anchors: list[tuple[str | None, int]] = []
    try:
        for event in yaml.parse(text, Loader=SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limits.max_depth:
                    raise DocumentError.single(
                        f"nesting deeper than the limit of {limits.max_depth} levels (max_depth)"
                    )
                open_anchors.append((event.anchor, total))
                total += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                anchor, start = open_anchors.pop()
                if anchor is not None:
                    sizes[anchor] = total - start
            elif isinstance(event, yaml.ScalarEvent):
                size = len(event.value) + 1
                total += size
                if event.anchor is not None:
                    sizes[event.anchor] = size
            elif isinstance(event, yaml.AliasEvent):
                size = sizes.get(event.anchor or "", 0)
                total += size
                expansion += size
            if len(text) + expansion > limits.max_document_bytes:
                raise DocumentError.single(
                    "YAML aliases expand the document beyond the limit of "
                    f"{limits.max_document_bytes} bytes (max_document_bytes)"
                )
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own cap on flow nesting
            raise _too_deep(limits) from None
        raise DocumentError.single(f"invalid YAML: {_yaml_message(exc)}") from None


def _too_deep(limits: Limits) -> DocumentError:
    return DocumentError.single(
        f"nesting deeper than the limit of {limits.max_depth} levels (max_depth)"
    )


_TOML_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""


def _check_toml_key_depth(text: str, limits: Limits) -> None:
    """Reject over-long dotted TOML keys first: tomllib's cost grows with their square."""
    if text.count(".") <= limits.max_depth:
        return
    dotted = re.compile(
        rf"(?<![\w\"'.-]){_TOML_KEY_PART}(?:[ \t]*\.[ \t]*{_TOML_KEY_PART}){{{limits.max_depth},}}"
    )
    if dotted.search(text):
        raise _too_deep(limits)


def _check_bracket_depth(text: str, limits: Limits) -> None:
    """Reject over-deep JSON/TOML before a recursive parser sees it."""
    if text.count("[") + text.count("{") <= limits.max_depth:
        return
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limits.max_depth:
                raise DocumentError.single(
                    f"nesting deeper than the limit of {limits.max_depth} levels (max_depth)"
                )
        elif char in "]}":
            depth -= 1


def _mapping(value: Any, limits: Limits) -> dict[str, Any]:
    if not isinstance(value, dict):
        kind = "empty" if value is None else type(value).__name__
        raise DocumentError.single(f"front matter must be a mapping of keys to values, not {kind}")
    _check_depth(value, limits)
    return value


def _json_mapping(value: Any, limits: Limits) -> dict[str, Any]:
    """JSON's \\u escapes can spell unpaired surrogates, which are not text: reject them."""
    mapping = _mapping(value, limits)
    try:
        json.dumps(mapping, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise DocumentError.single(
            "invalid JSON: a \\u escape spells an unpaired surrogate (not valid Unicode)"
        ) from None
    return mapping


def _check_depth(value: Any, limits: Limits) -> None:
    """Depth, expanded size and NUL characters, in one iterative walk."""
    stack: list[tuple[Any, int, str | None]] = [(value, 1, None)]
    seen = 0
    while stack:
        node, depth, field = stack.pop()
        seen += 1
        if depth > limits.max_depth and isinstance(node, dict | list):
            raise _too_deep(limits)
        if seen > limits.max_document_bytes:
            raise DocumentError.single(
                "document expands beyond the limit of "
                f"{limits.max_document_bytes} bytes (max_document_bytes)"
            )
        if isinstance(node, dict):
            for key, child in node.items():
                name = str(key) if field is None else field
                stack.append((child, depth + 1, name))
                if isinstance(key, str):
                    stack.append((key, depth + 1, name))
        elif isinstance(node, list):
            stack.extend((child, depth + 1, field) for child in node)
        elif isinstance(node, str) and "\x00" in node:
            # Escapes (YAML "\0", JSON "\u0000") can produce NUL, which PostgreSQL
            # cannot store: refuse it the same way on every backend.
            raise DocumentError.single("must not contain a NUL character (\\0)", field)
