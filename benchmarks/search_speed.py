"""The search benchmark: search, "someone already said this" and grouping against a real uvicorn server.

    .venv/bin/python benchmarks/search_speed.py                        # 10,000 and 100,000 items (~6 min;
                                                                       # ~8 min the first time: see the cache)
    .venv/bin/python benchmarks/search_speed.py --sizes 10000          # one size
    .venv/bin/python benchmarks/search_speed.py --reindex              # rebuild (and re-time) the cached indexes

For each size N:

1. Data: a data folder with N feedback items (generate_data.py, without its search index), then the search
   index built with the portal's own ``Indexer.rebuild`` -- timed, and its size on disk measured.  Both are
   cached in benchmarks/.cache/search-<N>-<key>/ (the key covers the migrations, the demo data, the
   generator and the search/indexing code, so a change to any of them rebuilds it); a cached index reports
   the rebuild time measured when it was built.  Every run works on a scratch copy.
2. Grouping: times ``feedback-portal cluster --json`` (the CLI, as a subprocess) on the oldest 2,000
   untriaged items, and ``grouping.cluster()`` on the same items in-process.
3. Starts the portal: ``python -m uvicorn feedback_portal.app:create_app_from_env --factory --workers 2
   --no-access-log`` (as run_intake.py does), and measures through HTTP with load.py's client:
   * ``api``: GET /api/v1/search?q=...&limit=10 with a bearer token (``feedback-portal users token
     support@demo.example``), the 82 queries of tests/search/eval_set.json in turn;
   * ``page``: GET /search?q=... (the full results page, 20 results, facets) signed in as business support;
   * ``similar``: POST /feedback/similar as the frontline login (CSRF token in the X-CSRFToken header, as
     htmx sends it) with growing prefixes of 12 realistic feedback texts, one request per 4 more words
     (what the 600 ms debounce on the form sends while someone types);
   first one cold pass over each scenario's requests right after start-up (the first time each query is
   seen), then a warm-up, then closed-loop runs at 1 and 10 clients: p50/p95/p99, req/s, errors, and the
   server's CPU per request.
4. Server memory: the RSS of each uvicorn worker after the runs (/proc/<pid>/status).

Prints a Markdown table and writes benchmarks/results/search-<stamp>.json and .md (and search-latest.*).
Targets (from the issue): search p95 <= 25 ms at 100,000 items through HTTP (1 client), "someone already
said this" p95 <= 50 ms.  The exit status is 0 only if both are met and there were no errors.
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
import urllib.parse
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
EVAL_SET = ROOT / "tests" / "search" / "eval_set.json"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TARGET_SEARCH_P95_MS = 25.0
TARGET_SIMILAR_P95_MS = 50.0
SUPPORT = "support@demo.example"
WORDS_PER_REQUEST = 4


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
    from importlib.metadata import version

    packages = {}
    for package in ("litestar", "uvicorn", "sqlalchemy", "whoosh-reloaded"):
        try:
            packages[package] = version(package)
        except Exception:  # noqa: BLE001
            packages[package] = "?"
    return {"cpu_model": model or platform.processor() or "unknown", "cores": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform(), "packages": packages}


def _proc_stat(pid: int) -> tuple[int, float] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(root_pid: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))):
            parents[int(entry.name)] = stat[0]
    found, frontier = [], [root_pid]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent:
                found.append(pid)
                frontier.append(pid)
    return found


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def system_busy_seconds() -> float:
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


class Server:
    """The uvicorn process this run started (only its own process group is ever stopped)."""

    def __init__(self, port: int, workers: int, data_dir: Path, log_path: Path, app_root: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.command = [sys.executable, "-m", "uvicorn", "feedback_portal.app:create_app_from_env", "--factory",
                        "--workers", str(workers), "--no-access-log", "--host", load.HOST, "--port", str(port),
                        "--log-level", "warning"]
        env = {**os.environ, "FEEDBACK_PORTAL_DATA_DIR": str(data_dir), "PYTHONPATH": str(app_root)}
        self.log = log_path.open("w")
        self.process = subprocess.Popen(self.command, cwd=app_root, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{load.HOST}:{self.port}/healthz"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the portal exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the portal did not answer {url} within {timeout} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        return descendants(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.close()

    def log_problems(self) -> list[str]:
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if "Traceback" in line or "ERROR" in line][:20]


# Data


def cache_key(items: int, seed: int, app_root: Path) -> str:
    digest = hashlib.sha256(f"search:{items}:{seed}:{generate_data.GENERATOR_VERSION}".encode())
    sources = sorted((app_root / "migrations" / "versions").glob("*.py"))
    sources += sorted((app_root / "feedback_portal" / "indexing").glob("*.py"))  # how the index is built
    sources += [app_root / "feedback_portal" / "search" / name for name in ("engine.py", "analysis.py")]  # its format
    sources += [HERE / "generate_data.py", app_root / "feedback_portal" / "demo" / "seed.py",
                app_root / "feedback_portal" / "demo" / "feedback_items.json"]
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build_index(data_dir: Path, app_root: Path) -> dict:
    """The portal's own full rebuild (Indexer.rebuild) in a fresh process running the code in `app_root`,
    timed; and the index's size on disk."""
    probe = (
        "import json, shutil, time\n"
        "from feedback_portal import db\n"
        "from feedback_portal.indexing.indexer import Indexer, IndexStore\n"
        "from feedback_portal.settings import Settings\n"
        "s = Settings.from_env(); shutil.rmtree(s.index_dir, ignore_errors=True)\n"
        "e = db.make_engine(s.database_url)\n"
        "t, c = time.perf_counter(), time.process_time()\n"
        "n = Indexer(db.make_session_factory(e), IndexStore(s.index_dir)).rebuild()\n"
        "print(json.dumps({'documents': n, 'seconds': round(time.perf_counter() - t, 1),\n"
        "                  'cpu_seconds': round(time.process_time() - c, 1)}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(app_root), "FEEDBACK_PORTAL_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=app_root, env=env, capture_output=True, text=True,
                          timeout=1800)
    if done.returncode:
        raise RuntimeError(f"rebuilding the search index failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    from feedback_portal.settings import Settings

    index_dir = Settings.for_data_dir(data_dir).index_dir
    result["bytes"] = sum(path.stat().st_size for path in index_dir.rglob("*") if path.is_file())
    result["built_at"] = dt.datetime.now().isoformat(timespec="seconds")
    return result


def prepare(items: int, seed: int, reindex: bool, app_root: Path) -> tuple[Path, dict, bool]:
    """A scratch copy of the cached data folder with its index (generated and built now if stale), its
    metadata, and whether the index was built (and timed) in this run."""
    cached = CACHE / f"search-{items}-{cache_key(items, seed, app_root)}"
    meta_path = cached / "search-bench.json"
    if not meta_path.exists():
        for stale in CACHE.glob(f"search-{items}-*"):
            shutil.rmtree(stale)
        print(f"Generating {items:,} feedback items in {cached} ...", flush=True)
        generated = generate_data.generate(cached, items, seed_value=seed, search_index=False)
        meta = {"generated": generated}
        reindex = True
    else:
        meta = json.loads(meta_path.read_text())
    if reindex:
        print(f"Building the search index of {items:,} items (Indexer.rebuild) ...", flush=True)
        meta["index"] = build_index(cached, app_root)
        meta_path.write_text(json.dumps(meta, indent=2))
        print(f"  {meta['index']['documents']:,} documents in {meta['index']['seconds']} s, "
              f"{meta['index']['bytes'] / 1e6:.1f} MB", flush=True)
    scratch = CACHE / "search-run"
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(cached, scratch, ignore=shutil.ignore_patterns("search-bench.json"))
    return scratch, meta, reindex


def untriaged_count(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "portal.db") as conn:
        return conn.execute("SELECT count(*) FROM feedback WHERE issue_id IS NULL AND status = 'received'").fetchone()[0]


def cli(data_dir: Path, app_root: Path, *args: str) -> tuple[str, float]:
    env = {**os.environ, "FEEDBACK_PORTAL_DATA_DIR": str(data_dir), "PYTHONPATH": str(app_root)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "feedback_portal.cli", *args], cwd=app_root, env=env,
                          capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"feedback-portal {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout, seconds


def time_cluster(data_dir: Path, app_root: Path) -> dict:
    """`feedback-portal cluster --json` end to end, and grouping.cluster() alone on the same items."""
    out, cli_seconds = cli(data_dir, app_root, "cluster", "--json")
    groups = json.loads(out)
    probe = (
        "import json, sys, time\n"
        "from feedback_portal import db\n"
        "from feedback_portal.grouping.services import GroupingService, _item\n"
        "from feedback_portal.search import grouping\n"
        "from feedback_portal.settings import Settings\n"
        "s = Settings.from_env(); e = db.make_engine(s.database_url)\n"
        "with db.make_session_factory(e)() as session:\n"
        "    items = [_item(f) for f in GroupingService(session).untriaged()]\n"
        "times, cpu = [], []\n"
        "for _ in range(3):\n"
        "    t, c = time.perf_counter(), time.process_time(); grouping.cluster(items)\n"
        "    times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)\n"
        "print(json.dumps({'items': len(items), 'seconds': times, 'cpu_seconds': cpu}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(app_root), "FEEDBACK_PORTAL_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=app_root, env=env, capture_output=True, text=True,
                          timeout=600)
    if done.returncode:
        raise RuntimeError(f"timing grouping.cluster() failed: {done.stderr[-2000:]}")
    inproc = json.loads(done.stdout.strip().splitlines()[-1])
    return {"cli_seconds": round(cli_seconds, 2), "groups": len(groups),
            "grouped_items": sum(len(group) for group in groups), "items": inproc["items"],
            "cluster_seconds_first": round(inproc["seconds"][0], 2),  # nothing cached yet, as in the CLI
            "cluster_seconds_median": round(statistics.median(inproc["seconds"]), 2),
            "cluster_cpu_seconds_median": round(statistics.median(inproc["cpu_seconds"]), 2)}


# Requests


def eval_queries() -> list[str]:
    return [query["q"] for query in json.loads(EVAL_SET.read_text())["queries"]]


def typed_prefixes(count: int = 12) -> list[str]:
    """Growing prefixes of realistic feedback, one per WORDS_PER_REQUEST words, as the debounced form sends."""
    items = json.loads(EVAL_SET.read_text())["items"]
    texts = [item["body"] for item in items[::max(1, len(items) // count)][:count]]
    prefixes = []
    for text in texts:
        words = text.split()
        for end in range(WORDS_PER_REQUEST, len(words) + WORDS_PER_REQUEST, WORDS_PER_REQUEST):
            prefixes.append(" ".join(words[:end]))
    return prefixes


def _ok_page(response: load.Response) -> str | None:
    if response.status != 200:
        return f"status {response.status}: {response.body[:200]!r}"
    if b"</html>" not in response.body[-200:]:
        return "truncated page"
    if b"Search is being rebuilt" in response.body:
        return "the index was unavailable (database fallback)"
    return None


def _ok_json(response: load.Response) -> str | None:
    if response.status != 200:
        return f"status {response.status}: {response.body[:200]!r}"
    try:
        body = json.loads(response.body)
    except ValueError:
        return "not JSON"
    if "results" not in body or any("Search is being rebuilt" in notice for notice in body.get("notices", [])):
        return f"unexpected body {response.body[:200]!r}"
    return None


def _ok_fragment(response: load.Response) -> str | None:
    if response.status != 200:
        return f"status {response.status}: {response.body[:200]!r}"
    return None


def scenarios(port: int, token: str, support: tuple[str, str], frontline: tuple[str, str]) -> dict[str, tuple]:
    """name -> (load.Scenario, number of distinct requests)."""
    queries = eval_queries()
    api = [load.build_request("GET", "/api/v1/search?" + urllib.parse.urlencode({"q": q, "limit": 10}), port,
                              extra=f"Authorization: Bearer {token}") for q in queries]
    page = [load.build_request("GET", "/search?" + urllib.parse.urlencode({"q": q}), port, cookies=support[0])
            for q in queries]
    cookies, csrf = frontline
    similar = []
    for text in typed_prefixes():
        body = urllib.parse.urlencode({"title": "", "body": text}).encode()
        similar.append(load.build_request("POST", "/feedback/similar", port, cookies=cookies, body=body,
                                          content_type="application/x-www-form-urlencoded",
                                          extra=f"X-CSRFToken: {csrf}\r\nHX-Request: true"))

    def make(name: str, requests: list[bytes], check) -> tuple:  # noqa: ANN001
        return load.Scenario(name, 200, lambda number: requests[number % len(requests)], check), len(requests)

    return {"api": make("api", api, _ok_json), "page": make("page", page, _ok_page),
            "similar": make("similar", similar, _ok_fragment)}


def measure(server: Server, scenario: load.Scenario, port: int, *, concurrency: int, requests: int,
            seconds: float, warmup_seconds: float) -> dict:
    pids = server.worker_pids()
    before = {pid: stat[1] for pid in pids if (stat := _proc_stat(pid))}
    busy_before = system_busy_seconds()
    client_before = time.process_time()
    wall_before = time.perf_counter()
    result = asyncio.run(load.run(scenario, port, concurrency=concurrency, requests=requests, seconds=seconds,
                                  warmup_seconds=warmup_seconds))
    wall = time.perf_counter() - wall_before
    server_cpu = sum((stat[1] if (stat := _proc_stat(pid)) else before[pid]) - before[pid] for pid in before)
    other = system_busy_seconds() - busy_before - server_cpu - (time.process_time() - client_before)
    result["server_cpu_ms_per_request"] = round(server_cpu / wall * result["seconds"] * 1000
                                                / max(1, result["requests"]), 2)
    result["other_cpu_cores"] = round(max(0.0, other) / wall, 2)
    return result


def wait_for_quiet(max_wait: float, threshold: float = 0.15) -> None:
    """Wait (at most max_wait seconds) until other work on the machine uses under `threshold` of it."""
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        before = system_busy_seconds()
        time.sleep(0.5)
        if (system_busy_seconds() - before) / 0.5 / cores <= threshold:
            return


def summarise(runs: list[dict]) -> list[dict]:
    """One row per (scenario, phase, clients): medians over the repeats, the spread of p95, all errors."""
    rows = []
    keys = []
    for run in runs:
        key = (run["scenario"], run["phase"], run["concurrency"])
        if key not in keys:
            keys.append(key)
    for scenario, phase, concurrency in keys:
        group = [run for run in runs if (run["scenario"], run["phase"], run["concurrency"]) == (scenario, phase, concurrency)]

        def median(field: str, group: list[dict] = group) -> float:
            return round(statistics.median(run[field] for run in group), 2)

        rows.append({
            "scenario": scenario, "phase": phase, "concurrency": concurrency, "repeats": len(group),
            "requests": sum(run["requests"] for run in group),
            "errors": sum(run["errors"] + run.get("warmup_errors", 0) for run in group),
            "requests_per_second": median("requests_per_second"), "p50_ms": median("p50_ms"),
            "p95_ms": median("p95_ms"), "p95_ms_range": [min(run["p95_ms"] for run in group),
                                                         max(run["p95_ms"] for run in group)],
            "p99_ms": median("p99_ms"), "max_ms": max(run["max_ms"] for run in group),
            "server_cpu_ms_per_request": median("server_cpu_ms_per_request"),
            "other_cpu_cores": max(run["other_cpu_cores"] for run in group),
        })
    return rows


# Report


def markdown(report: dict) -> str:
    info = report["machine"]
    lines = [
        f"Machine: {info['cpu_model']}, {info['cores']} cores; Python {info['python']}; "
        f"whoosh-reloaded {info['packages']['whoosh-reloaded']}, litestar {info['packages']['litestar']}, "
        f"uvicorn {info['packages']['uvicorn']}.",
        f"Server: uvicorn, {report['config']['workers']} workers; load generator (benchmarks/load.py) on the same "
        f"machine, closed loop, keep-alive, {report['config']['seconds']} s per run after a warm-up.",
        "",
        "| Items | Database | Index (docs, size) | Full reindex | Cluster 2,000 untriaged: CLI / cluster() | "
        "Server RSS per process |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size in report["sizes"]:
        index = size["index"]
        cluster = size.get("cluster") or {}
        rss = ", ".join(f"{value:.0f}" for value in size.get("worker_rss_mb", [])) or "?"
        lines.append(
            f"| {size['items']:,} | {size['database_bytes'] / 1e6:.0f} MB | {index['documents']:,} docs, "
            f"{index['bytes'] / 1e6:.0f} MB | {index['seconds']:.0f} s{'' if size['reindexed'] else ' (cached)'} "
            f"| {cluster.get('cli_seconds', float('nan')):.1f} s / {cluster.get('cluster_seconds_first', float('nan')):.2f} s "
            f"({cluster.get('groups', '?')} groups) | {rss} MB |"
        )
    lines += [
        "",
        f"Medians of {report['config']['repeats']} runs per row ([min–max] of p95); \"cold\" is one pass over the "
        "distinct requests right after start-up.",
        "",
        "| Items | Request | Clients | req/s | p50 ms | p95 ms [range] | p99 ms | max ms | errors | server CPU ms/req | "
        "other load (cores) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {"api": "GET /api/v1/search (limit 10)", "page": "GET /search (page)",
              "similar": "POST /feedback/similar (typing)"}
    for size in report["sizes"]:
        for row in size["summary"]:
            clients = "cold, 1" if row["phase"] == "cold" else str(row["concurrency"])
            spread = row["p95_ms_range"]
            lines.append(
                f"| {size['items']:,} | {labels[row['scenario']]} | {clients} | {row['requests_per_second']:.0f} "
                f"| {row['p50_ms']:.1f} | {row['p95_ms']:.1f} [{spread[0]:.1f}–{spread[1]:.1f}] | {row['p99_ms']:.1f} "
                f"| {row['max_ms']:.0f} | {row['errors']} | {row['server_cpu_ms_per_request']:.1f} "
                f"| {row['other_cpu_cores']:.2f} |"
            )
    lines += ["", "Targets:"]
    for check in report["checks"]:
        lines.append(f"- {'PASS' if check['passed'] else 'FAIL'}: {check['text']}")
    if report.get("notes"):
        lines += ["", *report["notes"]]
    return "\n".join(lines)


def checks(report: dict) -> list[dict]:
    found = []
    largest = max(report["sizes"], key=lambda size: size["items"])
    rows = {(row["scenario"], row["phase"], row["concurrency"]): row for row in largest["summary"]}
    for name, target in (("api", TARGET_SEARCH_P95_MS), ("page", TARGET_SEARCH_P95_MS),
                         ("similar", TARGET_SIMILAR_P95_MS)):
        row = rows.get((name, "warm", 1))
        if row:
            found.append({"name": f"{name}_p95", "passed": row["p95_ms"] <= target,
                          "text": f"{name} at {largest['items']:,} items, 1 client: p95 {row['p95_ms']:.1f} ms "
                                  f"(median of {row['repeats']}; target <= {target:.0f} ms)"})
    errors = sum(row["errors"] for size in report["sizes"] for row in size["summary"])
    found.append({"name": "zero_errors", "passed": errors == 0, "text": f"{errors} errors in all runs (target 0)"})
    return found


def run_size(items: int, args, app_root: Path, stamp: str) -> dict:  # noqa: ANN001
    data_dir, meta, reindexed = prepare(items, args.seed, args.reindex, app_root)
    size = {"items": items, "database_bytes": meta["generated"]["database_bytes"], "index": meta["index"],
            "reindexed": reindexed, "untriaged": untriaged_count(data_dir), "runs": []}
    print(f"{items:,} items: database {size['database_bytes'] / 1e6:.0f} MB, index {meta['index']['documents']:,} "
          f"docs / {meta['index']['bytes'] / 1e6:.0f} MB (rebuild {meta['index']['seconds']} s), "
          f"{size['untriaged']:,} untriaged", flush=True)
    if not args.skip_cluster:
        size["cluster"] = time_cluster(data_dir, app_root)
        print(f"  cluster: CLI {size['cluster']['cli_seconds']} s, cluster() {size['cluster']['cluster_seconds_first']} s "
              f"for {size['cluster']['items']:,} items -> {size['cluster']['groups']} groups", flush=True)
    token = cli(data_dir, app_root, "users", "token", SUPPORT)[0].strip().splitlines()[-1]
    server = Server(args.port, args.workers, data_dir, RESULTS / f"search-{stamp}-{items}-portal.log", app_root)
    try:
        server.wait_ready()
        support = asyncio.run(load.sign_in_for("list", args.port))
        frontline = asyncio.run(load.sign_in_for("submit", args.port))
        plan = scenarios(args.port, token, support, frontline)
        names = [name for name in args.scenarios.split(",") if name]
        # Cold: each distinct request once, right after start-up (first sight of every query in each worker).
        for name in names:
            scenario, distinct = plan[name]
            result = measure(server, scenario, args.port, concurrency=1, requests=distinct, seconds=120,
                             warmup_seconds=0)
            result.update(phase="cold", scenario=name)
            size["runs"].append(result)
            print(f"  {name:8s} cold    1 client : p50 {result['p50_ms']:6.1f}  p95 {result['p95_ms']:6.1f}  "
                  f"max {result['max_ms']:6.0f} ms  errors {result['errors']}", flush=True)
        for name in names:
            # warm both workers: every distinct request a few times over several connections
            scenario, distinct = plan[name]
            asyncio.run(load.run(scenario, args.port, concurrency=args.warmup_concurrency, requests=3 * distinct,
                                 seconds=60))
        # Measured runs in rounds (every scenario and client count once per round), so that slow drift or
        # a burst of other work on the machine is spread over all of them rather than landing on one.
        for repeat in range(args.repeats):
            for name in names:
                scenario, _ = plan[name]
                for concurrency in args.concurrency:
                    wait_for_quiet(args.quiet_wait)
                    result = measure(server, scenario, args.port, concurrency=concurrency,
                                     requests=args.max_requests, seconds=args.seconds,
                                     warmup_seconds=args.warmup_seconds)
                    result.update(phase="warm", scenario=name, repeat=repeat + 1)
                    size["runs"].append(result)
                    print(f"  {name:8s} warm {concurrency:3d} clients: {result['requests_per_second']:6.1f} req/s  "
                          f"p50 {result['p50_ms']:6.1f}  p95 {result['p95_ms']:6.1f}  p99 {result['p99_ms']:6.1f} ms  "
                          f"errors {result['errors']}  server {result['server_cpu_ms_per_request']:.1f} ms/req  "
                          f"other load {result['other_cpu_cores']:.2f} cores", flush=True)
        size["summary"] = summarise(size["runs"])
        size["worker_pids"] = server.worker_pids()
        size["worker_rss_mb"] = [rss for pid in size["worker_pids"] if (rss := rss_mb(pid)) is not None]
        size["master_rss_mb"] = rss_mb(server.process.pid)
    finally:
        server.stop()
    size["server_log_problems"] = server.log_problems()
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated item counts (default 10000,100000)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument("--concurrency", default="1,10", help="comma-separated client counts (default 1,10)")
    parser.add_argument("--scenarios", default="api,page,similar")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run (default 5)")
    parser.add_argument("--repeats", type=int, default=2, help="measured runs of each scenario (default 2)")
    parser.add_argument("--quiet-wait", type=float, default=5.0,
                        help="before each run, wait up to this many seconds for other work to stop (default 5)")
    parser.add_argument("--warmup-seconds", type=float, default=1.0)
    parser.add_argument("--warmup-concurrency", type=int, default=4,
                        help="connections for the warm-up pass over every distinct request (default 4)")
    parser.add_argument("--max-requests", type=int, default=3000, help="cap on measured requests per run")
    parser.add_argument("--port", type=int, default=8761)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reindex", action="store_true", help="rebuild (and re-time) the cached search indexes")
    parser.add_argument("--skip-cluster", action="store_true", help="don't time the grouping")
    parser.add_argument("--app-root", type=Path, default=ROOT,
                        help="run the portal (and the CLI) from this checkout, e.g. a worktree of an older commit "
                             "to compare with (default: this one)")
    parser.add_argument("--label", default="", help="a note stored with the results")
    args = parser.parse_args(argv)
    args.concurrency = [int(value) for value in args.concurrency.split(",") if value.strip()]
    args.started = time.time()
    app_root = args.app_root.resolve()
    load.install_uvloop()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    info = machine()
    print(f"Machine: {info['cpu_model']}, {info['cores']} cores, Python {info['python']}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    report = {"label": args.label, "started": dt.datetime.fromtimestamp(args.started).isoformat(timespec="seconds"),
              "machine": info, "app_root": str(app_root),
              "config": {"workers": args.workers, "concurrency": args.concurrency, "seconds": args.seconds,
                         "repeats": args.repeats,
                         "warmup_seconds": args.warmup_seconds, "max_requests": args.max_requests,
                         "scenarios": args.scenarios, "queries": len(eval_queries()),
                         "typed_requests": len(typed_prefixes())},
              "sizes": []}
    for items in (int(value) for value in args.sizes.split(",") if value.strip()):
        report["sizes"].append(run_size(items, args, app_root, stamp))
    report["checks"] = checks(report)
    busy = [row["other_cpu_cores"] for size in report["sizes"] for row in size["runs"] if "other_cpu_cores" in row]
    report["notes"] = []
    if busy and max(busy) > 0.25:
        report["notes"].append(f"Other processes used up to {max(busy):.2f} cores during the runs (of "
                               f"{info['cores']}): treat the latencies as pessimistic.")
    problems = {size["items"]: size["server_log_problems"] for size in report["sizes"] if size["server_log_problems"]}
    if problems:
        report["notes"].append(f"Server logs show errors: {problems}")
    report["duration_seconds"] = round(time.time() - args.started, 1)
    text = markdown(report)
    (RESULTS / f"search-{stamp}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"search-{stamp}.md").write_text(text + "\n")
    shutil.copy(RESULTS / f"search-{stamp}.json", RESULTS / "search-latest.json")
    shutil.copy(RESULTS / f"search-{stamp}.md", RESULTS / "search-latest.md")
    print()
    print(text)
    print(f"\nWrote {RESULTS / f'search-{stamp}.json'} ({report['duration_seconds']} s)")
    return 0 if all(check["passed"] for check in report["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
