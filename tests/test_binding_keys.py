"""No screen or widget binds one key to two different actions (the second would never run:
the agreement menu once offered both "print" and "compare" on 6)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest
from textual.binding import Binding

import tui_desk.screens
import tui_desk.widgets


def _classes_with_bindings(package: ModuleType) -> list[tuple[str, type]]:
    found: list[tuple[str, type]] = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and cls.__dict__.get("BINDINGS"):
                found.append((f"{module.__name__}.{name}", cls))
    return found


CLASSES = _classes_with_bindings(tui_desk.screens) + _classes_with_bindings(tui_desk.widgets)


def test_classes_are_found() -> None:
    names = [name for name, _ in CLASSES]
    assert "tui_desk.screens.agreement_modals.AgreementMenuModal" in names


@pytest.mark.parametrize(("name", "cls"), CLASSES, ids=[name for name, _ in CLASSES])
def test_one_action_per_key(name: str, cls: type) -> None:
    seen: dict[str, str] = {}
    clashes: list[str] = []
    for item in cls.__dict__["BINDINGS"]:
        keys, action = (item.key, item.action) if isinstance(item, Binding) else item[:2]
        for key in (k.strip() for k in keys.split(",")):
            if key in seen and seen[key] != action:
                clashes.append(f"{key}: {seen[key]} and {action}")
            seen.setdefault(key, action)
    assert not clashes, f"{name} binds one key to two actions: {clashes}"
