"""Post view counts without a database write on every request (docs/ARCHITECTURE.md "View counts").

settings.VIEW_COUNT_FLUSH_SECONDS (env VIEW_COUNT_FLUSH_SECONDS, default 2):
- above 0: a view adds 1 to this process's pending count for the post, in memory (a lock: gunicorn's
  gthread workers serve several requests at once). A daemon thread, started by the first view, writes
  what is pending every interval: one transaction, one `UPDATE ... SET views = views + n` per post. The
  process writes the rest when it exits (atexit: gunicorn's workers run it on a graceful stop), so a graceful stop or
  deploy loses nothing and a crash loses at most one interval of this process's views.
- 0: every view is written at once (Post.increase_views, one UPDATE in the request), as before.

A page shows the database's count plus what this process has pending for the post, so readers see
their own view at once. The counts are written after the fact, so a page read while a batch is being
written may show up to that batch's views more or fewer than it should, once.

Read-only mode (deploy/djangoapp/readonly.py, a database move): a view served read-only is not counted (as with
the interval 0), and no batch is written while the flag names this process's database: what was pending
when the move began stays in memory and is written if the site becomes writable again on the same
database (a move that was undone). A process stopped while still read-only (the move switched the site to
the new database) drops it and logs how many: at most one interval's views, those served just before the
move began.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections, transaction
from django.db.models import F

from deploy.djangoapp import readonly

log = logging.getLogger(__name__)


class ViewCounter:
    """Views pending per post id in this process, and the thread that writes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards _pending, _thread and _stop
        self._flush_lock = threading.Lock()  # one batch at a time: the thread's, or the exit's
        self._pending: dict[int, int] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._atexit = False

    def add(self, pk: int) -> int:
        """Count one view of post ``pk``; returns this process's pending views of it, this one included."""
        with self._lock:
            count = self._pending[pk] = self._pending.get(pk, 0) + 1
            if self._thread is None:
                self._start()
        return count

    def pending(self, pk: int) -> int:
        with self._lock:
            return self._pending.get(pk, 0)

    def pending_total(self) -> int:
        with self._lock:
            return sum(self._pending.values())

    def flush(self) -> int:
        """Write every pending view in one transaction; returns how many were written.

        Nothing is written while the read-only flag names this database (the counts stay pending). A
        failed write keeps them too (logged; the next batch retries). Views added meanwhile are kept:
        only what was written is taken off.
        """
        with self._flush_lock:
            with self._lock:
                batch = dict(self._pending)
            if not batch or _read_only():
                return 0
            from .models import Post

            with transaction.atomic():
                for pk, count in sorted(batch.items()):  # one order in every process: no deadlock between them
                    Post.objects.filter(pk=pk).update(views=F("views") + count)
            with self._lock:
                for pk, count in batch.items():
                    left = self._pending.get(pk, 0) - count
                    if left > 0:
                        self._pending[pk] = left
                    else:
                        self._pending.pop(pk, None)
            return sum(batch.values())

    def close(self) -> None:
        """At exit: stop the thread and write what is pending (after a batch under way, never beside it)."""
        with self._lock:
            self._stop.set()
            thread = self._thread
        try:
            written = self.flush()
        except DatabaseError as error:
            log.warning("view counts: %d views not written at exit: %s", self.pending_total(), error)
            return
        left = self.pending_total()
        if left:
            log.warning("view counts: %d views not written at exit: the site is read-only (a database move)", left)
        elif written:
            log.info("view counts: %d views written at exit", written)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1)

    def stop(self) -> None:
        """Stop the thread and forget what is pending, writing nothing (tests start each from nothing)."""
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
            self._pending = {}
        if thread is not None:
            thread.join(timeout=10)
        with self._lock:
            self._stop = threading.Event()

    def _start(self) -> None:  # under self._lock
        if self._stop.is_set():
            return  # closing: the exit's batch writes what is added now, or it is lost with the process
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name="view-counts", daemon=True)
        self._thread.start()
        if not self._atexit:
            atexit.register(self.close)  # a gunicorn worker's graceful stop, runserver, a management command
            self._atexit = True

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(max(float(settings.VIEW_COUNT_FLUSH_SECONDS), 0.1)):
            close_old_connections()  # as Django does around a request: CONN_MAX_AGE, broken connections
            try:
                self.flush()
            except DatabaseError as error:
                log.warning("view counts: %d views not written yet (retried in the next batch): %s",
                            self.pending_total(), error)
            except Exception:
                log.exception("view counts: the batch failed (retried in the next one)")
        connections.close_all()

    def _after_fork(self) -> None:
        """A forked child starts empty: the parent's counts are the parent's to write, its thread is not here."""
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending = {}
        self._thread = None
        self._stop = threading.Event()
        self._atexit = False


def _read_only() -> bool:
    """Is the read-only flag up for this process's database? Looked up by the thread, outside any request."""
    return readonly.flag_names(settings.READ_ONLY_FILE, connections["default"].vendor)


counter = ViewCounter()
os.register_at_fork(after_in_child=counter._after_fork)


def count_view(post) -> None:
    """Count one view of ``post`` (a GET of its page); post.views then includes it.

    Not while the request is read-only (deploy/djangoapp/readonly.py): that view goes uncounted, and nothing is written.
    """
    if readonly.active():
        post.views += counter.pending(post.pk)
        return
    if settings.VIEW_COUNT_FLUSH_SECONDS <= 0:
        post.increase_views()  # written now, in the request
        return
    post.views += counter.add(post.pk)


def shown_views(post) -> int:
    """The views a page shows for ``post``: the database's count plus what this process has pending."""
    return post.views + counter.pending(post.pk)


def close() -> None:
    """Write this process's pending views now (the counter registers the same call with atexit)."""
    counter.close()
