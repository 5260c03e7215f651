"""Write rate limiting: off by default, 429 with Retry-After and RateLimit headers when on."""

from app.ratelimit import RateLimiter
from tests.conftest import AUTH

DOC = b"---\ntitle: Rate\nwebUrl: https://example.com/rate\n---\n"
RAW = {"Content-Type": "text/markdown", **AUTH}


def test_writes_are_unlimited_by_default(client) -> None:
    for _ in range(5):
        response = client.post("/v1/uploads", content=DOC, headers=RAW)
        assert response.status_code == 200
        assert "RateLimit-Limit" not in response.headers


def test_limit_answers_429_with_headers(make_client) -> None:
    client = make_client(write_rate_limit=2)
    first = client.post("/v1/uploads", content=DOC, headers=RAW)
    assert first.status_code == 200
    assert first.headers["RateLimit-Limit"] == "2"
    assert first.headers["RateLimit-Remaining"] == "1"
    assert client.post("/v1/uploads", content=DOC, headers=RAW).status_code == 200
    refused = client.post("/v1/uploads", content=DOC, headers=RAW)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert "rate limit" in refused.json()["detail"]
    # Reads are never limited.
    assert client.get("/v1/articles").status_code == 200


def test_window_resets_after_a_minute() -> None:
    now = [1000.0]
    limiter = RateLimiter(1, clock=lambda: now[0])
    assert limiter.hit("a")[0]
    assert not limiter.hit("a")[0]
    assert limiter.hit("b")[0], "keys are limited separately"
    now[0] += 60
    assert limiter.hit("a")[0]
