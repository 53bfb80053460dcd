"""Create a Feedback Portal data folder holding N feedback items, quickly and deterministically.

    python benchmarks/generate_data.py DATA_DIR [--items 10000] [--seed 2026] [--force]

Steps: run the migrations (feedback_portal.db.upgrade), run the demo seed (feedback_portal.demo.seed.seed:
teams, the demo logins, staff and the 300 hand-written items), then bulk-insert realistic variations of the
demo items until the database holds N feedback items, with SQLAlchemy Core executemany in one transaction.
Finally it builds the search index (as `feedback-portal reindex` does), so a server starts in steady state.

The variations keep the demo wording (a title/body pair is one person's report), and vary the date (spread
over the 270 days since go-live on 2026-03-02, weekdays and office hours weighted), the team and submitter,
and sometimes the module, impact and frequency. Every row gets ref FB-%06d equal to its id, a
feedback.submitted audit event like the portal writes, and older items sometimes a status and a public reply.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from feedback_portal import db  # noqa: E402
from feedback_portal.accounts.models import Role, Team, User  # noqa: E402
from feedback_portal.audit.models import AuditEvent  # noqa: E402
from feedback_portal.demo import seed as demo_seed  # noqa: E402
from feedback_portal.feedback.models import Comment, Feedback  # noqa: E402
from feedback_portal.feedback.services import format_ref  # noqa: E402
from feedback_portal.feedback.vocabulary import FREQUENCIES, IMPACTS, MODULES, Anonymity, FeedbackStatus  # noqa: E402
from feedback_portal.settings import Settings  # noqa: E402

GO_LIVE = demo_seed.GO_LIVE
SPAN_DAYS = 270
DEFAULT_ITEMS = 10_000
# Bump when the shape of the generated data changes, so cached folders are rebuilt.
GENERATOR_VERSION = 1

# Small edits that make repeated demo reports read like different people wrote them.
_BODY_ENDINGS = [
    "",
    "",
    "",
    " Happened again today.",
    " Same for the rest of my team.",
    " This has been going on since go-live.",
    " Please can someone look at this.",
    " I've reported it to the service desk as well.",
    " It took me an extra hour this week.",
    " Colleagues in other teams say the same.",
]


def _submitted_at(rng: random.Random, now: dt.datetime) -> dt.datetime:
    """A time in the 270 days since go-live: more in the early weeks, mostly weekdays in office hours."""
    while True:
        # Feedback is heaviest just after go-live and tails off (but never stops).
        day = int(min(SPAN_DAYS - 1, rng.expovariate(1 / 90))) if rng.random() < 0.6 else rng.randrange(SPAN_DAYS)
        date = GO_LIVE + dt.timedelta(days=day)
        if date.weekday() >= 5 and rng.random() < 0.85:
            continue
        minute = rng.randint(0, 9 * 60 - 1) if rng.random() < 0.9 else rng.randint(-8 * 60, 14 * 60)
        value = date + dt.timedelta(minutes=minute, seconds=rng.randint(0, 59))
        return min(value, now - dt.timedelta(minutes=5))


def generate(data_dir: Path, items: int = DEFAULT_ITEMS, *, seed_value: int = 2026, quiet: bool = False,
             search_index: bool = True) -> dict:
    """Build the data folder. Returns a summary (counts and timings)."""
    started = time.perf_counter()
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if (data_dir / "portal.db").exists():
        raise SystemExit(f"{data_dir / 'portal.db'} already exists (use --force to rebuild it)")
    settings = Settings.for_data_dir(data_dir)  # also writes the data folder's persistent secret_key
    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    factory = db.make_session_factory(engine)
    with factory() as session:
        seeded = demo_seed.seed(session)
    seeded_at = time.perf_counter()

    rng = random.Random(seed_value)
    now = dt.datetime.now(dt.UTC)
    templates = json.loads(demo_seed.ITEMS_FILE.read_text())
    with engine.connect() as conn:
        teams = {row.slug: row.id for row in conn.execute(sa.select(Team.slug, Team.id))}
        staff: dict[int, list[int]] = {}
        for user_id, team_id in conn.execute(
            sa.select(User.id, User.team_id).where(User.role == Role.FRONTLINE, User.team_id.is_not(None))
        ):
            staff.setdefault(team_id, []).append(user_id)
        support_id = conn.scalar(sa.select(User.id).where(User.email == "support@demo.example"))
        first_id = (conn.scalar(sa.select(sa.func.max(Feedback.id))) or 0) + 1
    frontline_teams = [slug for slug in teams if slug not in {"business-support", "cms-implementation"}]
    # Some teams send far more feedback than others (MASH and assessment teams live in the CMS).
    team_weights = [rng.uniform(0.3, 3.0) for _ in frontline_teams]
    modules = list(MODULES)
    impacts = list(IMPACTS)
    frequencies = list(FREQUENCIES)

    count = max(0, items - seeded)
    dates = sorted(_submitted_at(rng, now) for _ in range(count))
    feedback_rows: list[dict] = []
    audit_rows: list[dict] = []
    comment_rows: list[dict] = []
    for offset, submitted_at in enumerate(dates):
        feedback_id = first_id + offset
        template = rng.choice(templates)
        team_slug = template["team"] if rng.random() < 0.4 else rng.choices(frontline_teams, team_weights)[0]
        team_id = teams.get(team_slug)
        anonymity = template["anonymity"]
        if rng.random() < 0.1:
            anonymity = rng.choice(list(Anonymity)).value
        submitter_id = None
        if anonymity != Anonymity.ANONYMOUS and staff.get(team_id):
            submitter_id = rng.choice(staff[team_id])
        module = template["module"] if rng.random() < 0.8 else rng.choice(modules)
        impact = template["impact"] if rng.random() < 0.85 else rng.choice(impacts)
        frequency = template.get("frequency")
        if rng.random() < 0.2:
            frequency = rng.choice([*frequencies, None])
        body = template["body"] + rng.choice(_BODY_ENDINGS)
        status = FeedbackStatus.RECEIVED.value
        age_days = (now - submitted_at).days
        reply = None
        if age_days > 30:
            roll = rng.random()
            # (Not "linked": that status means the item belongs to an issue, and no issues are generated.)
            if roll < 0.35:
                status = FeedbackStatus.UNDER_REVIEW.value
            elif roll < 0.45:
                status = FeedbackStatus.CLOSED.value
            elif roll < 0.48:
                status = FeedbackStatus.NOT_CMS.value
            if status != FeedbackStatus.RECEIVED.value and anonymity != Anonymity.ANONYMOUS and rng.random() < 0.6:
                reply = rng.choice(demo_seed._REPLIES)
        ref = format_ref(feedback_id)
        feedback_rows.append(
            {
                "id": feedback_id,
                "ref": ref,
                "title": template.get("title"),
                "body": body,
                "module": module,
                "kind": template["kind"],
                "impact": impact,
                "frequency": frequency,
                "team_id": team_id,
                "anonymity": anonymity,
                "submitter_id": submitter_id,
                "status": status,
                "submitted_at": submitted_at,
                "idempotency_key": None,
            }
        )
        audit_rows.append(
            {
                "at": submitted_at,
                "actor_id": submitter_id,
                "action": "feedback.submitted",
                "record_type": "feedback",
                "record_ref": ref,
                "before": None,
                "after": None,
            }
        )
        if reply:
            comment_rows.append(
                {
                    "feedback_id": feedback_id,
                    "author_id": support_id,
                    "visibility": "public",
                    "body": reply,
                    "created_at": min(submitted_at + dt.timedelta(days=rng.randint(1, 6)), now),
                }
            )

    built_at = time.perf_counter()
    with engine.begin() as conn:  # one transaction; executemany for each table
        if feedback_rows:
            conn.execute(sa.insert(Feedback.__table__), feedback_rows)
            conn.execute(sa.insert(AuditEvent.__table__), audit_rows)
        if comment_rows:
            conn.execute(sa.insert(Comment.__table__), comment_rows)
    with engine.connect() as conn:
        total = conn.scalar(sa.select(sa.func.count(Feedback.id)))
        mismatched = conn.scalar(
            sa.select(sa.func.count(Feedback.id)).where(Feedback.ref != sa.func.printf("FB-%06d", Feedback.id))
        )
    engine.dispose()
    # Outside any transaction: refresh the planner's statistics and fold the WAL into the database file.
    raw = sqlite3.connect(data_dir / "portal.db", isolation_level=None)
    try:
        raw.execute("ANALYZE")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    if mismatched:
        raise RuntimeError(f"{mismatched} feedback refs do not match their ids")
    inserted_at = time.perf_counter()
    indexed = build_search_index(settings) if search_index else None
    finished = time.perf_counter()
    summary = {
        "data_dir": str(data_dir),
        "feedback_items": total,
        "seeded_items": seeded,
        "generated_items": len(feedback_rows),
        "comments_added": len(comment_rows),
        "search_index_documents": indexed,
        "seed_value": seed_value,
        "generator_version": GENERATOR_VERSION,
        "database_bytes": (data_dir / "portal.db").stat().st_size,
        "seconds": {
            "migrate_and_seed": round(seeded_at - started, 2),
            "build_rows": round(built_at - seeded_at, 2),
            "insert": round(inserted_at - built_at, 2),
            "search_index": round(finished - inserted_at, 2),
            "total": round(finished - started, 2),
        },
    }
    if not quiet:
        print(
            f"{total:,} feedback items in {data_dir} ({summary['database_bytes'] / 1e6:.1f} MB) "
            f"in {summary['seconds']['total']} s (seed {summary['seconds']['migrate_and_seed']} s, "
            f"rows {summary['seconds']['build_rows']} s, insert {summary['seconds']['insert']} s, "
            f"search index {summary['seconds']['search_index']} s)"
        )
    return summary


def build_search_index(settings: Settings) -> int | None:
    """Build the portal's search index, as `feedback-portal reindex` does, so a server started on this folder
    is in its steady state (otherwise a worker rebuilds the index in the background while being measured).
    Returns the number of documents, or None if this version of the portal has no search index."""
    try:
        from feedback_portal.indexing.indexer import Indexer, IndexStore
    except ImportError:
        return None
    engine = db.make_engine(settings.database_url)
    try:
        return Indexer(db.make_session_factory(engine), IndexStore(settings.index_dir)).rebuild()
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS, help="total feedback items (default 10000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--force", action="store_true", help="delete an existing portal.db in DATA_DIR first")
    parser.add_argument("--no-search-index", action="store_true", help="skip building the search index")
    args = parser.parse_args(argv)
    if args.force:
        for name in ("portal.db", "portal.db-wal", "portal.db-shm"):
            (args.data_dir / name).unlink(missing_ok=True)
        shutil.rmtree(args.data_dir / "index", ignore_errors=True)
    generate(args.data_dir, args.items, seed_value=args.seed, search_index=not args.no_search_index)


if __name__ == "__main__":
    main()
