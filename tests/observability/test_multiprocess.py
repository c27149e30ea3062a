"""With PROMETHEUS_MULTIPROC_DIR, /metrics adds up what every process on the machine recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.observability.conftest import samples

RECORD = (
    "from app.observability.metrics import record_provider_call\n"
    "record_provider_call('openai', 'm', 0.2, cost_usd=0.5)\n"
)
RENDER = (
    "import sys\n"
    "from prometheus_client import CollectorRegistry\n"
    "from app.observability.metrics import render\n"
    "sys.stdout.write(render(CollectorRegistry()).decode())\n"
)


def _python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_provider_calls_of_two_processes_are_summed(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    _python(RECORD, env)
    _python(RECORD, env)
    page = samples(_python(RENDER, env))
    model = (("model", "m"), ("provider", "openai"))
    assert page[("prefarm_provider_requests_total", (model[0], ("outcome", "ok"), model[1]))] == 2
    assert page[("prefarm_provider_cost_usd_total", model)] == 1.0
    assert page[("prefarm_provider_request_duration_seconds_count", model)] == 2
