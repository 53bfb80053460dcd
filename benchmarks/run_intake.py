"""The intake benchmark: the give-feedback form and the business support list against a real uvicorn server.

    .venv/bin/python benchmarks/run_intake.py                 # 10,000 items, 2 workers, 3 repeats (~3 min)
    .venv/bin/python benchmarks/run_intake.py --items 100000 --workers 2 --repeats 3

1. Builds (or reuses from benchmarks/.cache/) a data folder with N feedback items (generate_data.py), and
   copies it to a scratch folder, so every run starts from the same database.
2. Starts the portal: `python -m uvicorn feedback_portal.app:create_app_from_env --factory --workers W
   --no-access-log` with FEEDBACK_PORTAL_DATA_DIR set, and the floor (floor_app.py) the same way on another
   port, padded to the byte size of the real /feedback page.
3. Runs every scenario (load.py) at 1 and at 20 concurrent clients, R times. Read scenarios go first, in
   rounds (floor, list, list_filtered at c=1 then c=20, repeated R times), then the submissions, so the
   list is measured at exactly N items and machine noise is spread over all scenarios.
4. Prints a Markdown table of medians (with the spread over the repeats) and the target checks, and writes
   JSON and Markdown to benchmarks/results/ (gitignored).

Also recorded per run: the server's CPU time per request (all uvicorn worker processes), the load
generator's, and the CPU used by anything else on the machine while the run lasted (a busy machine makes
the numbers unreliable; the run waits, bounded, for the machine to go quiet before starting).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import generate_data  # noqa: E402
import load  # noqa: E402

CACHE = HERE / ".cache"
RESULTS = HERE / "results"
READ_SCENARIOS = ["floor", "list", "list_filtered"]
CONCURRENCIES = [1, 20]
TARGET_P95_MS = 50.0
TARGET_FLOOR_RATIO = 0.5
NOISY_CORES = 0.25  # other processes using more than this much CPU during a run make it noisy
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# Machine and processes


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("litestar", "uvicorn", "sqlalchemy", "jinja2", "uvloop", "httptools"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # noqa: BLE001
            versions[package] = "?"
    return {
        "cpu_model": model or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "packages": versions,
    }


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(root_pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat:
                parents[int(entry.name)] = stat[0]
    found, frontier = [], [root_pid]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent:
                found.append(pid)
                frontier.append(pid)
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    return {pid: stat[1] for pid in pids if (stat := _proc_stat(pid))}


def system_busy_seconds() -> float:
    """CPU seconds spent not idle, summed over all cores, since boot."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def wait_for_quiet(max_wait: float, threshold: float = 0.15) -> float:
    """Wait (at most max_wait seconds) until the machine is nearly idle; returns the last busy fraction."""
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + max_wait
    while True:
        before = system_busy_seconds()
        time.sleep(1.0)
        busy = (system_busy_seconds() - before) / cores
        if busy <= threshold or time.monotonic() >= deadline:
            return round(busy, 3)
        print(f"  machine is {busy:.0%} busy with other work; waiting for it to go quiet...", flush=True)


