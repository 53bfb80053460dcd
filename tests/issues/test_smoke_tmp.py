from tests.conftest import ALICE, BOB, ERIN, sign_in, csrf_token
from tests.factories import make_feedback


def test_smoke(app, client):
    a = make_feedback(app, ALICE.email, title="One")
    b = make_feedback(app, ERIN.email, title="Two", anonymity="anonymous", module="search")
    sign_in(client, BOB)
    r = client.get(f"/issues/new?feedback={a}&feedback={b}")
    print(r.status_code); assert r.status_code == 200, r.text
    r = client.post("/issues", data={"title": "Group", "feedback": [a, b], "_csrf_token": csrf_token(client)}, follow_redirects=False)
    print(r.status_code, r.headers.get("location")); assert r.status_code == 303, r.text
    r = client.get(r.headers["location"])
    assert r.status_code == 200, r.text
    open("/tmp/issue.html", "w").write(r.text)
    r = client.get("/issues"); assert r.status_code == 200, r.text
    open("/tmp/issues.html", "w").write(r.text)
    r = client.get(f"/feedback/{a}"); assert r.status_code == 200, r.text
    open("/tmp/fb.html", "w").write(r.text)
    r = client.get("/feedback"); assert r.status_code == 200, r.text
    open("/tmp/fblist.html", "w").write(r.text)
