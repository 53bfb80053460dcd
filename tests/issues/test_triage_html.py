"""The triage pages are valid HTML (Nu HTML checker) in each state: the issue page with its workflow form,
notes, replies and history (and with errors beside fields), the conflict page, the feedback page for each
role, My feedback with the issue's progress, and the note form's error page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ALICE, BOB, CAROL, DAN, sign_in
from tests.factories import make_feedback
from tests.issues.triage_helpers import create_issue, post
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


def test_triage_pages_are_valid_html_in_every_state(app, client, checker):
    ref = make_feedback(app, ALICE.email, title="Named")
    anonymous = make_feedback(app, ALICE.email, anonymity="anonymous")
    sign_in(client, BOB)
    issue = create_issue(client, "Triage me", ref, anonymous)
    post(client, f"/issues/{issue}/edit", version="1", status="investigating", severity="1", owner=DAN.email)
    post(
        client,
        f"/issues/{issue}/edit",
        version="2",
        status="wont-fix",
        status_reason="Line one\nline two",
        public_response="We tried.",
    )
    post(client, f"/issues/{issue}/notes", note="A note <b>with</b> markup & ampersands")
    post(client, f"/issues/{issue}/replies", reply="A reply")
    post(client, f"/feedback/{ref}/notes", note="Feedback note")
    post(client, f"/feedback/{ref}/replies", reply="Feedback reply")

    pages = {  # name: (response, the status that state answers with)
        "issue page with everything": (client.get(f"/issues/{issue}"), 200),
        "issue page after a note": (client.get(f"/issues/{issue}?done=noted"), 200),
        "workflow errors": (
            post(
                client,
                f"/issues/{issue}/edit",
                version="3",
                status="fix-scheduled",
                severity="9",
                owner=ALICE.email,
            ),
            422,
        ),
        "missing reason": (post(client, f"/issues/{issue}/edit", version="3", status="guidance-issued"), 422),
        "refused move": (post(client, f"/issues/{issue}/edit", version="3", status="fix-scheduled"), 422),
        "note error on the issue": (post(client, f"/issues/{issue}/notes", note=""), 422),
        "reply error on the issue": (post(client, f"/issues/{issue}/replies", reply=""), 422),
        "conflict with changes to re-apply": (
            post(
                client,
                f"/issues/{issue}/edit",
                version="1",
                title="Mine",
                status="investigating",
                status_reason="",
                severity="1",
                owner=DAN.email,
            ),
            409,
        ),
        "conflict with nothing to re-apply": (
            post(client, f"/issues/{issue}/edit", version="2", status="investigating", severity="1"),
            409,
        ),
        "feedback page for business support": (client.get(f"/feedback/{ref}"), 200),
        "anonymous feedback page for business support": (client.get(f"/feedback/{anonymous}"), 200),
        "feedback note error page": (post(client, f"/feedback/{ref}/notes", note=" "), 422),
        "feedback reply error page": (post(client, f"/feedback/{ref}/replies", reply="x" * 5001), 422),
    }
    client.cookies.clear()
    sign_in(client, CAROL)
    pages["issue page for the board"] = (client.get(f"/issues/{issue}"), 200)
    pages["feedback page for the board"] = (client.get(f"/feedback/{ref}"), 200)
    client.cookies.clear()
    sign_in(client, ALICE)
    pages["feedback page for its sender"] = (client.get(f"/feedback/{ref}"), 200)
    pages["my feedback with the issue's progress"] = (client.get("/my-feedback"), 200)

    problems = []
    for name, (response, status) in pages.items():
        assert response.status_code == status, name
        assert " hx-" not in response.text, name  # htmx attributes are written data-hx-*
        errors = checker.check(response.text)
        if errors:
            problems.append(f"{name} ({response.status_code}):\n{format_messages(errors)}")
    assert not problems, "\n\n".join(problems)
