"""What the header's state timer costs the desk each second.

Usage:
    python bench/state_tick_bench.py [--ticks 300] [--size 160x50]

Opens the desk headless on a fresh SQLite database with a few cases, as an operator, on
a clock the script moves. Then, ``--ticks`` times: move the clock one second, run the
desk's tick (what its one-second timer runs) and wait for the frame that draws it; and
the same number of frames with no tick, for comparison. Prints the CPU time per tick
(the tick's own call, and with its frame), the layouts the ticks asked for (0), and the
database sessions opened meanwhile (by the desk's other timers, not by the ticks).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from textual.widget import Widget


async def run(ticks: int, size: tuple[int, int]) -> None:
    from tests.factories import Factory
    from tui_desk.app import DeskApp
    from tui_desk.config import Settings
    from tui_desk.db.engine import Database, open_database
    from tui_desk.db.migrate import upgrade
    from tui_desk.db.models import Role
    from tui_desk.screens.desk import DeskScreen
    from tui_desk.services.context import Actor

    now = [dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)]
    folder = Path(tempfile.mkdtemp())
    db = open_database(f"sqlite:///{folder / 'tick.db'}")
    upgrade(db)
    make = Factory(db, now=now[0])
    op = make.agent(login="op")
    for i in range(20):
        make.case(name="张三", priority=900 - i)
    app = DeskApp(
        db=db,
        actor=Actor(id=op, login="op", name="op", role=Role.OPERATOR),
        settings=Settings(database_url=str(db.url)),
        clock=lambda: now[0],
    )
    layouts = sessions = 0
    refresh = Widget.refresh

    def counting(self: Widget, *regions: Any, **kwargs: Any) -> Widget:
        nonlocal layouts
        layouts += bool(kwargs.get("layout"))
        return refresh(self, *regions, **kwargs)

    async with app.run_test(size=size) as pilot:
        for _ in range(200):
            await pilot.pause(0.02)
            screen = app.screen
            if isinstance(screen, DeskScreen) and screen.agent_status is not None:
                break
        await pilot.pause(0.5)
        assert isinstance(app.screen, DeskScreen)
        desk = app.screen
        original = {name: getattr(Database, name) for name in ("read", "write", "snapshot")}

        def counted(name: str) -> Any:
            def call(self: Database, *args: Any, **kwargs: Any) -> Any:
                nonlocal sessions
                sessions += 1
                return original[name](self, *args, **kwargs)

            return call

        idle: list[float] = []
        for _ in range(ticks):
            start = time.process_time()
            await pilot.pause()
            idle.append(time.process_time() - start)
        call: list[float] = []
        framed: list[float] = []
        Widget.refresh = counting  # type: ignore[method-assign]
        for name in original:
            setattr(Database, name, counted(name))
        try:
            for _ in range(ticks):
                now[0] += dt.timedelta(seconds=1)
                start = time.process_time()
                desk._tick_state()
                call.append(time.process_time() - start)
                await pilot.pause()
                framed.append(time.process_time() - start)
        finally:
            Widget.refresh = refresh  # type: ignore[method-assign]
            for name, function in original.items():
                setattr(Database, name, function)
        text = desk.state_text

    def ms(values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        return f"p50 {statistics.median(values) * 1000:.3f} / p95 {p95 * 1000:.3f} ms"

    print(f"{ticks} ticks at {size[0]}x{size[1]}, badge now {text!r}")
    print(f"  the tick's call:        {ms(call)} CPU")
    print(f"  tick and its frame:     {ms(framed)} CPU")
    print(f"  a frame with no tick:   {ms(idle)} CPU")
    print(f"  layouts asked by the ticks: {layouts}")
    print(
        f"  database sessions meanwhile: {sessions} (the desk's own polls, answers every"
        " 0.9 s and the heartbeat; the ticks open none, tests/test_agent_states_pilot.py)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=300)
    parser.add_argument("--size", default="160x50")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    asyncio.run(run(args.ticks, (width, height)))


if __name__ == "__main__":
    main()
