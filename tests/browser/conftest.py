"""Browser tests: a real uvicorn server with the demo data, driven by headless Chromium through Playwright.

Everything here is session-scoped except the pages themselves, so the suite pays once for the server,
the browser, the Nu HTML checker and one sign-in per role.

Tools these tests need, and how to install them on Debian or Ubuntu:

* Chromium at /usr/bin/chromium: ``apt-get install chromium`` (Playwright never downloads a browser here);
* Java for the Nu HTML checker: ``apt-get install default-jre-headless``, and npm the first time, to fetch
  vnu.jar into .cache/vnu/: ``apt-get install npm``.

A missing tool skips the tests that need it, except when the environment variable CI is "true": then it
fails them, so a CI image without a browser cannot pass by skipping everything (see require_tool).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from feedback_portal import db
from feedback_portal.demo import seed as demo_seed
from tests.browser.helpers import DESKTOP, VIEWPORTS, LiveServer, PageFactory
from tests.support import html_checker

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOGINS = {str(login.role): login for login in demo_seed.DEMO_LOGINS}  # frontline, business_support, board, admin


def require_tool(available: bool, tool: str, install: str) -> None:
    """The one rule for missing tools: skip with how to install it, but fail when CI is "true"."""
    if available:
        return
    message = f"{tool} is not installed; install it with `{install}`"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{message}. CI=true, so a missing tool fails the browser tests instead of skipping them.")
    pytest.skip(message)


# The server ---------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """uvicorn serving the app in a subprocess, on a migrated database seeded with the demo data."""
    data_dir = tmp_path_factory.mktemp("live-data")
    url = f"sqlite:///{data_dir / 'portal.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with db.make_session_factory(engine)() as session:
            demo_seed.seed(session)
    finally:
        engine.dispose()

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    # The server reads its settings from its own environment; the test process's is left alone.
    env = {**os.environ, "FEEDBACK_PORTAL_DATA_DIR": str(data_dir)}
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "feedback_portal.app:create_app_from_env", "--factory",
                "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_health(base_url, process, log_path)
        yield LiveServer(base_url, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if "Traceback" in log_path.read_text(errors="replace"):
        pytest.fail(f"the server logged an error:\n{log_path.read_text(errors='replace')[-4000:]}")


def _wait_for_health(base_url: str, process: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if client.get(base_url + "/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base_url}/healthz did not answer in {timeout}s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def api_token(live_server: LiveServer) -> Callable[[str], str]:
    """api_token(email) -> a bearer token, from `feedback-portal users token EMAIL` run on the server's data folder.

    One per email and session: a new token makes the previous one stop working.
    """
    tokens: dict[str, str] = {}

    def token_for(email: str) -> str:
        if email not in tokens:
            result = subprocess.run(
                [sys.executable, "-m", "feedback_portal.cli", "users", "token", email],
                cwd=REPO_ROOT,
                env={**os.environ, "FEEDBACK_PORTAL_DATA_DIR": str(live_server.data_dir)},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert result.returncode == 0, f"feedback-portal users token {email} failed:\n{result.stderr}"
            tokens[email] = result.stdout.strip().splitlines()[-1]
        return tokens[email]

    return token_for


@pytest.fixture(scope="session")
def search_ready(browser: Any, live_server: LiveServer, signed_in_state: Callable[[str], dict]) -> None:
    """Waits until the server's background indexer has built the search index.

    Until then /search falls back to simple database matches (with a notice saying so) and shows no facets,
    so the search pages would not be the ones a person normally sees.
    """
    context = browser.new_context(base_url=live_server.url, storage_state=signed_in_state("business_support"))
    try:
        deadline = time.monotonic() + 60
        while True:
            response = context.request.get("/search?q=case+note")
            text = response.text()
            if response.status == 200 and 'class="app-facets"' in text and "Search is being rebuilt" not in text:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the search index was not built within 60s; /search answered {response.status}")
            time.sleep(0.25)
    finally:
        context.close()


@pytest.fixture(scope="session")
def issue_ref(live_server: LiveServer, api_token: Callable[[str], str]) -> str:
    """An issue made through the API as business support, from three untriaged case-notes feedback items."""
    from feedback_portal.feedback.models import Feedback

    with live_server.db_session() as session:
        refs = list(
            session.scalars(
                sa.select(Feedback.ref)
                .where(Feedback.module == "case-notes", Feedback.issue_id.is_(None))
                .order_by(Feedback.id)
                .limit(3)
            )
        )
    assert len(refs) == 3, "the demo data should have untriaged case-notes feedback"
    response = httpx.post(
        live_server.url + "/api/v1/issues",
        json={"title": "Case notes are lost when the CMS times out", "feedback": refs},
        headers={"Authorization": f"Bearer {api_token(LOGINS['business_support'].email)}"},
        trust_env=False,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["ref"]


@pytest.fixture(scope="session")
def ref_with_public_reply(live_server: LiveServer) -> str:
    """A demo feedback item that business support has replied to publicly."""
    from feedback_portal.feedback.models import Comment, Feedback

    with live_server.db_session() as session:
        ref = session.scalar(
            sa.select(Feedback.ref).join(Comment).where(Comment.visibility == "public").order_by(Feedback.id).limit(1)
        )
    assert ref, "the demo data should have feedback with a public reply"
    return ref


# The Nu HTML checker --------------------------------------------------------------------------------------------


class _HtmlCheckerThread(threading.Thread):
    """Starts vnu (about 10 seconds of JVM start-up) while the database is seeded and Chromium starts.

    The thread lives until the checker is closed: vnu is started with PR_SET_PDEATHSIG, which the
    kernel ties to the thread that started it, so a thread that ended would take vnu with it.
    """

    def __init__(self) -> None:
        super().__init__(name="vnu-starter", daemon=True)
        self.ready = threading.Event()
        self.finished = threading.Event()
        self.checker: html_checker.HtmlChecker | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.checker = html_checker.HtmlChecker()
            self.checker.check("<!DOCTYPE html><html lang=en><title>warm-up</title></html>")
        except BaseException as error:  # noqa: BLE001 - handed to the fixture, which raises it
            self.error = error
        finally:
            self.ready.set()
        self.finished.wait()
        if self.checker is not None:
            self.checker.close()


_checker_thread: _HtmlCheckerThread | None = None


def _vnu_tools_available() -> tuple[bool, bool]:
    java = html_checker.java_available()
    jar = html_checker.VNU_JAR_PATH.is_file() or html_checker.npm_available()
    return java, jar


def _start_html_checker() -> _HtmlCheckerThread:
    global _checker_thread
    if _checker_thread is None:
        _checker_thread = _HtmlCheckerThread()
        _checker_thread.start()
    return _checker_thread


def _uses_html_checker(item: pytest.Item) -> bool:
    return "html_checker_service" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Browser tests that do not need vnu run first, so its start-up overlaps them (a stable reorder, in place).
    here = Path(__file__).parent
    slots = [index for index, item in enumerate(items) if here in Path(str(item.path)).parents]
    ordered = sorted((items[index] for index in slots), key=_uses_html_checker)
    for index, item in zip(slots, ordered, strict=True):
        items[index] = item


def pytest_collection_finish(session: pytest.Session) -> None:
    # Start vnu early, in the background, if any selected test will use it.
    if session.config.option.collectonly:
        return
    if any(_uses_html_checker(item) for item in session.items):
        if all(_vnu_tools_available()):
            _start_html_checker()


@pytest.fixture(scope="session")
def html_checker_service() -> Iterator[html_checker.HtmlChecker]:
    java, jar = _vnu_tools_available()
    require_tool(java, "Java (for the Nu HTML checker)", "apt-get install default-jre-headless")
    require_tool(jar, "npm (to fetch vnu.jar for the Nu HTML checker)", "apt-get install npm")
    thread = _start_html_checker()
    try:
        if not thread.ready.wait(timeout=600):
            raise RuntimeError("the Nu HTML checker did not start within 10 minutes")
        if thread.error is not None:
            raise thread.error
        assert thread.checker is not None
        yield thread.checker
    finally:
        thread.finished.set()
        thread.join(timeout=30)


# The browser ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require_tool(CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK), "Chromium", "apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def signed_in_state(browser: Any, live_server: LiveServer) -> Callable[[str], dict]:
    """state_for(role) -> the cookies of that role's demo login, got by signing in through the real /sign-in form.

    Each role signs in once per session; pages share the session cookie (nothing here signs out).
    """
    states: dict[str, dict] = {}

    def state_for(role: str) -> dict:
        if role not in states:
            login = LOGINS[role]
            context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
            try:
                page = context.new_page()
                page.goto("/sign-in")
                page.get_by_label("Email address").fill(login.email)
                page.get_by_label("Password", exact=True).fill(login.password)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(live_server.url + "/")
                assert page.get_by_role("heading", level=1).inner_text() == f"Hello, {login.name}"
                states[role] = context.storage_state()
            finally:
                context.close()
        return states[role]

    return state_for


@pytest.fixture
def open_page(browser: Any, live_server: LiveServer, signed_in_state: Callable[[str], dict]) -> Iterator[PageFactory]:
    """open_page(role=None, *, viewport="desktop", javascript=True) -> a Playwright page in a new browser context.

    role: "frontline", "business_support", "board" or "admin" (signed in as that demo login), or None
    (signed out). viewport: "phone" (320x640) or "desktop" (1280x900). javascript=False turns scripts off.
    At the end of the test, uncaught JavaScript errors and stylesheets, scripts or images that failed to
    load fail it.
    """
    contexts = []
    problems: list[str] = []

    def watch_response(response: Any) -> None:
        if response.status >= 400 and response.request.resource_type in {"stylesheet", "script", "image", "font"}:
            problems.append(f"{response.request.resource_type} {response.url} answered {response.status}")

    def make(role: str | None = None, *, viewport: str = "desktop", javascript: bool = True) -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            viewport=VIEWPORTS[viewport],
            java_script_enabled=javascript,
            storage_state=signed_in_state(role) if role else None,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"JavaScript error on {page.url}: {error}"))
        page.on("response", watch_response)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)
