"""The `prefarm` command.

Researcher commands (`jobs`, `stats`, `export`, `annotators`) live here and talk to a server over
HTTP (`PREFARM_URL`, `PREFARM_TOKEN`). Operator commands (`serve`, `worker`, `db`, `users`,
`tokens`, `demo`, ...) come from the server package when it is installed: it names them as
`prefarm.commands` entry points, and they are imported only when one of them runs, so a
researcher command never loads the server stack.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

import typer
from typer.core import TyperGroup

from prefarm_client.cli.annotators import annotators_cli
from prefarm_client.cli.jobs import jobs_cli
from prefarm_client.cli.results import export, stats

OPERATOR_COMMANDS_GROUP = "prefarm.commands"


def _operator_entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=OPERATOR_COMMANDS_GROUP)}


class PrefarmGroup(TyperGroup):
    """The researcher commands, plus the server's operator commands when it is installed."""

    def list_commands(self, ctx: Any) -> list[str]:
        own = super().list_commands(ctx)
        return own + sorted(set(_operator_entry_points()) - set(own))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        entry_point = _operator_entry_points().get(cmd_name)
        if entry_point is None:
            return None
        # A click group (typer's click), holding the server's operator commands.
        operator_group = entry_point.load()
        return operator_group.get_command(ctx, cmd_name)


cli = typer.Typer(
    cls=PrefarmGroup,
    help="prefarm: pairwise preference annotation. Researcher commands work over HTTP "
    "(PREFARM_URL, PREFARM_TOKEN); operator commands come with the server package.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cli.add_typer(jobs_cli, name="jobs")
cli.add_typer(annotators_cli, name="annotators")
cli.command("stats")(stats)
cli.command("export")(export)


def main() -> None:
    cli()
