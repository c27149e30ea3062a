"""Simulated annotator configs (list, read, register) and re-queuing a job's failed or
unparsed tasks."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, Field

from app.annotators.config import AnnotatorConfig, ConfigError, PoolConfig
from app.annotators.registry import NameTaken, UnknownAnnotators, list_configs, register
from app.annotators.sandbox import TemplateLimitExceeded, TemplateLimits
from app.errors import RequestError, not_found
from app.http.deps import ApiUser, SessionDep, SettingsDep
from app.http.params import JobId
from app.jobs.access import load_visible_job
from app.worker.requeue import requeue_tasks

router = APIRouter(prefix="/api/v1/annotators", tags=["annotators"])
tasks_router = APIRouter(prefix="/api/v1/jobs/{job_id}/tasks", tags=["annotators"])

_EXAMPLE = {
    "name": "my_vllm_judge",
    "provider": "openai_compatible",
    "base_url": "http://10.0.0.5:8000/v1",
    "model": "Qwen/Qwen2.5-7B-Instruct",
    "prompt": "json_reason",
    "parser": "json",
    "max_tokens": 200,
    "max_concurrency": 32,
}


class AnnotatorOut(BaseModel):
    name: str
    kind: Literal["annotator", "pool"]
    version: str = Field(description="SHA-256 of the config and its prompt; part of cache keys.")
    shipped: bool = Field(description="Ships with prefarm (app/annotators/configs).")
    config: dict[str, Any]


class AnnotatorList(BaseModel):
    items: list[AnnotatorOut]


class RetryRequest(BaseModel):
    failed: bool = Field(True, description="Re-queue tasks that failed (errors kept until then).")
    unparsed: bool = Field(True, description="Drop unparseable answers and ask again.")


class RetryResult(BaseModel):
    requeued_failed: int
    requeued_unparsed: int


def _out(config: AnnotatorConfig | PoolConfig, version: str, shipped: bool) -> AnnotatorOut:
    return AnnotatorOut(
        name=config.name,
        kind=config.kind,
        version=version,
        shipped=shipped,
        config=config.model_dump(mode="json", exclude={"kind"}),
    )


@router.get("", response_model=AnnotatorList, summary="List simulated annotators and pools")
def list_annotators(user: ApiUser, session: SessionDep) -> AnnotatorList:
    return AnnotatorList(items=[_out(*entry) for entry in list_configs(session)])


@router.get("/{name}", response_model=AnnotatorOut, summary="Read one annotator config")
def read_annotator(name: str, user: ApiUser, session: SessionDep) -> AnnotatorOut:
    for entry in list_configs(session):
        if entry[0].name == name:
            return _out(*entry)
    raise not_found(f"annotator {name!r}")


@router.post(
    "",
    response_model=AnnotatorOut,
    status_code=201,
    summary="Register a simulated annotator or pool config",
    description="The same body as a YAML entry of app/annotators/configs. Configs are immutable: "
    "posting the same config again returns it (200); another config under a taken name is a "
    "409. API keys are never part of a config: name the environment variable in `api_key_env`. "
    "Configs with `base_url` or `api_key_env` need an admin (workers send keys to that address).",
    responses={200: {"description": "Identical config registered already"}},
)
def register_annotator(
    user: ApiUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    body: dict[str, Any] = Body(openapi_examples={"vllm": {"value": _EXAMPLE}}),
) -> AnnotatorOut:
    if not user.is_admin and (body.get("base_url") or body.get("api_key_env")):
        raise RequestError(
            403,
            "forbidden",
            "only admins may register configs with base_url or api_key_env: workers send "
            "API keys from their environment to that address",
        )
    try:
        config, version, created = register(session, body, TemplateLimits.of(settings))
    except TemplateLimitExceeded as exc:
        raise RequestError(
            422, "template_limit_exceeded", str(exc), {"limit": exc.limit, "max": exc.maximum}
        ) from exc
    except ConfigError as exc:
        raise RequestError(422, "invalid_config", str(exc)) from exc
    except UnknownAnnotators as exc:
        raise RequestError(422, "unknown_annotators", str(exc), {"unknown": exc.names}) from exc
    except NameTaken as exc:
        raise RequestError(409, "name_taken", str(exc)) from exc
    if not created:
        response.status_code = 200
    return _out(config, version, False)


@tasks_router.post(
    "/retry",
    response_model=RetryResult,
    summary="Re-queue a job's failed tasks and unparsed answers",
)
def retry_tasks(
    job_id: JobId, user: ApiUser, session: SessionDep, body: RetryRequest | None = None
) -> RetryResult:
    body = body or RetryRequest()
    job = load_visible_job(session, user, job_id, for_update=True)
    result = requeue_tasks(session, job, failed=body.failed, unparsed=body.unparsed)
    return RetryResult(requeued_failed=result.failed, requeued_unparsed=result.unparsed)
