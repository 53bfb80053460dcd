"""The floor: the least this stack can do to serve the business support list page.

A bare Litestar app (no auth, no CSRF, no middleware, no plugins) with one GET handler, /floor, that reads the
same 25 newest feedback rows (and the total count the real page shows) from the same SQLite database with
plain SQLAlchemy Core, and renders them with a plain Jinja2 template string into an HTML page of about the
same byte size as the real /feedback page. Served by uvicorn exactly as the portal is:

    FLOOR_DATA_DIR=DATA_DIR FLOOR_PAGE_BYTES=25800 \
        python -m uvicorn benchmarks.floor_app:create_app --factory --workers 2 --no-access-log --port 8001

FLOOR_PAGE_BYTES: pad the page to this many bytes (the runner measures the real /feedback page first).
FLOOR_SYNC_TO_THREAD=1: run the handler in a worker thread as the portal's handlers do (default 0: on the
event loop, the cheaper of the two for a ~1 ms SQLite read).
"""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import sqlalchemy as sa
from litestar import Litestar, MediaType, get

from feedback_portal.feedback.vocabulary import IMPACTS, KINDS, MODULES

PAGE_SIZE = 25

feedback = sa.table(
    "feedback",
    sa.column("id"), sa.column("ref"), sa.column("title"), sa.column("body"), sa.column("module"),
    sa.column("kind"), sa.column("impact"), sa.column("team_id"), sa.column("submitter_id"),
    sa.column("anonymity"), sa.column("submitted_at", sa.DateTime()),
)
teams = sa.table("teams", sa.column("id"), sa.column("name"))
users = sa.table("users", sa.column("id"), sa.column("name"))

NEWEST = (
    sa.select(
        feedback.c.ref, feedback.c.title, feedback.c.body, feedback.c.module, feedback.c.kind, feedback.c.impact,
        feedback.c.anonymity, feedback.c.submitted_at, teams.c.name.label("team"), users.c.name.label("submitter"),
    )
    .select_from(feedback)
    .outerjoin(teams, teams.c.id == feedback.c.team_id)
    .outerjoin(users, users.c.id == feedback.c.submitter_id)
    .order_by(feedback.c.submitted_at.desc(), feedback.c.id.desc())
    .limit(PAGE_SIZE)
)
COUNT = sa.select(sa.func.count()).select_from(feedback)

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>All feedback – CMS Feedback</title>
<link rel="stylesheet" href="/static/govuk/govuk-frontend.min.css"></head>
<body class="govuk-template__body"><main class="govuk-main-wrapper" id="main-content">
<h1 class="govuk-heading-l">All feedback</h1>
<p class="govuk-body" id="result-count"><strong>{{ "{:,}".format(total) }}</strong> items</p>
<table class="govuk-table app-feedback-table"><tbody class="govuk-table__body">
{% for row in rows %}<tr class="govuk-table__row">
<td class="govuk-table__cell"><a class="govuk-link" href="/feedback/{{ row.ref }}">{{ row.title or (row.body | truncate(90)) }}</a>
<span class="govuk-body-s app-muted app-block">{{ row.ref }} · {{ kinds.get(row.kind, row.kind) }} · {{ "Anonymous" if row.anonymity == "anonymous" or not row.submitter else row.submitter }}</span></td>
<td class="govuk-table__cell">{{ modules.get(row.module, row.module) }}</td>
<td class="govuk-table__cell">{{ impacts.get(row.impact, row.impact) }}</td>
<td class="govuk-table__cell">{{ row.team or "Not given" }}</td>
<td class="govuk-table__cell app-nowrap">{{ row.submitted_at.strftime("%-d %B %Y") }}</td>
</tr>
{% endfor %}</tbody></table>
<!-- {{ padding }} -->
</main></body></html>
"""


def create_app() -> Litestar:
    data_dir = Path(os.environ.get("FLOOR_DATA_DIR") or os.environ["FEEDBACK_PORTAL_DATA_DIR"]).resolve()
    target_bytes = int(os.environ.get("FLOOR_PAGE_BYTES", "0"))
    in_thread = os.environ.get("FLOOR_SYNC_TO_THREAD", "0") == "1"
    engine = sa.create_engine(f"sqlite:///{data_dir / 'portal.db'}", connect_args={"check_same_thread": False})
    template = jinja2.Environment(autoescape=True).from_string(TEMPLATE)
    context = {"kinds": KINDS, "modules": MODULES, "impacts": IMPACTS}

    def render(padding: str) -> str:
        with engine.connect() as conn:
            total = conn.scalar(COUNT)
            rows = conn.execute(NEWEST).all()
        return template.render(rows=rows, total=total, padding=padding, **context)

    # Pad to the real page's size once, at start-up (filler standing in for the GOV.UK header, filter form
    # and footer markup the real page carries).
    unpadded = len(render("").encode())
    padding = "x" * max(0, target_bytes - unpadded)

    @get("/floor", media_type=MediaType.HTML, sync_to_thread=in_thread)
    def floor() -> str:
        return render(padding)

    return Litestar(route_handlers=[floor], on_shutdown=[engine.dispose], openapi_config=None)
