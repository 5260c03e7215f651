"""app.ingest.parse: bytes to a raw mapping plus body (API.md §4.1 and §4.6)."""

import codecs
import datetime as dt
from pathlib import Path

import pytest

from app.ingest.errors import DocumentError, FieldError
from app.ingest.parse import Limits, ParsedDocument, parse

MIB = 1024 * 1024

YAML_DOC = """---
title: Hello world
webUrl: https://example.com/a
quality: 57
topics:
  - AI
  - Computer Vision
---

# Heading

Some *markdown* text.
"""
EXPECTED_MAPPING = {
    "title": "Hello world",
    "webUrl": "https://example.com/a",
    "quality": 57,
    "topics": ["AI", "Computer Vision"],
}
EXPECTED_BODY = "# Heading\n\nSome *markdown* text."


def rejected(name: str, data: bytes, limits: Limits | None = None) -> str:
    """Parse must reject the document with a DocumentError; return its message."""
    with pytest.raises(DocumentError) as info:
        parse(name, data) if limits is None else parse(name, data, limits)
    error = info.value
    assert error.errors, "a DocumentError must say why"
    assert all(isinstance(e, FieldError) and e.message for e in error.errors)
    return str(error)


# --- §4.1 formats -----------------------------------------------------------------------------


def test_yaml_front_matter_and_body() -> None:
    doc = parse("a.md", YAML_DOC.encode())
    assert isinstance(doc, ParsedDocument)
    assert doc.format == "yaml"
    assert doc.mapping == EXPECTED_MAPPING
    assert doc.body == EXPECTED_BODY


def test_yaml_front_matter_closed_with_document_end_marker() -> None:
    doc = parse("a.md", b"---\ntitle: Hello\n...\nthe body\n")
    assert doc.mapping == {"title": "Hello"}
    assert doc.body == "the body"


def test_fences_may_carry_trailing_spaces() -> None:
    doc = parse("a.md", b"---  \ntitle: Hello\n---\t \nthe body\n")
    assert doc.mapping == {"title": "Hello"}
    assert doc.body == "the body"


def test_body_is_everything_after_the_first_closing_fence() -> None:
    doc = parse("a.md", b"---\ntitle: Hello\n---\nintro\n\n---\n\nafter a rule\n")
    assert doc.mapping == {"title": "Hello"}
    assert doc.body == "intro\n\n---\n\nafter a rule"


@pytest.mark.parametrize(
    "tail", ["", "\n", "\n\n  \n", "   "], ids=["nothing", "newline", "blank-lines", "spaces"]
)
def test_empty_body_is_none(tail: str) -> None:
    doc = parse("a.md", f"---\ntitle: Hello\n---{tail}".encode())
    assert doc.body is None


def test_yaml_timestamps_are_datetimes() -> None:
    doc = parse("a.md", b"---\npublishedDateTime: 2024-02-23T12:09:00Z\nday: 2024-02-23\n---\n")
    assert doc.mapping["publishedDateTime"] == dt.datetime(2024, 2, 23, 12, 9, tzinfo=dt.UTC)
    assert doc.mapping["day"] == dt.date(2024, 2, 23)


def test_toml_front_matter_and_body() -> None:
    data = b"""+++
title = "Hello world"
webUrl = "https://example.com/a"
quality = 57
topics = ["AI", "Computer Vision"]
published = 2024-02-23T12:09:00Z

[provider]
name = "Sky"
domain = "sky.com"

[[images]]
url = "https://example.com/i.png"
width = 10
+++
# Heading
"""
    doc = parse("a.md", data)
    assert doc.format == "toml"
    assert doc.mapping["title"] == "Hello world"
    assert doc.mapping["quality"] == 57
    assert doc.mapping["topics"] == ["AI", "Computer Vision"]
    assert doc.mapping["published"] == dt.datetime(2024, 2, 23, 12, 9, tzinfo=dt.UTC)
    assert doc.mapping["provider"] == {"name": "Sky", "domain": "sky.com"}
    assert doc.mapping["images"] == [{"url": "https://example.com/i.png", "width": 10}]
    assert doc.body == "# Heading"


