"""The Nu HTML Checker (vnu.jar) as a test helper.

The jar comes from the ``vnu-jar`` npm package, pinned to ``VNU_VERSION`` and
checked against ``VNU_JAR_SHA256``. It is cached at ``.cache/vnu/vnu.jar`` in the
repo root (keep ``.cache/`` out of git).

Usage::

    checker = HtmlChecker()          # starts the checker's HTTP service once
    errors = checker.check(html)     # [] when the document is valid
    assert not errors, format_messages(errors)
    checker.close()

``ensure_vnu_jar()`` returns ``None`` when java or npm is not installed, so a
fixture can ``pytest.skip`` in that case.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import httpx

VNU_VERSION = "26.9.27"
VNU_JAR_SHA256 = "22f15dd39a33bed929d2a5c0cddf5946849a647eca9272bf4d5d00bc7e7a4d47"

REPO_ROOT = Path(__file__).resolve().parents[2]
VNU_JAR_PATH = REPO_ROOT / ".cache" / "vnu" / "vnu.jar"
_JAR_MEMBER = "package/build/dist/vnu.jar"

# Messages that make a document fail: markup errors, and "non-document-error"
# (the checker itself could not check the document, e.g. an I/O error).
FAILING_TYPES = ("error", "non-document-error")


def java_available() -> bool:
    """True when a working ``java`` is on PATH."""
    java = shutil.which("java")
    if java is None:
        return False
    try:
        return subprocess.run([java, "-version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def npm_available() -> bool:
    return shutil.which("npm") is not None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_vnu_jar() -> Path | None:
    """Return the path of the pinned vnu.jar, fetching it with npm if needed.

    Returns None (does not raise) when java or npm is missing. Raises
    RuntimeError if ``npm pack`` fails or the jar's sha256 is not the pinned one.
    """
    if not java_available():
        return None
    if VNU_JAR_PATH.is_file() and _sha256(VNU_JAR_PATH) == VNU_JAR_SHA256:
        return VNU_JAR_PATH
    npm = shutil.which("npm")
    if npm is None:
        return None

    VNU_JAR_PATH.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vnu-jar-") as tmp:
        proc = subprocess.run(
            [npm, "pack", "--silent", f"vnu-jar@{VNU_VERSION}"],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=600,
        )
        tarballs = list(Path(tmp).glob("vnu-jar-*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            raise RuntimeError(f"npm pack vnu-jar@{VNU_VERSION} failed:\n{proc.stdout}\n{proc.stderr}")
        with tarfile.open(tarballs[0], "r:gz") as tar:
            member = tar.getmember(_JAR_MEMBER)
            src = tar.extractfile(member)
            if src is None:
                raise RuntimeError(f"{_JAR_MEMBER} is not a regular file in {tarballs[0].name}")
            # Write next to the final path, then rename: atomic, so parallel
            # test workers never see a half-written jar.
            fd, partial = tempfile.mkstemp(dir=VNU_JAR_PATH.parent, prefix=".vnu.jar.")
            try:
                with os.fdopen(fd, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.chmod(partial, 0o644)
                actual = _sha256(Path(partial))
                if actual != VNU_JAR_SHA256:
                    raise RuntimeError(
                        f"vnu.jar from vnu-jar@{VNU_VERSION} has sha256 {actual}, expected {VNU_JAR_SHA256}"
                    )
                os.replace(partial, VNU_JAR_PATH)
            finally:
                if os.path.exists(partial):
                    os.unlink(partial)
    return VNU_JAR_PATH


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: have the kernel SIGTERM vnu if the test process dies without close()."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 == PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HtmlChecker:
    """A vnu HTTP service on a free loopback port, started once per instance.

    Notes on the invocation (found by testing vnu 26.9.27 on OpenJDK 17):
    ``-Xss512k`` makes the service die at start-up with StackOverflowError
    while it compiles its schemas, so we use ``-Xss4m``; and without
    ``nu.validator.servlet.bind-address`` it listens on all interfaces.
    """

    def __init__(self, jar: Path | None = None, *, startup_timeout: float = 120.0) -> None:
        jar = jar or ensure_vnu_jar()
        if jar is None:
            raise RuntimeError("vnu.jar is unavailable (java or npm is not installed)")
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("java is not installed")
        self.jar = Path(jar)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._log = tempfile.TemporaryFile(prefix="vnu-log-")
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [
                java,
                "-Xss4m",
                "-XX:TieredStopAtLevel=1",  # halves start-up time; checking speed is unaffected
                "-Dnu.validator.servlet.bind-address=127.0.0.1",
                "-cp",
                str(self.jar),
                "nu.validator.servlet.Main",
                str(self.port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if os.name == "posix" else None,
        )
        atexit.register(self.close)
        # trust_env=False: never send loopback traffic through an HTTP(S)_PROXY.
        self._client = httpx.Client(timeout=60.0, trust_env=False)
        try:
            self._wait_until_ready(startup_timeout)
        except BaseException:
            self.close()
            raise

    def _log_tail(self, limit: int = 4000) -> str:
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        return text[-limit:]

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"vnu exited with code {self._proc.returncode} at start-up:\n{self._log_tail()}"
                )
            try:
                if self._client.get(self.url, timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"vnu did not answer on {self.url} within {timeout}s:\n{self._log_tail()}")
            time.sleep(0.25)

    def check(self, html: str) -> list[dict]:
        """Validate one HTML document; return its error messages ([] if valid).

        Each message is vnu's JSON message dict (type, message, extract,
        lastLine, firstColumn, ...), of type "error" or "non-document-error".
        """
        if self._proc is None:
            raise RuntimeError("HtmlChecker is closed")
        response = self._client.post(
            self.url,
            params={"out": "json"},
            content=html.encode("utf-8"),
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
        response.raise_for_status()
        messages = response.json().get("messages", [])
        return [m for m in messages if m.get("type") in FAILING_TYPES]

    def close(self) -> None:
        atexit.unregister(self.close)
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if hasattr(self, "_client"):
            self._client.close()
        if not self._log.closed:
            self._log.close()

    def __enter__(self) -> HtmlChecker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def format_messages(messages: list[dict]) -> str:
    """Readable text for an assert message."""
    lines = []
    for m in messages:
        where = f"line {m.get('lastLine', '?')}, col {m.get('firstColumn', m.get('lastColumn', '?'))}"
        lines.append(f"{m.get('type')}: {m.get('message')} ({where})")
        if m.get("extract"):
            lines.append(f"    {m['extract'].strip()}")
    return "\n".join(lines)
