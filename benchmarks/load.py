"""A lean closed-loop HTTP/1.1 load generator for the Feedback Portal (127.0.0.1 only).

Each of C clients holds one keep-alive connection and sends its next request as soon as the previous
response has been read in full, so "concurrency 20" means 20 requests in flight at all times (a closed loop
with no think time: by Little's law, mean latency = C / throughput). With --rate R it is an open loop
instead: requests start at a fixed R per second, as independent users arrive, and latency counts from
each request's scheduled start. The client is
raw asyncio streams on uvloop with hand-written request bytes and a minimal response parser (no httpx): on
this 2-core machine the load generator competes with the server for CPU, so it costs as little as possible
(its CPU time per request is measured and reported as client_cpu_ms_per_request).

Scenarios (see SCENARIOS):
  submit         POST /feedback/new as the frontline demo login: the multipart form a browser sends, with
                 the CSRF token and a fresh idempotency_key per request; expects 303 to /feedback/thanks.
  list           GET /feedback as the business support demo login (page 1, 25 newest); expects 200.
  list_filtered  GET /feedback?<filter> rotating through FILTERS; expects 200.
  floor          GET /floor on benchmarks/floor_app.py (no auth); expects 200.

Run one scenario by hand:
  python benchmarks/load.py --port 8000 --scenario list --concurrency 20 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import random
import statistics
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CSRF_COOKIE = "fp_csrf"
SESSION_COOKIE = "fp_session"

# The filtered list rotates through filters a business support officer would use. Together they cover an
# indexed equality filter, a team filter (subquery), a date range, and a combination.
FILTERS = [
    "module=case-notes",
    "team=mash",
    "impact=blocks-work&from=2026-09-01&to=2026-11-30",
    "module=chronology&kind=bug",
]


class HTTPError(Exception):
    pass


@dataclasses.dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def cookies(self) -> dict[str, str]:
        found = {}
        for key, value in self.headers:
            if key == "set-cookie":
                pair = value.split(";", 1)[0]
                cookie_name, _, cookie_value = pair.partition("=")
                found[cookie_name.strip()] = cookie_value.strip()
        return found


class Connection:
    """One keep-alive HTTP/1.1 connection. Not thread-safe; one request at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port, limit=1 << 20)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, raw: bytes) -> Response:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        reader = self.reader
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = []
        length = None
        chunked = False
        close = False
        for line in lines[1:]:
            if not line:
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            value = value.strip()
            headers.append((key, value))
            if key == "content-length":
                length = int(value)
            elif key == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif key == "connection" and value.lower() == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(parts)
        elif length is not None:
            body = await reader.readexactly(length) if length else b""
        else:
            body = await reader.read()
            close = True
        if close:
            self.close()
        return Response(status, headers, body)


def build_request(method: str, path: str, port: int, *, cookies: str = "", body: bytes = b"",
                  content_type: str = "", extra: str = "") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "User-Agent: feedback-portal-bench",
             "Accept: text/html"]
    if cookies:
        lines.append(f"Cookie: {cookies}")
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def sign_in(port: int, email: str, password: str) -> tuple[str, str]:
    """Sign in like a browser; returns (cookie header value, csrf token)."""
    conn = Connection(port)
    try:
        response = await conn.request(build_request("GET", "/sign-in", port))
        csrf = response.cookies().get(CSRF_COOKIE)
        if response.status != 200 or not csrf:
            raise HTTPError(f"GET /sign-in gave {response.status} without a CSRF cookie")
        form = urllib.parse.urlencode({"email": email, "password": password, "_csrf_token": csrf}).encode()
        response = await conn.request(
            build_request("POST", "/sign-in", port, cookies=f"{CSRF_COOKIE}={csrf}", body=form,
                          content_type="application/x-www-form-urlencoded")
        )
        session = response.cookies().get(SESSION_COOKIE)
        if response.status != 303 or not session:
            raise HTTPError(f"POST /sign-in gave {response.status}: {response.body[:300]!r}")
        return f"{CSRF_COOKIE}={csrf}; {SESSION_COOKIE}={session}", csrf
    finally:
        conn.close()


def _multipart(fields: list[tuple[str, str]], boundary: str) -> bytes:
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    # An empty file input, as a browser sends when no screenshot is chosen.
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="screenshots"; filename=""\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n\r\n"
    )
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode("utf-8")


def _submission_items() -> list[dict]:
    items = json.loads((ROOT / "feedback_portal" / "demo" / "feedback_items.json").read_text())
    rng = random.Random(7)
    rng.shuffle(items)
    return items


