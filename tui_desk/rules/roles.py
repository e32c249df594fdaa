"""Agent roles: pure data shared by the permission matrix and the models."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    OPERATOR = "operator"
    COLLECTOR = "collector"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
