"""The package's layers point one way (docs/architecture.md): a package imports only packages
in layers below its own, and domain code never imports the web framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"

# Bottom to top. A package may import any package of a lower layer, never one of its own layer
# (other than itself) or above.
LAYERS: list[tuple[str, ...]] = [
    ("config", "errors", "resources"),
    ("db",),
    ("observability", "accounts", "annotators"),
    ("stats",),
    ("routing",),
    ("ingest", "exports", "jobs"),
    ("worker", "rating"),
    ("http",),
    ("api", "web", "dashboard"),
    ("server",),
    ("demo",),
    ("cli",),
]
LAYER_OF = {package: level for level, packages in enumerate(LAYERS) for package in packages}
# The layers that hold the domain: they never speak HTTP themselves.
DOMAIN = {p for p, level in LAYER_OF.items() if level <= LAYER_OF["rating"]}
WEB_FRAMEWORK = ("fastapi", "starlette")


def _package(path: Path) -> str:
    relative = path.relative_to(APP)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _modules() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if "_resources" not in p.parts)


def test_every_package_has_a_layer() -> None:
    packages = {_package(path) for path in _modules()} - {"__init__"}
    assert packages - set(LAYER_OF) == set()


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(APP)))
def test_imports_point_down(path: Path) -> None:
    source = _package(path)
    if source == "__init__":
        return
    upward = []
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] != "app" or len(parts) < 2:
            continue
        target = parts[1]
        if target != source and LAYER_OF[target] >= LAYER_OF[source]:
            upward.append(f"{name} (layer {LAYER_OF[target]} >= {LAYER_OF[source]})")
    assert upward == [], f"{path.relative_to(APP)} imports upward or sideways"


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if _package(p) in DOMAIN],
    ids=lambda p: str(p.relative_to(APP)),
)
def test_domain_code_never_imports_the_web_framework(path: Path) -> None:
    framework = [n for n in _imports(path) if n.split(".")[0] in WEB_FRAMEWORK]
    assert framework == []


CLIENT = Path(__file__).resolve().parents[2] / "clients" / "python" / "src" / "prefarm_client"
# What a researcher's machine does not need: the server and its stack.
SERVER_STACK = (
    "app",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "psycopg",
    "openai",
    "anthropic",
    "aiohttp",
    "scipy",
    "numpy",
    "pyarrow",
    "uvicorn",
    "alembic",
)


@pytest.mark.parametrize(
    "path", sorted(CLIENT.rglob("*.py")), ids=lambda p: str(p.relative_to(CLIENT))
)
def test_the_client_package_imports_nothing_of_the_server(path: Path) -> None:
    server = [n for n in _imports(path) if n.split(".")[0] in SERVER_STACK]
    assert server == []


def test_the_researcher_cli_loads_no_server_module() -> None:
    """`prefarm jobs …` starts without the server stack, even where the server is installed."""
    import subprocess
    import sys

    probe = (
        "import sys; from prefarm_client.cli import cli; import prefarm_client.client; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(SERVER_STACK)!r}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
