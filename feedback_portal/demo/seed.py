"""Seed an empty database with demo teams, people and feedback written for this product."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import Role, User
from feedback_portal.accounts.services import AccountService
from feedback_portal.audit import models as audit
from feedback_portal.db import begin_write
from feedback_portal.feedback.models import Comment, Feedback
from feedback_portal.feedback.services import format_ref
from feedback_portal.feedback.vocabulary import Anonymity, FeedbackStatus

GO_LIVE = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ITEMS_FILE = Path(__file__).with_name("feedback_items.json")

TEAMS = {
    "mash": "MASH",
    "assessment-north": "Assessment Team North",
    "assessment-south": "Assessment Team South",
    "cin-east": "Children in Need East",
    "cp-west": "Child Protection West",
    "children-looked-after": "Children Looked After",
    "leaving-care": "Leaving Care",
    "fostering": "Fostering",
    "adoption": "Adoption",
    "youth-justice": "Youth Justice Service",
    "early-help": "Early Help",
    "disabled-children": "Disabled Children's Team",
    "family-therapy": "Family Therapy Service",
    "court-legal": "Court and Legal",
    "business-support": "Business Support",
    "cms-implementation": "CMS Implementation Team",
}

# First names and surnames for demo staff accounts only (never for children or families).
_STAFF_FIRST = ["Amira", "Ben", "Chloe", "Dev", "Efua", "Femi", "Grace", "Hassan", "Imogen", "Jas", "Kemi",
                "Liam", "Maya", "Nadia", "Owen", "Priya", "Rory", "Sana", "Tom", "Yusuf"]
_STAFF_LAST = ["Adeyemi", "Brennan", "Clarke", "Desai", "Evans", "Fraser", "Ghosh", "Hughes", "Iqbal", "Jones",
               "Kowalski", "Lewis", "Mensah", "Novak", "O'Brien", "Patel", "Quinn", "Rahman", "Shah", "Turner"]


@dataclasses.dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    name: str


DEMO_LOGINS = [
    DemoLogin(Role.FRONTLINE, "frontline@demo.example", "frontline-demo-2026", "Sam Okafor"),
    DemoLogin(Role.BUSINESS_SUPPORT, "support@demo.example", "support-demo-2026", "Bea Lindqvist"),
    DemoLogin(Role.BOARD, "board@demo.example", "board-demo-2026", "Harriet Mensah"),
    DemoLogin(Role.ADMIN, "admin@demo.example", "admin-demo-2026", "Ade Kowalczyk"),
]
_LOGIN_TEAMS = {
    Role.FRONTLINE: "cp-west",
    Role.BUSINESS_SUPPORT: "business-support",
    Role.BOARD: "cms-implementation",
    Role.ADMIN: "cms-implementation",
}

_REPLIES = [
    "Thank you. We have raised this with the supplier and will update you when we hear back.",
    "Thanks for flagging this. A fix is planned for the next release; until then please save your work "
    "every few minutes.",
    "We've added this to the agenda for the next post-implementation meeting.",
    "There is a quick guide for this on the intranet under CMS help. We're also updating the training videos.",
]


def is_empty(session: orm.Session) -> bool:
    return session.scalar(sa.select(sa.func.count(User.id))) == 0


def seed(session: orm.Session, *, items_file: Path = ITEMS_FILE, seed_value: int = 2026) -> int:
    """Fill an empty database. Returns how many feedback items were added."""
    begin_write(session)
    rng = random.Random(seed_value)
    accounts = AccountService(session)
    teams = {slug: accounts.ensure_team(slug, name) for slug, name in TEAMS.items()}
    for login in DEMO_LOGINS:
        accounts.create_user(
            email=login.email, name=login.name, role=login.role,
            team_slug=_LOGIN_TEAMS[Role(login.role)], password=login.password,
        )
    support = accounts.user_by_email("support@demo.example")
    # Several frontline staff per team, so feedback comes from many people (no passwords: demo only).
    staff: dict[str, list[User]] = {}
    used_names: set[str] = set()
    for slug in TEAMS:
        if slug in {"business-support", "cms-implementation"}:
            continue
        staff[slug] = []
        for number in range(rng.randint(4, 9)):
            name = f"{rng.choice(_STAFF_FIRST)} {rng.choice(_STAFF_LAST)}"
            while name in used_names:
                name = f"{rng.choice(_STAFF_FIRST)} {rng.choice(_STAFF_LAST)}"
            used_names.add(name)
            staff[slug].append(
                accounts.create_user(
                    email=f"{slug}.{number + 1}@demo.example", name=name, role=Role.FRONTLINE, team_slug=slug
                )
            )
    frontline_login = accounts.user_by_email("frontline@demo.example")
    staff["cp-west"].append(frontline_login)

    items = json.loads(items_file.read_text())
    now = dt.datetime.now(dt.UTC)
    for position, item in enumerate(items):
        submitted_at = GO_LIVE + dt.timedelta(days=item["days_after_golive"], minutes=rng.randint(0, 9 * 60))
        submitted_at = min(submitted_at, now - dt.timedelta(minutes=5))
        anonymity = item["anonymity"]
        team_slug = item["team"]
        # The demo frontline login sent a handful, so My feedback has something to show.
        submitter = frontline_login if position % 37 == 0 and anonymity != Anonymity.ANONYMOUS else (
            rng.choice(staff[team_slug]) if team_slug in staff else None
        )
        if submitter is frontline_login:
            team_slug = "cp-west"
        feedback = Feedback(
            title=item.get("title"),
            body=item["body"],
            module=item["module"],
            kind=item["kind"],
            impact=item["impact"],
            frequency=item.get("frequency"),
            team=teams.get(team_slug),
            anonymity=anonymity,
            submitter_id=None if anonymity == Anonymity.ANONYMOUS else submitter.id if submitter else None,
            status=FeedbackStatus.RECEIVED,
            submitted_at=submitted_at,
        )
        session.add(feedback)
        session.flush()
        feedback.ref = format_ref(feedback.id)
        age_days = (now - submitted_at).days
        if age_days > 30 and rng.random() < 0.35 and anonymity != Anonymity.ANONYMOUS:
            feedback.status = FeedbackStatus.UNDER_REVIEW
            session.add(
                Comment(
                    feedback=feedback,
                    author_id=support.id,
                    visibility="public",
                    body=rng.choice(_REPLIES),
                    created_at=submitted_at + dt.timedelta(days=rng.randint(1, 6)),
                )
            )
        audit.record(
            session,
            actor_id=feedback.submitter_id,
            action="feedback.submitted",
            record_type="feedback",
            record_ref=feedback.ref,
        )
    session.commit()
    return len(items)
