"""Documents, archives and upload calls shared by the ingestion integration tests."""

import io
import itertools
import tarfile
import zipfile
from typing import Any

import yaml
from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import AUTH

_numbers = itertools.count()


def fresh_url(name: str = "story") -> str:
    """A URL no other test uses, for tests sharing one database."""
    return f"https://news.example.com/{next(_numbers)}/{name}"


def doc(
    title: str | None = "A story",
    url: str | None = "https://news.example.com/a",
    body: str = "Body text.",
    **fields: Any,
) -> bytes:
    """A YAML front-matter document; `None` leaves a key out."""
    front = {"title": title, "webUrl": url, **fields}
    front = {key: value for key, value in front.items() if value is not None}
    dumped = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
    return f"---\n{dumped}---\n{body}\n".encode()


def upload(client: TestClient, *files: tuple[str, bytes], **params: Any) -> Response:
    """POST the files as multipart `files` parts."""
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    return client.post("/v1/uploads", files=parts, params=params, headers=AUTH)


def upload_raw(client: TestClient, data: bytes, content_type: str = "text/markdown") -> Response:
    return client.post("/v1/uploads", content=data, headers={**AUTH, "Content-Type": content_type})


def stored(response: Response) -> dict[str, Any]:
    """The upload report of a fully successful upload."""
    assert response.status_code == 200, response.text
    return response.json()


def article(client: TestClient, article_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/articles/{article_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def by_url(client: TestClient, url: str) -> dict[str, Any] | None:
    """The list item for a URL (stubs included), or None."""
    response = client.get("/v1/articles", params={"url": url, "includeStubs": "true"})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items[0] if items else None


def total(client: TestClient, **params: Any) -> int:
    response = client.get("/v1/articles", params={"count": "true", **params}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()["total"]


def absent(client: TestClient, *urls: str) -> bool:
    """Whether none of the URLs is stored, not even as a stub."""
    return all(by_url(client, url) is None for url in urls)


def is_problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def make_tar(members: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
