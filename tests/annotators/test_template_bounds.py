"""A prompt template cannot stall the API or a worker: output size, loop iterations,
repetition and render time are bounded wherever templates render, and going over names the
limit (a 422 at registration, a failed task with the reason in workers)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.annotators.config import parse_config
from app.annotators.prompts import ShownItem, render
from app.annotators.sandbox import TemplateLimitExceeded, TemplateLimits
from app.db.models import Task
from tests.fakes.fixtures import marked_pairs

FRAME = "Judge.\n=== user ===\n"


def config_with(template: str, name: str = "bounded_judge") -> dict[str, Any]:
    return {
        "name": name,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "prompt_template": FRAME + template,
        "parser": "label",
    }


HOSTILE = {
    "string repetition": ("{{ 'x' * 10**9 }}", "max_output_chars"),
    "list repetition": ("{{ [0] * 10**8 }}", "max_output_chars"),
    "huge power": ("{{ 10 ** (10 ** 10) }}", "max_output_chars"),
    "field width": ("{{ '{:>1000000000}'.format(1) }}", "max_output_chars"),
    "percent width": ("{{ '%1000000000d' % 1 }}", "max_output_chars"),
    "padding filter": ("{{ 'x'|center(1000000000) }}", "max_output_chars"),
    "doubling": (
        "{% set ns = namespace(t='ab') %}{% for i in range(64) %}"
        "{% set ns.t = ns.t ~ ns.t %}{% endfor %}{{ ns.t }}",
        "max_output_chars",
    ),
    # Few steps, each a large piece: the output limit is met long before any time limit.
    "too much output": ("{% for i in range(100) %}{{ '0123456789' * 10000 }}{% endfor %}", None),
    "nested loops": (
        "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
        "max_loop_iterations",
    ),
    "huge range": ("{% for i in range(10**6) %}{% endfor %}", None),
    "exponential recursion": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
        "max_seconds",
    ),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_registering_an_unbounded_template_is_a_422_naming_the_limit(
    client: TestClient, researcher, case: str
) -> None:
    template, limit = HOSTILE[case]

    response = client.post(
        "/api/v1/annotators", json=config_with(template), headers=researcher.headers
    )

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "template_limit_exceeded"
    assert error["details"]["limit"] in (
        [limit] if limit else ["max_output_chars", "max_loop_iterations"]
    )
    assert error["details"]["limit"] in error["message"]
    assert client.get(
        "/api/v1/annotators/bounded_judge", headers=researcher.headers
    ).status_code == (404)


def test_ordinary_loops_filters_and_formatting_still_render(client: TestClient, researcher):
    template = (
        "{% for item in items %}{{ loop.index }}. {{ item.instruction|upper }} "
        "{{ '%-3s|' % 'a' }}{{ '{:>4}'.format(7) }}{{ item.output_a|truncate(20) }}"
        "{{ ['x', 'y']|join(', ') }}{{ 'ab' ~ 'cd' }}{% endfor %}"
    )

    response = client.post(
        "/api/v1/annotators", json=config_with(template), headers=researcher.headers
    )

    assert response.status_code == 201, response.text


def test_the_limits_come_from_the_settings() -> None:
    config = parse_config(config_with("{% for i in range(50) %}{{ i }}{% endfor %}"))
    items = [ShownItem("q", "", "a", "b")]

    with pytest.raises(TemplateLimitExceeded) as refused:
        render(config, items, TemplateLimits(max_loop_iterations=10))

    assert refused.value.limit == "max_loop_iterations"
    assert render(config, items, TemplateLimits(max_loop_iterations=50)).user.endswith("49")


def test_a_template_that_explodes_on_real_data_fails_its_tasks_with_the_reason(
    fake_llm, client: TestClient, researcher, make_job, post_comparisons, run_worker, db
) -> None:
    # The registration sample's answers are short; real answers here are longer than 10.
    explodes_on_long_answers = (
        "{% for item in items %}{% if item.output_a|length > 10 %}{{ item.output_a * 10**8 }}"
        "{% endif %}{{ item.instruction }}{% endfor %}"
    )
    assert (
        client.post(
            "/api/v1/annotators",
            json=config_with(explodes_on_long_answers, name="sneaky_judge"),
            headers=researcher.headers,
        ).status_code
        == 201
    )
    job = make_job(researcher, annotators=["sneaky_judge"])
    post_comparisons(researcher, job["id"], marked_pairs(2))

    run_worker()

    tasks = db.scalars(select(Task)).all()
    assert [task.status for task in tasks] == ["failed", "failed"]
    assert all("max_output_chars" in (task.last_error or "") for task in tasks)
    assert fake_llm.requests == []
