"""The deployment files, read once: the compose file, ``.env.example`` and the workspace's scripts.

``interpolate`` does what ``docker compose`` does to a value: ``${VAR}``, ``${VAR:-default}`` and
``${VAR:?message}`` from the environment file, ``$$`` for a literal ``$``.
"""

import re
import tomllib
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from api.settings import ApiSettings
from ingest.settings import IngestSettings
from rules.settings import RulesSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, type[BaseModel]] = {
    "LANTIAN_INGEST_": IngestSettings,
    "LANTIAN_RULES_": RulesSettings,
    "LANTIAN_API_": ApiSettings,
}
_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines; comments and blank lines skipped."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            key, _, value = text.partition("=")
            values[key.strip()] = value.strip()
    return values


def references(text: str) -> set[str]:
    """The names of the variables ``text`` interpolates."""
    return {match.group(1) for match in _REFERENCE.finditer(text) if match.group(1)}


def interpolate(value: str, env: dict[str, str]) -> str:
    """``value`` as compose hands it to the container, given the environment file ``env``."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if name is None:
            return "$"
        given = env.get(name, "")
        if operator in {":-", "-"} and not given:
            return argument
        if operator in {":?", "?"} and not given:
            raise ValueError(f"{name}: {argument}")
        return given

    return _REFERENCE.sub(replace, value)


def accepted_names(model: type[BaseModel], prefix: str) -> set[str]:
    """Every variable name a settings class reads, nested models joined with ``__``."""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        key = prefix + name.upper()
        names.add(key)
        for kind in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                names |= accepted_names(kind, key + "__")
    return names


def console_scripts() -> dict[str, str]:
    """Every ``[project.scripts]`` entry of the workspace's members: name → ``module:function``."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    scripts: dict[str, str] = {}
    for member in root["tool"]["uv"]["workspace"]["members"]:
        project = tomllib.loads((ROOT / member / "pyproject.toml").read_text(encoding="utf-8"))
        scripts |= project["project"].get("scripts", {})
    return scripts


@pytest.fixture(scope="session")
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def compose(compose_text) -> dict[str, typing.Any]:
    document = yaml.safe_load(compose_text)
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    return read_env_file(ROOT / ".env.example")


@pytest.fixture(scope="session")
def environment(compose, env_example):
    """Each service's environment as its container sees it, with ``.env.example``'s values."""
    return {
        name: {
            key: interpolate(str(value), env_example)
            for key, value in service.get("environment", {}).items()
        }
        for name, service in compose["services"].items()
    }
