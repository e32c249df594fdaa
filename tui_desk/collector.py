"""The garbage collector of a desk: what lives for the session is set aside once drawn,
and full collections are paced by the desk, between keys, not left to fall inside one.

A desk holds a few hundred thousand objects for its whole session (modules, the app, its
screens and widgets, Textual's caches). Python's collector walks every one of them on each
full collection, and during start-up it runs hundreds of times over objects that all
live on. So the desk starts with the collector off; after the first frame what exists is
moved out of its sight for good (``gc.freeze``) and the collector is switched on.

What the session allocates later is collected as usual by the young collections. The
cyclic garbage a desk makes (Textual's workers, the styles of component classes, each
worth a few thousand objects a minute) outlives them, and Python's own rule lets it pile
up until a full collection frees tens of thousands of objects at once: 100 ms and more,
inside whatever key was being handled. The desk switches that rule off and runs a full
collection itself, from a one-second timer on its event loop (so between two keys, never
inside one), and only when young collections have run since the last one, so an idle
desk spends nothing on it. Each one then has about a second's garbage to free.

A key's work (a claim, the case read and drawn) spans tens of milliseconds and several
turns of the event loop: a timer may fire in between. A collection due while the operator
has just typed waits for a quiet tick (at most :data:`MAX_DEFER_SECONDS`), so that it
does not land between a key and what the key shows.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator

THRESHOLD = (2_000, 10, 1_000_000)
"""Allocations before a young collection; young collections before a middle one; middle
ones before a full one (Python's defaults: 700, 10, 10). The last is out of reach on
purpose: full collections are the desk's (:class:`PacedCollector`)."""

FULL_EVERY_SECONDS = 1.0
"""How often the desk asks itself whether a full collection is due."""

MAX_DEFER_SECONDS = 1.0
"""The longest a due collection waits for the operator to stop typing. Typing that never
stops (20 keys a second in ``bench/pty_bench.py``) then gets a collection every two
seconds or so, each freeing two seconds' garbage: 12 ms of the collector's CPU at the
median, 17 ms at most in a minute; waiting up to 5 s made them 21 and 37 ms."""


def quiet_start() -> None:
    """No collections while the desk starts (everything made then lives on), and fewer
    malloc arenas for its threads (:func:`few_malloc_arenas`)."""
    gc.disable()
    few_malloc_arenas()


MALLOC_ARENAS = 2
"""glibc's malloc gives each thread that allocates its own arena, up to eight per core,
and memory freed in one is not reused by another: the desk's workers (a thread per read)
and SQLite's page caches spread over them, and the desk's resident memory grew by about
5 MB more in its first minute of work than with two arenas (pty_bench, 1M cases)."""


def few_malloc_arenas() -> bool:
    """Ask glibc's malloc for at most :data:`MALLOC_ARENAS` arenas (before the desk's
    threads start); whether it was done (not glibc: nothing to do)."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    m_arena_max = -8  # glibc's M_ARENA_MAX
    return bool(mallopt(m_arena_max, MALLOC_ARENAS))


def settle_collector() -> None:
    """After the first frame: freeze what exists, set the thresholds, collect again."""
    gc.freeze()
    gc.set_threshold(*THRESHOLD)
    gc.enable()


class PacedCollector:
    """Full collections at the desk's pace (see the module's note).

    :meth:`tick` is called by a timer on the event loop; it collects when middle
    collections have run since the last full one (garbage may have moved past them).
    """

    def __init__(
        self,
        busy: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``busy``: whether a key's work may be under way (the desk: a key typed just
        now); a due collection then waits for the next tick, up to
        :data:`MAX_DEFER_SECONDS`."""
        self._middle_seen = _middle_collections()
        self._busy = busy
        self._clock = clock
        self._due_since: float | None = None
        self.full_collections = 0
        self.deferred = 0
        """Ticks on which a due collection waited for a quiet moment."""

    def due(self) -> bool:
        return _middle_collections() != self._middle_seen

    def tick(self) -> bool:
        """Collect if due; whether it did."""
        if not self.due():
            return False
        now = self._clock()
        if self._due_since is None:
            self._due_since = now
        if self._busy is not None and self._busy() and now - self._due_since < MAX_DEFER_SECONDS:
            self.deferred += 1
            return False
        gc.collect(2)
        self.full_collections += 1
        self._middle_seen = _middle_collections()
        self._due_since = None
        return True


def _middle_collections() -> int:
    return int(gc.get_stats()[1]["collections"])


IMPORT_THRESHOLD = (10_000, 10, 10)
"""An import's young collections: one every 10,000 allocations instead of Python's 700.
A chunk's rows live until the chunk is written (some 8,000 objects for 500 accounts:
records, their borrowers and phones, what is on file for them) and die together; with
Python's 700 each was walked by several young collections and carried into the older
ones, which walked them again (at 100,000 accounts: a tenth of the import's time, in
the writer and in the helper process that checks rows, which starts as a copy of it).
Most of them are now freed before a collection sees them."""


@contextlib.contextmanager
def paced_for_import() -> Iterator[None]:
    """While an import runs in this process: what exists is set aside (``gc.freeze``,
    each full collection walks only what the import holds) and the young collections
    are spaced by :data:`IMPORT_THRESHOLD`; both are given back afterwards (a command
    run inside another program, the tests, leaves its collector as it was)."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*IMPORT_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
