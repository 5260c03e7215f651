"""The one-pass loader for common front matter builds what the full path would, or steps aside."""

import datetime as dt
import math
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.ingest import commonyaml
from app.ingest.errors import DocumentError
from app.ingest.parse import Limits, _Loader, load_yaml, load_yaml_fully, parse

from .test_parse_properties import STRUCTURES, YAMLISH

SEEDS = Path(__file__).parents[2] / "seeds"
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types throughout (1, 1.0 and True are not the same value)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same(ka, kb) and same(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dt.datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return bool(a == b)


def assert_builds_what_the_full_path_does(text: str, limits: Limits = Limits()) -> Any:
    common = commonyaml.load(text, _Loader, limits.max_depth)
    if common is not None:
        # The full path must accept it too, with the same value.
        assert same(common, load_yaml_fully(text, limits))
    return common


# Plain scalars whose meaning YAML 1.1 decides by their text, and constructs the one-pass
# loader must leave to the full path.
TRICKY = [
    "yes", "No", "on", "OFF", "y", "~", "null", "Null", "", "true", "0x1F", "0o17", "017",
    "0b101", "1_000", "-0", "+12", "1:30", "190:20:30", ".inf", "-.Inf", ".NaN", "1e3",
    "1.5e+3", "6.8523015e+5", "685.230_15e+03", "2024-02-23", "2024-02-23 12:09:00",
    "2024-02-23T12:09:00.123+02:00", "2024-13-45", "2001-12-14t21:59:43.10-05:00", "<<", "=",
    "!!str x", "!!int 3", "! x", "!local y", "&a x", "*a", "'q'", '"\\0"', '"x\\x00y"',
    "[a, b]", "{a: 1}", "[a, [b, [c]]]", "|\n  block", ">\n  folded", "? k", "9" * 4400,
    "0x" + "f" * 4400, "é’", '"\\u00e9"', "a: b", "- x",
]  # fmt: skip
TOKENS = st.one_of(st.sampled_from(TRICKY), st.text(string.ascii_letters + "-_ ", max_size=8))
LINES = st.lists(
    st.tuples(st.sampled_from(["", "  ", "    ", "- ", "  - "]), TOKENS, TOKENS, st.booleans()),
    min_size=1,
    max_size=12,
).map(
    lambda lines: (
        "\n".join(
            f"{indent}{key}:" + (f" {value}" if has_value else "")
            for indent, key, value, has_value in lines
        )
        + "\n"
    )
)
DUMP_OPTIONS = st.fixed_dictionaries(
    {
        "default_flow_style": st.sampled_from([False, True, None]),
        "default_style": st.sampled_from([None, '"', "'", "|"]),
        "canonical": st.booleans(),
        "explicit_start": st.booleans(),
        "allow_unicode": st.booleans(),
        "width": st.sampled_from([20, 80]),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=_QUIET)
@given(st.one_of(LINES, YAMLISH, st.text(max_size=80)), st.integers(1, 6))
def test_plain_and_tricky_text_builds_the_same_or_steps_aside(text: str, depth: int) -> None:
    assert_builds_what_the_full_path_does(text, Limits(max_depth=depth))


@settings(max_examples=200, deadline=None, suppress_health_check=_QUIET)
@given(st.dictionaries(st.text(max_size=8), STRUCTURES, max_size=6), DUMP_OPTIONS)
def test_dumped_structures_build_the_same_or_step_aside(mapping: dict, options: dict) -> None:
    try:
        text = yaml.safe_dump(mapping, sort_keys=False, **options)
    except yaml.YAMLError:
        return
    assert_builds_what_the_full_path_does(text)


@settings(max_examples=100, deadline=None, suppress_health_check=_QUIET)
@given(st.dictionaries(st.text(max_size=8), STRUCTURES, min_size=1, max_size=6))
def test_block_style_front_matter_takes_the_one_pass(mapping: dict) -> None:
    text = yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True)
    # Explicitly tagged values (an odd time zone) and NUL escapes take the full path.
    assume("!!" not in text and "\\0" not in text)
    assert assert_builds_what_the_full_path_does(text) is not None


def _front_matter(path: Path) -> str:
    text = path.read_text("utf-8")
    return text.split("\n---\n", 1)[0].removeprefix("---\n") + "\n"


@pytest.mark.parametrize(
    "path", sorted(SEEDS.glob("yaml/*.md")) + [SEEDS / "serco-facial-recognition.md"], ids=str
)
def test_the_sample_front_matter_takes_the_one_pass(path: Path) -> None:
    assert assert_builds_what_the_full_path_does(_front_matter(path)) is not None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a: &x 1\nb: *x\n", id="alias"),
        pytest.param("base: &b {k: 1}\nother:\n  <<: *b\n", id="merge-key"),
        pytest.param("a: !!str 1\n", id="explicit-tag"),
        pytest.param("a: !!binary aGk=\n", id="binary"),
        pytest.param("? [a]\n: 1\n", id="collection-key"),
        pytest.param("=: 1\n", id="value-key"),
        pytest.param('a: "\\0"\n', id="nul-escape"),
        pytest.param("a: 1\n---\nb: 2\n", id="two-documents"),
        pytest.param("- a\n", id="sequence-root"),
        pytest.param("just text\n", id="scalar-root"),
        pytest.param("", id="empty"),
        pytest.param("a: [b\n", id="syntax-error"),
        pytest.param("a: 2024-13-45\n", id="impossible-date"),
        pytest.param("a: " + "9" * 4301 + "\n", id="long-integer"),
        pytest.param("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 70)), id="deep"),
    ],
)
def test_anything_else_takes_the_full_path(text: str) -> None:
    assert commonyaml.load(text, _Loader, Limits().max_depth) is None


