"""Profile one portal page in-process with pyinstrument (an optional tool: `pip install pyinstrument`).

    python benchmarks/profile_page.py DATA_DIR [--path /feedback] [--requests 300] [--html out.html]
    python benchmarks/profile_page.py DATA_DIR --submit     # POST /feedback/new as the frontline login

The portal's ASGI app is called directly (no server, no sockets) on one event loop. Handlers declared with
sync_to_thread=True are run inline instead of in the thread pool, so the whole request (middleware, guards,
dependencies, handler, template) is in one profile; the thread hop itself is therefore not measured here.
Work on a copy of a data folder: signing in writes a session row.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


async def _call(app, method: str, path: str, cookies: str = "", body: bytes = b"", content_type: str = ""):  # noqa: ANN001, ANN202
    raw_path, _, query = path.partition("?")
    headers = [(b"host", b"127.0.0.1"), (b"accept", b"text/html")]
    if cookies:
        headers.append((b"cookie", cookies.encode()))
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": raw_path, "raw_path": raw_path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
    }
    sent = False

    async def receive():  # noqa: ANN202
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    status = 0
    out_headers: list = []
    chunks: list[bytes] = []

    async def send(message) -> None:  # noqa: ANN001
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = message.get("headers", [])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, out_headers, b"".join(chunks)


def _set_cookies(headers) -> dict[str, str]:  # noqa: ANN001
    found = {}
    for key, value in headers:
        if key.lower() == b"set-cookie":
            name, _, rest = value.decode().partition("=")
            found[name] = rest.split(";", 1)[0]
    return found


async def _profile(data_dir: Path, path: str, requests: int, role: str, html: Path | None, submit: bool,
                   factory: str, time_only: bool) -> None:
    import litestar.concurrency

    from feedback_portal.app import create_app
    from feedback_portal.demo.seed import DEMO_LOGINS
    from feedback_portal.settings import Settings

    async def inline(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        return fn(*args, **kwargs)

    litestar.concurrency._run_sync_asyncio = inline  # run sync handlers inline, so one profile sees them

    if factory:
        import importlib
        import os

        os.environ["FEEDBACK_PORTAL_DATA_DIR"] = str(data_dir)
        module_name, _, attribute = factory.partition(":")
        app = getattr(importlib.import_module(module_name), attribute)()
    else:
        app = create_app(Settings.for_data_dir(data_dir))
    login = next(item for item in DEMO_LOGINS if item.role == role)
    status, headers, _ = await _call(app, "GET", "/sign-in")
    csrf = _set_cookies(headers)["fp_csrf"]
    form = urllib.parse.urlencode({"email": login.email, "password": login.password, "_csrf_token": csrf}).encode()
    status, headers, _ = await _call(app, "POST", "/sign-in", f"fp_csrf={csrf}", form,
                                     "application/x-www-form-urlencoded")
    assert status == 303, status
    cookies = f"fp_csrf={csrf}; fp_session={_set_cookies(headers)['fp_session']}"
    if submit:
        import load

        boundary = "----profile"
        fields = [("_csrf_token", csrf), ("body", "The case note I was typing disappeared after a timeout."),
                  ("title", "Case note lost"), ("module", "case-notes"), ("kind", "bug"),
                  ("impact", "blocks-work"), ("frequency", "weekly"), ("team", "cp-west"), ("anonymity", "named")]

        async def one():  # noqa: ANN202
            body = load._multipart([*fields, ("idempotency_key", uuid.uuid4().hex)], boundary)
            return await _call(app, "POST", "/feedback/new", cookies, body,
                               f"multipart/form-data; boundary={boundary}")

        expected, path, method = 303, "/feedback/new", "POST"
    else:

        async def one():  # noqa: ANN202
            return await _call(app, "GET", path, cookies)

        expected, method = 200, "GET"
    for _ in range(30):
        status, _, body = await one()
    assert status == expected, (status, body[:300])
    if time_only:
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(requests):
            await one()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"{requests} x {method} {path}: {cpu / requests * 1000:.2f} ms CPU, {wall / requests * 1000:.2f} ms wall "
              "per request (in-process, no server, no profiler)")
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002, async_mode="disabled")
    started = time.perf_counter()
    profiler.start()
    for _ in range(requests):
        await one()
    profiler.stop()
    elapsed = time.perf_counter() - started
    print(f"{requests} x {method} {path}: {elapsed / requests * 1000:.2f} ms each under the profiler")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if html:
        html.write_text(profiler.output_html())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--path", default="/feedback")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--role", default="business_support")
    parser.add_argument("--html", type=Path)
    parser.add_argument("--submit", action="store_true", help="profile submitting the form instead")
    parser.add_argument("--factory", default="", help="MODULE:FACTORY of a portal variant (reads FEEDBACK_PORTAL_*)")
    parser.add_argument("--time-only", action="store_true", help="time the requests instead of profiling")
    args = parser.parse_args()
    role = "frontline" if args.submit else args.role
    asyncio.run(_profile(args.data_dir.resolve(), args.path, args.requests, role, args.html, args.submit,
                         args.factory, args.time_only))


if __name__ == "__main__":
    main()
