"""Settings, read from `NEWSDESK_*` environment variables and `.env`."""

from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///newsdesk.db"
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    cache_max_age: int = Field(default=10, ge=0)
    seeds_dir: Path = Path("seeds")

    max_document_bytes: int = Field(default=1 * MiB, gt=0)
    max_request_bytes: int = Field(default=100 * MiB, gt=0)
    max_archive_members: int = Field(default=100_000, gt=0)
    max_archive_bytes: int = Field(default=1024 * MiB, gt=0)
    max_depth: int = Field(default=64, gt=0)

    response_cache_entries: int = Field(default=2048, ge=0)
    # Serialised list items of the current data version, per process; 0 turns it off.
    item_cache_mib: int = Field(default=32, ge=0)
    # Uploads per minute per API key; 0 turns the limit off.
    write_rate_limit: int = Field(default=0, ge=0)

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @cached_property
    def api_key_bytes(self) -> list[bytes]:
        return [key.encode() for key in self.api_keys]