def test_the_full_path_still_decides_what_the_one_pass_leaves() -> None:
    loaded = load_yaml("base: &b {k: 1}\nother:\n  <<: *b\n  j: 2\ntag: !!str 12\n", Limits())
    assert loaded == {"base": {"k": 1}, "other": {"k": 1, "j": 2}, "tag": "12"}
    with pytest.raises(DocumentError, match="NUL"):
        parse("a.md", b'---\ntitle: "a\\0b"\n---\n')
    with pytest.raises(DocumentError, match="max_depth"):
        parse("a.md", b"---\na:\n  b:\n    c: 1\n---\n", Limits(max_depth=2))


def test_remembered_resolutions_stay_bounded_and_keep_learning() -> None:
    text = "".join(f"k{i}: {i}\n" for i in range(commonyaml._RESOLVED_MAX + 500))
    text += "long" * 40 + ": 1\n"
    loaded = commonyaml.load(text, _Loader, 64)
    assert loaded is not None and loaded["k0"] == 0
    remembered = commonyaml._RESOLVED[_Loader]
    assert len(remembered) <= commonyaml._RESOLVED_MAX
    assert "long" * 40 not in remembered
    # Full of one document's values, it still learns the next document's keys.
    assert commonyaml.load("fresh_key: yes\n", _Loader, 64) == {"fresh_key": True}
    assert "fresh_key" in remembered


class _NoBooleans(_Loader):
    """A loader for which `yes` is text, as in YAML 1.2."""


_NoBooleans.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}


def test_what_is_remembered_belongs_to_one_loader_class() -> None:
    assert commonyaml.load("a: yes\n", _NoBooleans, 64) == {"a": "yes"}
    assert commonyaml.load("a: yes\n", _Loader, 64) == {"a": True}


def test_text_that_is_not_unicode_takes_the_full_path() -> None:
    assert commonyaml.load("a: \ud800\n", _Loader, 64) is None
    with pytest.raises(DocumentError, match="invalid YAML"):
        load_yaml("a: \ud800\n", Limits())


def test_many_empty_values_are_not_mistaken_for_alias_expansion() -> None:
    """Only what aliases add counts against the size limit, whichever path reads the text."""
    limits = Limits(max_document_bytes=4096)
    text = "{" + ",".join(f"k{i % 100}" for i in range(1000)) + ", x: '*&'}\n"
    assert len(text) < limits.max_document_bytes
    loaded = assert_builds_what_the_full_path_does(text, limits)
    assert loaded is not None and len(loaded) == 101


def test_a_repeated_key_keeps_its_first_place_and_its_last_value() -> None:
    loaded = assert_builds_what_the_full_path_does("a: 1\nb: 2\na: 3\n")
    assert loaded is not None and list(loaded.items()) == [("a", 3), ("b", 2)]
