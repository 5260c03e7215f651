"""The README documents what the code does: every setting, parameter and endpoint."""

import re
from pathlib import Path

import pytest

from app.cli import main
from app.config import Settings
from app.main import create_app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict:
    url = f"sqlite:///{tmp_path_factory.mktemp('readme') / 'unused.db'}"
    return create_app(Settings(database_url=url, _env_file=None)).openapi()  # type: ignore[call-arg]


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"NEWSDESK_{name.upper()}" in README


def test_every_listing_parameter_is_documented(openapi: dict) -> None:
    parameters = openapi["paths"]["/v1/articles"]["get"]["parameters"]
    for parameter in parameters:
        assert f"`{parameter['name']}`" in README, parameter["name"]


def test_every_endpoint_is_documented(openapi: dict) -> None:
    for path in openapi["paths"]:
        documented = re.sub(r"\{key\}", "{", path).split("{")[0].rstrip("/")
        assert documented in README, path


def test_the_two_commands_are_the_makefile_targets() -> None:
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    assert "make run" in README and "make test" in README
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "make test" in ci


@pytest.mark.parametrize("command", ["serve", "ingest", "migrate"])
def test_every_command_line_option_is_documented(
    command: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    options = set(re.findall(r"--[a-z][a-z-]+", capsys.readouterr().out)) - {"--help"}
    for option in options:
        assert f"`newsdesk {command}" in README and f"[{option}" in README, option
