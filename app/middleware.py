"""ASGI middleware: HEAD, request size limit, ETag/304 and the response cache, security headers."""

import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cache import compact
from app.db import Database


class HeadAsGet:
    """HEAD answered as the GET it stands for, without the body (RFC 9110 §9.3.2).

    Below this layer a HEAD is a GET, so its status, ETag, Content-Length and cache entry
    are the GET's: what monitors, link checkers and `curl -I` expect.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headless(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headless)


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is over the limit of {limit} bytes (max_request_bytes)")


class BodyLimit:
    """Refuse bodies over the limit before reading them, and stop reading at the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            raise BodyTooLarge(self.limit)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited, send)


# Bodies kept per process: bounded in bytes as well as entries, for the memory budget.
CACHE_BYTES = 32 * 1024 * 1024
ENTRY_BYTES = CACHE_BYTES // 64
# zlib's default: level 9 (Starlette's) took 21 % longer on a 27 KB page for 0.4 % fewer bytes.
GZIP_LEVEL = 6
GZIP_MINIMUM = 1024


class Entry:
    """A cached 200: its data version, headers and body, and the body gzipped once asked."""

    __slots__ = ("version", "headers", "body", "gzipped")

    def __init__(self, version: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.version = version
        self.headers = headers
        self.body = body
        self.gzipped: tuple[list[tuple[bytes, bytes]], bytes] | None = None

    @property
    def size(self) -> int:
        return len(self.body) + (len(self.gzipped[1]) if self.gzipped else 0)


class Cache:
    """Answers repeated GETs from memory while the data version is unchanged.

    The ETag is the data version plus a hash of the request, so computing it and
    answering 304 costs one tiny read and never runs the listing query. Repeats from
    clients that accept gzip (every browser) get a body compressed once per entry, not
    once per request: compressing a 27 KB page cost five times what serving it did.
    """

    def __init__(
        self,
        app: ASGIApp,
        db: Database,
        is_authorized: Callable[[Headers], bool],
        max_age: int,
        entries: int,
    ) -> None:
        self.app = app
        self.db = db
        self.is_authorized = is_authorized
        self.max_age = max_age
        self.entries = entries
        self.size = 0
        self.store: OrderedDict[str, Entry] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if not path.startswith("/v1/"):
            await _validated_by_content(self.app, scope, receive, send)
            return
        headers = Headers(scope=scope)
        private = self.is_authorized(headers)
        try:
            version = await self.db.run(self.db.data_version)
        except SQLAlchemyError:
            # Nothing can be validated or cached; the route reports the failure itself.
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        # Bodies may hold absolute URLs (the Link header), so the origin is part of the key.
        origin = f"{scope['scheme']}://{headers.get('host', '')}"
        key = f"{int(private)} {origin}{path}?{query}"
        digest = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
        etag = f'W/"{version:x}-{digest}"'
        control = f"{'private' if private else 'public'}, max-age={self.max_age}"
        common = [(b"etag", etag.encode()), (b"cache-control", control.encode())]
        if _matches(headers.get("if-none-match"), etag):
            await send({"type": "http.response.start", "status": 304,
                        "headers": [*common, (b"vary", VARY_ENCODED)]})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
            return
        cached = self.store.get(key)
        if cached is not None and cached.version == version:
            self.store.move_to_end(key)
            # The gzip middleware's test for a whole body, so a hit and a miss agree.
            if "gzip" in headers.get("accept-encoding", "") and len(cached.body) >= GZIP_MINIMUM:
                head, body = self._gzipped(cached)
            else:
                # A copy: the gzip middleware further out edits header lists in place.
                head, body = list(cached.headers), cached.body
            await send({"type": "http.response.start", "status": 200, "headers": head})
            await send({"type": "http.response.body", "body": body})
            return

        start: dict[str, Any] = {}
        chunks: list[bytes] = []
        size = 0
        started = False

        async def capture(message: Message) -> None:
            nonlocal size, started
            if message["type"] == "http.response.start":
                # Held back until the first body part shows whether gzip could apply.
                start.update(message, headers=list(message.get("headers", [])))
                return
            body = message.get("body", b"")
            if not started:
                started = True
                if start["status"] == 200:
                    start["headers"] += common
                    small = not message.get("more_body") and len(body) < GZIP_MINIMUM
                    head = [*start["headers"], _vary(small)]
                else:
                    head = list(start["headers"])
                await send({**start, "headers": head})
            size += len(body)
            # A body too large to keep is passed on uncollected: a streamed response (an
            # upload's report) then costs no memory for its length.
            keep = size <= ENTRY_BYTES and start.get("status") == 200 and self.entries
            if keep:
                chunks.append(body)
            await send(message)
            if keep and not message.get("more_body"):
                whole = b"".join(chunks)
                # A hit sends the whole body at once: a streamed one may now be too small
                # for the gzip middleware, which then leaves Vary alone.
                kept = [*start["headers"], _vary(len(whole) < GZIP_MINIMUM)]
                self._keep(key, Entry(version, kept, whole))

        await self.app(scope, receive, capture)

    def _keep(self, key: str, entry: Entry) -> None:
        """Least recently used first out, within an entry count and a byte budget."""
        if len(entry.body) > ENTRY_BYTES:
            return
        entry.body = compact(entry.body)
        old = self.store.pop(key, None)
        if old is not None:
            self.size -= old.size
        self.store[key] = entry
        self.size += entry.size
        self._evict()

    def _gzipped(self, entry: Entry) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """The entry's start headers and body for a gzip client, compressed on first use."""
        if entry.gzipped is None:
            # mtime=0: the same bytes on every process behind a load balancer.
            body = gzip.compress(entry.body, compresslevel=GZIP_LEVEL, mtime=0)
            kept = [(k, v) for k, v in entry.headers if k not in (b"content-length", b"vary")]
            length = str(len(body)).encode()
            start = [*kept, (b"content-encoding", b"gzip"), (b"content-length", length),
                     (b"vary", VARY_ENCODED)]  # fmt: skip
            entry.gzipped = (start, body)
            # The entry was just looked up in the store, with no await since.
            self.size += len(body)
            self._evict()
        return list(entry.gzipped[0]), entry.gzipped[1]

    def _evict(self) -> None:
        while len(self.store) > self.entries or self.size > CACHE_BYTES:
            _, evicted = self.store.popitem(last=False)
            self.size -= evicted.size


VARY_ENCODED = b"Authorization, Accept-Encoding"


def _vary(small: bool) -> tuple[bytes, bytes]:
    """Vary for a 200, naming Accept-Encoding once, as its 304 does.

    The gzip middleware adds Accept-Encoding to any body it may compress (a streamed one,
    or a whole one of GZIP_MINIMUM bytes or more); this names it for the others.
    """
    return (b"vary", VARY_ENCODED if small else b"Authorization")


async def _validated_by_content(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Outside /v1 the body is its own validator: a hash of it, revalidated on every use."""
    condition = Headers(scope=scope).get("if-none-match")
    start: Message = {}
    chunks: list[bytes] = []

    async def buffer(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(raw=message["headers"])
            headers.setdefault("cache-control", "no-cache")
            if message["status"] == 200 and "etag" not in headers:
                start.update(message)
                return
        elif start:
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            etag = f'W/"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
            headers = MutableHeaders(raw=start["headers"])
            headers["etag"] = etag
            if _matches(condition, etag):
                start["status"] = 304
                start["headers"] = [(b"etag", etag.encode()), (b"cache-control", b"no-cache")]
                body = b""
            await send(start)
            message = {"type": "http.response.body", "body": body}
        await send(message)

    await app(scope, receive, buffer)


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path", "").startswith("/docs")

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if docs:
                    extra.append((b"content-security-policy", DOCS_CSP))
                    extra.append((b"x-frame-options", b"DENY"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, add)


# Swagger UI sets inline styles, but the page runs no inline script.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; "
    b"base-uri 'none'; form-action 'none'"
)
