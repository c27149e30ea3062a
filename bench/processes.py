"""CPU time of process trees, read from /proc (Linux): what a benchmark's server processes and
PostgreSQL backends spent during a run, whatever else the machine was doing."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:  # the process ended
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) on: the name may hold spaces


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of `root` and every process below it, including children they already
    reaped (a live parent's cutime/cstime), so backends that came and went count too."""
    children = _children()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        fields = _stat_fields(pid)
        if fields is not None:
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        stack.extend(children.get(pid, []))
    return total / _TICKS


def pid_with_arguments(*arguments: str) -> int:
    """The process whose command line holds these arguments in this order (one expected)."""
    wanted = "\0".join(arguments).encode()
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            try:
                if wanted in (entry / "cmdline").read_bytes():
                    return int(entry.name)
            except OSError:
                continue
    raise LookupError(f"no process runs with {' '.join(arguments)}")


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())
