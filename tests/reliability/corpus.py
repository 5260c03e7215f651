"""Small generated documents whose read-back is known."""

import random

TOPICS = [f"Shared Topic {i}" for i in range(12)]
PROVIDERS = 7


def _topics(n: int, version: int) -> list[str]:
    return random.Random(n * 1000 + version).sample(TOPICS, 3)


def document(n: int, version: int = 0) -> bytes:
    """Article n; `version` changes the content but never the URL or publishedDateTime."""
    topic_lines = "".join(f"  - {name}\n" for name in _topics(n, version))
    return (
        "---\n"
        f'title: "Story {n} version {version}"\n'
        f"webUrl: https://news{n % PROVIDERS}.example.com/story/{n}\n"
        f"publishedDateTime: 2024-01-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z\n"
        f"quality: {(n * 37 + version) % 101}\n"
        f"heat: {(n * 53 + version) % 300}\n"
        f"provider:\n  name: Provider {n % PROVIDERS}\n  domain: news{n % PROVIDERS}.example.com\n"
        f"topics:\n{topic_lines}"
        f"images:\n  - url: https://img.example.com/{n}/{version}.jpg\n    width: 640\n"
        "---\n"
        f"Body of story {n}, version {version}.\n"
    ).encode()


def url(n: int) -> str:
    return f"https://news{n % PROVIDERS}.example.com/story/{n}"


def expected_topics(n: int, version: int) -> list[str]:
    return [name.lower().replace(" ", "-") for name in _topics(n, version)]
