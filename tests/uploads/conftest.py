"""One database per test module and backend.

Creating a PostgreSQL database for each test would cost more than the tests themselves; these
share one safely because every test ingests URLs of its own (`helpers.fresh_url`).
"""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.conftest import API_KEY, SEEDS, Backend


class Shared:
    """Clients over one database, optionally with lowered limits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.clients: dict[tuple[tuple[str, Any], ...], TestClient] = {}

    def client(self, **overrides: Any) -> TestClient:
        key = tuple(sorted(overrides.items()))
        if key not in self.clients:
            settings = self.settings.model_copy(update=overrides)
            self.clients[key] = TestClient(create_app(settings, self.db)).__enter__()
        return self.clients[key]

    def close(self) -> None:
        for client in self.clients.values():
            client.__exit__(None, None, None)
        self.db.dispose()


@pytest.fixture(scope="module")
def shared(backend: Backend) -> Iterator[Shared]:
    url = backend.create()
    made = Shared(
        Settings(database_url=url, api_keys=[API_KEY], seeds_dir=SEEDS, _env_file=None)  # type: ignore[call-arg]
    )
    yield made
    made.close()
    backend.drop(url)
