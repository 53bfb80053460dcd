"""How long the insight page takes at 100,000 feedback items and 5,000 issues (target: under 300 ms server time).

    .venv/bin/python benchmarks/insight.py                          # 100,000 items, 5,000 issues, 15 runs
    .venv/bin/python benchmarks/insight.py --items 10000 --issues 500 --runs 20
    .venv/bin/python benchmarks/insight.py --rebuild                # regenerate the cached data folder

Data: `generate_data.py` (migrations, demo seed, N feedback items spread over the 270 days since go-live),
then this script adds the issues the generator does not make, with Core bulk inserts: ISSUES issues created
over the same months (more early on), each with a module, a severity (15% 1, 45% 2, 30% 3, 10% not set) and a
status that moved on with age (decided_at, fixed_at, resolved_at as the portal records them); about half of
the feedback linked to an issue of its module that existed around then (triaged_at a few days after it was
sent, as triage records it; other feedback business support looked at is triaged too, the rest untriaged);
and "me too"s (4 per issue on average) from frontline staff. Cached in benchmarks/.cache/insight-<N>-<I>-<key>/
(the key covers the migrations, the generator and this script); every run opens it read-only in effect (GET
requests only).

Measured, after one warm-up of each:
1. `service`: InsightService.all_charts() for the default view (go-live to today, no filters), in-process —
   the SQL and the arithmetic, nothing else; also each chart on its own.
2. `page`: GET /insight through the whole app in-process (Litestar TestClient: routing, the sign-in lookup,
   the service, Jinja rendering of the six SVGs and their tables), signed in as the board demo login.
3. `page-filtered`: GET /insight?module=case-notes&kind=bug&from=2026-06-01 (narrower queries, same page).
4. `fragment`: the htmx redraw (HX-Target: insight-results) of the default view.
5. `csv`: GET /insight/volume.csv.
Each is timed `--runs` times (at least 10): median, p95, min and max in milliseconds. Results go to
benchmarks/results/insight-<timestamp>.{json,md} and insight-latest.*.
Other work on the machine (other test suites) makes the numbers noisy: run it more than once.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from benchmarks import generate_data  # noqa: E402
from feedback_portal import db  # noqa: E402
from feedback_portal.accounts.models import Role, User  # noqa: E402
from feedback_portal.feedback.models import Feedback  # noqa: E402
from feedback_portal.feedback.vocabulary import MODULES  # noqa: E402
from feedback_portal.issues.models import Issue, MeToo  # noqa: E402
from feedback_portal.settings import Settings  # noqa: E402

CACHE = HERE / ".cache"
RESULTS = HERE / "results"
ISSUE_GENERATOR_VERSION = 1
TARGET_MS = 300.0
GO_LIVE = generate_data.GO_LIVE
SPAN_DAYS = generate_data.SPAN_DAYS


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model or platform.processor() or "unknown",
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def cache_key(items: int, issues: int, seed: int) -> str:
    digest = hashlib.sha256(f"insight:{items}:{issues}:{seed}:{ISSUE_GENERATOR_VERSION}".encode())
    sources = sorted((ROOT / "migrations" / "versions").glob("*.py"))
    sources += [HERE / "generate_data.py", ROOT / "feedback_portal" / "demo" / "seed.py"]
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# Data


def _status_path(rng: random.Random, created: dt.datetime, now: dt.datetime) -> dict:
    """Where an issue created at `created` has got to by now, with the times the portal would have recorded."""
    age = (now - created).days
    decided = created + dt.timedelta(days=rng.expovariate(1 / 18))
    values: dict = {"status": "new" if age < 7 and rng.random() < 0.7 else "investigating"}
    if decided >= now or rng.random() < 0.2:
        return values
    roll = rng.random()
    values["decided_at"] = decided
    if roll < 0.25:  # decided without a fix
        values["status"] = rng.choice(["wont-fix", "guidance-issued", "training-arranged"])
        values["status_reason"] = "Decided at the post-implementation meeting."
        values["resolved_at"] = decided
        return values
    values["status"] = rng.choice(["change-requested", "fix-scheduled"])
    fixed = decided + dt.timedelta(days=rng.expovariate(1 / 35))
    if fixed < now and rng.random() < 0.75:
        values.update(status="fixed", fixed_at=fixed, resolved_at=fixed)
        if (now - fixed).days > 14 and rng.random() < 0.6:
            values["status"] = "closed"
    return values


def add_issues(data_dir: Path, count: int, seed: int) -> dict:
    """Issues, links from feedback, triage times and "me too"s, in one transaction."""
    rng = random.Random(seed + 6)
    settings = Settings.for_data_dir(data_dir)
    engine = db.make_engine(settings.database_url)
    now = dt.datetime.now(dt.UTC)
    modules = list(MODULES)
    with engine.begin() as conn:
        first_id = (conn.scalar(sa.select(sa.func.max(Issue.id))) or 0) + 1
        issue_rows = []
        for offset in range(count):
            day = (
                min(SPAN_DAYS - 1, rng.expovariate(1 / 100))
                if rng.random() < 0.6
                else rng.uniform(0, SPAN_DAYS)
            )
            created = min(
                GO_LIVE + dt.timedelta(days=day, hours=rng.uniform(0, 9)), now - dt.timedelta(hours=1)
            )
            issue_id = first_id + offset
            severity = rng.choices([1, 2, 3, None], [15, 45, 30, 10])[0]
            issue_rows.append(
                {
                    "id": issue_id,
                    "ref": f"ISS-{issue_id:04d}",
                    "title": f"Benchmark issue {issue_id}",
                    "summary": "",
                    "module": rng.choice(modules),
                    "severity": severity,
                    "created_at": created,
                    "updated_at": created,
                    "version": 1,
                    "status_reason": None,
                    "decided_at": None,
                    "fixed_at": None,
                    "resolved_at": None,
                    **_status_path(rng, created, now),
                }
            )
        conn.execute(sa.insert(Issue.__table__), issue_rows)

        # Feedback goes to an issue of its module created up to 60 days before it (or just after) about half
        # the time; the issues of each module are kept in date order for a bisect.
        by_module: dict[str, list[tuple[dt.datetime, int]]] = {}
        for row in issue_rows:
            by_module.setdefault(row["module"], []).append((row["created_at"], row["id"]))
        for rows in by_module.values():
            rows.sort()
        updates, triaged = [], []
        for feedback_id, module, submitted_at, status in conn.execute(
            sa.select(Feedback.id, Feedback.module, Feedback.submitted_at, Feedback.status)
        ):
            submitted_at = (
                submitted_at.replace(tzinfo=dt.UTC) if submitted_at.tzinfo is None else submitted_at
            )
            when = min(submitted_at + dt.timedelta(days=rng.expovariate(1 / 2.5)), now)
            candidates = by_module.get(module, [])
            low = bisect.bisect_left(candidates, (submitted_at - dt.timedelta(days=60), 0))
            high = bisect.bisect_right(candidates, (submitted_at + dt.timedelta(days=3), 10**9))
            if high > low and rng.random() < 0.5 and (now - submitted_at).days > 2:
                updates.append(
                    {
                        "b_id": feedback_id,
                        "b_issue": candidates[rng.randrange(low, high)][1],
                        "b_triaged": when,
                    }
                )
            elif status != "received":
                triaged.append({"b_id": feedback_id, "b_triaged": when})
        table = Feedback.__table__
        conn.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(issue_id=sa.bindparam("b_issue"), status="linked", triaged_at=sa.bindparam("b_triaged")),
            updates,
        )
        if triaged:
            conn.execute(
                sa.update(table)
                .where(table.c.id == sa.bindparam("b_id"))
                .values(triaged_at=sa.bindparam("b_triaged")),
                triaged,
            )
        staff = [
            (row.id, row.team_id)
            for row in conn.execute(sa.select(User.id, User.team_id).where(User.role == Role.FRONTLINE))
        ]
        me_toos, seen = [], set()
        for _ in range(count * 4):
            issue = rng.choice(issue_rows)
            user_id, team_id = rng.choice(staff)
            if (user_id, issue["id"]) in seen:
                continue
            seen.add((user_id, issue["id"]))
            age = (now - issue["created_at"]).total_seconds()
            me_toos.append(
                {
                    "user_id": user_id,
                    "issue_id": issue["id"],
                    "feedback_id": None,
                    "team_id": team_id,
                    "impact": rng.choice(["blocks-work", "workaround", "minor"]),
                    "created_at": issue["created_at"] + dt.timedelta(seconds=rng.uniform(0, age)),
                }
            )
        conn.execute(sa.insert(MeToo.__table__), me_toos)
    engine.dispose()
    raw = sqlite3.connect(data_dir / "portal.db", isolation_level=None)
    try:
        raw.execute("ANALYZE")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    return {"issues": count, "linked_feedback": len(updates), "me_toos": len(me_toos)}


def prepare(items: int, issues: int, seed: int, rebuild: bool) -> tuple[Path, dict]:
    folder = CACHE / f"insight-{items}-{issues}-{cache_key(items, issues, seed)}"
    meta_path = folder / "insight-bench.json"
    if rebuild and folder.exists():
        shutil.rmtree(folder)
    if not meta_path.exists():
        if folder.exists():
            shutil.rmtree(folder)
        print(f"Generating {items:,} feedback items and {issues:,} issues in {folder} ...", flush=True)
        started = time.perf_counter()
        generated = generate_data.generate(folder, items, seed_value=seed, search_index=False)
        added = add_issues(folder, issues, seed)
        meta = {"generated": generated, "added": added, "seconds": round(time.perf_counter() - started, 1)}
        meta_path.write_text(json.dumps(meta, indent=2, default=str))
    return folder, json.loads(meta_path.read_text())


# Timing


def summarise(samples: tuple[list[float], list[float]]) -> dict:
    wall, cpu = samples
    ordered = sorted(wall)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "runs": len(wall),
        "median_ms": round(statistics.median(wall), 1),
        "p95_ms": round(p95, 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
        "cpu_median_ms": round(statistics.median(cpu), 1),
    }


def timed(action, runs: int) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """Wall-clock and CPU milliseconds of each run. Everything runs in this one thread (the TestClient runs the
    app in-process), so CPU time is the work done, and less disturbed than wall time by other processes."""
    action()  # warm-up: connections, template compilation, SQLite page cache
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def measure(folder: Path, runs: int) -> dict:
    from litestar.testing import TestClient

    from feedback_portal.app import CSRF_COOKIE, create_app
    from feedback_portal.demo.seed import DEMO_LOGINS
    from feedback_portal.insight.services import CHARTS, InsightService

    settings = Settings.for_data_dir(folder, background_indexer=False, background_mailer=False)
    app = create_app(settings)
    results: dict[str, dict] = {}
    with app.state.session_factory() as session:
        service = InsightService(session, go_live=settings.go_live)
        filters = service.default_filters()
        results["service"] = summarise(timed(lambda: service.all_charts(filters), runs))
        for name in CHARTS:
            results[f"service:{name}"] = summarise(
                timed(lambda name=name: service.chart(name, filters), runs)
            )
    board = next(login for login in DEMO_LOGINS if login.role == "board")
    with TestClient(app, base_url="http://portal.test") as client:
        client.get("/sign-in")
        signed_in = client.post(
            "/sign-in",
            data={
                "email": board.email,
                "password": board.password,
                "_csrf_token": client.cookies[CSRF_COOKIE],
            },
            follow_redirects=False,
        )
        assert signed_in.status_code == 303, signed_in.text

        def get(path: str, **headers: str):  # noqa: ANN202
            def action() -> None:
                response = client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.status_code, response.text[:500])

            return action

        results["page"] = summarise(timed(get("/insight"), runs))
        results["page-filtered"] = summarise(
            timed(get("/insight?module=case-notes&kind=bug&from=2026-06-01"), runs)
        )
        results["fragment"] = summarise(
            timed(get("/insight", **{"HX-Request": "true", "HX-Target": "insight-results"}), runs)
        )
        results["csv"] = summarise(timed(get("/insight/volume.csv"), runs))
        size = len(client.get("/insight").content)
    results["page_bytes"] = {"bytes": size}
    return results


def data_size(folder: Path) -> dict:
    connection = sqlite3.connect(folder / "portal.db")
    try:
        counts = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("feedback", "issues", "me_toos", "users", "teams")
        }
        counts["linked_feedback"] = connection.execute(
            "SELECT count(*) FROM feedback WHERE issue_id IS NOT NULL"
        ).fetchone()[0]
        counts["triaged_feedback"] = connection.execute(
            "SELECT count(*) FROM feedback WHERE triaged_at IS NOT NULL"
        ).fetchone()[0]
    finally:
        connection.close()
    counts["database_mb"] = round((folder / "portal.db").stat().st_size / 1e6, 1)
    return counts


def report(result: dict) -> str:
    size, host = result["data"], result["machine"]
    lines = [
        f"# Insight page speed ({result['started']})",
        "",
        (
            f"{size['feedback']:,} feedback items ({size['linked_feedback']:,} linked to issues, "
            f"{size['triaged_feedback']:,} triaged), {size['issues']:,} issues, {size['me_toos']:,} “me too”s, "
            f"{size['teams']} teams, {size['users']} people; database {size['database_mb']} MB (SQLite "
            f"{host['sqlite']})."
        ),
        (
            f"Machine: {host['cpu_model']}, nproc {host['nproc']}, Python {host['python']}. "
            f"Page size {result['timings']['page_bytes']['bytes'] / 1000:.0f} kB."
        ),
        "",
        f"Load average when it started: {result['load_average']} (on {host['nproc']} cores).",
        "",
        "| what | runs | median ms | p95 ms | min ms | max ms | CPU median ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in result["timings"].items():
        if "median_ms" in row:
            lines.append(
                f"| {name} | {row['runs']} | {row['median_ms']} | {row['p95_ms']} | {row['min_ms']} | "
                f"{row['max_ms']} | {row['cpu_median_ms']} |"
            )
    page = result["timings"]["page"]["median_ms"]
    verdict = "meets" if page < TARGET_MS else "misses"
    cpu = result["timings"]["page"]["cpu_median_ms"]
    lines += ["", f"GET /insight median {page} ms ({cpu} ms CPU): {verdict} the {TARGET_MS:.0f} ms target."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--issues", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached data folder")
    args = parser.parse_args(argv)
    runs = max(10, args.runs)
    started = dt.datetime.now(dt.UTC)
    folder, meta = prepare(args.items, args.issues, args.seed, args.rebuild)
    result = {
        "started": started.strftime("%d %B %Y %H:%M UTC"),
        "machine": machine(),
        "load_average": " ".join(f"{value:.1f}" for value in os.getloadavg()),
        "data": data_size(folder),
        "data_folder": str(folder),
        "generation": meta,
        "timings": measure(folder, runs),
    }
    RESULTS.mkdir(exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    text = report(result)
    for name in (f"insight-{stamp}", "insight-latest"):
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
        (RESULTS / f"{name}.md").write_text(text)
    print(text)
    return 0 if result["timings"]["page"]["median_ms"] < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
