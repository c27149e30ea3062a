"""Schemathesis hooks for prefarm's API: how to send the NDJSON bodies of the bulk routes.

Use with `SCHEMATHESIS_HOOKS=tests.schemathesis.hooks schemathesis run …` (docs/api.md says
how the API is checked). The bulk routes document an NDJSON body as a string of JSON lines;
schemathesis generates that string and sends it as it is.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(_context: Any, value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")
