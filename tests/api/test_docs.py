"""`/docs` renders with no network but this server's, under a strict CSP, and every operation
in the schema carries request and response examples."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

METHODS = ("get", "post", "put", "patch", "delete")


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_the_docs_page_loads_nothing_from_elsewhere(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert "https://" not in response.text and "http://" not in response.text
    assert "<script>" not in response.text  # no inline script
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert client.get(asset).status_code == 200


def test_docs_render_every_operation_offline(open_page, live_url: str, client: TestClient):
    page = open_page()
    blocked: list[str] = []
    violations: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(live_url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_this_server)
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto("/docs")
    page.wait_for_selector(".opblock")
    expected = len(operations(client.get("/openapi.json").json()))
    assert page.locator(".opblock").count() == expected
    page.click("#operations-jobs-create_api_v1_jobs_post .opblock-summary")
    page.wait_for_selector("#operations-jobs-create_api_v1_jobs_post .body-param__example")
    example = page.inner_text("#operations-jobs-create_api_v1_jobs_post .body-param__example")
    assert "alpaca-7b vs gpt-4 turbo" in example
    assert blocked == [] and violations == []


def _has_example(content: dict[str, Any], components: dict[str, Any]) -> bool:
    for media in content.values():
        if "example" in media or "examples" in media:
            return True
        schema = media.get("schema", {})
        ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
        if ref and "examples" in components[ref.rsplit("/", 1)[1]]:
            return True
    return False


def test_every_operation_has_request_and_response_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    missing = []
    for method, path, operation in operations(schema):
        body = operation.get("requestBody")
        if body is not None and not _has_example(body["content"], components):
            missing.append(f"{method} {path}: request")
        success = [s for s in operation["responses"] if s.startswith("2")]
        for status in success:
            content = operation["responses"][status].get("content")
            if status != "204" and not (content and _has_example(content, components)):
                missing.append(f"{method} {path}: {status}")
    assert missing == []


def test_the_schema_uses_json_schema_words_only(client: TestClient) -> None:
    text = client.get("/openapi.json").text
    assert '"ge":' not in text and '"le":' not in text  # pydantic's, not JSON Schema's


def test_every_error_status_is_documented_with_the_error_body(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for method, path, operation in operations(schema):
        if not path.startswith("/api/v1"):
            continue
        statuses = set(operation["responses"])
        assert {"401", "403", "422"} <= statuses, f"{method} {path}"
        if "{job_id}" in path or "{token_id}" in path or "{name}" in path:
            assert "404" in statuses, f"{method} {path}"
        params = {p["name"] for p in operation.get("parameters", [])}
        if "after" in params:
            assert "400" in statuses, f"{method} {path}"
        for status in (s for s in statuses if not s.startswith("2")):
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"]["$ref"].endswith("/ErrorBody"), f"{method} {path} {status}"


def test_a_wrong_method_names_every_allowed_one(client: TestClient, researcher) -> None:
    response = client.put("/api/v1/jobs/1", headers=researcher.headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_body_that_is_not_json_is_a_documented_400(client: TestClient, researcher) -> None:
    response = client.post(
        "/api/v1/jobs",
        content=b"{not json",
        headers={**researcher.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert "400" in client.get("/openapi.json").json()["paths"]["/api/v1/jobs"]["post"]["responses"]


def test_a_bare_number_is_no_date(client: TestClient, researcher, make_job) -> None:
    job = make_job(researcher)
    for until in ("0.5", "2026-01-01", "2026-01-01T00:00:00"):
        response = client.get(
            f"/api/v1/jobs/{job['id']}/stats", params={"until": until}, headers=researcher.headers
        )
        assert response.status_code == 422, until
        assert response.json()["error"]["details"][0]["field"] == "until"


def test_a_fractional_or_quoted_seed_is_refused_and_a_whole_float_is_not(
    client: TestClient, researcher
) -> None:
    for seed in (1.5, "3", True):
        response = client.post(
            "/api/v1/jobs", json={"name": "s", "seed": seed}, headers=researcher.headers
        )
        assert response.status_code == 422, seed
    whole = client.post("/api/v1/jobs", json={"name": "s", "seed": 3.0}, headers=researcher.headers)
    assert whole.status_code == 201 and whole.json()["seed"] == 3
