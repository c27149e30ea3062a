"""Issue 12's "done when", end to end: a real `prefarm serve` process, and from another folder
a researcher with only the light client (the server stack cannot even be imported there) who
validates and registers an OpenAI-compatible judge (the fake provider), creates a job from a
JSONL file, waits with a progress bar, reads the statistics and downloads every export format
per split, all over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.fakes.fixtures import expected_preference, marked_pairs
from tests.fakes.llm_server import FakeLLM

FORMATS = ("annotations", "alpaca_farm", "trl", "openai_dpo", "hh_rlhf", "arena")
# What a researcher's laptop does not have: importing any of it fails in the client's process.
SERVER_ONLY = ("app", "fastapi", "starlette", "sqlalchemy", "uvicorn", "psycopg", "openai")
CLIENT = (
    "import sys\n"
    f"for name in {SERVER_ONLY!r}: sys.modules[name] = None\n"
    "from prefarm_client.cli import main\n"
    "main()\n"
)


@dataclass
class Server:
    url: str
    env: dict[str, str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prefarm(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prefarm_client", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def fake_provider() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def server(tmp_path: Path, fake_provider: FakeLLM) -> Iterator[Server]:
    """`prefarm serve` on a SQLite file of its own (its in-process worker judges); the operator
    grants researchers the fake provider's address."""
    folder = tmp_path / "server"
    folder.mkdir()
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFARM_", "OPENAI_", "ANTHROPIC_"))
    }
    env.update(
        PREFARM_DATABASE_URL=f"sqlite:///{folder / 'prefarm.db'}",
        PREFARM_LOG_LEVEL="warning",
        PREFARM_WORKER_POLL_SECONDS="0.1",
        PREFARM_RESEARCHER_BASE_URLS=f"{fake_provider.url}/",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "prefarm_client", "serve", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield Server(url, env)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_researcher_works_from_a_laptop_over_http(
    server: Server, fake_provider: FakeLLM, tmp_path: Path
) -> None:
    # The operator, on the server's machine, makes the researcher's account and token.
    operator_dir = tmp_path / "server"
    made = _prefarm(
        ["users", "create", "--email", "ada@example.org", "--role", "researcher"],
        server.env,
        operator_dir,
    )
    assert made.returncode == 0, made.stderr
    token = _prefarm(["tokens", "create", "--email", "ada@example.org"], server.env, operator_dir)
    assert token.returncode == 0, token.stderr

    # The researcher's laptop: another folder, only the client, PREFARM_URL and PREFARM_TOKEN.
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    env = {k: v for k, v in server.env.items() if not k.startswith("PREFARM_")}
    env.update(PREFARM_URL=server.url, PREFARM_TOKEN=token.stdout.strip())

    def researcher(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-c", CLIENT, *args],
            env=env,
            cwd=laptop,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    pairs = marked_pairs(30)
    (laptop / "pairs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in pairs))
    judge = {
        "name": "lab_judge",
        "provider": "openai_compatible",
        "base_url": f"{fake_provider.url}/v1",
        "model": "lab-model-7b",
        "prompt": "direct_choice",
        "parser": "label",
        "max_tokens": 4,
        "price_per_mtok_input": 0.5,
        "price_per_mtok_output": 1.5,
    }
    (laptop / "judge.yaml").write_text(yaml.safe_dump(judge))

    checked = researcher("annotators", "validate", "judge.yaml", "--sample", "pairs.jsonl")
    assert pairs[0]["instruction"] in checked.stdout
    assert "per 1,000 comparisons" in checked.stdout
    assert fake_provider.requests == []  # validating calls no provider

    registered = researcher("annotators", "register", "judge.yaml")
    assert "registered lab_judge" in registered.stdout

    submitted = researcher(
        "jobs", "submit", "pairs.jsonl", "-a", "lab_judge", "--name", "laptop run",
        "--wait", "--timeout", "150", "--poll-seconds", "0.2",
    )  # fmt: skip
    assert "job 1: 30 comparisons added" in submitted.stdout
    assert "job 1: 30 of 30 comparisons judged, 30 judgments" in submitted.stdout
    assert "judging" in submitted.stderr and "eta" in submitted.stderr  # the progress bar
    assert {r.body["model"] for r in fake_provider.requests} == {"lab-model-7b"}

    researcher("stats", "1", "--out", "stats.json", "--bootstrap", "20")
    report = json.loads((laptop / "stats.json").read_text())
    assert report["counts"]["judgments"] == 30
    assert [e["annotator"] for e in report["evaluators"]] == ["lab_judge"]

    exported = researcher(
        "export", "1", "--format", "all", "--out-dir", "data", "--test-fraction", "0.3"
    )
    files = sorted(p.name for p in (laptop / "data").iterdir())
    assert files == sorted(f"job-1-{f}.{s}.jsonl" for f in FORMATS for s in ("train", "test"))
    assert "datasets.load_dataset" in exported.stdout

    judgments = [
        json.loads(line)
        for split in ("train", "test")
        for line in (laptop / "data" / f"job-1-annotations.{split}.jsonl").read_text().splitlines()
    ]
    assert len(judgments) == 30
    assert all(j["preference"] == expected_preference(j["comparison_id"]) for j in judgments)

    import datasets

    loaded = datasets.load_dataset(
        "json",
        data_files={
            "train": str(laptop / "data" / "job-1-trl.train.jsonl"),
            "test": str(laptop / "data" / "job-1-trl.test.jsonl"),
        },
        cache_dir=str(tmp_path / "hf-cache"),
    )
    assert set(loaded) == {"train", "test"}
    assert loaded["train"].num_rows + loaded["test"].num_rows == 30
    assert set(loaded["train"]["prompt"]).isdisjoint(loaded["test"]["prompt"])
    assert not (laptop / "prefarm.db").exists()
