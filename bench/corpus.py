"""Deterministic synthetic corpus for benchmarks.

Writes YAML-front-matter markdown documents shaped like the real sample in
``seeds/serco-facial-recognition.md`` (about 1.9 KB each on average): title,
excerpt, dates, the four URL fields, type, category, quality (0-100, a few
null), heat (0-~300, a few null), a provider from a pool of 200
(``pN.example.com``), 1-4 topics from a pool of 500 names, 0-3 tags, 1-2
images, 0-3 related entries pointing at other documents of the same corpus,
``secured`` and a short markdown body.

The same ``--count`` and ``--seed`` always give byte-identical output. Only the
standard library is used; string values are written with ``json.dumps``, which
is valid YAML.

    python bench/corpus.py --count 20000 --out /tmp/corpus [--seed 1]

Files go into sub-folders of 1000 documents (``0000/doc-0000000.md``, ...).
Other scripts can ``from corpus import generate`` (with ``bench/`` on the path)
to get ``(relative_path, content)`` pairs without touching the disk.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from json.encoder import encode_basestring
from pathlib import Path

PER_FOLDER = 1000
_POOL_SEED = 20240223  # the pools are the same whatever --seed is
_EPOCH = datetime(2023, 1, 1)
_SPAN_MINUTES = 2 * 365 * 24 * 60


def _w(text: str) -> list[str]:
    return text.split()


_ADJECTIVES = _w(
    "Daily Evening Morning Weekly Global National Metro Coastal Northern Southern Eastern "
    "Western Valley Capital Harbour Highland Central Independent Public Continental"
)
_NOUNS = _w(
    "Herald Tribune Courier Post Gazette Observer Chronicle Times Ledger Bulletin Record "
    "Journal Dispatch Standard Mirror Express Sentinel Register Examiner Review Monitor"
)
_SUBJECTS = _w(
    "Energy Housing Football Cricket Tennis Rugby Cycling Climate Oceans Forests Farming "
    "Transport Aviation Rail Shipping Banking Insurance Retail Tourism Healthcare Vaccines "
    "Oncology Wellbeing Nutrition Education Universities Schools Science "
    "Astronomy Space Robotics Semiconductors Smartphones Cybersecurity Privacy Elections "
    "Parliament Courts Policing Immigration Defence Diplomacy Trade Inflation Employment "
    "Pensions Taxation Startups Gaming Music Cinema Television Books Fashion Architecture "
    "Wildlife Water Mining Steel Batteries Hydrogen Nuclear Solar Wind"
)
_QUALIFIERS = _w(
    "Policy Markets Industry Regulation Innovation Investment Research Workers Technology "
    "Crisis Reform Funding Data Safety"
)
# Multi-word and non-ASCII names (slugs like "economie", "kunstliche-intelligenz").
_EXTRA_TOPICS = [
    "AI",
    "Computer Vision",
    "Machine Learning",
    "Mental Health",
    "Économie",
    "Santé publique",
    "Energía",
    "Künstliche Intelligenz",
    "Quantum Computing",
    "Open Source",
]
_TAGS = _w(
    "analysis explainer live opinion interview exclusive breaking video podcast data "
    "investigation review feature obituary factcheck update long-read photo-essay "
    "weekend newsletter local international sponsored archive"
)
_CATEGORIES = {"news": 40, "business": 14, "technology": 14, "science": 8, "sport": 8}
_CATEGORIES |= {"health": 6, "entertainment": 5, "opinion": 5}
_TYPES = {"article": 85, "video": 6, "liveblog": 4, "gallery": 3, "analysis": 2}
_SECTIONS = ("world", "uk", "us", "business", "tech", "science", "sport", "health", "culture")
_WORDS = _w(
    "the a of to and in on for with that as from by at about after over new government "
    "people report said says year week month city country market company data study plan "
    "officials minister court police workers energy prices rates bank growth record "
    "climate health school hospital election vote policy law rules system network service "
    "users platform security research scientists experts early late first final major "
    "local national global public private critics supporters warned announced expected "
    "confirmed rejected launched delayed increase fall rise cut support pressure talks "
    "deal agreement investigation decision statement figures survey analysis impact "
    "risk changes future region community families children patients teachers drivers "
    "technology software model camera satellite battery storm river coast border"
)
_IMG_SIZES = ((1600, 900), (1920, 1080), (1200, 800), (1024, 576), (800, 600), (2048, 1152))


def _build_pools() -> tuple[list[tuple[str, str]], list[str]]:
    rng = random.Random(_POOL_SEED)
    names = [f"The {a} {n}" for a, n in itertools.product(_ADJECTIVES, _NOUNS)]
    rng.shuffle(names)
    providers = [(name, f"p{i + 1}.example.com") for i, name in enumerate(names[:200])]
    combos = [f"{s} {x}" for s, x in itertools.product(_SUBJECTS, _QUALIFIERS)]
    rng.shuffle(combos)
    topics = list(_EXTRA_TOPICS) + _SUBJECTS
    seen = {t.casefold() for t in topics}
    for name in combos:
        if len(topics) >= 500:
            break
        if name.casefold() not in seen:
            seen.add(name.casefold())
            topics.append(name)
    rng.shuffle(topics)
    return providers, topics


PROVIDERS, TOPICS = _build_pools()
# Zipf-like popularity so that facets and provider/topic filters are uneven.
_PROVIDER_CUM = list(itertools.accumulate(1.0 / (k + 1) ** 0.9 for k in range(len(PROVIDERS))))
_TOPIC_CUM = list(itertools.accumulate(1.0 / (k + 1) ** 0.8 for k in range(len(TOPICS))))
_CATEGORY_NAMES = list(_CATEGORIES)
_CATEGORY_CUM = list(itertools.accumulate(_CATEGORIES.values()))
_TYPE_NAMES = list(_TYPES)
_TYPE_CUM = list(itertools.accumulate(_TYPES.values()))

# A JSON string literal is a valid YAML double-quoted scalar. This is the C encoder behind
# json.dumps(s, ensure_ascii=False), without json.dumps' per-call overhead.
q = encode_basestring


def _sentence(rng: random.Random, lo: int, hi: int) -> str:
    words = rng.choices(_WORDS, k=rng.randint(lo, hi))
    return " ".join(words).capitalize() + "."


class _Core:
    """The fields of document ``i`` that related entries elsewhere also need."""

    __slots__ = ("provider", "title", "published", "url", "amp", "quality", "type")

    def __init__(self, seed: int, i: int) -> None:
        rng = random.Random(seed * 1_000_003 + i)
        self.provider = rng.choices(PROVIDERS, cum_weights=_PROVIDER_CUM)[0]
        words = rng.choices(_WORDS, k=rng.randint(6, 11))
        self.title = " ".join(words).capitalize()
        self.published = _EPOCH + timedelta(minutes=rng.randrange(_SPAN_MINUTES))
        section = _SECTIONS[rng.randrange(len(_SECTIONS))]
        slug = "-".join(words[:6])
        host = self.provider[1]
        path = f"{section}/{self.published:%Y/%m}/{slug}-{i}"
        self.url = f"https://{host}/{path}"
        self.amp = f"https://{host}/amp/{path}"
        self.quality = None if rng.random() < 0.03 else round(rng.triangular(0, 100, 55))
        self.type = rng.choices(_TYPE_NAMES, cum_weights=_TYPE_CUM)[0]


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _document(seed: int, count: int, i: int) -> str:
    core = _Core(seed, i)
    rng = random.Random((seed * 1_000_003 + i) * 7 + 3)
    pname, pdomain = core.provider
    amp_host = pdomain.replace(".", "-")
    heat = None if rng.random() < 0.03 else int(rng.random() ** 2.2 * 320)
    excerpt = " ".join(_sentence(rng, 8, 16) for _ in range(2))
    out = [
        "---",
        f"category: {q(rng.choices(_CATEGORY_NAMES, cum_weights=_CATEGORY_CUM)[0])}",
        f"title: {q(core.title)}",
        f"excerpt: {q(excerpt)}",
        f"publishedDateTime: {_iso(core.published)}",
    ]
    if rng.random() < 0.2:
        updated = core.published + timedelta(minutes=rng.randint(5, 3000))
        out.append(f"updatedDateTime: {_iso(updated)}")
    out += [
        f"originalUrl: {q(core.url)}",
        f"webUrl: {q(core.url)}",
        f"ampWebUrl: {q(core.amp)}",
        f"cdnAmpWebUrl: {q(f'https://{amp_host}.cdn.example.org/c/s/{core.amp[8:]}')}",
        f"type: {q(core.type)}",
        f"quality: {'null' if core.quality is None else core.quality}",
        f"heat: {'null' if heat is None else heat}",
        "published: true",
        "",
        "provider:",
        f"  name: {q(pname)}",
        f"  domain: {q(pdomain)}",
        "",
        "topics:",
    ]
    topics = dict.fromkeys(rng.choices(TOPICS, cum_weights=_TOPIC_CUM, k=rng.randint(1, 4)))
    out += [f"  - {q(t)}" for t in topics]
    n_tags = rng.choices((0, 1, 2, 3), weights=(3, 4, 3, 2))[0]
    if n_tags:
        out += ["", "tags:"]
        out += [f"  - {q(t)}" for t in dict.fromkeys(rng.choices(_TAGS, k=n_tags))]
    else:
        out += ["", "tags: []"]
    out += ["", "images:"]
    for k in range(rng.choice((1, 1, 2))):
        w, h = _IMG_SIZES[rng.randrange(len(_IMG_SIZES))]
        out += [
            f"  - url: {q(f'https://img.example.com/{pdomain[:-12]}/{i}/{k}-{w}x{h}.jpg')}",
            f"    width: {w}",
            f"    height: {h}",
            f"    isCached: {'true' if rng.random() < 0.8 else 'false'}",
        ]
        if rng.random() < 0.3:
            out.append(f"    title: {q(_sentence(rng, 4, 8))}")
            out.append(f"    attribution: {q('Photo: ' + pname)}")
    n_related = rng.choices((0, 1, 2, 3), weights=(4, 3, 2, 1))[0] if count > 1 else 0
    if n_related:
        out += ["", "related:"]
        for j in dict.fromkeys(rng.randrange(count) for _ in range(n_related)):
            if j == i:
                continue
            other = _Core(seed, j)
            oname, odomain = other.provider
            out += [
                f"  - title: {q(other.title)}",
                f"    publishedDateTime: {_iso(other.published)}",
                f"    webUrl: {q(other.url)}",
                f"    type: {q(other.type)}",
                "    provider:",
                f"      name: {q(oname)}",
                f"      domain: {q(odomain)}",
            ]
            if other.quality is not None:
                out.append(f"    quality: {other.quality}")
    secured = base64.b64encode(rng.randbytes(rng.randint(40, 80))).decode()
    iv = base64.b64encode(rng.randbytes(16)).decode()
    out += ["", f"secured: {q(f'{secured};{iv}')}", "---", ""]
    # Body: a few short paragraphs of markdown.
    out.append(" ".join(_sentence(rng, 7, 16) for _ in range(rng.randint(1, 3))))
    if rng.random() < 0.5:
        out += ["", f"## {_sentence(rng, 2, 5)[:-1]}"]
    out += ["", " ".join(_sentence(rng, 7, 16) for _ in range(rng.randint(1, 2)))]
    if rng.random() < 0.3:
        out += ["", f"- {_sentence(rng, 4, 9)}", f"- {_sentence(rng, 4, 9)}"]
    out.append("")
    return "\n".join(out)


def generate(count: int, seed: int = 1) -> Iterator[tuple[str, bytes]]:
    """Yield ``(relative_path, content)`` for ``count`` documents, deterministically."""
    for i in range(count):
        path = f"{i // PER_FOLDER:04d}/doc-{i:07d}.md"
        yield path, _document(seed, count, i).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True, help="number of documents")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be >= 0")
    start = time.perf_counter()
    total = 0
    made: set[Path] = set()
    for rel, content in generate(args.count, args.seed):
        path = args.out / rel
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(content)
        total += len(content)
    elapsed = time.perf_counter() - start
    avg = total / args.count if args.count else 0
    print(
        f"wrote {args.count} documents ({total / 1e6:.1f} MB, avg {avg:.0f} B) "
        f"to {args.out} in {elapsed:.2f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