def test_empty_toml_front_matter_is_an_empty_mapping() -> None:
    doc = parse("a.md", b"+++\n+++\nbody\n")
    assert doc.mapping == {}
    assert doc.body == "body"


def test_json_front_matter_and_body() -> None:
    data = b'{"title": "Hello world", "webUrl": "https://example.com/a", "quality": 57,\n'
    data += b' "topics": ["AI", "Computer Vision"]}\n\n# Heading\n\nSome *markdown* text.\n'
    doc = parse("a.md", data)
    assert doc.format == "json"
    assert doc.mapping == EXPECTED_MAPPING
    assert doc.body == EXPECTED_BODY


def test_json_front_matter_may_follow_blank_lines() -> None:
    doc = parse("a.md", b'\n  \n{"title": "Hello"}')
    assert doc.format == "json"
    assert doc.mapping == {"title": "Hello"}
    assert doc.body is None


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("a.yaml", b"title: Hello world\nwebUrl: https://example.com/a\n", "yaml"),
        (
            "a.yml",
            b"# a comment first\ntitle: Hello world\nwebUrl: https://example.com/a\n",
            "yaml",
        ),
        ("A.YAML", b"title: Hello world\nwebUrl: https://example.com/a\n", "yaml"),
        ("a.yaml", b"---\ntitle: Hello world\nwebUrl: https://example.com/a\n", "yaml"),
        ("a.yaml", b"{title: Hello world, webUrl: 'https://example.com/a'}\n", "yaml"),
        ("a.json", b'{"title": "Hello world", "webUrl": "https://example.com/a"}\n', "json"),
        ("dir/a.JSON", b'  {"title": "Hello world", "webUrl": "https://example.com/a"}', "json"),
    ],
    ids=["yaml", "yml-comment", "upper-suffix", "yaml-doc-start", "yaml-flow", "json", "json-ws"],
)
def test_bare_files_hold_just_the_mapping(name: str, data: bytes, fmt: str) -> None:
    doc = parse(name, data)
    assert doc.format == fmt
    assert doc.mapping == {"title": "Hello world", "webUrl": "https://example.com/a"}
    assert doc.body is None


def test_bare_json_rejects_trailing_data() -> None:
    assert "invalid JSON" in rejected("a.json", b'{"title": "Hello"}\nnot json')


def test_bare_yaml_with_several_documents_is_rejected() -> None:
    message = rejected("a.yaml", b"title: One\n---\ntitle: Two\n")
    assert "invalid YAML" in message
    assert "document" in message


def test_fenced_yaml_file_keeps_the_rest_as_body() -> None:
    # a .yaml file that opens with a fence is a front-matter document (§4.1)
    doc = parse("a.yaml", b"---\ntitle: One\n---\nsome text\n")
    assert doc.mapping == {"title": "One"}
    assert doc.body == "some text"


# --- encodings and line ends ------------------------------------------------------------------


def test_utf8_bom_is_accepted() -> None:
    plain = parse("a.md", YAML_DOC.encode())
    with_bom = parse("a.md", codecs.BOM_UTF8 + YAML_DOC.encode())
    assert with_bom == plain


def test_crlf_is_accepted() -> None:
    plain = parse("a.md", YAML_DOC.encode())
    crlf = parse("a.md", YAML_DOC.replace("\n", "\r\n").encode())
    assert crlf == plain
    assert "\r" not in (crlf.body or "")


def test_bom_and_crlf_together_in_every_format() -> None:
    for name, text in [
        ("a.md", YAML_DOC),
        ("a.md", '+++\ntitle = "Hello"\n+++\nbody\n'),
        ("a.md", '{"title": "Hello"}\nbody\n'),
        ("a.yaml", "title: Hello\n"),
        ("a.json", '{"title": "Hello"}\n'),
    ]:
        expected = parse(name, text.encode())
        assert parse(name, codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode()) == expected


