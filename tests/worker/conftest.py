from tests.fakes.fixtures import (  # noqa: F401
    annotations_of,
    fake_llm,
    job_state,
    post_comparisons,
    run_worker,
)
