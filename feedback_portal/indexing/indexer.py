"""The indexer: applies the change log to this host's search index, and rebuilds it when needed.

Layout under the index folder (one per host; hosts share no files):
  CURRENT          the name of the generation folder in use (replaced atomically)
  gen-<stamp>/     a Whoosh index plus `cursor`, the id of the last change log row applied
  indexer.lock     held by the one process on this host that writes the index

Any number of worker processes may search; exactly one (whoever holds the lock) writes. A rebuild
goes into a new generation while searches keep using the old one (or, if there is none, the
database fallback), then CURRENT is switched in one rename.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.indexing import documents
from feedback_portal.indexing.models import IndexChange
from feedback_portal.search.analysis import get_synonyms
from feedback_portal.search.engine import SearchIndex

log = logging.getLogger("feedback_portal.indexer")
Progress = Callable[[int, int], None]


class IndexUnavailable(RuntimeError):
    """There is no usable index on this host right now (missing, corrupt, or being built)."""


class IndexStore:
    """This host's index folder: which generation is current, its cursor, and opening it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._opened: tuple[str, SearchIndex, str] | None = None

    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def current_name(self) -> str | None:
        try:
            name = self.pointer.read_text().strip()
        except FileNotFoundError:
            return None
        return name if name and (self.root / name).is_dir() else None

    def open(self) -> SearchIndex:
        """The current index, reopened when another process switched generation. An index built
        with a different synonym list (an admin changed it) counts as unavailable until rebuilt."""
        name = self.current_name()
        if name is None:
            raise IndexUnavailable("the search index has not been built yet")
        fingerprint = get_synonyms().fingerprint
        with self._lock:
            if self._opened is not None and self._opened[0] == name and self._opened[2] == fingerprint:
                return self._opened[1]
            try:
                index = SearchIndex.open_or_create(self.root / name)
            except Exception as error:  # noqa: BLE001 - any failure to open means "corrupt"
                raise IndexUnavailable(f"the search index could not be opened: {error}") from error
            if index.needs_rebuild:
                index.close()
                raise IndexUnavailable("the search index was built with another synonym list or version")
            old, self._opened = self._opened, (name, index, fingerprint)
            if old is not None:
                old[1].close()
            return index

    def cursor(self) -> int:
        name = self.current_name()
        if name is None:
            return 0
        try:
            return int((self.root / name / "cursor").read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def set_cursor(self, value: int, name: str | None = None) -> None:
        name = name or self.current_name()
        if name is None:
            return
        temporary = self.root / name / f"cursor.{os.getpid()}.tmp"
        temporary.write_text(str(value))
        os.replace(temporary, self.root / name / "cursor")

    def new_generation(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.root / f"gen-{stamp}-{os.getpid()}"
        path.mkdir()
        return path

    def activate(self, generation: Path) -> None:
        temporary = self.root / f"CURRENT.{os.getpid()}.tmp"
        temporary.write_text(generation.name)
        os.replace(temporary, self.pointer)
        for other in self.root.glob("gen-*"):
            if other != generation and other.is_dir():
                # Searchers in other processes may still hold files open; on POSIX that is safe.
                shutil.rmtree(other, ignore_errors=True)

    def discard(self) -> None:
        """Stop using the current generation (it is corrupt): the indexer will rebuild it."""
        self.close()
        self.pointer.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            if self._opened is not None:
                self._opened[1].close()
                self._opened = None


class Indexer:
    def __init__(self, session_factory: orm.sessionmaker[orm.Session], store: IndexStore) -> None:
        self.session_factory = session_factory
        self.store = store

    def catch_up(self, batch: int = 1000) -> int:
        """Apply change log rows after this host's cursor. Returns how many rows were applied."""
        index = self.store.open()
        cursor = self.store.cursor()
        applied = 0
        while True:
            with self.session_factory() as session:
                changes = session.execute(
                    sa.select(IndexChange.id, IndexChange.record_type, IndexChange.record_id)
                    .where(IndexChange.id > cursor)
                    .order_by(IndexChange.id)
                    .limit(batch)
                ).all()
                if not changes:
                    return applied
                upserts, deletes = [], []
                for record_type in ("feedback", "issue"):
                    ids = {row.record_id for row in changes if row.record_type == record_type}
                    if ids:
                        found, gone = documents.documents_for(session, record_type, ids)
                        upserts.extend(found)
                        deletes.extend(gone)
            index.upsert(upserts)
            if deletes:
                index.delete(deletes)
            cursor = changes[-1].id
            self.store.set_cursor(cursor)
            applied += len(changes)

    def rebuild(self, progress: Progress | None = None) -> int:
        """Build a fresh generation from the database, then switch to it. Returns the document count."""
        from feedback_portal.indexing import synonyms

        with self.session_factory() as session:
            synonyms.sync(session)
            # Read the cursor first: anything changed while we scan is applied again afterwards.
            start_cursor = session.scalar(sa.select(sa.func.max(IndexChange.id))) or 0
            total = documents.count_documents(session)
            generation = self.store.new_generation()
            try:
                index = SearchIndex.open_or_create(generation)
                done = 0

                def counted():  # noqa: ANN202
                    nonlocal done
                    for document in documents.all_documents(session):
                        done += 1
                        if progress and done % 200 == 0:
                            progress(done, total)
                        yield document

                index.rebuild(counted())
                index.close()
                if progress:
                    progress(done, total)
            except BaseException:
                shutil.rmtree(generation, ignore_errors=True)
                raise
        self.store.set_cursor(start_cursor, generation.name)
        self.store.activate(generation)
        self.catch_up()
        return done


class BackgroundIndexer:
    """A daemon thread per process. The process holding the host's lock keeps the index current;
    if the index is missing or corrupt it rebuilds it while the portal keeps answering."""

    def __init__(self, indexer: Indexer, interval: float = 0.5) -> None:
        self.indexer = indexer
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_file = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="feedback-portal-indexer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _holds_lock(self) -> bool:
        if self._lock_file is not None:
            return True
        root = self.indexer.store.root
        root.mkdir(parents=True, exist_ok=True)
        handle = open(root / "indexer.lock", "a+")  # noqa: SIM115 - kept open while we hold the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def run_once(self) -> None:
        from feedback_portal.indexing import synonyms

        # Every process keeps its analyzer's synonym list current (queries use it at once).
        with self.indexer.session_factory() as session:
            synonyms.sync(session)
        if not self._holds_lock():
            return
        try:
            self.indexer.catch_up()
        except IndexUnavailable as reason:
            log.warning("Rebuilding the search index: %s", reason)
            self.indexer.store.close()
            self.indexer.rebuild()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                try:
                    self.run_once()
                except Exception:
                    log.exception("The search indexer failed; it will try again")
                    raise
            self._wake.wait(self.interval)
            self._wake.clear()
