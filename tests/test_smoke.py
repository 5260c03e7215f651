from tests.conftest import AUTH


def test_seeds_are_served(seeded):
    response = seeded.get("/v1/articles", params={"count": "true"})
    assert response.status_code == 200
    assert response.json()["total"] == 16


def test_upload_requires_key(client):
    response = client.post(
        "/v1/uploads", content=b"---\ntitle: x\n---\n", headers={"Content-Type": "text/markdown"}
    )
    assert response.status_code == 401
    ok = client.post(
        "/v1/uploads",
        content=b"---\ntitle: x\nwebUrl: https://example.com/x\n---\n",
        headers={"Content-Type": "text/markdown", **AUTH},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["summary"]["created"] == 1
