"""Bounded rendering of prompt templates written by researchers.

Jinja2's sandbox keeps a template away from Python's internals but not from the CPU or memory:
`{{ 'x' * 10**9 }}` or three nested `range(100000)` loops would stall the API process that
checks a new config, or a worker. Here every render has a budget (`TemplateLimits`):

- output: the rendered text may hold at most `max_output_chars` characters, and no value a
  template computes (by an operator, a filter or a call) may be longer than that;
- loops: at most `max_loop_iterations` iterations in total, over all loops of one render
  (`range()` is bounded the same way);
- repetition and growth: `*`, `+`, `**` and `%` formatting are checked *before* they run, and so
  are numbers given to filters or methods (`center(10**9)`), so nothing huge is allocated;
- time: at most `max_seconds` of wall-clock time, checked at every loop step, call and filter.

A render over its budget raises `TemplateLimitExceeded` (a ConfigError) naming the limit.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

from app.annotators.config import ConfigError
from app.config import Settings

LOOP_GUARD = "_prefarm_loop_budget"
SIZE_GUARD = "_prefarm_size_budget"
MAX_INT_BITS = 4096  # integers a prompt template could need are far smaller
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class TemplateLimits:
    max_output_chars: int = 2_000_000
    max_loop_iterations: int = 100_000
    max_seconds: float = 1.0

    @classmethod
    def of(cls, settings: Settings) -> TemplateLimits:
        return cls(
            settings.template_max_output_chars,
            settings.template_max_loop_iterations,
            settings.template_max_seconds,
        )


class TemplateLimitExceeded(ConfigError):
    """A template went over its budget; `limit` names the setting, `maximum` its value."""

    def __init__(self, limit: str, maximum: float, what: str) -> None:
        super().__init__(f"the template {what}: over its limit {limit} = {maximum:g}")
        self.limit = limit
        self.maximum = maximum


class _Budget:
    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.iterations = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitExceeded(
                "max_seconds", self.limits.max_seconds, "took too long to render"
            )

    def step(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.max_loop_iterations:
            raise TemplateLimitExceeded(
                "max_loop_iterations", self.limits.max_loop_iterations, "loops too many times"
            )
        self.tick()

    def size(self, length: int, what: str = "builds a value that is too long") -> None:
        if length > self.limits.max_output_chars:
            raise TemplateLimitExceeded("max_output_chars", self.limits.max_output_chars, what)


_budget: ContextVar[_Budget | None] = ContextVar("prefarm_template_budget", default=None)


def _current() -> _Budget:
    budget = _budget.get()
    if budget is None:
        raise RuntimeError("prompt templates render through render_bounded only")
    return budget


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict | set) else 0


def _check_numbers(budget: _Budget, values: Iterable[Any]) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            budget.size(abs(value), f"passes the number {value}, larger than any output")
        elif isinstance(value, float) and abs(value) > budget.limits.max_output_chars:
            budget.size(int(min(abs(value), 1e18)), "passes a number larger than any output")


def _check_format(budget: _Budget, text: Any) -> None:
    """A format string whose widths or precisions exceed the output limit (`%9999999d`)."""
    if isinstance(text, str):
        for digits in _DIGITS.findall(text):
            if len(digits) > 12 or int(digits) > budget.limits.max_output_chars:
                budget.size(int(digits[:19]), "formats a field wider than any output")


def _loop_budget(iterable: Any) -> Iterator[Any]:
    budget = _current()
    for item in iterable:
        budget.step()
        yield item


def _size_budget(value: Any) -> Any:
    budget = _current()
    budget.size(_length(value))
    budget.tick()
    return value


def _guarded_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    # Filters marked pass_context / pass_eval_context / pass_environment get that first.
    value_at = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)  # keeps those marks, which Jinja reads
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _current()
        budget.tick()
        value = args[value_at] if len(args) > value_at else None
        _check_numbers(budget, [*args[value_at + 1 :], *kwargs.values()])
        _check_growth(budget, function.__name__, value, args[value_at + 1 :], kwargs)
        result = function(*args, **kwargs)
        budget.size(_length(result))
        return result

    return guarded


def _check_growth(
    budget: _Budget, name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Operations whose result can be far longer than their inputs, checked before they run:
    formatting (field widths), joining many strings, replacing with a longer text."""
    if name in ("do_format", "format", "format_map"):
        _check_format(budget, value)
    elif name in ("do_join", "join"):
        items = args[0] if name == "join" and args else value
        if isinstance(items, list | tuple):
            budget.size(sum(_length(item) for item in items))
    elif name in ("do_replace", "replace") and isinstance(value, str) and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        count = value.count(old) if old else len(value) + 1
        budget.size(len(value) + count * len(new), "replaces into too long a text")


