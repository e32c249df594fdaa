"""State of the desk that decides which letters its footer offers.

The case keys (``n``, ``l``, ``/``...) are held back while the desk waits for a claim or
for the case in hand, or types kept keys again (``DeskScreen.check_action``). Textual asks
``check_action`` again only when told the bindings changed; these attributes tell it
when a wait is over, so the footer never goes on showing the letters as held back after
it.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar, overload

T = TypeVar("T")


class _Desk(Protocol):
    @property
    def typing_ahead(self) -> bool: ...

    @property
    def is_attached(self) -> bool: ...

    def refresh_bindings(self) -> None: ...

    def call_next(self, callback: Any, *args: Any) -> None: ...


_PENDING = "_offered_check_pending"


def _check(desk: _Desk) -> None:
    """Once the message that changed the state is handled: if keys are no longer kept for
    later, the footer is told (it may have been drawn during the wait). The start of a
    wait is not told: a key pressed then is kept and typed again, so the footer may go on
    offering it, and a claim's frame is not held up by the footer's."""
    state = desk.__dict__
    state[_PENDING] = False
    if not desk.typing_ahead and desk.is_attached:
        desk.refresh_bindings()


class KeysOffered(Generic[T]):
    """An attribute of the desk screen whose changes may change the keys offered."""

    def __init__(self, default: T) -> None:
        self.default = default
        self.slot = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.slot = f"_offered_{name}"

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> KeysOffered[T]: ...

    @overload
    def __get__(self, obj: object, owner: type[Any] | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type[Any] | None = None) -> T | KeysOffered[T]:
        if obj is None:
            return self
        value: T = obj.__dict__.get(self.slot, self.default)
        return value

    def __set__(self, obj: _Desk, value: T) -> None:
        state = obj.__dict__
        changed = state.get(self.slot, self.default) is not value
        state[self.slot] = value
        if changed and not state.get(_PENDING, False) and obj.is_attached:
            state[_PENDING] = True
            obj.call_next(_check, obj)
