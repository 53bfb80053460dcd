"""Meetings benchmark: how long it takes to build an agenda from the evidence, and to render the agenda pack.

    .venv/bin/python benchmarks/meetings.py [--items 10000] [--issues 500] [--runs 7] [--keep DIR]

1. Builds a data folder with benchmarks/generate_data.py (migrations, demo seed, then bulk feedback up to
   --items), then groups ALL the feedback into --issues issues (status New or Investigating, severities 1–3,
   a long-tailed spread: a few issues hold many items), adds "me too"s on a fifth of the issues, and marks
   2% of the feedback as held (personal data), all with SQLAlchemy Core in one transaction.
2. Agenda build: MeetingService.build_agenda on a 120-minute meeting, --runs times (each a rebuild, which
   deletes the proposed items and proposes them again: the same work as the first build).
3. Pack: an agenda of exactly 20 items (built on a long meeting, then trimmed), rendered through the app
   over HTTP (Litestar's TestClient, signed in as the demo board login): GET /meetings/{id}/pack (HTML)
   and GET /meetings/{id}/pack.pdf (WeasyPrint), --runs times each after one warm-up.
Prints the machine (nproc, CPU model), the data size, and median / min / max / stdev for each, and writes
benchmarks/results/meetings-latest.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate_data

from feedback_portal import db
from feedback_portal.accounts.models import User
from feedback_portal.feedback.models import Feedback
from feedback_portal.issues.models import Issue, MeToo
from feedback_portal.meetings.models import ItemKind
from feedback_portal.meetings.services import MeetingService
from feedback_portal.settings import Settings


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
    }


def summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "runs": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
        "stdev_ms": round(statistics.stdev(ms), 1) if len(ms) > 1 else 0.0,
    }


def group_into_issues(engine: sa.Engine, issues: int, rng: random.Random) -> dict[str, int]:
    """All feedback into `issues` issues (long-tailed), "me too"s on some, 2% held. One transaction."""
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        feedback_ids = list(conn.scalars(sa.select(Feedback.id).order_by(Feedback.id)))
        users = list(conn.execute(sa.select(User.id, User.team_id).where(User.role == "frontline")))
        first = (conn.scalar(sa.select(sa.func.max(Issue.id))) or 0) + 1
        conn.execute(
            sa.insert(Issue),
            [
                {
                    "id": first + n,
                    "ref": f"ISS-{first + n:04d}",
                    "title": f"Benchmark issue {n + 1}",
                    "summary": "",
                    "module": "other",
                    "severity": rng.choice([1, 2, 2, 3, 3, 3, None]),
                    "status": rng.choice(["new", "investigating"]),
                    "created_at": now - dt.timedelta(days=rng.randint(1, 200)),
                    "updated_at": now,
                    "version": 1,
                }
                for n in range(issues)
            ],
        )
        weights = [1 / (rank + 1) ** 0.8 for rank in range(issues)]
        targets = rng.choices(range(first, first + issues), weights, k=len(feedback_ids))
        conn.execute(
            sa.update(Feedback)
            .where(Feedback.id == sa.bindparam("fid"))
            .values(issue_id=sa.bindparam("iid"), status="linked", held=sa.bindparam("h")),
            [
                {"fid": fid, "iid": iid, "h": rng.random() < 0.02}
                for fid, iid in zip(feedback_ids, targets, strict=True)
            ],
        )
        me_toos = []
        for issue_id in rng.sample(range(first, first + issues), issues // 5):
            for user_id, team_id in rng.sample(users, min(len(users), rng.randint(1, 8))):
                me_toos.append(
                    {
                        "user_id": user_id,
                        "issue_id": issue_id,
                        "team_id": team_id,
                        "impact": "workaround",
                        "created_at": now - dt.timedelta(days=rng.randint(0, 60)),
                    }
                )
        if me_toos:
            conn.execute(sa.insert(MeToo), me_toos)
        return {
            "feedback": len(feedback_ids),
            "issues": issues,
            "me_toos": len(me_toos),
            "held": conn.scalar(sa.select(sa.func.count(Feedback.id)).where(Feedback.held.is_(True))),
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build the data folder here and keep it")
    args = parser.parse_args(argv)

    folder = args.keep or Path(tempfile.mkdtemp(prefix="fp-meetings-"))
    started = time.perf_counter()
    generate_data.generate(folder, args.items, quiet=True, search_index=False)
    settings = Settings.for_data_dir(folder, background_indexer=False, background_mailer=False)
    engine = db.make_engine(settings.database_url)
    size = group_into_issues(engine, args.issues, random.Random(2026))
    print(f"data: {size} in {time.perf_counter() - started:.1f} s, folder {folder}")
    factory = db.make_session_factory(engine)
    with factory() as session:
        chair = session.scalar(sa.select(User).where(User.email == "board@demo.example"))
        service = MeetingService(session)
        when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
        meeting = service.create_meeting(
            title="Benchmark", scheduled_for=when, duration_minutes=120, actor=chair
        )
        build_times = []
        for _ in range(args.runs + 1):
            version = service.get(meeting.id).version
            tick = time.perf_counter()
            result = service.build_agenda(meeting.id, version, chair)
            build_times.append(time.perf_counter() - tick)
        build_times = build_times[1:]  # the first run warms caches (SQLite pages, mappers)
        built_items = len(service.get(meeting.id).items)

        pack = service.create_meeting(
            title="Pack benchmark", scheduled_for=when, duration_minutes=480, actor=chair
        )
        service.build_agenda(pack.id, service.get(pack.id).version, chair)
        while len(service.get(pack.id).items) > 20:
            extra = [i for i in service.get(pack.id).items if i.kind == ItemKind.ISSUE][-1]
            service.remove_item(pack.id, service.get(pack.id).version, extra.id, chair)
        pack_id = pack.id
        pack_items = len(service.get(pack.id).items)
        pack_issue_items = sum(1 for i in service.get(pack.id).items if i.kind == ItemKind.ISSUE)
    engine.dispose()

    from litestar.testing import TestClient

    from feedback_portal.app import CSRF_COOKIE, create_app

    app = create_app(settings)
    html_times, pdf_times = [], []
    with TestClient(app, base_url="http://bench.test") as client:
        client.get("/sign-in")
        client.post(
            "/sign-in",
            data={
                "email": "board@demo.example",
                "password": "board-demo-2026",
                "_csrf_token": client.cookies[CSRF_COOKIE],
            },
        )
        for path, times in (
            (f"/meetings/{pack_id}/pack", html_times),
            (f"/meetings/{pack_id}/pack.pdf", pdf_times),
        ):
            for run in range(args.runs + 1):
                tick = time.perf_counter()
                response = client.get(path)
                elapsed = time.perf_counter() - tick
                assert response.status_code == 200, (path, response.status_code, response.text[:500])
                if run:
                    times.append(elapsed)
            last_size = len(response.content)
            print(f"{path}: {last_size:,} bytes")

    results = {
        "machine": machine(),
        "data": {
            **size,
            "agenda_items_built": built_items,
            "left_out": len(result.left_out),
            "pack_items": pack_items,
            "pack_issue_items": pack_issue_items,
        },
        "agenda_build": summary(build_times),
        "pack_html": summary(html_times),
        "pack_pdf": summary(pdf_times),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(results, indent=2))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "meetings-latest.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