@dataclasses.dataclass
class Scenario:
    name: str
    expected_status: int
    # (request number) -> raw request bytes; built per request so every POST carries a fresh key.
    make_request: Callable[[int], bytes]
    check: Callable[[Response], str | None]


def make_scenario(name: str, port: int, cookies: str = "", csrf: str = "") -> Scenario:
    if name == "submit":
        items = _submission_items()
        boundary = "----feedbackportalbench" + uuid.uuid4().hex[:16]
        content_type = f"multipart/form-data; boundary={boundary}"

        def make_submit(number: int) -> bytes:
            item = items[number % len(items)]
            fields = [
                ("_csrf_token", csrf),
                ("idempotency_key", uuid.uuid4().hex),
                ("body", item["body"]),
                ("title", item.get("title") or ""),
                ("module", item["module"]),
                ("kind", item["kind"]),
                ("impact", item["impact"]),
                ("frequency", item.get("frequency") or ""),
                ("team", "cp-west"),
                ("anonymity", item["anonymity"]),
            ]
            return build_request("POST", "/feedback/new", port, cookies=cookies, body=_multipart(fields, boundary),
                                 content_type=content_type)

        def check_submit(response: Response) -> str | None:
            if response.status != 303:
                return f"status {response.status}: {response.body[:200]!r}"
            if not (response.header("location") or "").startswith("/feedback/thanks"):
                return f"redirect to {response.header('location')!r}"
            return None

        return Scenario(name, 303, make_submit, check_submit)

    if name in {"list", "list_filtered", "floor"}:
        if name == "list":
            paths = [build_request("GET", "/feedback", port, cookies=cookies)]
        elif name == "list_filtered":
            paths = [build_request("GET", "/feedback?" + query, port, cookies=cookies) for query in FILTERS]
        else:
            paths = [build_request("GET", "/floor", port)]

        def make_get(number: int) -> bytes:
            return paths[number % len(paths)]

        def check_get(response: Response) -> str | None:
            if response.status != 200:
                return f"status {response.status}: {response.body[:200]!r}"
            if b"</html>" not in response.body[-200:]:
                return "truncated page"
            return None

        return Scenario(name, 200, make_get, check_get)
    raise ValueError(f"unknown scenario {name!r}")


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (the value below which `fraction` of the samples fall)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


async def _drive(scenario: Scenario, port: int, concurrency: int, total: int, deadline: float,
                 latencies: list[float] | None, errors: list[str], counter: list[int], sizes: list[int]) -> float:
    """Run `total` requests (or until `deadline`) over `concurrency` connections; returns wall seconds."""

    async def client() -> None:
        conn = Connection(port)
        await conn.open()
        try:
            while counter[0] < total and time.perf_counter() < deadline:
                number = counter[0]
                counter[0] += 1
                raw = scenario.make_request(number)
                started = time.perf_counter()
                try:
                    response = await conn.request(raw)
                    problem = scenario.check(response)
                except Exception as error:  # noqa: BLE001 - every failure is an error to count
                    problem = f"{type(error).__name__}: {error}"
                    conn.close()
                    response = None
                elapsed = time.perf_counter() - started
                if latencies is not None:
                    latencies.append(elapsed)
                    if response is not None and len(sizes) < 1:
                        sizes.append(len(response.body))
                if problem:
                    errors.append(problem)
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - started


