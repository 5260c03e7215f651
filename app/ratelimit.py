"""Per-key rate limit for writes: a fixed one-minute window per process, off by default.

Headers follow the IETF RateLimit draft (`RateLimit-Limit`, `RateLimit-Remaining`,
`RateLimit-Reset`) plus `Retry-After` on 429. With several processes each keeps its own
window, so the effective limit is per process; good enough to stop a runaway script.
"""

import hashlib
import math
import threading
import time
from collections.abc import Callable

from fastapi import Request

from app.http import Problem

WINDOW = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.lock = threading.Lock()
        self.windows: dict[str, tuple[float, int]] = {}

    def hit(self, client: str) -> tuple[bool, int, int]:
        """Count one request; return (allowed, remaining, seconds until the window resets)."""
        now = self.clock()
        with self.lock:
            start, used = self.windows.get(client, (now, 0))
            if now - start >= WINDOW:
                start, used = now, 0
            allowed = used < self.per_minute
            if allowed:
                used += 1
            self.windows[client] = (start, used)
            if len(self.windows) > 10_000:
                self._forget(now)
        reset = max(1, math.ceil(start + WINDOW - now))
        return allowed, self.per_minute - used, reset

    def _forget(self, now: float) -> None:
        for client, (start, _) in list(self.windows.items()):
            if now - start >= WINDOW:
                del self.windows[client]


async def limit_writes(request: Request) -> None:
    """FastAPI dependency: 429 once a key has used its writes for the current minute."""
    limiter: RateLimiter | None = request.app.state.write_limiter
    if limiter is None:
        return
    # Key on a digest so the limiter never holds the key itself.
    header = request.headers.get("authorization", "")
    client = hashlib.sha256(header.encode()).hexdigest()
    allowed, remaining, reset = limiter.hit(client)
    headers = {
        "RateLimit-Limit": str(limiter.per_minute),
        "RateLimit-Remaining": str(max(remaining, 0)),
        "RateLimit-Reset": str(reset),
    }
    if not allowed:
        raise Problem(
            429,
            f"write rate limit of {limiter.per_minute} uploads per minute reached; "
            f"retry in {reset} s",
            headers={**headers, "Retry-After": str(reset)},
        )
    # The endpoint builds its own Response, so it copies these from request.state.
    request.state.rate_limit_headers = headers