def test_non_ascii_utf8_text() -> None:
    doc = parse("a.md", "---\ntitle: Économie — café ☕ 😀\n---\nnaïve body\n".encode())
    assert doc.mapping["title"] == "Économie — café ☕ 😀"
    assert doc.body == "naïve body"


@pytest.mark.parametrize(
    "encoding",
    ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "latin-1", "cp1252"],
)
def test_other_encodings_are_rejected_naming_utf8(encoding: str) -> None:
    text = "---\ntitle: Café crème\nwebUrl: https://example.com/a\n---\nbody\n"
    message = rejected("a.md", text.encode(encoding))
    assert "UTF-8" in message


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_ascii_text_in_wide_encodings_without_bom_is_rejected_naming_utf8(encoding: str) -> None:
    # every other byte is NUL: decodes as UTF-8, but is not UTF-8 text
    text = "---\ntitle: Plain ASCII\nwebUrl: https://example.com/a\n---\nbody\n"
    assert "UTF-8" in rejected("a.md", text.encode(encoding))


def test_utf16_with_bom_names_the_encoding() -> None:
    assert "UTF-16" in rejected("a.md", "---\ntitle: x\n---\n".encode("utf-16"))
    assert "UTF-32" in rejected("a.md", "---\ntitle: x\n---\n".encode("utf-32"))


# --- structural rejections --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"---\ntitle: Hello\nbody\n", b"---\ntitle: Hello\n", b'+++\ntitle = "Hello"\nbody\n'],
    ids=["yaml-with-body", "yaml-only", "toml"],
)
def test_missing_closing_fence(data: bytes) -> None:
    assert "never closed" in rejected("a.md", data)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.md", b"# Just markdown\n\nNo front matter here.\n"),
        ("a.md", b""),
        ("a.md", b"   \n\n"),
        ("a.md", b"[1, 2, 3]\n"),
        ("a.md", b"%YAML 1.2\n---\ntitle: x\n"),
        ("a.txt", b"title: Hello\n"),
        ("README", b"title: Hello\n"),
        ("a.md", b"title: Hello\n"),
    ],
    ids=[
        "markdown",
        "empty",
        "blank",
        "json-array",
        "yaml-directive",
        "txt",
        "no-suffix",
        "md-bare",
    ],
)
def test_no_front_matter(name: str, data: bytes) -> None:
    assert "no front matter" in rejected(name, data)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.md", b"---\n- a\n- b\n---\n"),
        ("a.md", b"---\njust a string\n---\n"),
        ("a.md", b"---\n42\n---\n"),
        ("a.md", b"---\n---\nbody\n"),
        ("a.md", b"---\n# only a comment\n---\nbody\n"),
        ("a.yaml", b"- a\n- b\n"),
        ("a.yaml", b""),
        ("a.json", b"[1, 2]"),
        ("a.json", b'"text"'),
        ("a.json", b"null"),
    ],
    ids=[
        "yaml-list", "yaml-string", "yaml-int", "yaml-empty", "yaml-comment-only",
        "bare-yaml-list", "bare-yaml-empty", "bare-json-array", "bare-json-string", "json-null",
    ],
)  # fmt: skip
def test_front_matter_must_be_a_mapping(name: str, data: bytes) -> None:
    assert "must be a mapping" in rejected(name, data)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("a.md", b"---\ntitle: [unclosed\n---\n", "invalid YAML"),
        ("a.md", b"---\ntitle: a\n  bad: indent\n---\n", "invalid YAML"),
        ("a.md", b"---\nx: *undefined\n---\n", "invalid YAML"),
        ("a.md", b"---\nx: 2024-13-45\n---\n", "invalid YAML"),
        ("a.md", b"+++\ntitle = \n+++\n", "invalid TOML"),
        ("a.md", b'+++\ntitle = "a"\ntitle = "b"\n+++\n', "invalid TOML"),
        ("a.md", b'{"title": }\nbody', "invalid JSON"),
        ("a.json", b'{"title": ', "invalid JSON"),
        ("a.md", b'{"title": "\\ud800"}', "surrogate"),
        ("a.json", b'{"x\\udc00": 1}', "surrogate"),
        ("a.md", b"---\nx: !!timestamp foo\n---\n", "invalid YAML"),
        ("a.md", b"---\nx: !!timestamp '2024-01-01 00:00:00-00:16:08'\n---\n", "invalid YAML"),
        ("a.md", b"---\nx: !!bool maybe\n---\n", "invalid YAML"),
        ("a.md", b"---\nx: !!int ''\n---\n", "invalid YAML"),
        ("a.md", b"---\nx: !!int '-'\n---\n", "invalid YAML"),
        ("a.md", b"---\nx: !!float ''\n---\n", "invalid YAML"),
        ("a.md", b"---\nx: !!int 0o9\n---\n", "invalid YAML"),
        ("a.md", b"---\nx: !!set [1]\n---\n", "YAML"),
    ],
    ids=[
        "yaml-flow", "yaml-indent", "yaml-alias", "yaml-bad-date", "toml-value", "toml-dup-key",
        "json-value", "json-truncated", "json-lone-surrogate", "json-surrogate-key",
        "tagged-timestamp-word", "tagged-timestamp-second-offset", "tagged-bool",
        "tagged-int-empty", "tagged-int-sign", "tagged-float-empty", "tagged-int-octal",
        "tagged-set-sequence",
    ],
)  # fmt: skip
def test_syntax_errors_are_document_errors(name: str, data: bytes, expected: str) -> None:
    assert expected in rejected(name, data)


