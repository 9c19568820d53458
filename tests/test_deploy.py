"""deploy/: the Compose file validates (against the Compose Specification's schema always, with
`docker compose config` where the plugin exists), the systemd units verify, the commands they run are
Sheepdog's, and every SHEEPDOG_* variable named in deploy/ and docs/production.md is a real setting.

docker (with its compose plugin) and systemd-analyze are optional host tools, not services the
suite needs: where one is absent its test skips with plain pytest.skip, under CI=true as well.
tests/conftest.py's requires_service (fail under CI=true) is for PostgreSQL, Redis and Chromium.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from sheepdog.cli import build_parser
from sheepdog.config import Settings, load_settings
from sheepdog.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
UNITS = ("sheepdog-migrate.service", "sheepdog.service", "sheepdog-worker@.service")
INSTALLED_SHEEPDOG = "/opt/sheepdog/venv/bin/sheepdog"  # where docs/production.md installs it
CONFIG_IN_CONTAINER = "/etc/sheepdog/sheepdog.toml"
DOMAIN = "leads.example.org"

# SHEEPDOG_ variables that are not settings but are read by the code itself.
PROCESS_VARIABLES = {"SHEEPDOG_MODEL_CACHE", "SHEEPDOG_CONFIG"}

NAME = re.compile(r"\bSHEEPDOG_[A-Z0-9_]*[A-Z0-9](?:__\*)?")  # SHEEPDOG_X__Y__* names a whole section
# NAME=value (env file, systemd Environment=) or NAME: value (compose); the value may be quoted.
ASSIGNMENT = re.compile(r"\b(SHEEPDOG_[A-Z0-9_]*[A-Z0-9])(?:=|:[ \t]+)[\"']?([^\s\"'#]*)")
INTERPOLATION = re.compile(r"\$\{[^}]*\}")


def deploy_files() -> list[Path]:
    files = sorted(p for p in DEPLOY.rglob("*") if p.is_file())
    assert files, "deploy/ is empty"
    return [*files, ROOT / "docs" / "production.md"]


def _label(path: Path) -> str:
    return str(path.relative_to(ROOT))


# --- the Compose Specification's schema (always; docker compose config below where it exists) --


def compose_schema_errors(document: object) -> list[str]:
    import jsonschema

    schema = json.loads((ROOT / "tests" / "fixtures" / "compose" / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_follows_the_compose_specification() -> None:
    """deploy/docker-compose.yml against the schema Compose itself validates with (compose-spec,
    tests/fixtures/compose/SOURCES.md), so the file is checked on a machine without docker too;
    and the schema does catch a misspelt key."""
    import yaml

    document = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    assert compose_schema_errors(document) == []
    assert set(document["services"]) == {"postgres", "redis", "migrate", "bot", "worker", "caddy"}
    for name in ("bot", "worker"):
        needs = document["services"][name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["postgres"]["condition"] == needs["redis"]["condition"] == "service_healthy"
    assert document["services"]["worker"]["deploy"]["replicas"] == 2

    misspelt = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    misspelt["services"]["bot"]["depend_on"] = misspelt["services"]["bot"].pop("depends_on")
    assert any("depend_on" in error for error in compose_schema_errors(misspelt))


# --- docker compose config -------------------------------------------------------------------


def _compose() -> list[str]:
    """`docker compose`, or a skip that says what is missing."""
    docker = shutil.which("docker")
    if docker is None:
        # optional host tool, not a service the suite needs: a plain skip, also under CI=true
        pytest.skip(
            "docker is not installed: `docker compose config` is not run here "
            "(the compose file is still checked against the Compose Specification's schema)"
        )
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        # optional host tool, not a service the suite needs: a plain skip, also under CI=true
        pytest.skip(
            "docker is installed but not its compose plugin (`docker compose version`: "
            f"{[*(probe.stderr or probe.stdout).strip().splitlines(), 'no output'][0]}): "
            "`docker compose config` is not run here (the compose file is still checked against the "
            "Compose Specification's schema)"
        )
    return [docker, "compose"]


def filled_env(example: str, **blank: str) -> str:
    """The example env file as a user fills it in: every KEY= left empty gets a value (a random
    secret; a host name for DOMAIN), except the keys named in `blank`."""
    lines = []
    for line in example.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#") and value == "" and key not in blank:
            line = f"{key}={DOMAIN if key == 'DOMAIN' else secrets.token_hex(16)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def compose_project(tmp_path: Path, env_text: str) -> Path:
    """deploy/ as a user has it after the docs' first steps: .env and sheepdog.toml filled in."""
    project = tmp_path / "deploy"
    shutil.copytree(DEPLOY, project, ignore=shutil.ignore_patterns(".env", "sheepdog.toml"))
    (project / ".env").write_text(env_text, encoding="utf-8")
    shutil.copy(ROOT / "sheepdog" / "config.example.toml", project / "sheepdog.toml")
    return project


