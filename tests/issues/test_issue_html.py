"""Every issue page, and the feedback pages the issue forms were added to, is valid HTML (Nu HTML checker),
in each state: with results, with errors beside fields, after a conflict, merged, and with a confirmation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from feedback_portal.issues.models import IssueMerge
from tests.conftest import ALICE, BOB, ERIN, csrf_token, sign_in
from tests.factories import make_feedback
from tests.support.html_checker import HtmlChecker, ensure_vnu_jar, format_messages


@pytest.fixture(scope="module")
def checker() -> Iterator[HtmlChecker]:
    try:
        jar = ensure_vnu_jar()
    except RuntimeError as problem:
        pytest.skip(f"the Nu HTML checker could not be fetched: {problem}")
    if jar is None:
        pytest.skip("the Nu HTML checker needs java (and npm the first time)")
    with HtmlChecker(jar) as html_checker:
        yield html_checker


def post(client, path, **data):  # noqa: ANN001, ANN003, ANN201
    return client.post(path, data={**data, "_csrf_token": csrf_token(client)}, follow_redirects=False)


def test_issue_pages_are_valid_html_in_every_state(app, client, checker, session):
    refs = [
        make_feedback(app, ALICE.email, title="Named"),
        make_feedback(app, ERIN.email, anonymity="anonymous"),
    ]
    spare = make_feedback(app, ERIN.email, title="Spare")
    sign_in(client, BOB)
    post(client, "/issues", title="Target", feedback=refs[1])
    post(client, "/issues", title="Source", feedback=refs[0])
    post(client, "/issues", title="Mover", feedback=refs[1])  # moves it: the page says so
    post(client, "/issues/ISS-0002/merge", target="ISS-0003")
    post(client, "/issues/ISS-0003/edit", version="1", title="Changed")
    merge_id = session.scalar(sa.select(IssueMerge.id))

    pages = {  # name: (response, the status that state answers with)
        "issue list": (client.get("/issues"), 200),
        "issue page after moving feedback": (
            client.get("/issues/ISS-0003?done=created&moved=FB-000002:ISS-0001"),
            200,
        ),
        "merged issue": (client.get("/issues/ISS-0002"), 200),
        "link errors": (post(client, "/issues/ISS-0003/link", feedback="nonsense"), 422),
        "merge errors": (post(client, "/issues/ISS-0003/merge", target="ISS-0003"), 422),
        "edit errors": (
            post(client, "/issues/ISS-0003/edit", version="2", title="", supplier_ref="x" * 70),
            422,
        ),
        "edit conflict": (post(client, "/issues/ISS-0003/edit", version="1", title="Stale"), 409),
        "new issue": (client.get(f"/issues/new?feedback={spare}&feedback={refs[0]}"), 200),
        "new issue, nothing chosen": (client.get("/issues/new"), 200),
        "new issue errors": (post(client, "/issues", title="", feedback=["FB-999999"]), 422),
        "feedback page with forms": (client.get(f"/feedback/{refs[0]}"), 200),
        "feedback list with checkboxes": (client.get("/feedback"), 200),
        "link from feedback errors": (post(client, f"/feedback/{spare}/issue", issue="ISS-0999"), 422),
        "me too form": (client.get(f"/feedback/{spare}/me-too?next=/feedback"), 200),
        "me too errors": (post(client, f"/feedback/{spare}/me-too", next="/feedback"), 422),
        "confirmation after me too": (client.get("/feedback?voice_added=3"), 200),
    }
    post(client, f"/issue-merges/{merge_id}/undo")
    pages["issue after undo"] = (client.get("/issues/ISS-0002"), 200)

    problems = []
    for name, (response, status) in pages.items():
        assert response.status_code == status, name
        errors = checker.check(response.text)
        if errors:
            problems.append(f"{name} ({response.status_code}):\n{format_messages(errors)}")
    assert not problems, "\n\n".join(problems)
