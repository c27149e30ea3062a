"""The annotators table as the registry of simulated configs (shipped YAML and registered ones).

Shipped configs are written into the table when first needed, so every process (API, workers on
other machines) reads the same config, by name, with its version hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.annotators.config import (
    AnnotatorConfig,
    ConfigError,
    PoolConfig,
    builtin_configs,
    config_sha256,
    parse_config,
)
from app.annotators.pricing import Preview, preview
from app.annotators.prompts import ShownItem, check_template
from app.annotators.sandbox import TemplateLimits
from app.db.dialect import insert_ignoring_conflicts
from app.db.models import Annotator, table

AnyConfig = AnnotatorConfig | PoolConfig


class UnknownAnnotators(LookupError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(f"unknown annotators: {', '.join(names)}")
        self.names = names


class NameTaken(ValueError):
    pass


class RegistrationRefused(PermissionError):
    """A researcher's config names a server or key variable no operator granted."""


@dataclass(frozen=True)
class Grants:
    """What researchers (not only admins) may name in a config: `base_url`s starting with one
    of `base_urls`, `api_key_env`s among `api_key_envs` (PREFARM_RESEARCHER_BASE_URLS and
    PREFARM_RESEARCHER_API_KEY_ENVS)."""

    base_urls: tuple[str, ...] = ()
    api_key_envs: tuple[str, ...] = ()

    @classmethod
    def of(cls, base_urls: str, api_key_envs: str) -> Grants:
        def items(text: str) -> tuple[str, ...]:
            return tuple(part.strip() for part in text.split(",") if part.strip())

        return cls(items(base_urls), items(api_key_envs))

    def refusal(self, data: dict[str, Any]) -> str | None:
        base_url, key_env = data.get("base_url"), data.get("api_key_env")
        if base_url and not any(str(base_url).startswith(p) for p in self.base_urls):
            return (
                f"base_url {base_url!r} is not granted to researchers: workers send API keys "
                "from their environment to that address. An admin may register the config, or "
                "an operator may allow the address in PREFARM_RESEARCHER_BASE_URLS"
            )
        if key_env and key_env not in self.api_key_envs:
            return (
                f"api_key_env {key_env!r} is not granted to researchers. An admin may register "
                "the config, or an operator may allow it in PREFARM_RESEARCHER_API_KEY_ENVS"
            )
        return None


def _row_values(config: AnyConfig) -> dict[str, Any]:
    return {
        "kind": "simulated",
        "name": config.name,
        "config": config.model_dump(mode="json"),
        "config_sha256": config_sha256(config),
    }


def sync_shipped(session: Session, names: list[str] | None = None) -> None:
    """Insert or refresh the shipped configs (those in `names`, or all) in the table."""
    shipped = builtin_configs()
    wanted = [shipped[n] for n in (names if names is not None else shipped) if n in shipped]
    for pool in [c for c in wanted if isinstance(c, PoolConfig)]:
        wanted.extend(shipped[m] for m in pool.members)
    if not wanted:
        return
    rows = {
        a.name: a
        for a in session.scalars(
            select(Annotator).where(Annotator.name.in_({c.name for c in wanted}))
        )
    }
    new_rows = []
    for config in {c.name: c for c in wanted}.values():
        values = _row_values(config)
        row = rows.get(config.name)
        if row is None:
            new_rows.append(values)
        elif row.kind == "simulated" and row.config_sha256 != values["config_sha256"]:
            row.config, row.config_sha256 = values["config"], values["config_sha256"]
    if new_rows:  # another process may insert the same names at the same moment
        session.execute(insert_ignoring_conflicts(session, table(Annotator)), new_rows)
    session.flush()