def run_compose_config(project: Path) -> subprocess.CompletedProcess[str]:
    compose = _compose()
    # Only deploy/.env may supply the variables: none from the environment running the tests.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SHEEPDOG_", "COMPOSE_")) and k not in ("DOMAIN", "POSTGRES_PASSWORD")
    }
    return subprocess.run(
        [*compose, "-f", str(project / "docker-compose.yml"), "config", "--format", "json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_config_validates_with_the_env_file_filled_in(tmp_path: Path) -> None:
    example = (DEPLOY / "sheepdog.env.example").read_text(encoding="utf-8")
    project = compose_project(tmp_path, filled_env(example))
    result = run_compose_config(project)
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    config = json.loads(result.stdout)
    services = config["services"]
    assert set(services) == {"postgres", "redis", "migrate", "bot", "worker", "caddy"}

    for name in ("migrate", "bot", "worker"):
        service = services[name]
        assert Path(service["build"]["context"]).resolve() == tmp_path.resolve(), (
            "the build context is the repository root (deploy/..)"
        )
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert service["command"][1:] == ["--config", CONFIG_IN_CONTAINER]
        assert [v["target"] for v in service["volumes"]] == [CONFIG_IN_CONTAINER]
        environment = service["environment"]
        assert environment["SHEEPDOG_CONSOLE__PUBLIC_URL"] == f"https://{DOMAIN}"
        assert environment["SHEEPDOG_QUEUE__BACKEND"] == "rq"
        assert environment["SHEEPDOG_STORAGE__URL"].startswith("postgresql+psycopg://sheepdog:")
    assert [services[n]["command"][0] for n in ("migrate", "bot", "worker")] == ["migrate", "run", "worker"]

    for name in ("bot", "worker"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["postgres"]["condition"] == needs["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["worker"]["deploy"]["replicas"] == 2
    assert "/healthz" in " ".join(services["bot"]["healthcheck"]["test"])
    assert services["postgres"]["image"] == "postgres:15" and services["postgres"]["healthcheck"]["test"]
    assert services["redis"]["image"] == "redis:7" and services["redis"]["healthcheck"]["test"]

    # Caddy: the public host name from .env, HTTPS on 443, proxying to the port the bot is pinned to.
    assert services["caddy"]["environment"]["DOMAIN"] == DOMAIN
    assert {p["target"] for p in services["caddy"]["ports"]} == {80, 443}
    assert services["bot"]["environment"]["SHEEPDOG_CONSOLE__PORT"] == "8080"
    assert "reverse_proxy bot:8080" in (DEPLOY / "Caddyfile").read_text(encoding="utf-8")


def test_compose_config_names_what_the_env_file_is_missing(tmp_path: Path) -> None:
    example = (DEPLOY / "sheepdog.env.example").read_text(encoding="utf-8")
    project = compose_project(tmp_path, filled_env(example, DOMAIN=""))
    result = run_compose_config(project)
    assert result.returncode != 0
    assert "set DOMAIN in deploy/.env" in result.stderr


# --- systemd-analyze verify ------------------------------------------------------------------


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        # optional host tool, not a service the suite needs: a plain skip, also under CI=true
        pytest.skip("systemd-analyze is not installed (Debian: package systemd): units not verified here")
    # verify checks that ExecStart's program exists: point it at this checkout's `sheepdog`
    # instead of /opt/sheepdog/venv (the installed path); everything else is verified as written.
    here = shutil.which("sheepdog", path=str(Path(sys.executable).parent))
    assert here, "the sheepdog command is not installed next to this Python (pip install -e .)"
    for unit in UNITS:
        text = (SYSTEMD / unit).read_text(encoding="utf-8")
        assert INSTALLED_SHEEPDOG in text
        (tmp_path / unit).write_text(text.replace(INSTALLED_SHEEPDOG, here), encoding="utf-8")
    targets = ["./sheepdog-migrate.service", "./sheepdog.service", "./sheepdog-worker@1.service"]
    result = subprocess.run(
        [analyze, "verify", *targets], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    # verify exits 0 on what it merely ignores (an unknown key, a bad value): any line about our
    # units fails the test too.
    ours = [line for line in (result.stdout + result.stderr).splitlines() if "sheepdog" in line]
    assert result.returncode == 0 and not ours, "\n".join(ours) or result.stderr


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((SYSTEMD / name).read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("name", UNITS)
def test_systemd_units_run_as_a_dedicated_user_hardened(name: str) -> None:
    service = unit(name)["Service"]
    assert service["User"] == service["Group"] == "sheepdog"
    assert service["EnvironmentFile"] == "/etc/sheepdog/sheepdog.env"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes" and service["PrivateTmp"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert set(service["ReadWritePaths"].split()) == {"/var/lib/sheepdog", "/var/cache/sheepdog"}
    assert shlex.split(service["ExecStart"])[0] == INSTALLED_SHEEPDOG


def test_the_migrations_run_once_before_the_bot_and_every_worker() -> None:
    assert unit("sheepdog-migrate.service")["Service"]["Type"] == "oneshot"
    for name in ("sheepdog.service", "sheepdog-worker@.service"):
        section = unit(name)["Unit"]
        assert "sheepdog-migrate.service" in section["Requires"].split()
        assert "sheepdog-migrate.service" in section["After"].split()
        assert unit(name)["Install"]["WantedBy"] == "multi-user.target"


# --- the commands ----------------------------------------------------------------------------


def sheepdog_commands() -> list[tuple[str, list[str]]]:
    """(file, argv after `sheepdog`) for every Sheepdog command the deploy files run."""
    found: list[tuple[str, list[str]]] = []
    for name in UNITS:
        argv = shlex.split(unit(name)["Service"]["ExecStart"])
        found.append((name, argv[1:]))
    for path, expected in ((DEPLOY / "docker-compose.yml", 3), (DEPLOY / "Dockerfile", 1)):
        text = path.read_text(encoding="utf-8")
        lists = [json.loads(m) for m in re.findall(r"^\s*(?:command:|CMD)\s*(\[[^\]]*\])", text, re.M)]
        ours = [argv for argv in lists if "--config" in argv]  # not redis-server's
        assert len(ours) == expected, f"{_label(path)}: expected {expected} sheepdog commands, found {ours}"
        found += [(_label(path), argv) for argv in ours]
    return found


def test_the_deploy_files_run_real_sheepdog_commands() -> None:
    commands = sheepdog_commands()
    assert {argv[0] for _, argv in commands} == {"migrate", "run", "worker"}
    parser = build_parser()
    for where, argv in commands:
        try:
            parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{where}: `sheepdog {' '.join(argv)}` is not a valid sheepdog command")


# --- SHEEPDOG_* variables --------------------------------------------------------------------


def is_section(field: Any) -> bool:
    return isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)


def setting_at(name: str) -> Any:
    """The Settings field that SHEEPDOG_<SECTION>__<KEY> sets (or the section that
    SHEEPDOG_<SECTION>__* names), or a failure naming the first part that does not exist."""
    path = name.removeprefix("SHEEPDOG_").removesuffix("__*").lower().split("__")
    model: type[BaseModel] = Settings
    for depth, part in enumerate(path):
        fields = model.model_fields
        where = ".".join(path[:depth]) or "the top level"
        assert part in fields, f"{name}: {where} has no setting {part!r} (has: {', '.join(fields)})"
        field = fields[part]
        if depth < len(path) - 1:
            assert is_section(field), f"{name}: {'.'.join(path[: depth + 1])} is a value, not a section"
            model = field.annotation
    return field


def sample(field: Any) -> str:
    """A value a user would put in: the default where there is one, else any text."""
    default = field.default
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, str | int | float) and default != "":
        return str(default)
    return "a-value-you-filled-in"


def variables_in(path: Path) -> tuple[set[str], dict[str, str]]:
    """Every SHEEPDOG_* name in the file, and the values it gives them (${…} stands for a value)."""
    text = path.read_text(encoding="utf-8")
    names = set(NAME.findall(text))
    values: dict[str, str] = {}
    if path.parent.is_relative_to(DEPLOY):  # the doc's shell lines are not assignments to read
        for name, value in ASSIGNMENT.findall(INTERPOLATION.sub("from-the-env-file", text)):
            if value:
                values.setdefault(name, value)
    return names, values


@pytest.mark.parametrize("path", deploy_files(), ids=_label)
def test_every_sheepdog_variable_named_is_a_real_setting(path: Path) -> None:
    names, values = variables_in(path)
    environ: dict[str, str] = {}
    for name in sorted(names):
        if "__" not in name:
            assert name in PROCESS_VARIABLES, (
                f"{_label(path)}: {name} is neither a setting nor read by Sheepdog"
            )
            assert any(name in p.read_text(encoding="utf-8") for p in (ROOT / "sheepdog").rglob("*.py")), (
                f"{name} is not read anywhere in sheepdog/"
            )
            continue
        field = setting_at(name)
        if name.endswith("__*"):
            assert is_section(field), f"{_label(path)}: {name} is not a section of settings"
            continue
        assert not is_section(field), f"{_label(path)}: {name} is a section: name one of its settings"
        environ[name] = values.get(name) or sample(field)
    try:
        load_settings(None, environ=environ)
    except ConfigError as exc:
        pytest.fail(f"{_label(path)}: its SHEEPDOG_* values do not load:\n{exc}\n{environ}")
