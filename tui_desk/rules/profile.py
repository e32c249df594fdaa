"""The policy profile: every number the desk enforces, loaded from data/profiles/*.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tui_desk.resources import UnknownProfile, profile_path
from tui_desk.rules.identity import CN_RESIDENT_ID, IdentityPolicy
from tui_desk.rules.states import StatePolicy
from tui_desk.rules.strategies import StrategyPolicy


@dataclass(frozen=True)
class MaskingPolicy:
    id_keep_start: int
    id_keep_end: int
    phone_keep_start: int
    phone_keep_end: int
    address_keep_start: int
    # The identity document masked (profile ``[identity] document``): masking follows
    # its shape (a Social Security number shows as ``***-**-6789``).
    document: str = CN_RESIDENT_ID


@dataclass(frozen=True)
class PriorityWeights:
    w_dpd: int
    amount_unit_minor: int
    w_amount: int
    w_broken: int
    w_due: int


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    office_timezone: str
    currency: str
    country: str
    holidays_country: str
    masking: MaskingPolicy
    priority: PriorityWeights
    dpd_bounds: tuple[int, ...]
    lease_minutes: int
    identity: IdentityPolicy
    raw: dict[str, Any]
    # Agent states (``[states]``): pause and skip reasons, wrap-up and preview times.
    states: StatePolicy = field(default_factory=StatePolicy)
    # Contact strategies (``[strategy]`` and ``[[strategies]]``, rules/strategies.py).
    strategies: StrategyPolicy = field(default_factory=StrategyPolicy)

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name, {})
        assert isinstance(value, dict)
        return value


class ProfileError(ValueError):
    pass


def parse_profile(raw: dict[str, Any]) -> Profile:
    try:
        identity = IdentityPolicy.from_section(raw.get("identity", {}))
        return Profile(
            name=str(raw["name"]),
            title=str(raw["title"]),
            office_timezone=str(raw["office_timezone"]),
            currency=str(raw["currency"]),
            country=str(raw["country"]),
            holidays_country=str(raw["holidays_country"]),
            masking=MaskingPolicy(**raw["masking"], document=identity.document),
            priority=PriorityWeights(**raw["priority"]),
            dpd_bounds=tuple(int(b) for b in raw["dpd_buckets"]["bounds"]),
            lease_minutes=int(raw["lease"]["minutes"]),
            identity=identity,
            raw=raw,
            states=StatePolicy.from_section(raw.get("states", {})),
            strategies=StrategyPolicy.from_profile(raw),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"invalid policy profile: {exc}") from exc


@lru_cache(maxsize=8)
def load_profile(name: str = "cn") -> Profile:
    """A policy profile by name: one an administrator installed, else a shipped one."""
    try:
        path = profile_path(name)
    except UnknownProfile as exc:
        raise ProfileError(str(exc)) from exc
    try:
        with path.open("rb") as fh:
            return parse_profile(tomllib.load(fh))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"policy profile {name!r} ({path}): {exc}") from exc
