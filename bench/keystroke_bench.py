"""Keystroke -> frame on the desk over a big database, and the stock DataTable beside it.

Usage:
    python bench/keystroke_bench.py --db sqlite:////tmp/q1m.db [--db sqlite:////tmp/q1k.db]
        [--small /tmp/q1k.db] [--samples 40] [--size 160x50] [--datatable-rows 100000]

For every database the desk opens headless (``App.run_test``) as an operator of that
database and each keystroke is timed from the press to the first frame the app renders
in which the result is on screen (the frame hook checks the widget state as it draws):

    move        Down in the queue (the next row's page is prefetched)
    page down   PgDn, reading pages from the database as the cursor goes deep
    end         End: the last page, by a reverse keyset query
    filter key  b (DPD bucket), s (stage), p (broken promises): a new first page
    search      one character typed after a pause: 1-2 Chinese characters, a phone
                suffix, queries that match nothing
    take next   n: claim the next case (a write), and show it in the case header; then
                the frame with the case's panes, and the process's CPU time (all
                threads) from the press to that frame

plus the first frame (app start to the queue on screen) and the process's RSS. The stock
``DataTable`` then loads the first ``--datatable-rows`` rows of the same queue (read by
keyset beforehand) and the time to its first frame is printed next to the desk's.

Each measurement runs in a child process, so RSS figures do not mix. Take next writes
leases into the database (released again when the desk closes), nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from tui_desk.clock import utcnow
from tui_desk.services.context import Context

SEARCHES: tuple[tuple[str, str], ...] = (
    ("search 1 Chinese char", "王"),
    ("search 2 Chinese chars", "王志"),
    ("search phone suffix", "8145"),
    ("search phone +86 spaced", "+86 138 0013 8000"),
    ("search name, no match", "zqxw"),
    ("search case #, no match", "#987654321"),
)


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    values: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# --- the desk ----------------------------------------------------------------------------


async def desk_child(url: str, size: tuple[int, int], samples: int) -> dict[str, Any]:
    # The package first, as the tui-desk command loads it: it sets Textual's frame rate,
    # which Textual reads once on import.
    importlib.import_module("tui_desk")

    from sqlalchemy import func, select
    from textual.app import App
    from textual.pilot import Pilot

    from tui_desk.app import DeskApp
    from tui_desk.config import Settings
    from tui_desk.db.engine import desk_page_cache, open_database
    from tui_desk.db.models import Agent, CaseStatus, CollectionCase, Role
    from tui_desk.screens.desk import DeskScreen
    from tui_desk.services.context import Actor
    from tui_desk.services.desk import DeskService
    from tui_desk.widgets.case_header import CaseHeader
    from tui_desk.widgets.queue_view import QueueView

    db = open_database(url)
    with db.read() as s:
        agent = s.scalars(
            select(Agent).where(Agent.role == Role.OPERATOR, Agent.active.is_(True)).limit(1)
        ).one()
        actor = Actor.of(agent)
        open_cases = int(
            s.scalar(
                select(func.count())
                .select_from(CollectionCase)
                .where(CollectionCase.status == CaseStatus.OPEN)
            )
            or 0
        )
    # As ``run_desk`` runs it: the desk's page cache, the collector settled after the
    # first frame.
    desk_page_cache(db)
    app = DeskApp(db=db, actor=actor, settings=Settings(database_url=url), settle_collector=True)

    # Time spent in the database services during each keystroke, to tell the query's
    # share from the UI's (the service runs in a worker thread).
    service_ms: list[float] = []

    def timed_call(name: str) -> None:
        original = getattr(DeskService, name)

        def wrapper(self: DeskService, *args: Any, **kwargs: Any) -> Any:
            begun = time.perf_counter()
            try:
                # A plain method or a bound use case: bind it to the desk, then call.
                return original.__get__(self, DeskService)(*args, **kwargs)
            finally:
                service_ms.append((time.perf_counter() - begun) * 1000)

        setattr(DeskService, name, wrapper)

    for method in ("queue_page", "take_next"):
        timed_call(method)

    waiting: list[tuple[Callable[[], bool], asyncio.Future[float]]] = []
    last_frame = [0.0]
    # The process's CPU time when each awaited frame was drawn: on a shared machine the
    # wall time of a key follows the load, its CPU time (all threads) much less.
    cpu_at: dict[asyncio.Future[float], float] = {}
    original_display = app._display

    def display(screen: Any, renderable: Any) -> None:
        original_display(screen, renderable)
        if renderable is None:
            return
        now = last_frame[0] = time.perf_counter()
        for ready, future in waiting:
            if not future.done() and ready():
                future.set_result(now)
                cpu_at[future] = time.process_time()

    app._display = display  # type: ignore[method-assign]

    async def frame_when(
        ready: Callable[[], bool], timeout: float = 30.0, cpu: list[float] | None = None
    ) -> float:
        """When the first frame is drawn in which ``ready()`` holds (and into ``cpu``, the
        process's CPU time then)."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        waiting.append((ready, future))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            waiting.remove((ready, future))
            if cpu is not None and future in cpu_at:
                cpu.append(cpu_at[future])
            cpu_at.pop(future, None)

    def desk(app_: App[None]) -> DeskScreen:
        return next(s for s in app_.screen_stack if isinstance(s, DeskScreen))

    async def settle(pilot: Pilot[None]) -> None:
        """No worker, timer or load pending, and no frame drawn for 50 ms: each key is
        timed from a quiet desk, as when an operator reads the screen between keys."""
        screen = desk(pilot.app)
        for _ in range(3000):
            await pilot.pause()
            quiet = time.perf_counter() - last_frame[0] > 0.05
            if screen.is_settled and quiet:
                return
            await asyncio.sleep(0.005)
        raise RuntimeError("the desk did not settle")

    results: dict[str, list[float]] = {}
    queries: dict[str, list[float]] = {}

    async def timed(
        pilot: Pilot[None],
        name: str,
        press: Callable[[], Awaitable[None]],
        ready: Callable[[], bool],
        also: tuple[str, Callable[[], bool]] | None = None,
    ) -> None:
        await settle(pilot)
        service_ms.clear()
        start, cpu_start = time.perf_counter(), time.process_time()
        later_cpu: list[float] = []
        frame = asyncio.ensure_future(frame_when(ready))
        later = asyncio.ensure_future(frame_when(also[1], cpu=later_cpu)) if also else None
        await press()
        shown = await frame
        results.setdefault(name, []).append((shown - start) * 1000)
        # The service call the frame waited for (prefetches start after the frame).
        queries.setdefault(name, []).append(service_ms[0] if service_ms else 0.0)
        if also is not None and later is not None:
            results.setdefault(also[0], []).append((await later - start) * 1000)
            if later_cpu:
                cpu_ms = (later_cpu[0] - cpu_start) * 1000
                results.setdefault(f"{also[0]}: CPU ms", []).append(cpu_ms)

    started = time.perf_counter()
    first_frame = asyncio.ensure_future(
        frame_when(lambda: bool(app.query(QueueView) and app.query_one(QueueView).rows_held))
    )
    async with app.run_test(size=size) as pilot:
        first_ms = (await first_frame - started) * 1000
        await settle(pilot)
        view = app.query_one(QueueView)
        screen = desk(app)

        def moved_from(case_id: int | None) -> Callable[[], bool]:
            return lambda: view.case_id != case_id and not view.is_waiting

        def new_window(serial: int) -> Callable[[], bool]:
            return lambda: view.window_serial > serial and not view.is_waiting

        for _ in range(samples):
            before = view.case_id
            await timed(pilot, "move (Down)", lambda: pilot.press("down"), moved_from(before))
        for _ in range(samples):
            if (view.position or 0) + 2 * view.body_height >= open_cases:
                break  # a small queue: at its end PgDn has nowhere to go
            before = view.case_id
            await timed(pilot, "page down", lambda: pilot.press("pagedown"), moved_from(before))
        deepest = view.position

        def jumped(serial: int, case_id: int | None) -> Callable[[], bool]:
            # A new window, or (a queue small enough to be held whole) another case.
            return lambda: (
                (view.window_serial > serial or view.case_id != case_id) and not view.is_waiting
            )

        for _ in range(max(3, samples // 8)):
            serial, before = view.window_serial, view.case_id
            await timed(
                pilot, "end (last page)", lambda: pilot.press("end"), jumped(serial, before)
            )
            serial, before = view.window_serial, view.case_id
            await timed(
                pilot, "home (first page)", lambda: pilot.press("home"), jumped(serial, before)
            )
        for key, name in (("b", "filter key b (bucket)"), ("s", "filter key s (stage)")):
            for _ in range(samples):
                serial = view.window_serial
                await timed(pilot, name, partial(pilot.press, key), new_window(serial))
            await pilot.press("f")
        for _ in range(samples // 2):
            serial = view.window_serial
            await timed(
                pilot, "filter key p (broken)", lambda: pilot.press("p"), new_window(serial)
            )
        await pilot.press("f")
        pause = screen.SEARCH_DEBOUNCE_SECONDS + 0.01
        for _ in range(max(1, samples // 10)):
            for name, query in SEARCHES:
                await settle(pilot)
                await pilot.press("slash")
                for char in query:
                    # After a pause, as an operator types: each character is searched at
                    # once (while typing fast it is at most one query per 150 ms).
                    await asyncio.sleep(pause)
                    if char == " ":
                        await pilot.press("space")  # the same query: nothing to re-read
                        continue
                    serial = view.window_serial
                    await timed(pilot, name, partial(pilot.press, char), new_window(serial))
                await pilot.press("escape")
                await asyncio.sleep(pause)
        header = app.query_one(CaseHeader)
        for _ in range(samples):
            lease = screen.in_hand.case_id if screen.in_hand else None

            def claimed(previous: int | None = lease) -> bool:
                # The queue pane says which case is now ours and until when.
                held = screen.in_hand
                return held is not None and held.case_id != previous

            def detailed(previous: int | None = lease) -> bool:
                held = screen.in_hand
                return (
                    claimed(previous)
                    and held is not None
                    and header.detail is not None
                    and header.detail.case_id == held.case_id
                )

            await timed(
                pilot,
                "take next (n): claimed",
                lambda: pilot.press("n"),
                claimed,
                ("take next: case details", detailed),
            )
        await settle(pilot)
        rows_held = len(view.rows_held)
        current, peak = rss_mb()
        await pilot.press("q")
    return {
        "db": url,
        "open_cases": open_cases,
        "first_frame_ms": first_ms,
        "deepest_row": deepest,
        "rows_held": rows_held,
        "rss_mb": current,
        "peak_rss_mb": peak,
        "latency_ms": results,
        "service_ms": queries,
    }


# --- the stock DataTable -------------------------------------------------------------------


async def datatable_child(url: str, size: tuple[int, int], count: int) -> dict[str, Any]:
    from rich.text import Text
    from sqlalchemy import select
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from tui_desk.db.engine import open_database
    from tui_desk.db.models import Agent, Role
    from tui_desk.formatting import label, money, short_local
    from tui_desk.rules.profile import load_profile
    from tui_desk.services.context import Actor
    from tui_desk.services.queue import QueueFilter, queue_page
    from tui_desk.services.queue.paging import MAX_WINDOW
    from tui_desk.views.queue import QueueRow

    db = open_database(url)
    profile = load_profile()
    with db.read() as s:
        agent = s.scalars(select(Agent).where(Agent.role == Role.OPERATOR).limit(1)).one()
        actor = Actor.of(agent)
    read_start = time.perf_counter()
    rows: list[QueueRow] = []
    after = None
    while len(rows) < count:
        page = queue_page(
            Context(db, actor, utcnow, profile), QueueFilter(), after=after, limit=MAX_WINDOW
        )
        rows.extend(page.rows)
        if not page.more_after or not page.rows:
            break
        after = page.rows[-1].key
    rows = rows[:count]
    read_ms = (time.perf_counter() - read_start) * 1000

    class TableApp(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable[Text](cursor_type="row", zebra_stripes=True)

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            for title in ("Prio", "DPD", "Borrower", "Overdue", "Stage", "Owner", "Next", "Phone"):
                table.add_column(title)
            table.add_rows(
                [
                    Text(str(r.priority)),
                    Text(f"{r.dpd} {r.bucket}"),
                    Text(r.borrower_name),
                    Text(money(r.overdue_minor, r.currency)),
                    Text(label("stage", r.stage)),
                    Text(r.owner_name or "-"),
                    Text(short_local(r.next_action_at, profile.office_timezone)),
                    Text(r.phone_masked or "-"),
                ]
                for r in rows
            )

    app = TableApp()
    frames: list[float] = []
    original_display = app._display

    def display(screen: Any, renderable: Any) -> None:
        original_display(screen, renderable)
        if renderable is not None and app.query(DataTable) and app.query_one(DataTable).row_count:
            frames.append(time.perf_counter())

    app._display = display  # type: ignore[method-assign]
    started = time.perf_counter()
    async with app.run_test(size=size) as pilot:
        while not frames:
            await asyncio.sleep(0.01)
        first_ms = (frames[0] - started) * 1000
        table = app.query_one(DataTable)
        before = len(frames)
        press_start = time.perf_counter()
        await pilot.press("down")
        while len(frames) == before:
            await asyncio.sleep(0.001)
        move_ms = (frames[before] - press_start) * 1000
        current, peak = rss_mb()
        loaded = table.row_count
    return {
        "rows": loaded,
        "read_ms": read_ms,
        "first_frame_ms": first_ms,
        "move_ms": move_ms,
        "rss_mb": current,
        "peak_rss_mb": peak,
    }


# --- the parent: run the children, print the figures ----------------------------------------


def run_child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def seed_small(path: Path, cases: int) -> None:
    if path.exists():
        return
    from tui_desk.db.engine import open_database
    from tui_desk.db.migrate import ensure_schema
    from tui_desk.demo.seeder import seed_database

    db = open_database(f"sqlite:///{path}")
    ensure_schema(db)
    seed_database(db, cases=cases)
    db.dispose()


def print_desk(result: dict[str, Any]) -> None:
    print(
        f"\n== desk on {result['db']}  ({result['open_cases']:,} open cases)\n"
        f"first frame {result['first_frame_ms']:.0f} ms | RSS {result['rss_mb']:.0f} MB "
        f"(peak {result['peak_rss_mb']:.0f}) | rows held {result['rows_held']} | "
        f"deepest row reached by PgDn {result['deepest_row']}"
    )
    print(
        f"{'keystroke -> frame':28} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
        f"   {'of which service p50/p95':>24}"
    )
    for name, values in result["latency_ms"].items():
        service = result["service_ms"].get(name, [])
        split = (
            f"   {statistics.median(service):>11.1f} / {percentile(service, 0.95):>8.1f}"
            if service
            else ""
        )
        print(
            f"{name:28} {len(values):>4} {statistics.median(values):>8.1f} "
            f"{percentile(values, 0.95):>8.1f} {max(values):>8.1f}{split}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", help="database URL (repeatable)")
    parser.add_argument("--small", type=Path, help="seed a small SQLite database here if missing")
    parser.add_argument("--small-cases", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--size", default="160x50")
    parser.add_argument("--datatable-rows", type=int, default=100_000)
    parser.add_argument("--child", choices=["desk", "datatable"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    if args.child == "desk":
        result = asyncio.run(desk_child(args.db[0], (cols, rows), args.samples))
        print(json.dumps(result))
        return
    if args.child == "datatable":
        result = asyncio.run(datatable_child(args.db[0], (cols, rows), args.datatable_rows))
        print(json.dumps(result))
        return

    urls = list(args.db or ["sqlite:////tmp/q1m.db"])
    if args.small is not None:
        seed_small(args.small, args.small_cases)
        urls.append(f"sqlite:///{args.small}")
    common = ["--samples", str(args.samples), "--size", args.size]
    print(
        f"keystroke bench: terminal {args.size}, {args.samples} samples per key, pid {os.getpid()}"
    )
    for url in urls:
        print_desk(run_child(["--child", "desk", "--db", url, *common]))
    if args.datatable_rows > 0:
        table = run_child(
            [
                "--child",
                "datatable",
                "--db",
                urls[0],
                "--datatable-rows",
                str(args.datatable_rows),
                "--size",
                args.size,
            ]
        )
        print(
            f"\n== stock DataTable, first {table['rows']:,} rows of the same queue ({urls[0]})\n"
            f"read by keyset {table['read_ms']:.0f} ms | add_rows -> first frame "
            f"{table['first_frame_ms']:.0f} ms | one Down {table['move_ms']:.1f} ms | "
            f"RSS {table['rss_mb']:.0f} MB (peak {table['peak_rss_mb']:.0f})"
        )


if __name__ == "__main__":
    main()
