"""Simulated annotator configs (list, read, register) and re-queuing a job's failed or
unparsed tasks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from app.annotators.config import AnnotatorConfig, ConfigError, PoolConfig
from app.annotators.pricing import TOKEN_COUNTING, Estimate
from app.annotators.prompts import ShownItem
from app.annotators.registry import (
    Grants,
    NameTaken,
    RegistrationRefused,
    UnknownAnnotators,
    list_configs,
    preview_config,
    register,
)
from app.annotators.sandbox import TemplateLimitExceeded, TemplateLimits
from app.api.responses import COMMON_RESPONSES, JOB_RESPONSES, responses
from app.errors import RequestError, not_found
from app.http.deps import ApiUser, SessionDep, SettingsDep
from app.http.params import JobId
from app.ingest.rows import ComparisonRow, output_text
from app.jobs.access import load_visible_job
from app.worker.requeue import requeue_tasks

router = APIRouter(prefix="/api/v1/annotators", tags=["annotators"], responses=COMMON_RESPONSES)
tasks_router = APIRouter(
    prefix="/api/v1/jobs/{job_id}/tasks", tags=["annotators"], responses=JOB_RESPONSES
)

_EXAMPLE: dict[str, Any] = {
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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "my_vllm_judge",
                    "kind": "annotator",
                    "version": "5c1e0d…",
                    "shipped": False,
                    "config": _EXAMPLE,
                }
            ]
        }
    )


class AnnotatorList(BaseModel):
    items: list[AnnotatorOut]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "name": "longest",
                            "kind": "annotator",
                            "version": "9a41c2…",
                            "shipped": True,
                            "config": {
                                "name": "longest",
                                "provider": "builtin",
                                "model": "longest",
                                "parser": "builtin",
                            },
                        }
                    ]
                }
            ]
        }
    )


class SampleComparison(ComparisonRow):
    """A comparison to render the prompt for (the fields of a comparison row)."""


Samples = Annotated[
    list[SampleComparison],
    Field(
        max_length=50,
        description="Comparisons to render and price; default: a short built-in sample.",
    ),
]


_VALIDATE_EXAMPLE: dict[str, Any] = {
    "config": _EXAMPLE,
    "comparisons": [
        {
            "instruction": "Name three prime numbers.",
            "output_1": "2, 3 and 5.",
            "output_2": "Prime numbers include 2, 3, 5 and 7.",
        }
    ],
}


# A config as JSON (a YAML entry of app/annotators/configs): an annotator or a pool.
CONFIG_SCHEMA: dict[str, Any] = {
    "anyOf": [AnnotatorConfig.model_json_schema(), PoolConfig.model_json_schema()]
}


class ValidateConfig(BaseModel):
    """A config that is not registered (the body of registering it)."""

    config: Annotated[dict[str, Any], WithJsonSchema(CONFIG_SCHEMA)] = Field(
        description="A config as for registering."
    )
    comparisons: Samples = []

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [_VALIDATE_EXAMPLE]}
    )


class ValidateName(BaseModel):
    """A registered (or shipped) config, by name."""

    name: str = Field(max_length=200, description="A registered config's name.")
    comparisons: Samples = []

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"name": "openai_json"}]}
    )


class RenderedPrompt(BaseModel):
    system: str
    user: str


class CostEstimate(BaseModel):
    name: str
    calls_per_comparison: float
    prompt_tokens_per_comparison: float
    completion_tokens_per_comparison: float = Field(
        description="At the config's max_tokens: the most a call is billed for."
    )
    prompt_tokens_per_1000: int
    usd_per_1000_comparisons: float

    @classmethod
    def of(cls, estimate: Estimate) -> CostEstimate:
        return cls(
            name=estimate.name,
            calls_per_comparison=estimate.calls_per_comparison,
            prompt_tokens_per_comparison=estimate.prompt_tokens_per_comparison,
            completion_tokens_per_comparison=estimate.completion_tokens_per_comparison,
            prompt_tokens_per_1000=round(1000 * estimate.prompt_tokens_per_comparison),
            usd_per_1000_comparisons=round(estimate.usd_per_1000, 6),
        )


class Validation(CostEstimate):
    kind: Literal["annotator", "pool"]
    version: str
    prompt: RenderedPrompt | None = Field(
        description="What the judge is sent for the first comparison (null for builtins)."
    )
    members: list[CostEstimate] = Field(description="A pool's members, each priced.")
    token_counting: str

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "my_vllm_judge",
                    "kind": "annotator",
                    "version": "5c1e0d…",
                    "prompt": {"system": "You compare two responses…", "user": "<comparison…"},
                    "members": [],
                    "calls_per_comparison": 1.0,
                    "prompt_tokens_per_comparison": 412.0,
                    "completion_tokens_per_comparison": 200.0,
                    "prompt_tokens_per_1000": 412000,
                    "usd_per_1000_comparisons": 0.0,
                    "token_counting": TOKEN_COUNTING,
                }
            ]
        }
    )


class RetryRequest(BaseModel):
    failed: bool = Field(True, description="Re-queue tasks that failed (errors kept until then).")
    unparsed: bool = Field(True, description="Drop unparseable answers and ask again.")

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"failed": True, "unparsed": False}]},
    )


class RetryResult(BaseModel):
    requeued_failed: int
    requeued_unparsed: int

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"requeued_failed": 3, "requeued_unparsed": 1}]}
    )


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


@router.post(
    "/validate",
    response_model=Validation,
    summary="Check a config without registering it: its prompt and its price",
    description="Renders the prompt the judge would be sent for the first comparison (yours, "
    "or a short built-in sample) and prices the config: calls, tokens and dollars per "
    f"comparison and per 1,000 comparisons ({TOKEN_COUNTING}; output tokens at `max_tokens`). "
    "A pool is priced as the mean of its members, less its `p_label_flip` coins. Nothing is "
    "stored and no provider is called, so anyone with a token may validate any config.",
    responses=responses(
        400,
        404,
        422,
        s404="no config of this `name`",
        s422="an invalid config (`invalid_config`), or a pool of unknown members",
    ),
)
def validate_annotator(
    user: ApiUser,
    session: SessionDep,
    settings: SettingsDep,
    body: ValidateConfig | ValidateName = Body(
        openapi_examples={
            "a new config": {"value": _VALIDATE_EXAMPLE},
            "a registered one": {"value": {"name": "openai_json"}},
        }
    ),
) -> Validation:
    samples = [
        ShownItem(
            row.prompt_instruction,
            row.input,
            output_text(row.output_1),
            output_text(row.output_2),
            row.message_dicts or [],
        )
        for row in body.comparisons
    ]
    given, name = (body.config, None) if isinstance(body, ValidateConfig) else (None, body.name)
    try:
        config, version, checked = preview_config(
            session, given, name, samples, TemplateLimits.of(settings)
        )
    except TemplateLimitExceeded as exc:
        raise RequestError(
            422, "template_limit_exceeded", str(exc), {"limit": exc.limit, "max": exc.maximum}
        ) from exc
    except ConfigError as exc:
        raise RequestError(422, "invalid_config", str(exc)) from exc
    except UnknownAnnotators as exc:
        if name is not None and exc.names == [name]:
            raise not_found(f"annotator {name!r}") from exc
        raise RequestError(422, "unknown_annotators", str(exc), {"unknown": exc.names}) from exc
    prompt = checked.prompt
    return Validation(
        **CostEstimate.of(checked.estimate).model_dump(),
        kind=config.kind,
        version=version,
        prompt=RenderedPrompt(system=prompt.system, user=prompt.user) if prompt else None,
        members=[CostEstimate.of(member) for member in checked.members],
        token_counting=TOKEN_COUNTING,
    )


@router.get(
    "/{name}",
    response_model=AnnotatorOut,
    summary="Read one annotator config",
    responses=responses(404),
)
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
    "Configs with `base_url` or `api_key_env` need an admin (workers send keys to that "
    "address), unless an operator granted that address or variable to researchers "
    "(PREFARM_RESEARCHER_BASE_URLS, PREFARM_RESEARCHER_API_KEY_ENVS).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": CONFIG_SCHEMA,
                    "examples": {"vllm": {"value": _EXAMPLE}},
                }
            },
        }
    },
    responses={
        200: {"description": "Identical config registered already", "model": AnnotatorOut},
        **responses(
            400,
            403,
            409,
            422,
            s403="a researcher named a base_url or api_key_env that is not granted",
            s409="another config already has this name",
            s422="an invalid config (`invalid_config`), or a pool of unknown members",
        ),
    },
)
def register_annotator(
    user: ApiUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    body: dict[str, Any] = Body(),  # parsed by the registry, which explains what is wrong
) -> AnnotatorOut:
    grants = Grants.of(settings.researcher_base_urls, settings.researcher_api_key_envs)
    try:
        config, version, created = register(
            session,
            body,
            TemplateLimits.of(settings),
            is_admin=user.is_admin,
            grants=grants,
        )
    except RegistrationRefused as exc:
        raise RequestError(403, "forbidden", str(exc)) from exc
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
    responses=responses(400),
    description="`failed` puts failed tasks back in the queue; `unparsed` removes judgments "
    "whose answer could not be parsed and asks again. The job is `active` again if it was "
    "`done`. The body may be left out (both true).",
)
def retry_tasks(
    job_id: JobId,
    user: ApiUser,
    session: SessionDep,
    body: RetryRequest | None = Body(
        None,
        openapi_examples={
            "both": {"summary": "failed tasks and unparsed answers", "value": {}},
            "failed only": {"value": {"failed": True, "unparsed": False}},
        },
    ),
) -> RetryResult:
    body = body or RetryRequest()
    job = load_visible_job(session, user, job_id, for_update=True)
    result = requeue_tasks(session, job, failed=body.failed, unparsed=body.unparsed)
    return RetryResult(requeued_failed=result.failed, requeued_unparsed=result.unparsed)