def test_json_surrogate_pairs_are_fine() -> None:
    doc = parse("a.json", b'{"title": "smile \\ud83d\\ude00"}')
    assert doc.mapping["title"] == "smile \U0001f600"


def test_unhashable_yaml_key_is_rejected() -> None:
    assert "YAML" in rejected("a.md", b"---\n? [a, b]\n: 1\n---\n")


# --- safe YAML --------------------------------------------------------------------------------


def test_standard_yaml_tags_are_loaded_safely() -> None:
    doc = parse("a.md", b"---\nb: !!binary aGVsbG8=\ns: !!set {a, b}\nf: !!float 1\n---\n")
    assert doc.mapping == {"b": b"hello", "s": {"a", "b"}, "f": 1.0}


def test_merge_keys_and_small_aliases_work() -> None:
    doc = parse(
        "a.md", b"---\nbase: &b {k: 1}\nother:\n  <<: *b\n  j: 2\nlist: &l [1]\nx: *l\n---\n"
    )
    assert doc.mapping["other"] == {"k": 1, "j": 2}
    assert doc.mapping["x"] == [1]


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:os.system ['touch {marker}']",
        "!!python/object/apply:subprocess.check_output [['touch', '{marker}']]",
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/object:collections.OrderedDict {{}}",
        "!!python/tuple [1, 2]",
        "!!python/unicode 'x'",
        "!!python/bytes aGVsbG8=",
        "!<tag:yaml.org,2002:python/object/apply:os.system> ['touch {marker}']",
        "!custom 1",
    ],
    ids=[
        "object-apply", "object-new", "subprocess", "name", "module", "object", "tuple",
        "unicode", "bytes", "verbatim-tag", "local-tag",
    ],
)  # fmt: skip
def test_language_specific_tags_are_rejected_and_never_run(payload: str, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    for name, text in [
        ("a.md", f"---\ntitle: x\nevil: {payload.format(marker=marker)}\n---\n"),
        ("a.yaml", f"title: x\nevil: {payload.format(marker=marker)}\n"),
        ("a.md", f"---\n{payload.format(marker=marker)}\n---\n"),
    ]:
        message = rejected(name, text.encode())
        assert "YAML" in message
    assert not marker.exists()


# --- limits (§4.6) ----------------------------------------------------------------------------


def _laughs_flow(levels: int, width: int) -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _laughs_block(levels: int, width: int) -> str:
    lines = ["a0: &a0 lol"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i}")
        lines.extend(f"  - *a{i - 1}" for _ in range(width))
    return "\n".join(lines) + "\n"


def _laughs_mapping(levels: int, width: int) -> str:
    lines = ["a0: &a0 {lol: lol}"]
    for i in range(1, levels + 1):
        keys = ", ".join(f"k{j}: *a{i - 1}" for j in range(width))
        lines.append(f"a{i}: &a{i} {{{keys}}}")
    return "\n".join(lines) + "\n"


def _laughs_merge(levels: int, width: int) -> str:
    lines = ["a0: &a0 {lol: lol}"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i}")
        lines.append("  <<: [" + ", ".join([f"*a{i - 1}"] * width) + "]")
        lines.append(f"  k{i}: [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _fenced(text: str) -> bytes:
    return f"---\ntitle: bomb\n{text}---\n".encode()


def _deep_block_mapping(depth: int) -> str:
    return "".join(" " * i + f"k{i}:\n" for i in range(depth)) + " " * depth + "leaf\n"


def _deep_block_sequence(depth: int) -> str:
    return "".join(" " * i + "-\n" for i in range(depth)) + " " * depth + "leaf\n"


DEPTH = "max_depth"
SIZE = "max_document_bytes"

HOSTILE = [
    # YAML alias expansion ("billion laughs")
    pytest.param("a.md", _fenced(_laughs_flow(9, 9)), SIZE, id="laughs-flow-9x9"),
    pytest.param("a.md", _fenced(_laughs_flow(10, 10)), SIZE, id="laughs-flow-10x10"),
    pytest.param("a.md", _fenced(_laughs_block(9, 9)), SIZE, id="laughs-block-9x9"),
    pytest.param("a.yaml", _laughs_flow(9, 10).encode(), SIZE, id="laughs-bare-yaml"),
    pytest.param("a.md", _fenced(_laughs_mapping(9, 9)), SIZE, id="laughs-mappings"),
    pytest.param("a.md", _fenced(_laughs_merge(9, 9)), SIZE, id="laughs-merge-keys"),
    pytest.param("a.md", _fenced(_laughs_flow(7, 10)), SIZE, id="laughs-just-over-1mib"),
    # nesting depth
    pytest.param("a.md", _fenced("k: " + "[" * 100 + "]" * 100 + "\n"), DEPTH, id="yaml-flow-100"),
    pytest.param("a.md", _fenced("k: " + "[" * 100_000 + "\n"), DEPTH, id="yaml-flow-100k-open"),
    pytest.param(
        "a.md", _fenced("k: " + "[" * 50_000 + "]" * 50_000 + "\n"), DEPTH, id="yaml-flow-50k"
    ),
    pytest.param(
        "a.md",
        _fenced("k: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n"),
        DEPTH,
        id="yaml-flow-mapping-10k",
    ),  # fmt: skip
    pytest.param("a.md", _fenced(_deep_block_mapping(100)), DEPTH, id="yaml-block-mapping"),
    pytest.param("a.md", _fenced(_deep_block_mapping(1_300)), DEPTH, id="yaml-block-mapping-1300"),
    pytest.param("a.yaml", _deep_block_sequence(1_300).encode(), DEPTH, id="yaml-block-sequence"),
    pytest.param("a.md", _fenced("k:\n" + "- " * 100 + "x\n"), DEPTH, id="yaml-compact-100"),
    pytest.param("a.yaml", ("- " * 200_000 + "x\n").encode(), DEPTH, id="yaml-compact-200k"),
    pytest.param("a.md", _fenced("k:\n  - " + "[{a: " * 5_000 + "\n"), DEPTH, id="yaml-mixed"),
    pytest.param("a.md", _fenced("k: &a [*a]\n"), DEPTH, id="yaml-recursive-alias"),
    pytest.param("a.json", ("[" * 100 + "]" * 100).encode(), DEPTH, id="json-bare-array-100"),
    pytest.param(
        "a.md", ('{"a":' + "[" * 200_000 + "]" * 200_000 + "}").encode(), DEPTH, id="json-200k"
    ),
    pytest.param(
        "a.json", ('{"a":' * 100_000 + "1" + "}" * 100_000).encode(), DEPTH, id="json-objects"
    ),
    pytest.param("a.md", ('{"a":' + "[" * 100_000).encode(), DEPTH, id="json-unclosed"),
    pytest.param(
        "a.md",
        ("+++\na = " + "[" * 100_000 + "]" * 100_000 + "\n+++\n").encode(),
        DEPTH,
        id="toml-arrays",
    ),  # fmt: skip
    pytest.param(
        "a.md",
        ("+++\na = " + "{b = " * 10_000 + "1" + "}" * 10_000 + "\n+++\n").encode(),
        DEPTH,
        id="toml-inline-tables",
    ),  # fmt: skip
    pytest.param(
        "a.md",
        ("+++\n[" + ".".join(["a"] * 100_000) + "]\nx = 1\n+++\n").encode(),
        DEPTH,
        id="toml-table-header",
    ),  # fmt: skip
    pytest.param(
        "a.md",
        ("+++\n" + ".".join(["a"] * 100_000) + " = 1\n+++\n").encode(),
        DEPTH,
        id="toml-dotted-key",
    ),  # fmt: skip
    pytest.param(
        "a.md",
        ("+++\nx = {" + " . ".join(['"q"'] * 50_000) + " = 1}\n+++\n").encode(),
        DEPTH,
        id="toml-quoted-dotted-key-inline",
    ),  # fmt: skip
    # python tags
    pytest.param(
        "a.md",
        b"---\nx: !!python/object/apply:os.system ['true']\n---\n",
        "YAML",
        id="python-object-apply",
    ),  # fmt: skip
    pytest.param("a.md", b"---\nx: !!python/name:os.system\n---\n", "YAML", id="python-name"),
    pytest.param(
        "a.yaml", b"!!python/object/new:os.system [true]\n", "YAML", id="python-object-new-bare"
    ),
    # size, bytes, numbers
    pytest.param("a.md", b"---\ntitle: x\n---\n" + b"a" * MIB, SIZE, id="oversized-body"),
    pytest.param("a.yaml", b"title: " + b"x" * (2 * MIB), SIZE, id="oversized-bare"),
    pytest.param("a.md", b"---\ntitle: x\x00y\n---\n", "NUL", id="nul-in-front-matter"),
    pytest.param("a.md", b"---\ntitle: x\n---\nbody\x00\n", "NUL", id="nul-in-body"),
    pytest.param("a.md", b"\x00" * 1000, "NUL", id="all-nul"),
    pytest.param("a.md", b"---\nquality: " + b"9" * 5000 + b"\n---\n", "YAML", id="yaml-huge-int"),
    pytest.param("a.md", b'{"quality": ' + b"9" * 5000 + b"}", "JSON", id="json-huge-int"),
    pytest.param("a.json", b'{"quality": -' + b"9" * 5000 + b"}", "JSON", id="json-huge-neg"),
    pytest.param("a.md", b"+++\nquality = " + b"9" * 5000 + b"\n+++\n", "TOML", id="toml-huge-int"),
    pytest.param("a.md", b"---\nq: 0x" + b"f" * 5000 + b"\n---\n", "YAML", id="yaml-huge-hex"),
    pytest.param("a.md", b"---\nq: 0b" + b"1" * 20_000 + b"\n---\n", "YAML", id="yaml-huge-bin"),
    pytest.param(
        "a.md", b"---\nq: 1" + b":59" * 340_000 + b"\n---\n", "YAML", id="yaml-base60-int-1mib"
    ),
    pytest.param(
        "a.md", b"---\nq: 1" + b":59" * 5_000 + b".5\n---\n", "YAML", id="yaml-base60-float"
    ),
    # malformed bytes
    pytest.param("a.md", b"---\ntitle: \xff\xfe\xfd\n---\n", "UTF-8", id="invalid-utf8"),
    pytest.param("a.md", b"---\ntitle: \xed\xa0\x80\n---\n", "UTF-8", id="utf8-surrogate"),
    pytest.param("a.md", b"---\ntitle: \xc0\xaf\n---\n", "UTF-8", id="overlong-utf8"),
]


@pytest.mark.parametrize(("name", "data", "expected"), HOSTILE)
def test_hostile_input_is_a_clean_document_error(name: str, data: bytes, expected: str) -> None:
    assert expected in rejected(name, data)


def test_document_limit_is_inclusive_and_configurable() -> None:
    head = b"---\ntitle: x\n---\n"
    exact = head + b"a" * (1000 - len(head))
    assert parse("a.md", exact, Limits(max_document_bytes=1000)).body == "a" * (1000 - len(head))
    message = rejected("a.md", exact + b"a", Limits(max_document_bytes=1000))
    assert "1000" in message
    assert SIZE in message
    # the default is 1 MiB
    default = head + b"a" * (MIB - len(head))
    assert parse("a.md", default).body is not None
    assert SIZE in rejected("a.md", default + b"a")


def test_alias_expansion_under_the_limit_is_fine() -> None:
    doc = parse("a.md", _fenced(_laughs_flow(3, 9)))  # 729 scalars once expanded
    assert len(doc.mapping["a3"]) == 9
    assert doc.mapping["a3"][0][0] == ["lol"] * 9


def test_alias_limit_follows_the_configured_document_limit() -> None:
    text = _fenced(_laughs_flow(4, 9))  # ~6561 scalars of 4 bytes expanded
    assert parse("a.md", text).mapping["title"] == "bomb"
    assert SIZE in rejected("a.md", text, Limits(max_document_bytes=10_000))


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda n: "---\nk: " + "[" * (n - 1) + "1" + "]" * (n - 1) + "\n---\n", id="yaml-flow"
        ),
        pytest.param(lambda n: "---\n" + _deep_block_mapping(n) + "---\n", id="yaml-block"),
        pytest.param(lambda n: "---\nk:\n" + "- " * (n - 1) + "x\n---\n", id="yaml-compact"),
        pytest.param(lambda n: '{"k": ' + "[" * (n - 1) + "1" + "]" * (n - 1) + "}", id="json"),
        pytest.param(
            lambda n: "+++\nk = " + "[" * (n - 1) + "1" + "]" * (n - 1) + "\n+++\n", id="toml"
        ),
        pytest.param(lambda n: "+++\n" + ".".join(["k"] * n) + " = 1\n+++\n", id="toml-dotted-key"),
    ],
)
def test_depth_limit_is_exactly_max_depth_containers(make) -> None:
    # n nested collections, counting the top-level mapping; scalars are not a level
    assert parse("a.md", make(64).encode()).mapping
    assert DEPTH in rejected("a.md", make(65).encode())
    assert parse("a.md", make(8).encode(), Limits(max_depth=8)).mapping
    message = rejected("a.md", make(9).encode(), Limits(max_depth=8))
    assert "8" in message
    assert DEPTH in message


def test_many_dots_in_toml_values_are_not_nesting() -> None:
    dots = ".".join(["a"] * 200)
    data = f'+++\ntitle = "{dots}"\nurls = ["https://a.example.com/x.html", "{dots}"]\n+++\n'
    doc = parse("a.md", data.encode())
    assert doc.mapping["title"] == dots


def test_many_brackets_in_yaml_strings_and_body_are_fine() -> None:
    data = "---\ntitle: '" + "[" * 200 + "'\n---\n" + "[link](x) " * 500 + "\n"
    doc = parse("a.md", data.encode())
    assert doc.mapping["title"] == "[" * 200
    assert doc.body is not None and doc.body.startswith("[link](x)")
