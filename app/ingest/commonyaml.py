"""Front matter of the common shape, built straight from libyaml's events.

PyYAML's C loader has libyaml parse, then composes a tree of nodes and walks it again
in Python to build the values; the parser then walked the result once more for depth
and NUL characters. Real front matter is plain: mappings, sequences and scalars, no
anchors, aliases, tags or merge keys. For that shape one pass over the events builds
the same values the C loader would, with the same limits (1.9 KB documents: ~200 µs of
`yaml.load` and ~80 µs of checks → 110 µs).

Anything else, including every error, answers None, and the caller takes the full
path, which decides what the document means or why it is rejected.
"""

from collections.abc import Callable
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import ScalarNode

STR = "tag:yaml.org,2002:str"
# Tags a plain scalar can resolve to whose values are built from the scalar alone (not
# merge keys, not `=`).
SCALAR_TAGS = tuple(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp")
)
Build = Callable[[Any, ScalarNode], Any]
# Plain scalars resolve by their text alone (for a loader class); keys repeat in every
# document. Emptied when full, so that it keeps learning.
_RESOLVED: dict[type, dict[str, str]] = {}
_RESOLVED_MAX = 4096
_RESOLVED_LONGEST = 64
_NO_KEY = object()


def load(text: str, loader_class: type[yaml.CSafeLoader], max_depth: int) -> dict[str, Any] | None:
    """The mapping `loader_class` would load from `text`, or None if it is not that simple.

    Scalars are built by the loader's own constructors; nesting beyond `max_depth`
    takes the full path, which rejects it.
    """
    try:
        loader = loader_class(text)
    except ValueError:  # text that is not Unicode (a lone surrogate)
        return None
    try:
        constructors = loader_class.yaml_constructors
        scalars = {tag: constructors[tag] for tag in SCALAR_TAGS}
        resolved = _RESOLVED.setdefault(loader_class, {})
        value = _build(loader, scalars, resolved, max_depth)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, LookupError, AttributeError):
        return None
    finally:
        loader.dispose()
    return value if isinstance(value, dict) else None


def _build(
    loader: yaml.CSafeLoader, scalars: dict[str, Build], resolved: dict[str, str], max_depth: int
) -> Any:
    get = loader.get_event
    if type(get()) is not StreamStartEvent or type(get()) is not DocumentStartEvent:
        return None
    resolve = loader.resolve
    # Open collections and, for a mapping, its key waiting for a value.
    open_: list[Any] = []
    keys: list[Any] = []
    value: Any = None
    while True:
        event: Any = get()
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None or event.tag is not None:
                return None
            value = event.value
            if event.implicit[0]:
                tag = resolved.get(value)
                if tag is None:
                    tag = resolve(ScalarNode, value, event.implicit)
                    if len(value) <= _RESOLVED_LONGEST:
                        if len(resolved) >= _RESOLVED_MAX:
                            resolved.clear()
                        resolved[value] = tag
                if tag != STR:
                    build = scalars.get(tag)
                    if build is None:
                        return None
                    value = build(loader, ScalarNode(tag, value))
            elif "\x00" in value:  # escapes spell NUL, which the full path rejects
                return None
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or event.tag is not None or len(open_) >= max_depth:
                return None
            open_.append({} if kind is MappingStartEvent else [])
            keys.append(_NO_KEY)
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = open_.pop()
            keys.pop()
        elif kind is DocumentEndEvent:
            break
        else:  # an alias
            return None
        if not open_:
            continue
        parent = open_[-1]
        if type(parent) is list:
            parent.append(value)
        elif keys[-1] is _NO_KEY:
            if type(value) is dict or type(value) is list:
                return None
            keys[-1] = value
        else:
            parent[keys[-1]] = value
            keys[-1] = _NO_KEY
    if type(get()) is not StreamEndEvent:
        return None
    return value
