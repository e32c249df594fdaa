"""Locate shipped data (profiles, templates): inside the wheel, or the source tree's data/."""

from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).parent / "_data"
_SOURCE = Path(__file__).resolve().parent.parent / "data"


def data_path(relative: str) -> Path:
    for root in (_PACKAGED, _SOURCE):
        candidate = root / relative
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"shipped data file not found: {relative}")