class Server:
    """A uvicorn process this run started (and only that process group is ever stopped)."""

    def __init__(self, name: str, app: str, port: int, workers: int, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.port = port
        self.log_path = log_path
        self.command = [
            sys.executable, "-m", "uvicorn", app, "--factory", "--workers", str(workers), "--no-access-log",
            "--host", load.HOST, "--port", str(port), "--log-level", "warning",
        ]
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{load.HOST}:{self.port}{path}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {url} within {timeout} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        return descendants(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group this run created for it
                self.process.wait(timeout=5)
        self.log.close()

    def log_problems(self) -> dict[str, int]:
        """Error lines in the server's log, counted by message (and the exceptions they ended with)."""
        counts: dict[str, int] = {}
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("ERROR") or line.startswith("CRITICAL"):
                key = line.split(" - ")[-1].strip()[:120]
            elif line and not line[0].isspace() and ("Error:" in line or "Exception:" in line) and ": " in line:
                key = line[:160]
            else:
                continue
            counts[key] = counts.get(key, 0) + 1
        return counts


# Data


def cache_key(items: int, seed: int) -> str:
    digest = hashlib.sha256(f"{items}:{seed}:{generate_data.GENERATOR_VERSION}".encode())
    sources = sorted((ROOT / "migrations" / "versions").glob("*.py"))
    for package in ("indexing", "search"):  # the search index's format
        sources += sorted((ROOT / "feedback_portal" / package).glob("*.py"))
    sources += [HERE / "generate_data.py", ROOT / "feedback_portal" / "demo" / "seed.py",
                ROOT / "feedback_portal" / "demo" / "feedback_items.json"]
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def prepare_data(items: int, seed: int, fresh: bool) -> tuple[Path, dict]:
    """A scratch copy of a cached, generated data folder (generated now if the cache is stale)."""
    cached = CACHE / f"data-{items}-{cache_key(items, seed)}"
    summary_path = cached / "generated.json"
    if fresh and cached.exists():
        shutil.rmtree(cached)
    if not summary_path.exists():
        if cached.exists():
            shutil.rmtree(cached)
        for stale in CACHE.glob(f"data-{items}-*"):
            shutil.rmtree(stale)
        print(f"Generating {items:,} feedback items in {cached} ...", flush=True)
        summary = generate_data.generate(cached, items, seed_value=seed)
        summary_path.write_text(json.dumps(summary, indent=2))
    summary = json.loads(summary_path.read_text())
    scratch = CACHE / "run"
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(cached, scratch, ignore=shutil.ignore_patterns("generated.json"))
    return scratch, summary


def feedback_count(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "portal.db") as conn:
        return conn.execute("SELECT count(*) FROM feedback").fetchone()[0]


# Running


def load_label(point: tuple[str, float]) -> str:
    kind, value = point
    return f"{value:g}" if kind == "closed" else f"open {value:g}/s"


def run_one(name: str, point: tuple[str, float], port: int, auth: tuple[str, str], target: Server, args) -> dict:  # noqa: ANN001, E501
    """One warm-up plus measured run against `target`; CPU used by anything else (including the other server)
    counts as other load."""
    kind, value = point
    concurrency = int(value) if kind == "closed" else 0
    rate = value if kind == "open" else 0.0
    scenario = load.make_scenario(name, port, *auth)
    pids = target.worker_pids()
    cpu_before = cpu_seconds(pids)
    busy_before = system_busy_seconds()
    client_before = time.process_time()
    wall_before = time.perf_counter()
    result = asyncio.run(
        load.run(scenario, port, concurrency=concurrency, requests=args.max_requests, seconds=args.seconds,
                 warmup_seconds=args.warmup_seconds, rate=rate)
    )
    result["load"] = load_label(point)
    # The CPU figures cover the warm-up and the measured run, so they are compared as per-second rates.
    total_seconds = time.perf_counter() - wall_before
    busy = system_busy_seconds() - busy_before
    client = time.process_time() - client_before
    cpu_after = cpu_seconds(pids)
    server_cpu = sum(cpu_after.get(pid, 0.0) - cpu_before.get(pid, 0.0) for pid in cpu_before)
    if set(target.worker_pids()) != set(pids):
        result["server_restarted_workers"] = True  # uvicorn replaced a worker during the run
    cores = os.cpu_count() or 1
    result["server_cpu_ms_per_request"] = round(
        server_cpu / total_seconds * result["seconds"] * 1000 / max(1, result["requests"]), 2
    )
    result["server_cpu_cores"] = round(server_cpu / total_seconds, 2)
    result["worker_cpu_split"] = [round(cpu_after.get(pid, 0.0) - cpu_before[pid], 2) for pid in cpu_before
                                  if cpu_after.get(pid, 0.0) - cpu_before[pid] > 0.05]
    result["other_cpu_cores"] = round(max(0.0, busy - server_cpu - client) / total_seconds, 2)
    result["machine_busy_fraction"] = round(busy / total_seconds / cores, 2)
    return result


def aggregate(runs: list[dict]) -> list[dict]:
    rows = []
    order = {}
    for run in runs:
        order.setdefault(run["load"], len(order))
    keys = sorted({(run["scenario"], run["load"]) for run in runs},
                  key=lambda key: (["submit", "list", "list_filtered", "floor"].index(key[0]), order[key[1]]))
    for name, point in keys:
        group = [run for run in runs if run["scenario"] == name and run["load"] == point]

        def median(field: str, group: list[dict] = group) -> float:
            return round(statistics.median(run[field] for run in group), 2)

        def spread(field: str, group: list[dict] = group) -> list[float]:
            values = [run[field] for run in group]
            return [min(values), max(values)]

        rows.append({
            "scenario": name,
            "load": point,
            "concurrency": group[0]["concurrency"],
            "offered_rate": group[0].get("offered_rate"),
            "repeats": len(group),
            "requests": sum(run["requests"] for run in group),
            "errors": sum(run["errors"] + run["warmup_errors"] + run.get("errors_in_discarded_attempts", 0)
                          for run in group),
            "requests_per_second": median("requests_per_second"),
            "requests_per_second_range": spread("requests_per_second"),
            "p50_ms": median("p50_ms"),
            "p95_ms": median("p95_ms"),
            "p95_ms_range": spread("p95_ms"),
            "p99_ms": median("p99_ms"),
            "min_ms": min(run["min_ms"] for run in group),
            "max_ms": max(run["max_ms"] for run in group),
            "server_cpu_ms_per_request": median("server_cpu_ms_per_request"),
            "client_cpu_ms_per_request": median("client_cpu_ms_per_request"),
            "other_cpu_cores": max(run["other_cpu_cores"] for run in group),
            "response_bytes": group[0]["response_bytes"],
        })
    return rows


LABELS = {
    "submit": "(a) submit feedback (POST /feedback/new → 303)",
    "list": "(b) list /feedback, no filter",
    "list_filtered": "(b) list /feedback, with a filter",
    "floor": "floor: bare Litestar page, same DB and size",
}


def markdown(report: dict) -> str:
    info = report["machine"]
    config = report["config"]
    lines = [
        f"Machine: {info['cpu_model']}, {info['cores']} cores; Python {info['python']}; SQLite {info['sqlite']}; "
        f"litestar {info['packages']['litestar']}, uvicorn {info['packages']['uvicorn']}, "
        f"SQLAlchemy {info['packages']['sqlalchemy']}.",
        f"Data: {report['data']['feedback_items_at_start']:,} feedback items at start "
        f"({report['data']['database_bytes'] / 1e6:.1f} MB database); {report['data']['feedback_items_at_end']:,} "
        f"after the submissions. Server: uvicorn, {config['workers']} workers, no access log; "
        f"load generator on the same machine ({config['seconds']} s per run after a {config['warmup_seconds']} s "
        f"warm-up, keep-alive; N clients = closed loop, open R/s = open loop). "
        f"Medians of {config['repeats']} repeats; [min–max] over repeats.",
    ]
    if config.get("app") != "feedback_portal.app:create_app_from_env" or config.get("portal_env"):
        lines.append(f"Portal variant: {config['app']} {' '.join(config.get('portal_env') or [])}".rstrip())
    if report.get("label"):
        lines.append(f"Label: {report['label']}")
    lines += [
        "",
        "| Scenario | Clients (or offered rate) | req/s [range] | p50 ms | p95 ms [range] | p99 ms | min–max ms | errors "
        "| server CPU ms/req | requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["summary"]:
        rps = row["requests_per_second_range"]
        p95 = row["p95_ms_range"]
        lines.append(
            f"| {LABELS[row['scenario']]} | {row['load']} | {row['requests_per_second']:.0f} "
            f"[{rps[0]:.0f}–{rps[1]:.0f}] | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} [{p95[0]:.1f}–{p95[1]:.1f}] "
            f"| {row['p99_ms']:.1f} | {row['min_ms']:.1f}–{row['max_ms']:.0f} | {row['errors']} "
            f"| {row['server_cpu_ms_per_request']:.1f} | {row['requests']:,} |"
        )
    lines += ["", "Targets (20 clients):"]
    for check in report["checks"]:
        lines.append(f"- {'PASS' if check['passed'] else 'FAIL'}: {check['text']}")
    if report["noise"]:
        lines += ["", "Notes: " + report["noise"]]
    return "\n".join(lines)


def checks(summary: list[dict]) -> list[dict]:
    by_key = {(row["scenario"], row["load"]): row for row in summary}
    found = []
    for name in ("submit", "list", "list_filtered"):
        row = by_key.get((name, "20"))
        if row:
            found.append({
                "name": f"{name}_p95",
                "passed": row["p95_ms"] <= TARGET_P95_MS,
                "text": f"{LABELS[name]}: p95 {row['p95_ms']:.1f} ms (target ≤ {TARGET_P95_MS:.0f} ms)",
            })
    floor = by_key.get(("floor", "20"))
    for name in ("list", "list_filtered"):
        row = by_key.get((name, "20"))
        if row and floor:
            ratio = row["requests_per_second"] / floor["requests_per_second"]
            found.append({
                "name": f"{name}_vs_floor",
                "passed": ratio >= TARGET_FLOOR_RATIO,
                "text": f"{LABELS[name]}: {row['requests_per_second']:.0f} req/s = {ratio:.2f} × the floor's "
                        f"{floor['requests_per_second']:.0f} req/s (target ≥ {TARGET_FLOOR_RATIO})",
            })
    errors = sum(row["errors"] for row in summary)
    found.append({"name": "zero_errors", "passed": errors == 0, "text": f"{errors} errors in all runs (target 0)"})
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000, help="feedback items in the database (default 10000)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers for both apps (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each scenario (default 3)")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run (default 5)")
    parser.add_argument("--max-requests", type=int, default=5000, help="cap on measured requests per run")
    parser.add_argument("--warmup-seconds", type=float, default=1.0, help="warm-up per run, not recorded")
    parser.add_argument("--scenarios", default="floor,list,list_filtered,submit")
    parser.add_argument("--concurrency", default="1,20", help="comma-separated client counts (default 1,20)")
    parser.add_argument("--open-rates", default="",
                        help="also run open-loop at these offered req/s, e.g. 20,50 (default: none)")
    parser.add_argument("--port", type=int, default=8731, help="portal port (the floor uses port + 1)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--fresh", action="store_true", help="regenerate the cached data folder")
    parser.add_argument("--quiet-wait", type=float, default=60.0,
                        help="wait up to this many seconds for other work on the machine to stop (default 60)")
    parser.add_argument("--quiet-wait-run", type=float, default=10.0,
                        help="before each run, wait up to this many seconds for the machine to go quiet")
    parser.add_argument("--retry-noisy", type=int, default=1,
                        help="run a scenario again (this many times) if other work disturbed it (default 1)")
    parser.add_argument("--time-budget", type=float, default=180.0,
                        help="stop waiting and retrying once the runs have taken this many seconds (default 180)")
    parser.add_argument("--floor-in-thread", action="store_true",
                        help="run the floor's handler in the thread pool, as the portal's handlers are")
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument("--app", default="feedback_portal.app:create_app_from_env",
                        help="the portal's uvicorn factory (to benchmark a variant; default the real one)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the portal process (repeatable)")
    args = parser.parse_args(argv)
    scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    concurrencies = [int(value) for value in args.concurrency.split(",") if value.strip()]
    points = [("closed", float(value)) for value in concurrencies]
    points += [("open", float(value)) for value in args.open_rates.split(",") if value.strip()]
    load.install_uvloop()
    # Stopped from outside (timeout, kill): still stop the servers this run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.time()
    info = machine()
    print(f"Machine: {info['cpu_model']}, {info['cores']} cores, Python {info['python']}", flush=True)
    data_dir, generated = prepare_data(args.items, args.seed, args.fresh)
    items_at_start = feedback_count(data_dir)
    print(f"Data: {items_at_start:,} feedback items in {data_dir}", flush=True)

    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    servers: list[Server] = []
    runs: list[dict] = []
    try:
        extra_env = dict(item.split("=", 1) for item in args.env)
        portal = Server("portal", args.app, args.port, args.workers,
                        {**extra_env, "FEEDBACK_PORTAL_DATA_DIR": str(data_dir)}, RESULTS / f"{stamp}-portal.log")
        servers.append(portal)
        portal.wait_ready("/healthz")
        support = asyncio.run(load.sign_in_for("list", args.port))
        frontline = asyncio.run(load.sign_in_for("submit", args.port))
        # The size of the real page, for the floor to match.
        page = asyncio.run(load.Connection(args.port).request(
            load.build_request("GET", "/feedback", args.port, cookies=support[0])))
        if page.status != 200:
            raise RuntimeError(f"GET /feedback gave {page.status}")
        page_bytes = len(page.body)
        floor_env = {"FLOOR_DATA_DIR": str(data_dir), "FLOOR_PAGE_BYTES": str(page_bytes),
                     "FLOOR_SYNC_TO_THREAD": "1" if args.floor_in_thread else "0"}
        floor = None
        if "floor" in scenarios:
            floor = Server("floor", "benchmarks.floor_app:create_app", args.port + 1, args.workers, floor_env,
                           RESULTS / f"{stamp}-floor.log")
            servers.append(floor)
            floor.wait_ready("/floor")
        print(f"Servers up: portal :{args.port}, floor :{args.port + 1}, {args.workers} workers each; "
              f"/feedback is {page_bytes:,} bytes", flush=True)
        busy_at_start = wait_for_quiet(args.quiet_wait)

        plan = []
        for repeat in range(args.repeats):
            for name in (s for s in READ_SCENARIOS if s in scenarios):
                for point in points:
                    plan.append((repeat, name, point))
        if "submit" in scenarios:
            for repeat in range(args.repeats):
                for point in points:
                    plan.append((repeat, "submit", point))
        deadline = time.monotonic() + args.time_budget
        for number, (repeat, name, point) in enumerate(plan, 1):
            port = args.port + 1 if name == "floor" else args.port
            auth = frontline if name == "submit" else support if name != "floor" else ("", "")
            attempts = []
            for attempt in range(1 + args.retry_noisy):
                if time.monotonic() < deadline:
                    wait_for_quiet(args.quiet_wait_run)
                result = run_one(name, point, port, auth, floor if name == "floor" else portal, args)
                attempts.append(result)
                if (result["other_cpu_cores"] <= NOISY_CORES or time.monotonic() > deadline
                        or attempt == args.retry_noisy):
                    break
                print(f"  [{number}/{len(plan)}] {name} {load_label(point)}: other work used "
                      f"{result['other_cpu_cores']:.2f} cores during the run; running it again", flush=True)
            # Keep the attempt least disturbed by other work (a submit retry adds rows; that is acceptable).
            result = min(attempts, key=lambda run: run["other_cpu_cores"])
            result["repeat"] = repeat + 1
            result["attempts"] = len(attempts)
            # Errors are never retried away: those of a discarded attempt still count.
            result["errors_in_discarded_attempts"] = sum(
                run["errors"] + run["warmup_errors"] for run in attempts if run is not result
            )
            runs.append(result)
            print(f"  [{number}/{len(plan)}] {name:13s} {result['load']:>11s} {result['requests_per_second']:7.1f} req/s  "
                  f"p50 {result['p50_ms']:6.1f}  p95 {result['p95_ms']:6.1f}  p99 {result['p99_ms']:6.1f} ms  "
                  f"errors {result['errors']}  server {result['server_cpu_ms_per_request']:.1f} ms/req  "
                  f"other load {result['other_cpu_cores']:.2f} cores", flush=True)
    finally:
        for server in reversed(servers):
            server.stop()
    problems = {server.name: server.log_problems() for server in servers}

    summary = aggregate(runs)
    noisy = [run for run in runs if run["other_cpu_cores"] > NOISY_CORES]
    noise = ""
    if noisy:
        noise = (f"{len(noisy)} of {len(runs)} runs shared the machine with other work using more than "
                 f"{NOISY_CORES} of a core (up to {max(run['other_cpu_cores'] for run in runs):.2f} cores); "
                 "treat those numbers as pessimistic.")
    if any(problems.values()):
        noise += " Server log errors: " + "; ".join(
            f"{name}: {count} × {message}" for name, found in problems.items() for message, count in found.items()
        )
    report = {
        "label": args.label,
        "started": dt.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
        "duration_seconds": round(time.time() - started, 1),
        "machine": info,
        "config": {
            "workers": args.workers, "repeats": args.repeats, "seconds": args.seconds,
            "warmup_seconds": args.warmup_seconds, "max_requests": args.max_requests,
            "concurrency": concurrencies, "open_rates": [p[1] for p in points if p[0] == "open"], "filters": load.FILTERS, "floor_in_thread": args.floor_in_thread,
            "command": " ".join(portal.command) if servers else "",
            "portal_env": args.env,
            "app": args.app,
        },
        "data": {
            "feedback_items_at_start": items_at_start,
            "feedback_items_at_end": feedback_count(data_dir),
            "database_bytes": generated["database_bytes"],
            "list_page_bytes": page_bytes,
            "generated": generated,
        },
        "machine_busy_at_start": busy_at_start,
        "summary": summary,
        "checks": checks(summary),
        "noise": noise.strip(),
        "server_log_problems": problems,
        "runs": runs,
    }
    text = markdown(report)
    (RESULTS / f"intake-{stamp}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"intake-{stamp}.md").write_text(text + "\n")
    shutil.copy(RESULTS / f"intake-{stamp}.json", RESULTS / "intake-latest.json")
    shutil.copy(RESULTS / f"intake-{stamp}.md", RESULTS / "intake-latest.md")
    print()
    print(text)
    print(f"\nWrote {RESULTS / f'intake-{stamp}.json'} ({report['duration_seconds']} s)")
    return 0 if all(check["passed"] for check in report["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
