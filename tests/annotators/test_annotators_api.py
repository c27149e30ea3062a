"""GET/POST /api/v1/annotators, and the annotator names a job may use."""

from __future__ import annotations

from sqlalchemy import select

from app.db.models import Annotator

VLLM_JUDGE = {
    "name": "lab_vllm_judge",
    "provider": "openai_compatible",
    "base_url": "http://127.0.0.1:8001/v1",
    "model": "Qwen/Qwen2.5-7B-Instruct",
    "prompt": "json_reason",
    "parser": "json",
}


def test_the_shipped_annotators_and_pools_are_listed(client, researcher):
    response = client.get("/api/v1/annotators", headers=researcher.headers)
    assert response.status_code == 200
    items = {item["name"]: item for item in response.json()["items"]}
    assert items["longest"]["kind"] == "annotator" and items["longest"]["shipped"]
    assert items["farm_pool"]["kind"] == "pool"
    assert len(items["openai_label"]["version"]) == 64
    assert items["openai_label"]["config"]["provider"] == "openai"


def test_registering_a_config_makes_it_usable_by_jobs(admin, client, researcher, make_job):
    response = client.post("/api/v1/annotators", json=VLLM_JUDGE, headers=admin.headers)
    assert response.status_code == 201, response.text
    assert response.json()["shipped"] is False
    read = client.get("/api/v1/annotators/lab_vllm_judge", headers=researcher.headers)
    assert read.json()["version"] == response.json()["version"]
    assert make_job(researcher, annotators=["lab_vllm_judge"])["annotators"] == ["lab_vllm_judge"]


def test_registering_the_same_config_again_is_a_no_op(admin, client, researcher):
    first = client.post("/api/v1/annotators", json=VLLM_JUDGE, headers=admin.headers)
    again = client.post("/api/v1/annotators", json=VLLM_JUDGE, headers=admin.headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()


def test_another_config_under_a_taken_name_is_a_conflict(admin, client, researcher, db):
    client.post("/api/v1/annotators", json=VLLM_JUDGE, headers=admin.headers)
    changed = {**VLLM_JUDGE, "temperature": 0.7}
    response = client.post("/api/v1/annotators", json=changed, headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "name_taken"
    stored = db.scalar(select(Annotator.config).where(Annotator.name == "lab_vllm_judge"))
    assert stored["temperature"] == 0.0


def test_shipped_names_cannot_be_replaced(admin, client, researcher):
    response = client.post(
        "/api/v1/annotators", json={**VLLM_JUDGE, "name": "longest"}, headers=admin.headers
    )
    assert response.status_code == 409


def test_an_invalid_config_is_a_422_with_the_reason(admin, client, researcher):
    bad = {**VLLM_JUDGE, "base_url": None}
    response = client.post("/api/v1/annotators", json=bad, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_config"
    assert "base_url" in response.json()["error"]["message"]


def test_a_template_that_does_not_render_is_refused(admin, client, researcher):
    broken = {**VLLM_JUDGE, "prompt": None, "prompt_template": "{{ items[0].nope }}"}
    response = client.post("/api/v1/annotators", json=broken, headers=admin.headers)
    assert response.status_code == 422
    assert "does not render" in response.json()["error"]["message"]


def test_inline_templates_are_sandboxed(admin, client, researcher):
    escape = {
        **VLLM_JUDGE,
        "prompt": None,
        "prompt_template": "{{ ''.__class__.__mro__[1].__subclasses__() }}\n=== user ===\nx",
    }
    response = client.post("/api/v1/annotators", json=escape, headers=admin.headers)
    assert response.status_code == 422


def test_a_pool_of_registered_members(admin, client, researcher, make_job):
    client.post("/api/v1/annotators", json=VLLM_JUDGE, headers=admin.headers)
    pool = {"kind": "pool", "name": "lab_pool", "members": ["lab_vllm_judge", "openai_label"]}
    assert (
        client.post("/api/v1/annotators", json=pool, headers=researcher.headers).status_code == 201
    )
    unknown = {"kind": "pool", "name": "bad_pool", "members": ["nobody"]}
    response = client.post("/api/v1/annotators", json=unknown, headers=researcher.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"unknown": ["nobody"]}


def test_a_job_naming_unknown_annotators_names_each_and_lists_the_known(client, researcher):
    response = client.post(
        "/api/v1/jobs",
        json={"name": "j", "annotators": ["longest", "gpt-17-judge", "claude-9"]},
        headers=researcher.headers,
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"]["unknown"] == ["gpt-17-judge", "claude-9"]
    assert {"longest", "random", "openai_json"} <= set(error["details"]["known"])
    assert "gpt-17-judge" in error["message"] and "claude-9" in error["message"]
    assert "longest" in error["message"]  # the registered names are listed
    assert client.get("/api/v1/jobs", headers=researcher.headers).json()["items"] == []


def test_annotators_need_an_api_token(client, make_account):
    assert client.get("/api/v1/annotators").status_code == 401
    assert client.post("/api/v1/annotators", json=VLLM_JUDGE).status_code == 401


PLAIN_JUDGE = {
    "name": "terse_judge",
    "provider": "openai",
    "model": "gpt-4o-mini",
    "prompt": "direct_choice",
    "parser": "label",
    "persona": "You like short answers.",
}


def test_researchers_may_register_configs_for_the_standard_endpoints(client, researcher):
    response = client.post("/api/v1/annotators", json=PLAIN_JUDGE, headers=researcher.headers)
    assert response.status_code == 201


def test_only_admins_may_point_a_config_at_another_address(client, researcher, db):
    """A worker sends the key named by the config to its base_url: a researcher must not be able
    to send the operator's keys (or any other environment variable) to an address of theirs."""
    for extra in (
        {"base_url": "https://collector.example/v1"},
        {"provider": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"},
        {"api_key_env": "PREFARM_DATABASE_URL"},
    ):
        response = client.post(
            "/api/v1/annotators", json={**PLAIN_JUDGE, **extra}, headers=researcher.headers
        )
        assert response.status_code == 403
        assert "An admin may register the config" in response.json()["error"]["message"]
    assert db.scalar(select(Annotator).where(Annotator.name == "terse_judge")) is None
