"""axe-core accessibility checks for Playwright (sync API) pages.

Usage::

    violations = run_axe(page)
    assert not violations, format_violations(violations)

axe-core is the copy vendored at static/vendor/axe.min.js (see static/VENDORED.txt).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE_JS = REPO_ROOT / "static" / "vendor" / "axe.min.js"
# Where the app serves the same file; used when the page's Content-Security-Policy
# blocks the inline <script> that add_script_tag(path=...) creates.
AXE_URL = "/static/vendor/axe.min.js"

# WCAG 2.2 AA, as the public sector accessibility regulations require.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_RUN_AXE = """
async (tags) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    tags: v.tags,
    nodes: v.nodes.map((n) => ({
      target: n.target,
      html: n.html,
      failureSummary: n.failureSummary,
    })),
  }));
}
"""


def _inject_axe(page: Any) -> None:
    if page.evaluate("() => typeof window.axe !== 'undefined'"):
        return
    try:
        page.add_script_tag(path=str(AXE_JS))
    except Exception as exc:  # playwright.sync_api.Error
        if "Content Security Policy" not in str(exc):
            raise
        # A CSP without 'unsafe-inline' (good!) blocks the inline copy; load the
        # app's own /static copy instead, which script-src 'self' allows.
        page.add_script_tag(url=AXE_URL)


def run_axe(page: Any, tags: list[str] | None = None) -> list[dict]:
    """Run axe-core on the page's current document and return its violations.

    Each violation is a dict with id, impact, help, helpUrl, tags and nodes;
    each node has target (axe's list of CSS selectors, one per frame/shadow
    level), html and failureSummary. Injects axe.min.js if the page lacks it.
    """
    _inject_axe(page)
    return page.evaluate(_RUN_AXE, tags or WCAG_TAGS)


def format_violations(violations: list[dict]) -> str:
    """Readable text for an assert message."""
    if not violations:
        return "no accessibility violations"
    lines = [f"{len(violations)} accessibility violation(s):"]
    for v in violations:
        lines.append(f"- [{v.get('impact')}] {v['id']}: {v.get('help')} ({v.get('helpUrl', '')})")
        for node in v.get("nodes", []):
            target = " >> ".join(
                " ".join(t) if isinstance(t, list) else str(t) for t in node.get("target", [])
            )
            lines.append(f"    at {target}: {node.get('html', '')[:200]}")
    return "\n".join(lines)
