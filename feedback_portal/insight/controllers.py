"""The insight page, its CSV downloads, and the staff-facing "you said, we did" page."""

from __future__ import annotations

import csv
import io

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.errors import NotFound
from feedback_portal.feedback import exporting
from feedback_portal.insight import charts
from feedback_portal.insight.services import CHARTS, InsightService
from feedback_portal.insight.you_said import WEEK_CHOICES, YouSaidWeDid


def _service(request: Request, session: orm.Session) -> InsightService:
    return InsightService(session, go_live=web.settings_of(request).go_live)


@get("/insight", guards=[web.feedback_readers], sync_to_thread=True)
def insight_page(request: Request, db_session: NamedDependency[orm.Session]) -> Template:
    service = _service(request, db_session)
    form = service.read_filters(request.query_params)
    query = web.query_string(form.filters.query())
    drawn = [
        charts.draw(data, id_prefix="insight", csv_query=query) for data in service.all_charts(form.filters)
    ]
    return web.fragment_or_page(
        request,
        page_template="insight/index.html",
        fragment_template="insight/_results.html",
        target="insight-results",
        status_code=400 if form.errors else 200,
        charts=drawn,
        filters=form.filters,
        values=form.values,
        errors=form.errors,
        narrowed=service.narrowed(form.filters).strip(),
        go_live=service.go_live,
        vocabularies=service.vocabularies,
        team_choices=service.team_choices(),
    )


@get("/insight/{filename:str}", guards=[web.feedback_readers], sync_to_thread=True)
def insight_csv(
    request: Request, db_session: NamedDependency[orm.Session], filename: FromPath[str]
) -> Response:
    """Exactly the numbers a chart draws (its "Show the data" table), for the same filters."""
    name = filename.removesuffix(".csv")
    if not filename.endswith(".csv") or name not in CHARTS:
        raise NotFound(f"There is no chart called {name[:30]}")
    service = _service(request, db_session)
    form = service.read_filters(request.query_params)
    if form.errors:
        problems = "\n".join(f"{field}: {message}" for field, message in form.errors.items())
        return Response(
            f"The numbers could not be downloaded because of the filters:\n{problems}\n",
            status_code=400,
            media_type="text/plain; charset=utf-8",
        )
    data = service.chart(name, form.filters)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    # Issue titles and team names are typed by people: a spreadsheet must show them, never run them.
    writer.writerow([exporting.csv_safe(cell) for cell in data.header()])
    writer.writerows([exporting.csv_safe(cell) for cell in row] for row in data.rows())
    period = f"{form.filters.date_from.isoformat()}-to-{form.filters.date_to.isoformat()}"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="insight-{name}-{period}.csv"'},
    )


@get("/you-said-we-did", guards=[web.signed_in], sync_to_thread=True)
def you_said_we_did(
    request: Request, db_session: NamedDependency[orm.Session], weeks: FromQuery[str] = ""
) -> Template:
    service = YouSaidWeDid(db_session)
    chosen, error = service.read_weeks(weeks)
    return web.page(
        request,
        "you_said/index.html",
        status_code=400 if error else 200,
        report=service.report(chosen, viewer=web.signed_in_user(request)),
        weeks=chosen,
        week_choices=WEEK_CHOICES,
        errors={"weeks": error} if error else {},
        active_nav="you-said",
    )


ROUTES = [insight_page, insight_csv, you_said_we_did]