def load_configs(session: Session, names: list[str]) -> dict[str, tuple[int, AnyConfig]]:
    """(annotator id, config) by name; pools bring their members. Raises UnknownAnnotators."""
    sync_shipped(session, names)
    found: dict[str, tuple[int, AnyConfig]] = {}
    pending = list(dict.fromkeys(names))
    while pending:
        rows = session.execute(
            select(Annotator.id, Annotator.name, Annotator.config).where(
                Annotator.kind == "simulated", Annotator.name.in_(pending)
            )
        ).all()
        by_name = {r.name: r for r in rows}
        missing = [n for n in pending if n not in by_name or by_name[n].config is None]
        if missing:
            raise UnknownAnnotators(missing)
        members: list[str] = []
        for name in pending:
            config = parse_config(by_name[name].config)
            found[name] = (by_name[name].id, config)
            if isinstance(config, PoolConfig):
                members.extend(m for m in config.members if m not in found)
        pending = list(dict.fromkeys(members))
    return found


def unknown_names(session: Session, names: list[str]) -> list[str]:
    try:
        load_configs(session, names)
    except UnknownAnnotators as exc:
        return exc.names
    return []


def list_configs(session: Session) -> list[tuple[AnyConfig, str, bool]]:
    """Every simulated config with its version hash and whether it ships with prefarm."""
    sync_shipped(session)
    shipped = builtin_configs()
    rows = session.execute(
        select(Annotator.name, Annotator.config, Annotator.config_sha256)
        .where(Annotator.kind == "simulated", Annotator.config.is_not(None))
        .order_by(Annotator.name)
    ).all()
    return [(parse_config(r.config), r.config_sha256 or "", r.name in shipped) for r in rows]


def register(
    session: Session,
    data: dict[str, Any],
    limits: TemplateLimits,
    *,
    is_admin: bool = True,
    grants: Grants = Grants(),
) -> tuple[AnyConfig, str, bool]:
    """Validate and store a config. Returns (config, sha, created). Raises ConfigError,
    NameTaken, UnknownAnnotators, TemplateLimitExceeded, and RegistrationRefused for a
    researcher's config that names a server or key variable outside `grants` (admins may name
    any).

    Configs are immutable versions: the same content again is a no-op; other content under a
    taken name is refused, so stored annotations always refer to the config that made them.
    """
    if not is_admin:
        refusal = grants.refusal(data)
        if refusal is not None:
            raise RegistrationRefused(refusal)
    config = parse_config(data)
    if config.name in builtin_configs():
        raise NameTaken(f"{config.name!r} is a shipped config and cannot be replaced")
    if isinstance(config, AnnotatorConfig) and config.provider != "builtin":
        check_template(config, limits)
    if isinstance(config, PoolConfig):
        members = load_configs(session, config.members)
        pools = [m for m, (_, c) in members.items() if isinstance(c, PoolConfig)]
        if pools:
            raise ConfigError(f"pool members must be annotators, not pools: {pools}")
    values = _row_values(config)
    row = session.scalar(select(Annotator).where(Annotator.name == config.name))
    if row is not None:
        if row.config_sha256 == values["config_sha256"]:
            return config, values["config_sha256"], False
        raise NameTaken(f"an annotator named {config.name!r} exists with another config")
    session.add(Annotator(**values))
    session.flush()
    return config, values["config_sha256"], True


def preview_config(
    session: Session,
    data: dict[str, Any] | None,
    name: str | None,
    samples: list[ShownItem],
    limits: TemplateLimits,
) -> tuple[AnyConfig, str, Preview]:
    """A config (given, or registered under `name`) with its version, its prompt for the first
    sample and its price (app/annotators/pricing.py); nothing is stored. Raises ConfigError,
    UnknownAnnotators."""
    if (data is None) == (name is None):
        raise ConfigError("give either a config or the name of a registered one")
    if name is not None:
        config = load_configs(session, [name])[name][1]
    else:
        config = parse_config(data or {})
    members: dict[str, AnnotatorConfig] = {}
    if isinstance(config, PoolConfig):
        loaded = load_configs(session, config.members)
        pools = [m for m, (_, c) in loaded.items() if isinstance(c, PoolConfig)]
        if pools:
            raise ConfigError(f"pool members must be annotators, not pools: {pools}")
        members = {m: c for m, (_, c) in loaded.items() if isinstance(c, AnnotatorConfig)}
    elif config.provider != "builtin":
        check_template(config, limits)
    return config, config_sha256(config), preview(config, samples, limits, members)
