"""The data version behind ETags and the response cache sees every commit, from any process."""

from app.db import Database


def test_data_version_sees_commits_of_other_connections(database_url: str) -> None:
    reader, writer = Database(database_url), Database(database_url)
    try:
        before = reader.data_version()
        assert reader.data_version() == before
        with writer.write():
            pass
        assert reader.data_version() == before + 1
        with reader.write():
            pass
        assert writer.data_version() == before + 2 == reader.data_version()
    finally:
        reader.dispose()
        writer.dispose()
