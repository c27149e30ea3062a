"""docker-compose.yml cannot be run here (no compose plugin); these checks keep it consistent
with the code: its commands exist, the worker's health check is real, the settings pass."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefarm_client.cli import cli
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _command_of(service: dict) -> list[str]:
    command = service.get("command") or service["healthcheck"]["test"][1:]
    return list(command)


@pytest.mark.parametrize("name", ["migrate", "api", "worker"])
def test_each_service_runs_a_prefarm_command_that_exists(compose, name) -> None:
    command = _command_of(compose["services"][name])
    assert command[0] == "prefarm"
    words = [w for w in command[1:] if not w.startswith("-")][:2]
    help_ = CliRunner().invoke(cli, [*words[:1], "--help"])
    assert help_.exit_code == 0, help_.output


def test_the_worker_health_check_reads_the_heartbeat(compose) -> None:
    check = compose["services"]["worker"]["healthcheck"]["test"]
    assert check[:4] == ["CMD", "prefarm", "workers", "check"]
    result = CliRunner().invoke(cli, ["workers", "check", "--help"])
    assert result.exit_code == 0 and "--max-age" in result.output


def test_the_api_adds_up_its_processes_metrics(compose) -> None:
    api = compose["services"]["api"]
    folder = api["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert any(mount.split(":")[0] == folder for mount in api["tmpfs"])  # empty on every start
    assert "--workers" in api["command"]


def test_provider_keys_and_addresses_come_from_the_host(compose) -> None:
    for name in ("api", "worker"):
        environment = compose["services"][name]["environment"]
        for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL",
                         "ANTHROPIC_BASE_URL"):  # fmt: skip
            assert environment[variable].startswith(f"${{{variable}"), (name, variable)
        assert environment["OPENAI_BASE_URL"].endswith("https://api.openai.com/v1}")


def test_the_image_installs_the_client_package(compose) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY clients ./clients" in dockerfile
    assert dockerfile.index("COPY clients") < dockerfile.index("pip install")
