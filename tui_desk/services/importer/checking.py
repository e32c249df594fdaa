"""Checking a row before any transaction: the run's context and the row's verdict."""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing as mp
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

from tui_desk.db.engine import Database
from tui_desk.db.models import PaymentChannel, Product
from tui_desk.i18n import _
from tui_desk.rules.imports import (
    AccountRecord,
    BatchLedger,
    PaymentRecord,
    Rejected,
    RowError,
    parse_account,
    parse_payment,
    row_identifier,
)
from tui_desk.rules.profile import Profile
from tui_desk.services.context import Actor
from tui_desk.services.importer.results import ImportSummary
from tui_desk.services.importer.sources import Chunk, RawRow, SourceError
from tui_desk.services.importer.walcopy import WalCopier

# From this many rows on, the rows' own checks run in a helper process (it costs ~0.1 s).
PARALLEL_MIN_ROWS = 5_000
_PRODUCTS = frozenset(p.value for p in Product)
_CHANNELS = frozenset(c.value for c in PaymentChannel)


@dataclass
class Run:
    db: Database
    actor: Actor | None
    now: dt.datetime
    profile: Profile
    today: dt.date
    summary: ImportSummary
    seen: BatchLedger = field(default_factory=BatchLedger)
    # SQLite: copies the log into the database after each commit (``walcopy``).
    walcopy: WalCopier | None = None


def check(run: Run, raw: RawRow) -> AccountRecord | PaymentRecord | Rejected:
    ident = _claim(run, raw)
    if isinstance(ident, Rejected):
        return ident
    return _verdict(run, _parse(_Params.of(run), raw, ident), ident)


def _claim(run: Run, raw: RawRow) -> str | Rejected | None:
    """The row's id, taken in the run's ledger (in source order); Rejected if refused."""
    ident = row_identifier(raw.fields, raw.kind) if raw.kind else None
    try:
        if raw.kind is not None:
            run.seen.claim(raw.kind, ident, raw.row_no)
        if raw.problem is not None or raw.kind is None:
            raise RowError(raw.problem or _("unknown record"))
    except RowError as exc:
        return Rejected(raw.row_no, ident, str(exc))
    return ident


@dataclass(frozen=True)
class _Params:
    """What parsing a row needs from the run (picklable, for a helper process)."""

    today: dt.date
    profile: Profile

    @classmethod
    def of(cls, run: Run) -> _Params:
        return cls(run.today, run.profile)


def _parse(
    params: _Params, raw: RawRow, ident: str | None
) -> AccountRecord | PaymentRecord | Rejected:
    """A row's checks that need nothing but the row: pure, so they may run elsewhere."""
    try:
        if raw.kind == "payment":
            return parse_payment(raw.fields, raw.row_no, today=params.today, channels=_CHANNELS)
        prof = params.profile
        return parse_account(
            raw.fields, raw.row_no, today=params.today, products=_PRODUCTS,
            phone_region=prof.country, identity=prof.identity,
            office_zone=prof.office_timezone, default_currency=prof.currency,
        )  # fmt: skip
    except RowError as exc:
        return Rejected(raw.row_no, ident, str(exc))


def _parse_all(
    params: _Params, rows: list[tuple[RawRow, str | None]]
) -> list[AccountRecord | PaymentRecord | Rejected]:
    return [_parse(params, raw, ident) for raw, ident in rows]


def _verdict(
    run: Run, parsed: AccountRecord | PaymentRecord | Rejected, ident: str | None
) -> AccountRecord | PaymentRecord | Rejected:
    """The checks against earlier rows of the run (in source order)."""
    if isinstance(parsed, AccountRecord):
        try:
            run.seen.check_borrower(parsed)
        except RowError as exc:
            return Rejected(parsed.row_no, ident, str(exc))
    return parsed


Records = list[AccountRecord | PaymentRecord | Rejected]


def _idle_core() -> bool:
    """Whether the machine has a core to spare (the load average leaves one free)."""
    cores = os.cpu_count() or 1
    return cores > 1 and os.getloadavg()[0] < cores - 1


def checked_chunks(
    run: Run, chunks: Iterable[Chunk], *, parallel: bool | None = None
) -> Iterator[tuple[Chunk, Records]]:
    """Each chunk with its rows' verdicts, in source order.

    ``parallel``: the rows' own checks (formats, check digits, phone numbers: most of
    the time of an import) run in a helper process one chunk ahead, while the caller
    writes the chunk before; the checks against earlier rows (duplicate ids, a
    borrower's rows that disagree) stay here, in source order, so the verdicts are the
    same either way. A source that fails hands over the chunks before it first.
    ``parallel`` None: when the source says it holds ``PARALLEL_MIN_ROWS`` rows or more
    and a core is idle (measured on a loaded two-core machine, the helper only took CPU
    time from the writer: 1,500-1,600 rows/s against 2,200-2,350 without it).
    """
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        return
    chunks = itertools.chain([first], chunks)
    if parallel is None:
        parallel = (first.total or 0) >= PARALLEL_MIN_ROWS and _idle_core()
    if not parallel:
        for chunk in chunks:
            yield chunk, [check(run, raw) for raw in chunk.rows]
        return
    params = _Params.of(run)
    ahead: deque[tuple[Chunk, list[str | Rejected | None], Future[Records]]] = deque()
    # fork: the helper starts from this process as it is (no module is imported again).
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork")) as pool:

        def finish() -> tuple[Chunk, Records]:
            chunk, claims, future = ahead.popleft()
            parsed = iter(future.result())
            return chunk, [
                claim if isinstance(claim, Rejected) else _verdict(run, next(parsed), claim)
                for claim in claims
            ]

        try:
            for chunk in chunks:
                claims = [_claim(run, raw) for raw in chunk.rows]
                work = [
                    (raw, claim)
                    for raw, claim in zip(chunk.rows, claims, strict=True)
                    if not isinstance(claim, Rejected)
                ]
                ahead.append((chunk, claims, pool.submit(_parse_all, params, work)))
                if len(ahead) > 1:
                    yield finish()
        except SourceError:
            while ahead:
                yield finish()
            raise
        while ahead:
            yield finish()
