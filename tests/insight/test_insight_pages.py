"""The insight page and its CSV downloads over HTTP: who may see them, filters in the URL, bad input, and the
numbers in the table, the SVG and the CSV being the same numbers."""

from __future__ import annotations

import csv
import html
import io
import re
import xml.etree.ElementTree as ET

import pytest
from litestar.testing import TestClient

from tests.conftest import ALICE, BOB, CAROL, DAN, field_error, sign_in
from tests.insight.conftest import Builder


CHART_NAMES = ("volume", "severity", "ageing", "timings", "rising", "teams")
PAST = "from=2026-03-02&to=2026-03-22"


@pytest.fixture
def some_data(build: Builder) -> None:
    mash = build.team("mash", "MASH", people=5)
    issue = build.issue(
        "Case notes time out",
        "2026-03-03 10:00",
        severity=1,
        decided="2026-03-10 10:00",
        status="change-requested",
    )
    build.feedback(
        "2026-03-03 09:00", module="case-notes", team=mash, issue=issue, triaged="2026-03-04 09:00", count=3
    )
    build.feedback("2026-03-10 09:00", module="assessments", kind="usability", count=2)
    build.feedback("2026-03-12 09:00", module="case-notes", team=mash, issue=issue, count=4)  # rising: 3 -> 4


def table_rows(page: str, chart: str) -> list[list[str]]:
    """The rows of a chart's "Show the data" table, header first, as text."""
    section = re.search(
        rf'<section class="app-insight-chart" id="insight-{chart}".*?</section>', page, re.S
    ).group(0)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", section, re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]
    text = [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in row] for row in cells]
    return [["" if cell == "–" else cell for cell in row] for row in text]  # a dash in the table: no value


@pytest.mark.parametrize("persona", [BOB, CAROL, DAN], ids=["business-support", "board", "admin"])
def test_business_support_the_board_and_admins_see_every_chart(
    client: TestClient, some_data: None, persona
) -> None:  # noqa: ANN001
    sign_in(client, persona)
    response = client.get("/insight")
    assert response.status_code == 200
    for name in CHART_NAMES:
        assert f'id="insight-{name}"' in response.text
        assert f"/insight/{name}.csv?" in response.text


def test_frontline_staff_may_not_see_insight_or_its_numbers(client: TestClient) -> None:
    sign_in(client, ALICE)
    assert client.get("/insight").status_code == 403
    assert client.get("/insight/volume.csv").status_code == 403


def test_signed_out_people_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/insight?module=case-notes", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=")


def test_the_filters_live_in_the_url_and_the_form_shows_them(client: TestClient, some_data: None) -> None:
    sign_in(client, CAROL)
    response = client.get(f"/insight?{PAST}&module=case-notes&team=mash&kind=bug")
    assert response.status_code == 200
    assert 'value="2026-03-02"' in response.text and 'value="2026-03-22"' in response.text
    assert '<option value="case-notes" selected>' in response.text
    assert '<option value="mash" selected>' in response.text
    assert "Showing 2 March 2026 to 22 March 2026: for Case notes, from MASH" in response.text
    assert (
        "/insight/volume.csv?from=2026-03-02&amp;to=2026-03-22&amp;module=case-notes&amp;team=mash&amp;kind=bug"
        in response.text
    )
    assert table_rows(response.text, "volume")[1:] == [
        ["2 March 2026", "3", "3"],
        ["9 March 2026", "4", "4"],
        ["16 March 2026", "0", "0"],
    ]


