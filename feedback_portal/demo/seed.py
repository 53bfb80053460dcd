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
    _seed_issues(session, rng, support, [user for team in staff.values() for user in team], now)
    session.commit()
    from feedback_portal.meetings.demo import seed_meetings  # issue 5: a meeting series, past and upcoming

    seed_meetings(session)
    _backdate_late_triage(session, random.Random(seed_value))
    return len(items)


def _backdate_late_triage(session: orm.Session, rng: random.Random) -> None:
    """Issues the meetings demo makes from months-old feedback would read as triaged today, months late,
    which no business support team does; give those items a triage time a few working hours after sending."""
    # Compared in Python: date arithmetic in SQL differs between SQLite and PostgreSQL (300 rows here).
    for feedback in session.scalars(sa.select(Feedback).where(Feedback.triaged_at.is_not(None))):
        if feedback.triaged_at - feedback.submitted_at > dt.timedelta(days=7):
            feedback.triaged_at = feedback.submitted_at + dt.timedelta(hours=rng.randint(3, 96))
    session.commit()


# Demo issues for the insight page and "you said, we did": (module, title, severity, status it reached, how many
# days ago it got there, target release, reason shown to staff, public response).
_ISSUES = [
    ("case-notes", "Unsaved case notes disappear after a timeout", 1, "fixed", 12, "Release 2.3", None,
     "Release 2.3 saves a draft of your case note every minute, so a timeout no longer loses it."),
    ("assessments", "Assessment timescales show the wrong due date", 1, "closed", 60, "Release 2.1", None,
     "Due dates now count working days, as the assessment timescales require."),
    ("forms-templates", "Assessment forms ask for the same details twice", 2, "fix-scheduled", 9, "Release 2.5", None,
     "The supplier will pre-fill these details from the child's record in release 2.5."),
    ("access-permissions", "New starters wait days for CMS access", 1, "guidance-issued", 20, None,
     "Managers can now request access before a new starter's first day: see the new starter checklist on "
     "the intranet.", None),
    ("documents", "Uploaded documents cannot be found in the case file", 2, "change-requested", 25, None, None,
     "We have asked the supplier to show uploads in the case file straight away."),
    ("workflow-sign-off", "Managers cannot sign off from their phone", 2, "investigating", 40, None, None, None),
    ("plans-reviews", "Review dates do not carry over to the new plan", 2, "fixed", 30, "Release 2.4", None,
     "Review dates now carry over when a plan is updated."),
    ("mobile-offline", "Offline notes fail to sync after a visit", 1, "fix-scheduled", 35, "Release 2.5", None, None),
    ("chronology", "Chronology entries appear out of order", 3, "closed", 90, "Release 2.2", None, None),
    ("training-guidance", "No guidance on recording joint visits", 3, "training-arranged", 6, None,
     "Short sessions on recording joint visits run every Tuesday in December: book through the learning hub.",
     None),
    ("integrations", "Health records do not show in the CMS", 2, "wont-fix", 45, None,
     "The link to health records needs the NHS trust's own system upgrade, planned for 2027. Until then use "
     "the health summary form.", None),
    ("reports", "Caseload report counts closed cases", 3, "new", 0, None, None, None),
    ("search", "Search cannot find children by a previous name", 2, "investigating", 15, None, None, None),
    ("performance", "The CMS is slow on Monday mornings", 2, "change-requested", 50, None, None, None),
    ("other", "Printing a case summary cuts off the last page", 3, "new", 0, None, None, None),
]
# The steps an issue takes on the way to each status (the last step is the status itself).
_PATHS = {
    "new": [],
    "investigating": ["investigating"],
    "change-requested": ["investigating", "change-requested"],
    "fix-scheduled": ["investigating", "change-requested", "fix-scheduled"],
    "fixed": ["investigating", "change-requested", "fix-scheduled", "fixed"],
    "closed": ["investigating", "fix-scheduled", "fixed", "closed"],
    "wont-fix": ["investigating", "wont-fix"],
    "guidance-issued": ["investigating", "guidance-issued"],
    "training-arranged": ["investigating", "training-arranged"],
}


def _seed_issues(
    session: orm.Session, rng: random.Random, support: User, staff: list[User], now: dt.datetime
) -> None:
    """Group some older feedback into issues whose statuses moved on over the months (with decided_at, fixed_at
    and the triage time of each feedback), and add recent "me too"s, so insight and "you said, we did" look real.
    Recent feedback stays untriaged, for the triage queue."""
    from feedback_portal.issues.models import Issue, IssueStatus, MeToo
    from feedback_portal.issues.services import format_ref as issue_ref

    linkable = list(
        session.scalars(
            sa.select(Feedback)
            .where(Feedback.issue_id.is_(None), Feedback.submitted_at < now - dt.timedelta(days=21))
            .order_by(Feedback.submitted_at, Feedback.id)
        )
    )
    for module, title, severity, status, days_ago, release, reason, response in _ISSUES:
        reached = now - dt.timedelta(days=days_ago, hours=rng.randint(1, 8))
        candidates = [item for item in linkable if item.module == module and item.issue_id is None
                      and reached - dt.timedelta(days=110) < item.submitted_at < reached - dt.timedelta(days=10)]
        chosen = candidates[::2][:8]
        if not chosen:
            continue
        created = chosen[0].submitted_at + dt.timedelta(days=rng.randint(1, 3))
        issue = Issue(
            title=title, module=module, severity=severity, status=IssueStatus.NEW, target_release=release,
            public_response=response, created_at=created, updated_at=created,
        )
        session.add(issue)
        session.flush()
        issue.ref = issue_ref(issue.id)
        audit.record(session, actor_id=support.id, action="issue.created", record_type="issue",
                     record_ref=issue.ref, after={"title": title, "feedback": [f.ref for f in chosen]}).at = created
        for item in chosen:
            item.issue = issue
            item.status = FeedbackStatus.LINKED
            if hasattr(item, "triaged_at"):
                item.triaged_at = min(max(item.submitted_at + dt.timedelta(hours=rng.randint(3, 120)), created), now)
        steps = _PATHS[status]
        for number, step in enumerate(steps, start=1):
            when = created + (reached - created) * number / len(steps)
            before = issue.status
            issue.reached_status(when, status=step)  # first, so these times stand (not the seeding time)
            issue.status = step
            if IssueStatus(step).needs_reason:
                issue.status_reason = reason
            audit.record(session, actor_id=support.id, action="issue.updated", record_type="issue",
                         record_ref=issue.ref, before={"status": before}, after={"status": step}).at = when
        issue.updated_at = reached if steps else created
        # Recent voices: more in the last fortnight than the one before, for the rising issues chart.
        if status in {"new", "investigating", "fix-scheduled"}:
            voices = rng.sample(staff, k=min(len(staff), rng.randint(3, 7)))
            for position, person in enumerate(voices):
                days = rng.uniform(0.5, 13) if position % 3 else rng.uniform(15, 27)
                session.add(MeToo(user_id=person.id, issue_id=issue.id, team_id=person.team_id,
                                  impact=rng.choice(["blocks-work", "workaround", "minor"]),
                                  created_at=now - dt.timedelta(days=days)))
    session.flush()
