from tests.fakes.fixtures import annotations_of, fake_llm, run_worker  # noqa: F401
from tests.web.conftest import browser, open_page  # noqa: F401  (the same browser setup)
