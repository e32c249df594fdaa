"""Importing from the bank's loan system: borrowers, phones, accounts, arrears and payments.

``tui-desk import --csv FILE [--csv FILE ...]`` or ``tui-desk import --url URL``.

Sources
=======

CSV (UTF-8, a BOM is fine; comma-separated, RFC 4180 quoting; the header names the
columns, in any order; unknown columns are ignored). The header decides what a file
holds: a ``payment_id`` column makes it a **payments file**, otherwise a
``borrower_id`` column makes it an **accounts file**. Give both files to one command,
accounts first (payments refer to accounts by their id). Row numbers are spreadsheet
row numbers: the header is row 1, the first record row 2.

Accounts file, **one row = one loan account** with its borrower and the borrower's phones
(a borrower with several accounts repeats its columns on each row, identically)::

    account_id            the loan system's account number (unique)        required
    borrower_id           the loan system's customer number                 required
    name                  borrower's name                                   required
    id_number             the profile's identity document ([identity]): CN a resident
                          ID (GB 11643; 15-digit numbers converted), required; US a
                          Social Security number, optional
    address, city, district                                                 required
    region_code           CN six digits (GB/T 2260), US a five-digit ZIP    required
    timezone              e.g. Asia/Shanghai; a new borrower without one gets the zone
                          of their first number, else the office's          optional
    phone                 the borrower's number, any usual format; without a country
                          code it is read as the profile's country's         required
    phone2                a second number of the borrower                   optional
    product               consumer_loan | credit_card | auto_loan | mortgage | cash_advance
    status                current | overdue | settled | written_off
    currency              three letters, default the profile's (CNY, USD)  optional
    principal             yuan, e.g. 12000.00 (at most two decimals)        required
    outstanding_principal, outstanding_interest, outstanding_penalty,
    outstanding_fees      yuan                                               required
    overdue_amount        yuan in arrears; default: the outstanding total of an overdue
                          account (ignored, i.e. 0, unless status is overdue)
    annual_rate           a fraction (0.1825) or a percentage (18.25%); default 0
    opened_on             YYYY-MM-DD                                         required
    overdue_since         YYYY-MM-DD; required when status is overdue

Payments file, one row = one payment the loan system booked::

    payment_id   the loan system's payment id (unique)      required
    account_id   the account paid                           required
    amount       yuan, above zero                            required
    paid_on      YYYY-MM-DD, not in the future               required
    channel      bank_transfer | direct_debit | counter | door | card | import
                 (default import; ``door`` matches a door collection whatever its date)
    reference    the bank's reference, up to 64 characters  optional

JSON over HTTP (``--url``): the importer sends ``GET URL`` and expects, with status 200::

    {"items": [ITEM, ...], "next": "URL of the next page" | null, "total": N (optional)}

and follows ``next`` (absolute, or relative to the page) until it is null, e.g.
``GET https://loans.example/export?page=2``. An ITEM is an object with the same fields as
a CSV row, plus ``"record": "account"`` (the default) or ``"record": "payment"``;
values are strings or numbers (numbers are read exactly, as decimals). Row numbers
count items across pages from 1. A page that is not JSON of this shape, an HTTP error
(after two retries for 5xx answers and network errors) or a page seen twice stops
the import with one clear line: what earlier pages brought stays imported, nothing of
the failing page is.

What an import does
===================

Idempotent by external id (``account_id``, ``borrower_id``, ``payment_id``): a row equal
to what is stored changes nothing and counts as *unchanged*, so the same import run
twice changes nothing. Otherwise:

- a new borrower is created with its phones; a changed borrower is updated; a phone not
  yet on file is added (phones are never removed: operators' numbers and do-not-call
  marks stay). The search side data (name pieces, reversed digits) follows.
- a new or changed account is written. An account that *becomes* overdue (new and
  overdue, or overdue after being current / settled) joins its borrower's case: a
  borrower without a case gets one (open, stage ``new``, next action from the profile),
  an archived case is reopened (stage ``contacting``).
- the case's overdue amount and date follow its accounts (the overdue ones). When a
  change leaves a case with no overdue account, the case moves toward the archive: its
  next action is set to now, so an operator looks at it, and if every account is settled
  with nothing outstanding its stage becomes ``paid`` (an operator archives it with
  ``Z``, which checks that nothing is owed). The import never archives a case itself:
  door money, complaints or a plan may still need a person.
- a payment is recorded on the account's case (channel as given), then, in the same
  savepoint, promises and the active plan are settled from the ledger
  (``promises.reevaluate_promises``, ``ledger.recompute``, which also reconciles door
  collections of visit reports), as a payment recorded at the desk is. A payment whose
  amount, date, channel or reference changed is corrected and the ledger recomputed.

A bad row (invalid phone or ID check digit, negative amount, unknown product or status,
an id twice in the import, a borrower whose rows disagree, a payment for an unknown
account, ...) is refused with its row number and reason (``import_rejection`` rows and
the printed summary); the rest of the import goes on. Each row is written in its own
savepoint, so a row that fails leaves nothing behind. (Rows that only add - a new
account of a new borrower - are written together first, as the transaction's first
writes, through the driver with ids taken beforehand: ``executemany`` on SQLite, ``COPY``
on PostgreSQL (``bulk``); should that fail, the transaction is rolled back and the chunk
is written again, each row in its own savepoint.) A large import checks the next chunk's
rows in a helper process while it writes the current one, when a core is idle
(``checking.checked_chunks``). On SQLite a thread of the import copies the write-ahead
log into the database after each commit (``walcopy``), so the import's own thread does
not wait for the disk.

Rows are committed in batches (``batch_size``, at most 1,000 rows per transaction, 500
by default): the database lock is held for a fraction of a second at a time, and rows
are read and checked outside the transaction, so desks' saves go through in between.
A transaction also ends after 0.25 s under the lock (payments, which settle
promises and plans, cost a few milliseconds each). The ``import_batch`` row keeps the running counts (created, updated, unchanged,
rejected) and ``finished_at``; one audit event per batch (``import.batch``) records
the summary, the door collections still unmatched (every visit report's door money that
no bank payment has matched, oldest first), and the cases opened, reopened or moved
toward the archive. The ledger's own ``visit.reconcile`` events name each match.

Benchmark: ``bench/import_bench.py`` (100,000 accounts on SQLite, two cores shared with
other work: about 125 us of CPU a row, some 30 of them checking it, 20 the driver's
inserts, 13 the commits and 18 the log copier's thread; the README has the figures and
where the rest goes).

Modules: ``sources`` (reading), ``checking`` (a row's verdict, before any transaction),
``known`` (what is on file), ``rows`` (one row's writes), ``batch`` (a transaction of
rows), ``bulk`` (driver writes), ``walcopy`` (SQLite's checkpoints during an import),
``results`` (the summary), ``runner`` (the entry points); ``tables`` holds the Core
statements they share.
"""

from __future__ import annotations

from tui_desk.services.importer.batch import TRANSACTION_SECONDS
from tui_desk.services.importer.results import (
    LIST_LIMIT,
    DoorCollection,
    ImportFailed,
    ImportSummary,
    Progress,
)
from tui_desk.services.importer.runner import (
    DEFAULT_BATCH_SIZE,
    MAX_BATCH_SIZE,
    import_csv,
    import_url,
    run_import,
    unmatched_door_collections,
)
from tui_desk.services.importer.sources import (
    HTTP_RETRIES,
    HTTP_TIMEOUT,
    MAX_PAGES,
    Chunk,
    RawRow,
    SourceError,
    count_csv_rows,
    csv_chunks,
    url_chunks,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "HTTP_RETRIES",
    "HTTP_TIMEOUT",
    "LIST_LIMIT",
    "MAX_BATCH_SIZE",
    "MAX_PAGES",
    "TRANSACTION_SECONDS",
    "Chunk",
    "DoorCollection",
    "ImportFailed",
    "ImportSummary",
    "Progress",
    "RawRow",
    "SourceError",
    "count_csv_rows",
    "csv_chunks",
    "import_csv",
    "import_url",
    "run_import",
    "unmatched_door_collections",
    "url_chunks",
]