class _GuardLoopsAndConcats(NodeTransformer):
    """Every `{% for %}` iterates through the loop budget; every `~` result is size-checked."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        loop = self.generic_visit(node)
        assert isinstance(loop, nodes.For)
        loop.iter = nodes.Filter(loop.iter, LOOP_GUARD, [], [], None, None, lineno=loop.lineno)
        return loop

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        concat = self.generic_visit(node)
        return nodes.Filter(concat, SIZE_GUARD, [], [], None, None, lineno=node.lineno)


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox with budgets; constant folding is off so nothing runs at compile time."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})

    def __init__(self, **options: Any) -> None:
        super().__init__(optimized=False, **options)
        self.filters = {name: _guarded_filter(f) for name, f in self.filters.items()}
        self.filters[LOOP_GUARD] = _loop_budget
        self.filters[SIZE_GUARD] = _size_budget
        self.globals["range"] = self._bounded_range

    @staticmethod
    def _bounded_range(*args: int) -> range:
        budget = _current()
        values = range(*args)
        if len(values) > budget.limits.max_loop_iterations:
            raise TemplateLimitExceeded(
                "max_loop_iterations",
                budget.limits.max_loop_iterations,
                f"asks for a range of {len(values)} numbers",
            )
        return values

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        guarded: nodes.Template = _GuardLoopsAndConcats().visit(tree)
        return guarded

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _current()
        budget.tick()
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if _length(sequence) and isinstance(count, int):
                    budget.size(_length(sequence) * max(count, 0), "repeats a value too often")
            if isinstance(left, int) and isinstance(right, int):
                _check_bits(budget, left.bit_length() + right.bit_length())
        elif operator == "+":
            budget.size(_length(left) + _length(right))
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and right > 0:
                _check_bits(budget, right * abs(left).bit_length())
        elif operator == "%":
            _check_format(budget, left)
        result = super().call_binop(context, operator, left, right)
        budget.size(_length(result))
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format` and `format_map` (the sandbox wraps them when they are looked up):
        field widths are checked before anything is formatted."""
        wrapper = super().wrap_str_format(value)
        if wrapper is not None:
            _check_format(_current(), value.__self__)
        return wrapper

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _current()
        budget.tick()
        _check_numbers(budget, [*args, *kwargs.values()])
        name = getattr(__obj, "__name__", "")
        _check_growth(budget, name, getattr(__obj, "__self__", None), args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        budget.size(_length(result))
        return result


def _check_bits(budget: _Budget, bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateLimitExceeded(
            "max_output_chars", budget.limits.max_output_chars, "computes too large a number"
        )


def render_bounded(template: Any, limits: TemplateLimits, **context: Any) -> str:
    """Render a template of a BoundedEnvironment within `limits`."""
    budget = _Budget(limits)
    token = _budget.set(budget)
    try:
        parts: list[str] = []
        length = 0
        for chunk in template.generate(**context):
            length += len(chunk)
            budget.size(length, "renders too much text")
            budget.tick()
            parts.append(chunk)
        return "".join(parts)
    finally:
        _budget.reset(token)
