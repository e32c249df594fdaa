"""The garbage collector of a desk: what lives for the session is set aside once drawn.

A desk holds a few hundred thousand objects for its whole session (modules, the app, its
screens and widgets, Textual's caches). Python's collector walks every one of them on each
full collection (150-400 ms on a loaded host, every few seconds of work: a key pressed
then waits), and during start-up it runs hundreds of times over objects that all live on.
So the desk starts with the collector off; after the first frame what exists is moved out
of its sight for good (``gc.freeze``) and the collector is switched on with thresholds
that keep each collection short. What the session allocates later is collected as usual.
"""

from __future__ import annotations

import gc

THRESHOLD = (2_000, 10, 10)
"""Allocations before a young collection; young collections before a middle one; middle
ones before a full one (Python's defaults: 700, 10, 10)."""


def quiet_start() -> None:
    """No collections while the desk starts (everything made then lives on)."""
    gc.disable()


def settle_collector() -> None:
    """After the first frame: freeze what exists, set the thresholds, collect again."""
    gc.freeze()
    gc.set_threshold(*THRESHOLD)
    gc.enable()
