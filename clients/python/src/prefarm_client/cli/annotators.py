"""`prefarm annotators …`: list, show, register and validate simulated annotator configs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from prefarm_client.cli.common import console, make_client, print_json, reported_errors

annotators_cli = typer.Typer(
    help="Simulated annotators (prompted LLM judges and pools) on the server.",
    no_args_is_help=True,
)
ConfigFile = Annotated[
    Path, typer.Argument(help="YAML: one config, or a list of them under `annotators:`")
]


class ConfigFileError(ValueError):
    pass


def read_configs(path: Path) -> list[dict[str, Any]]:
    """The configs of a YAML file: a mapping (one config) or `annotators: [...]`."""
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: not YAML ({exc})") from exc
    entries: list[Any]
    if isinstance(document, dict) and isinstance(document.get("annotators"), list):
        entries = document["annotators"]
    elif isinstance(document, dict):
        entries = [document]
    else:
        raise ConfigFileError(f"{path}: expected a config mapping or a list under 'annotators'")
    if not entries or not all(isinstance(entry, dict) for entry in entries):
        raise ConfigFileError(f"{path}: every config must be a mapping")
    return entries


def _configs_or_exit(path: Path) -> list[dict[str, Any]]:
    try:
        return read_configs(path)
    except (ConfigFileError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc


@annotators_cli.command("list")
def list_annotators(
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON")] = False,
) -> None:
    """Every annotator and pool the server knows, shipped and registered."""
    from rich.table import Table

    with reported_errors(), make_client() as client:
        items = client.list_annotators()
    if as_json:
        print_json(items)
        return
    shown = Table("name", "kind", "provider", "model / members", "shipped", "version")
    for item in items:
        config = item["config"]
        what = config.get("model") or ", ".join(config.get("members", []))
        shown.add_row(
            item["name"],
            item["kind"],
            config.get("provider", ""),
            what,
            "yes" if item["shipped"] else "",
            item["version"][:12],
        )
    console.print(shown)


@annotators_cli.command("show")
def show(name: Annotated[str, typer.Argument(help="The annotator's name")]) -> None:
    """One annotator's config, as JSON."""
    with reported_errors(), make_client() as client:
        print_json(client.get_annotator(name))


@annotators_cli.command("register")
def register(file: ConfigFile) -> None:
    """Register the configs of a YAML file (configs are immutable: the same one again is a
    no-op). Configs with base_url or api_key_env need an admin's token."""
    configs = _configs_or_exit(file)
    with reported_errors(), make_client() as client:
        for config in configs:
            stored = client.register_annotator(config)
            typer.echo(f"registered {stored['name']} (version {stored['version'][:12]})")


@annotators_cli.command("validate")
def validate(
    file: ConfigFile,
    sample: Annotated[
        Path | None,
        typer.Option(
            help="Comparisons (.jsonl/.csv/.json) to render and price; default: a "
            "sample of the server's"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON")] = False,
) -> None:
    """Check configs without registering them: print the prompt the judge would be sent for a
    sample comparison and what 1,000 comparisons would cost."""
    from prefarm_client.files import read_comparisons

    configs = _configs_or_exit(file)
    with reported_errors(), make_client() as client:
        rows = read_comparisons(sample).rows[:20] if sample is not None else []
        for config in configs:
            checked = client.validate_annotator(config, comparisons=rows)
            if as_json:
                print_json(checked)
            else:
                _print_validation(checked)


def _print_validation(checked: dict[str, Any]) -> None:
    typer.echo(f"{checked['name']}: valid {checked['kind']} (version {checked['version'][:12]})")
    prompt = checked.get("prompt")
    if prompt:
        typer.echo("--- system ---")
        typer.echo(prompt["system"])
        typer.echo("--- user ---")
        typer.echo(prompt["user"])
        typer.echo("---")
    typer.echo(
        f"per comparison: {checked['calls_per_comparison']:g} calls, "
        f"{checked['prompt_tokens_per_comparison']:.0f} prompt tokens, up to "
        f"{checked['completion_tokens_per_comparison']:.0f} completion tokens"
    )
    typer.echo(
        f"per 1,000 comparisons: {checked['prompt_tokens_per_1000']:,} prompt tokens, "
        f"${checked['usd_per_1000_comparisons']:.4f} ({checked['token_counting']})"
    )
