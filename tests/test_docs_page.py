"""/docs works with no internet access: local assets only, rendered by a real browser."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def test_docs_page_references_only_local_assets_that_exist(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert not re.search(r"(?:https?:)?//", html), "the docs page must not load anything remote"
    assets = ASSET.findall(html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        assert fetched.content, asset
        assert fetched.headers.get("etag") and fetched.headers.get("cache-control"), asset
    assert "<script>" not in html, "inline scripts would need 'unsafe-inline' in the CSP"


def test_docs_scripts_load_nothing_remote(client):
    html = client.get("/docs").text
    for asset in ASSET.findall(html):
        if asset.endswith(".js") and "bundle" not in asset:
            script = client.get(asset).text
            assert "/openapi.json" in script
            assert not re.search(r"https?://", script), asset


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A real uvicorn process over a freshly migrated SQLite file."""
    env = {
        **os.environ,
        "NEWSDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'docs.db'}",
        "NEWSDESK_API_KEYS": "docs-test-key",
    }
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [str(bin_dir / "newsdesk"), "migrate"], cwd=tmp_path, env=env, check=True, timeout=120
    )
    port = free_port()
    log = (tmp_path / "uvicorn.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "uvicorn.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "uvicorn did not become ready"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; CI installs it with `apt-get install chromium`")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


# `chromium` comes first so that a skip does not wait for the server.
def test_docs_render_in_a_headless_browser(chromium: Path, server: str, tmp_path: Path):
    command = [
        str(chromium), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
        # Swagger UI renders after fetching /openapi.json; give the page time to settle.
        "--virtual-time-budget=15000", "--dump-dom", f"{server}/docs",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    dom = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
    assert 'class="swagger-ui' in dom, dom[:2000]
    for operation in ("/v1/articles", "/v1/articles/{article_id}", "/v1/uploads", "/readyz"):
        assert operation in dom, f"{operation} missing from the rendered docs"
    assert "opblock-summary" in dom
    assert "Newsdesk" in dom
    assert "Failed to load API definition" not in dom