def test_htmx_gets_just_the_charts_region(client: TestClient, some_data: None) -> None:
    sign_in(client, CAROL)
    response = client.get(f"/insight?{PAST}", headers={"HX-Request": "true", "HX-Target": "insight-results"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="insight-results">')
    assert "<html" not in response.text


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-05-01&to=2026-04-01", "to", "The end date must be the same as or after the start date"),
        ("from=1999-01-01", "from", "The start date must be on or after 1 March 2025"),
        ("to=2999-01-01", "to", "The end date must be on or before"),
        ("from=yesterday", "from", "Enter the start date as a real date"),
        ("module=teleporter", "module", "Choose a part of the CMS from the list"),
        ("team=nobody", "team", "Choose a team from the list"),
        ("kind=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "kind", "Choose a kind of feedback from the list"),
    ],
)
def test_bad_filters_answer_400_with_the_message_beside_the_field_and_still_draw_the_charts(
    client: TestClient, some_data: None, query: str, field: str, message: str
) -> None:
    sign_in(client, BOB)
    response = client.get(f"/insight?{query}")
    assert response.status_code == 400
    assert message in (field_error(response.text, field) or "")
    assert "There is a problem" in response.text
    assert "Some filters could not be used" in response.text
    assert all(f'id="insight-{name}"' in response.text for name in CHART_NAMES)
    assert "<script>alert" not in response.text  # what was typed is shown escaped, never run


def test_the_csv_of_bad_filters_is_refused_with_the_reason(client: TestClient) -> None:
    sign_in(client, BOB)
    response = client.get("/insight/volume.csv?from=2026-05-01&to=2026-04-01")
    assert response.status_code == 400
    assert "The end date must be the same as or after the start date" in response.text


@pytest.mark.parametrize("path", ["/insight/nonsense.csv", "/insight/volume.json", "/insight/volume"])
def test_unknown_charts_are_not_found(client: TestClient, path: str) -> None:
    sign_in(client, BOB)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("name", CHART_NAMES)
def test_each_csv_holds_exactly_the_numbers_in_its_table(
    client: TestClient, some_data: None, name: str
) -> None:
    sign_in(client, CAROL)
    query = "from=2026-03-02&to=2026-03-22"
    page = client.get(f"/insight?{query}").text
    response = client.get(f"/insight/{name}.csv?{query}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"insight-{name}-2026-03-02-to-2026-03-22.csv" in response.headers["content-disposition"]
    from_csv = list(csv.reader(io.StringIO(response.text)))
    assert from_csv == table_rows(page, name)


def test_the_volume_bars_are_drawn_from_the_same_numbers(client: TestClient, some_data: None) -> None:
    """The SVG's total labels are the table's totals (one bar per week, labelled when it has feedback)."""
    sign_in(client, CAROL)
    page = client.get(f"/insight?{PAST}").text
    svg = re.search(
        r'<section class="app-insight-chart" id="insight-volume".*?(<svg.*?</svg>)', page, re.S
    ).group(1)
    labels = [text for text in re.findall(r'font-size="11"[^>]*>([^<]+)</text>', svg)]
    totals = [row[-1] for row in table_rows(page, "volume")[1:] if row[-1] != "0"]
    assert labels == totals == ["3", "6"]


def test_every_chart_is_well_formed_svg_with_a_title_and_description(
    client: TestClient, some_data: None
) -> None:
    sign_in(client, CAROL)
    page = client.get(f"/insight?{PAST}").text
    svgs = re.findall(r"<svg class=\"app-chart__svg.*?</svg>", page, re.S)
    assert len(svgs) == 6
    for svg in svgs:
        root = ET.fromstring(svg.replace("&nbsp;", " "))
        assert root.get("role") == "img"
        title_id, desc_id = root.get("aria-labelledby").split()
        assert root.find("{*}title") is not None or f'id="{title_id}"' in svg
        assert f'id="{desc_id}"' in svg
        assert root.get("width") == "100%" and root.get("viewBox").startswith("0 0 760 ")


def test_a_chart_with_no_data_shows_an_empty_state_that_says_why(client: TestClient) -> None:
    sign_in(client, CAROL)
    response = client.get(f"/insight?{PAST}&module=search")
    assert response.status_code == 200
    assert (
        "There is nothing to draw. No feedback was sent for Search between 2 March 2026 and 22 March 2026."
        in response.text
    )
    assert '<svg class="app-chart__svg' not in response.text  # nothing at all to draw: no broken pictures
    assert (
        client.get(f"/insight/volume.csv?{PAST}&module=search").text.splitlines()[0] == "Week starting,Total"
    )


def test_the_csv_of_an_empty_chart_is_its_header_alone(client: TestClient) -> None:
    sign_in(client, CAROL)
    page = client.get(f"/insight?{PAST}").text
    assert "There are no numbers to show." in page
    assert client.get(f"/insight/rising.csv?{PAST}").text == (
        "Issue,Fortnight to 8 March 2026,Fortnight to 22 March 2026\r\n"
    )


def test_charts_render_by_name_inside_another_page_for_the_meeting_pack(app, some_data: None) -> None:  # noqa: ANN001
    """What the meeting pack does: pack_charts() in its controller, the chart_figure macro in its template."""
    from feedback_portal.insight import charts as insight_charts

    with app.state.session_factory() as session:
        drawn = insight_charts.pack_charts(
            session,
            go_live=app.state.settings.go_live,
            names=("volume", "severity"),
            filters={"from": "2026-03-02", "to": "2026-03-22", "module": "case-notes"},
            id_prefix="meeting-7",
        )
    template = app.template_engine.engine.from_string(
        '{% from "insight/_chart.html" import chart_figure %}<section><h2>Evidence</h2>'
        "{% for chart in charts %}{{ chart_figure(chart, heading_level=3, csv=False, open_data=True) }}{% endfor %}"
        "</section>"
    )
    html_out = template.render(charts=drawn)
    assert (
        '<h3 class="govuk-heading-m" id="meeting-7-volume-heading">Feedback per week since go-live'
        in html_out
    )
    assert 'id="meeting-7-severity-title"' in html_out and "url(#meeting-7-volume-pattern-" not in html_out
    assert '<details class="govuk-details app-insight-data" open>' in html_out
    assert "Download these numbers" not in html_out
    assert ">Case notes<" in html_out  # the filter reached the chart: one series, Case notes


def test_a_name_a_spreadsheet_would_run_is_written_as_text(client: TestClient, build: Builder) -> None:
    team = build.team("formula", '=HYPERLINK("http://evil.example")', people=5)
    build.feedback("2026-03-03 10:00", team=team, count=2)
    sign_in(client, CAROL)
    rows = list(csv.reader(io.StringIO(client.get(f"/insight/teams.csv?{PAST}").text)))
    assert rows == [["Team", "Feedback items"], ['\'=HYPERLINK("http://evil.example")', "2"]]


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-03-04&to=2026-03-04",  # one day
        "from=2025-03-02&to=2025-04-01",  # before go-live (within a year of it): empty, not an error
        "from=2025-03-01",  # the earliest allowed start
        "to=2027-11-01",  # into next year: the charts stop at today
        "from=2026-12-20&to=2027-01-10",  # wholly in the future
        "module=Case%20notes&kind=SOMETHING%20IS%20BROKEN",  # labels, any case
    ],
)
def test_odd_but_valid_ranges_draw_without_errors(client: TestClient, some_data: None, query: str) -> None:
    sign_in(client, BOB)
    response = client.get(f"/insight?{query}")
    assert response.status_code == 200, response.text[:500]
    assert all(f'id="insight-{name}"' in response.text for name in CHART_NAMES)
    for name in CHART_NAMES:
        assert client.get(f"/insight/{name}.csv?{query}").status_code == 200
