"""The demo team: operators, collectors per city and supervisors, scaled to the book."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tui_desk.db.models import (
    Role,
)
from tui_desk.demo.reference import CITIES


@dataclass(frozen=True)
class TeamMember:
    login: str
    name: str
    role: Role
    extension: str | None
    city: int | None = None


def team_plan(cases: int, names: Callable[[], str]) -> list[TeamMember]:
    """The agents a seed of ``cases`` cases wants; ``names`` draws a Chinese full name."""
    operators = max(3, min(50, cases // 20_000))
    collectors = max(len(CITIES), min(16 * len(CITIES), cases // 12_500))
    members = [TeamMember("demo", "演示坐席", Role.OPERATOR, "8000")]
    members += [
        TeamMember(f"op{i:02d}", names(), Role.OPERATOR, f"8{i:03d}")
        for i in range(1, operators + 1)
    ]
    members += [
        TeamMember(f"col{i:02d}", names(), Role.COLLECTOR, None, (i - 1) % len(CITIES))
        for i in range(1, collectors + 1)
    ]
    members.append(TeamMember("sup01", names(), Role.SUPERVISOR, "8900"))
    members.append(TeamMember("demo-sup", "演示主管", Role.SUPERVISOR, "8999"))
    return members