async def _drive_open(scenario: Scenario, port: int, rate: float, total: int, deadline: float,
                      latencies: list[float] | None, errors: list[str], sizes: list[int],
                      max_connections: int = 64) -> float:
    """Open loop: start request i at start + i/rate whether or not earlier ones have finished (as users
    arriving independently do), over up to max_connections keep-alive connections. Latency counts from the
    scheduled start, so time spent queueing for a connection is included (no coordinated omission)."""
    idle: list[Connection] = []
    slots = asyncio.Semaphore(max_connections)
    tasks = set()

    async def one(number: int, scheduled: float) -> None:
        async with slots:
            conn = idle.pop() if idle else Connection(port)
            try:
                response = await conn.request(scenario.make_request(number))
                problem = scenario.check(response)
            except Exception as error:  # noqa: BLE001
                problem = f"{type(error).__name__}: {error}"
                conn.close()
                response = None
            idle.append(conn)
        if latencies is not None:
            latencies.append(time.perf_counter() - scheduled)
            if response is not None and not sizes:
                sizes.append(len(response.body))
        if problem:
            errors.append(problem)

    started = time.perf_counter()
    number = 0
    while number < total:
        scheduled = started + number / rate
        if scheduled >= deadline:
            break
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.ensure_future(one(number, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        number += 1
    if tasks:
        await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()
    return time.perf_counter() - started


async def run(scenario: Scenario, port: int, *, concurrency: int, requests: int, seconds: float,
              warmup_requests: int = 0, warmup_seconds: float = 0.0, rate: float = 0.0) -> dict:
    """A warm-up (not recorded), then the measured run, which stops after `requests` requests or `seconds`
    seconds, whichever comes first. Closed loop with `concurrency` clients, or, if `rate` is given, open loop
    at `rate` requests per second. Returns the statistics."""
    warm_errors: list[str] = []
    if warmup_requests or warmup_seconds:
        warm_deadline = time.perf_counter() + (warmup_seconds or 60.0)
        if rate:
            await _drive_open(scenario, port, rate, warmup_requests or 10**9, warm_deadline, None, warm_errors, [])
        else:
            await _drive(scenario, port, concurrency, warmup_requests or 10**9, warm_deadline, None, warm_errors,
                         [0], [])
    latencies: list[float] = []
    errors: list[str] = []
    sizes: list[int] = []
    cpu_before = time.process_time()
    if rate:
        wall = await _drive_open(scenario, port, rate, requests, time.perf_counter() + seconds, latencies, errors,
                                 sizes)
    else:
        wall = await _drive(scenario, port, concurrency, requests, time.perf_counter() + seconds, latencies,
                            errors, [0], sizes)
    cpu = time.process_time() - cpu_before
    result = summarise(scenario.name, concurrency, latencies, errors, wall, cpu, sizes[0] if sizes else None,
                       warm_errors)
    result["mode"] = f"open {rate:g}/s" if rate else "closed"
    result["offered_rate"] = rate or None
    return result


def summarise(name: str, concurrency: int, latencies: list[float], errors: list[str], wall: float, cpu: float,
              response_bytes: int | None, warm_errors: list[str]) -> dict:
    ordered = sorted(latencies)
    done = len(ordered)
    ms = 1000.0
    return {
        "scenario": name,
        "concurrency": concurrency,
        "requests": done,
        "seconds": round(wall, 3),
        "requests_per_second": round(done / wall, 1) if wall else 0.0,
        "p50_ms": round(percentile(ordered, 0.50) * ms, 2),
        "p95_ms": round(percentile(ordered, 0.95) * ms, 2),
        "p99_ms": round(percentile(ordered, 0.99) * ms, 2),
        "min_ms": round(ordered[0] * ms, 2) if ordered else math.nan,
        "max_ms": round(ordered[-1] * ms, 2) if ordered else math.nan,
        "mean_ms": round(statistics.fmean(ordered) * ms, 2) if ordered else math.nan,
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "warmup_errors": len(warm_errors),
        "warmup_error_samples": sorted(set(warm_errors))[:3],
        "response_bytes": response_bytes,
        "client_cpu_ms_per_request": round(cpu * ms / done, 3) if done else math.nan,
    }


async def sign_in_for(scenario_name: str, port: int) -> tuple[str, str]:
    """Cookies and CSRF token for a scenario: frontline submits, business support reads the list."""
    if scenario_name == "floor":
        return "", ""
    sys.path.insert(0, str(ROOT))
    from feedback_portal.demo.seed import DEMO_LOGINS

    role = "frontline" if scenario_name == "submit" else "business_support"
    login = next(login for login in DEMO_LOGINS if login.role == role)
    return await sign_in(port, login.email, login.password)


def install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Load one scenario against a running portal or floor app.")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--scenario", choices=["submit", "list", "list_filtered", "floor"], required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=1000, help="stop after this many requests (default 1000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="or after this many seconds (default 5)")
    parser.add_argument("--warmup-seconds", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="open loop: offer this many requests per second instead of closed-loop clients")
    args = parser.parse_args(argv)
    install_uvloop()

    async def go() -> dict:
        cookies, csrf = await sign_in_for(args.scenario, args.port)
        scenario = make_scenario(args.scenario, args.port, cookies, csrf)
        return await run(scenario, args.port, concurrency=args.concurrency, requests=args.requests,
                         seconds=args.seconds, warmup_seconds=args.warmup_seconds, rate=args.rate)

    print(json.dumps(asyncio.run(go()), indent=2))


if __name__ == "__main__":
    main()
