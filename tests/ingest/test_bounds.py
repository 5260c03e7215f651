"""Hostile documents are refused within a bounded amount of memory and work.

No wall-clock assertions: memory is measured with tracemalloc, work by the fact that each
case returns at all under the default limits (the quadratic cases used to take minutes).
"""

import tracemalloc

import pytest

from app.ingest.errors import DocumentError
from app.ingest.load import prepare
from app.ingest.parse import Limits

MiB = 1024 * 1024


def _billion_laughs() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        prev = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return ("---\n" + "\n".join(lines) + "\n---\n").encode()


HOSTILE = {
    "alias-bomb": _billion_laughs(),
    "deep-flow": b"---\nx: " + b"[" * 200_000 + b"\n---\n",
    "deep-block": b"---\nx:\n" + b"".join(b" " * i + b"- \n" for i in range(2000)) + b"---\n",
    "deep-json": b"{" + b'"a":{' * 100_000,
    "toml-dotted-key": b"+++\n" + b"a." * 100_000 + b"a = 1\n+++\n",
    "base60-integer": b"---\nheat: " + b"1:" * 400_000 + b"1\n---\n",
    "huge-hex": b"---\nquality: 0x" + b"f" * 900_000 + b"\n---\n",
    "oversized": b"---\ntitle: x\n---\n" + b"x" * (2 * MiB),
    "many-keys": b"---\n" + b"".join(b"k%d: 1\n" % i for i in range(120_000)) + b"---\n",
    "python-tag": b"---\nx: !!python/object/apply:os.system [echo pwned]\n---\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_documents_are_refused_in_bounded_memory(name: str) -> None:
    data = HOSTILE[name]
    tracemalloc.start()
    try:
        prepared = prepare(f"{name}.md", data, Limits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert prepared.article is None
    assert isinstance(prepared.error, DocumentError)
    assert prepared.error.errors[0].message
    # Linear in the input (regex and scanner state per character), never the blow-up the
    # input is built for: the alias bomb alone would expand to gigabytes.
    assert peak < len(data) * 64 + 24 * MiB, f"{name} peaked at {peak / MiB:.1f} MiB"
