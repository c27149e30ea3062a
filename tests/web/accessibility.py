"""axe-core in the browser tests, loaded under the pages' own Content-Security-Policy.

The pages allow scripts only from their own origin (`script-src 'self'`), so axe cannot be
injected as an inline script (`page.add_script_tag(content=...)` is blocked, as it should be).
Instead every test context routes one same-origin address, AXE_URL, to the vendored file
(tests/web/vendor/axe-core, axe-core 4.14.1 from the npm registry, MPL-2.0): the page loads it
with an ordinary `<script src>` that its CSP allows, exactly like prefarm's own scripts. Nothing
about the CSP is relaxed or bypassed, so a page that needed a looser policy would fail here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_FILE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_URL = "/__tests__/axe.min.js"  # no route of prefarm; answered by the test's browser route
FAILING_IMPACTS = ("serious", "critical")


def serve_axe(context: Any) -> None:
    """Answer AXE_URL in this browser context with the vendored axe-core."""
    context.route(
        f"**{AXE_URL}",
        lambda route: route.fulfill(path=str(AXE_FILE), content_type="text/javascript"),
    )


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now (rule, impact, targets)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "rule": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results["violations"]
        if violation["impact"] in FAILING_IMPACTS
    ]
