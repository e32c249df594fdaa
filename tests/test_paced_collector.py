"""The desk's full collections come from its own timer, between keys, and only when the
young collections have run since the last one (an idle desk collects nothing)."""

from __future__ import annotations

import gc
import platform
import sys
import weakref
from collections.abc import Iterator

import pytest

from tui_desk.collector import THRESHOLD, PacedCollector


@pytest.fixture
def collector_state() -> Iterator[None]:
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    gc.disable()  # no automatic collection moves the counts under the test
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if enabled:
            gc.enable()


def _full() -> int:
    return int(gc.get_stats()[2]["collections"])


def test_nothing_is_collected_while_no_young_collection_ran(collector_state: None) -> None:
    paced = PacedCollector()
    before = _full()
    assert paced.due() is False
    assert paced.tick() is False
    assert _full() == before
    assert paced.full_collections == 0


def test_a_middle_collection_makes_a_full_one_due_once(collector_state: None) -> None:
    paced = PacedCollector()
    gc.collect(1)  # what the young collections do as a session allocates
    assert paced.due() is True
    before = _full()
    assert paced.tick() is True
    assert _full() == before + 1
    assert paced.due() is False  # done: the next tick waits for more young collections
    assert paced.tick() is False
    assert paced.full_collections == 1


def test_cyclic_garbage_is_freed_by_the_paced_collection(collector_state: None) -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    paced = PacedCollector()
    gc.collect(1)
    gc.collect(1)  # past the middle generation, as long-lived garbage is
    node = Node()
    gone = weakref.ref(node)
    gc.collect(1)
    del node
    assert gone() is not None  # a cycle: reference counting alone does not free it
    assert paced.tick() is True
    assert gone() is None


def test_python_never_starts_a_full_collection_by_itself() -> None:
    """The third threshold is out of reach: the desk's timer decides."""
    assert THRESHOLD[2] >= 100_000


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="malloc arenas are glibc's",
)
def test_the_desk_asks_glibc_for_few_malloc_arenas() -> None:
    from tui_desk.collector import few_malloc_arenas

    assert few_malloc_arenas() is True  # mallopt(M_ARENA_MAX, 2) accepted


def test_a_due_collection_waits_while_a_key_is_worked_on(collector_state: None) -> None:
    """A key's work spans several turns of the event loop: a collection due then waits
    for a quiet tick, but never longer than MAX_DEFER_SECONDS."""
    from tui_desk.collector import MAX_DEFER_SECONDS

    now = [100.0]
    busy = [True]
    paced = PacedCollector(busy=lambda: busy[0], clock=lambda: now[0])
    gc.collect(1)
    before = _full()
    assert paced.tick() is False  # due, but a key was just typed
    now[0] += MAX_DEFER_SECONDS / 2
    assert paced.tick() is False
    assert _full() == before and paced.deferred == 2
    busy[0] = False
    now[0] += MAX_DEFER_SECONDS / 4
    assert paced.tick() is True  # the first quiet tick
    assert _full() == before + 1
    # Typing that never stops holds a due collection back MAX_DEFER_SECONDS at most.
    busy[0] = True
    gc.collect(1)
    waited = 0.0
    while not paced.tick():
        now[0] += 0.25
        waited += 0.25
        assert waited <= MAX_DEFER_SECONDS
    assert _full() == before + 2
