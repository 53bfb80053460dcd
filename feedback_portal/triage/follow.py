"""Private follow links for anonymous feedback.

At an anonymous submission a random token is made; only its SHA-256 is stored on the feedback, so the
database alone cannot open the link and nothing ties the link to a person. The token is shown once:

- On the confirmation page, which is reached by a 303 after the POST. The token must not travel in that
  redirect's URL (URLs end up in browser history, proxy and server logs, and Referer headers), so the POST
  sets a one-time cookie instead: short-lived (10 minutes), HttpOnly, SameSite=Strict, limited to the path
  /feedback/thanks, and signed with the portal's secret together with the submission's receipt, so it only
  shows on that submission's confirmation. The confirmation page deletes it as it shows the link and is
  sent with Cache-Control: no-store, so reloading or going back does not show it again.
- In the API's 201 answer to an anonymous POST (`follow_url`); a retry with the same Idempotency-Key
  returns the feedback without it.

`/follow/{token}` shows the feedback's status, its public replies and its issue's status, reason and public
replies; never who sent it or anyone's name. A wrong token is a plain 404.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.errors import NotFound
from feedback_portal.feedback.models import Feedback

COOKIE = "fp_follow"
COOKIE_PATH = "/feedback/thanks"
COOKIE_SECONDS = 600
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def path(token: str) -> str:
    return f"/follow/{token}"


def _signature(secret: str, receipt: str, token: str) -> str:
    return hmac.new(secret.encode(), f"{receipt}:{token}".encode(), hashlib.sha256).hexdigest()[:32]


def cookie_value(secret: str, receipt: str, token: str) -> str:
    return f"{token}.{_signature(secret, receipt, token)}"


def token_from_cookie(secret: str, receipt: str, value: str | None) -> str | None:
    """The token if the cookie was made for this receipt by this portal, else None."""
    if not value or "." not in value:
        return None
    token, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _signature(secret, receipt, token)):
        return None
    return token


def find(session: orm.Session, token: str) -> Feedback:
    """The feedback a follow token opens; NotFound for anything else (the same answer for every wrong token)."""
    if not token or len(token) > 100 or not set(token) <= _TOKEN_CHARS:
        raise NotFound("There is no such page")
    feedback = session.scalar(sa.select(Feedback).where(Feedback.follow_token_hash == token_hash(token)))
    if feedback is None:
        raise NotFound("There is no such page")
    return feedback
