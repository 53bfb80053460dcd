"""Signing in and out: argon2 passwords, sessions that outlive the process, rate-limited guessing."""

from __future__ import annotations

import sqlalchemy as sa
from litestar.testing import TestClient

from feedback_portal.accounts.models import User
from feedback_portal.app import create_app
from tests.conftest import ALICE, BOB, PASSWORD, csrf_token, field_error, sign_in



def post_sign_in(client: TestClient, email: str, password: str, **extra: str):  # noqa: ANN201
    data = {"email": email, "password": password, "_csrf_token": csrf_token(client), **extra}
    return client.post("/sign-in", data=data, follow_redirects=False)


def test_pages_need_sign_in_and_come_back_afterwards(client):
    response = client.get("/my-feedback", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fmy-feedback"
    signed_in = post_sign_in(client, ALICE.email, PASSWORD, next="/my-feedback")
    assert signed_in.headers["location"] == "/my-feedback"


def test_passwords_are_stored_as_argon2_hashes(session):
    hashes = session.scalars(sa.select(User.password_hash)).all()
    assert hashes and all(value.startswith("$argon2id$") for value in hashes)
    assert all(PASSWORD not in value for value in hashes)


def test_a_wrong_password_gets_a_message_beside_the_email_field(client):
    response = post_sign_in(client, ALICE.email, "not the password")
    assert response.status_code == 400
    assert field_error(response.text, "email") == "The email address or password is not right"


def test_an_unknown_email_gets_the_same_message_as_a_wrong_password(client):
    response = post_sign_in(client, "nobody@council.example", "whatever-password")
    assert field_error(response.text, "email") == "The email address or password is not right"


def test_empty_fields_are_named(client):
    response = post_sign_in(client, "", "")
    assert field_error(response.text, "email") == "Enter your email address"
    assert field_error(response.text, "password") == "Enter your password"


def test_repeated_failures_are_rate_limited_with_a_clear_message(client):
    for _ in range(5):
        assert post_sign_in(client, ALICE.email, "guess").status_code == 400
    blocked = post_sign_in(client, ALICE.email, PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in field_error(blocked.text, "email")
    # Other people are not locked out by Alice's attacker.
    assert post_sign_in(client, BOB.email, PASSWORD).status_code == 303


def test_a_successful_sign_in_clears_earlier_failures(client):
    for _ in range(4):
        post_sign_in(client, ALICE.email, "guess")
    assert post_sign_in(client, ALICE.email, PASSWORD).status_code == 303
    client.cookies.delete("fp_session")
    for _ in range(4):
        post_sign_in(client, ALICE.email, "guess")
    assert post_sign_in(client, ALICE.email, PASSWORD).status_code == 303


def test_sign_out_ends_the_session_on_the_server(client):
    sign_in(client, ALICE)
    stolen_cookie = client.cookies["fp_session"]
    response = client.post("/sign-out", data={"_csrf_token": csrf_token(client)}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.set("fp_session", stolen_cookie)
    assert client.get("/my-feedback", follow_redirects=False).status_code == 303


def test_sessions_survive_a_restart_and_are_shared_between_processes(client, settings):
    sign_in(client, ALICE)
    cookies = dict(client.cookies)
    # A second app over the same data folder stands in for another worker or a restarted server.
    with TestClient(create_app(settings), base_url="http://portal.test") as other_worker:
        other_worker.cookies.update(cookies)
        page = other_worker.get("/my-feedback", follow_redirects=False)
        assert page.status_code == 200
        assert "My feedback" in page.text


def test_sign_in_never_redirects_to_another_site(client):
    response = post_sign_in(client, ALICE.email, PASSWORD, next="https://evil.example/phish")
    assert response.headers["location"] == "/"
    client.cookies.delete("fp_session")
    response = post_sign_in(client, ALICE.email, PASSWORD, next="//evil.example")
    assert response.headers["location"] == "/"


def test_the_session_cookie_is_http_only(client):
    response = post_sign_in(client, ALICE.email, PASSWORD)
    cookie = response.headers["set-cookie"]
    assert "fp_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def test_frontline_users_get_403_on_the_business_support_list(client):
    sign_in(client, ALICE)
    response = client.get("/feedback")
    assert response.status_code == 403
    assert "do not have access" in response.text
