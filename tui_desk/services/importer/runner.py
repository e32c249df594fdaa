"""The entry points: one import batch from chunks of rows, a CSV file or a JSON feed."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
from sqlalchemy import func, select

from tui_desk.db.engine import Database
from tui_desk.db.models import ImportBatch, VisitReport
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile
from tui_desk.services import audit
from tui_desk.services.case_state import office_today
from tui_desk.services.contacts import resolve_now
from tui_desk.services.context import Actor
from tui_desk.services.errors import ServiceError
from tui_desk.services.importer.batch import write_chunk
from tui_desk.services.importer.checking import Run, checked_chunks
from tui_desk.services.importer.results import (
    LIST_LIMIT,
    DoorCollection,
    ImportFailed,
    ImportSummary,
    Progress,
)
from tui_desk.services.importer.sources import (
    HTTP_RETRIES,
    HTTP_TIMEOUT,
    Chunk,
    SourceError,
    csv_chunks,
    url_chunks,
)
from tui_desk.services.importer.walcopy import WalCopier

DEFAULT_BATCH_SIZE = 500
MAX_BATCH_SIZE = 1000


def unmatched_door_collections(
    db: Database, limit: int = LIST_LIMIT
) -> tuple[list[DoorCollection], int]:
    """Door money no bank payment has matched yet, oldest first (and how many in all)."""
    where = (VisitReport.collected_minor > 0, VisitReport.reconciled_payment_id.is_(None))
    with db.read() as s:
        total = int(s.scalar(select(func.count()).select_from(VisitReport).where(*where)) or 0)
        rows = s.execute(
            select(
                VisitReport.id,
                VisitReport.case_id,
                VisitReport.collected_minor,
                VisitReport.created_at,
                VisitReport.receipt_no,
            )
            .where(*where)
            .order_by(VisitReport.created_at, VisitReport.id)
            .limit(limit)
        ).all()
    return [DoorCollection(*row) for row in rows], total


def _finish(run: Run, started: float) -> None:
    summary = run.summary
    summary.unmatched_door, summary.unmatched_door_total = unmatched_door_collections(run.db)
    summary.elapsed_seconds = time.perf_counter() - started
    with run.db.write() as s:
        batch = s.get(ImportBatch, summary.batch_id)
        assert batch is not None
        batch.finished_at = run.now + dt.timedelta(seconds=summary.elapsed_seconds)
        text = (
            f"import from {summary.source}: {summary.created} created, {summary.updated} "
            f"updated, {summary.unchanged} unchanged, {summary.rejected} rejected"
        )
        if summary.error:
            text += f"; stopped: {summary.error}"
        audit.record(
            s,
            run.actor,
            "import.batch",
            "import_batch",
            summary.batch_id,
            text,
            now=run.now,
            after={
                "source": summary.source,
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected": summary.rejected,
                "payments_applied": summary.payments_applied,
                "error": summary.error,
                "rejections": [
                    {"row": r.row_no, "id": r.external_id, "reason": r.reason}
                    for r in summary.rejections
                ],
                "cases_opened": summary.cases_opened[:LIST_LIMIT],
                "cases_opened_count": len(summary.cases_opened),
                "cases_reopened": summary.cases_reopened[:LIST_LIMIT],
                "cases_toward_archive": summary.cases_toward_archive[:LIST_LIMIT],
                "cases_toward_archive_count": len(summary.cases_toward_archive),
                "unmatched_door_total": summary.unmatched_door_total,
                "unmatched_door": [
                    {"report_id": d.report_id, "case_id": d.case_id, "amount_minor": d.amount_minor}
                    for d in summary.unmatched_door
                ],
            },
        )


def run_import(
    db: Database,
    source: str,
    chunks: Iterable[Chunk],
    *,
    actor: Actor | None = None,
    started_by: str | None = None,
    now: dt.datetime,
    profile: Profile,
    progress: Progress | None = None,
    parallel: bool | None = None,
) -> ImportSummary:
    """Import the rows ``chunks`` yields as one batch; see the module docstring.

    ``parallel``: check the rows in a helper process (default: for large sources; see
    ``checking.checked_chunks``); the outcome is the same either way.

    Raises ``ImportFailed`` (with the summary of what went in) when the source breaks.
    An agent imports only as an administrator (``actor`` None: the system's batch).
    """
    if actor is not None:
        actor.require(Action.IMPORT_DATA)
    now = resolve_now(now)
    prof = profile
    started = time.perf_counter()
    with db.write() as s:
        batch = ImportBatch(
            source=source[:300],
            started_at=now,
            created=0,
            updated=0,
            unchanged=0,
            rejected=0,
            started_by=(started_by or (actor.login if actor else None)),
        )
        s.add(batch)
        s.flush()
        batch_id = batch.id
    summary = ImportSummary(batch_id=batch_id, source=source)
    run = Run(db, actor, now, prof, office_today(now, prof), summary)
    if db.is_sqlite:
        run.walcopy = WalCopier(db)
    done = 0
    try:
        # Checked before the transaction (the lock is held only for the writes), the
        # next chunk's rows in a helper process while this one's are written.
        for chunk, checked in checked_chunks(run, chunks, parallel=parallel):
            if len(chunk.rows) > MAX_BATCH_SIZE:
                raise ValueError("a chunk holds at most 1,000 rows")
            records = checked
            while records:
                out, seconds, records = write_chunk(run, records)
                summary.commit_seconds.append(seconds)
                summary.created += out.created
                summary.updated += out.updated
                summary.unchanged += out.unchanged
                summary.rejected += len(out.rejections)
                summary.payments_applied += out.payments
                room = LIST_LIMIT - len(summary.rejections)
                summary.rejections.extend(out.rejections[: max(0, room)])
                summary.cases_opened.extend(out.opened)
                summary.cases_reopened.extend(out.reopened)
                summary.cases_toward_archive.extend(out.toward_archive)
            done += len(chunk.rows)
            if progress is not None:
                progress(done, chunk.total)
    except SourceError as exc:
        summary.error = str(exc)
    finally:
        if run.walcopy is not None:
            run.walcopy.close()
    _finish(run, started)
    if summary.error:
        raise ImportFailed(summary.error, summary)
    return summary


def _check_batch_size(batch_size: int) -> None:
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ServiceError(_("the batch size is between 1 and {n} rows").format(n=MAX_BATCH_SIZE))


def import_csv(
    db: Database,
    path: Path,
    *,
    actor: Actor | None = None,
    started_by: str | None = None,
    now: dt.datetime,
    profile: Profile,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    parallel: bool | None = None,
) -> ImportSummary:
    """Import one CSV file (accounts or payments, by its header) as one batch."""
    _check_batch_size(batch_size)
    return run_import(
        db,
        f"csv:{path}",
        csv_chunks(path, batch_size),
        actor=actor,
        started_by=started_by,
        now=now,
        profile=profile,
        progress=progress,
        parallel=parallel,
    )


def import_url(
    db: Database,
    url: str,
    *,
    actor: Actor | None = None,
    started_by: str | None = None,
    now: dt.datetime,
    profile: Profile,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    timeout: float = HTTP_TIMEOUT,
    retries: int = HTTP_RETRIES,
    backoff: float = 0.5,
    parallel: bool | None = None,
) -> ImportSummary:
    """Import a paginated JSON feed (accounts and payments mixed) as one batch."""
    _check_batch_size(batch_size)
    if not url.startswith(("http://", "https://")):
        raise ServiceError(_("not an http(s) URL: {url}").format(url=url))
    return run_import(
        db,
        url,
        url_chunks(
            url, batch_size, client=client, timeout=timeout, retries=retries, backoff=backoff
        ),
        actor=actor,
        started_by=started_by,
        now=now,
        profile=profile,
        progress=progress,
        parallel=parallel,
    )
