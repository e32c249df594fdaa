"""The work queue: filtered keyset pages, incremental search, take-next leases, orphans.

Reading the queue
-----------------
A page is found in two steps. First the *keys* ``(priority, id)`` of at most ``limit + 1``
open cases, by one query on ``collection_case`` alone that an index answers in queue
order (``ORDER BY priority DESC, id DESC``; keyset, never OFFSET, never COUNT); then the
page's details (borrower, owner, lease holder, phones) by primary key. Keeping the joins
out of the first step keeps the planners from driving the query from the wrong table.

Every filter has an access path: the partial indexes for held, broken-promise, registered
and unowned cases, ``ix_case_owner_queue`` for "mine", ``ix_case_stage_queue`` for a
stage, ``ix_case_queue`` otherwise. When filters are combined the most selective one
drives and the others are checked on the rows it yields. SQLite is told the index
(``INDEXED BY``, see ``tables._IndexedBy``); PostgreSQL picks among the same indexes from its
statistics. Where candidates come from a side table, the case's status is tested as
``coalesce(status, '')``, a form no index serves, so that neither engine walks a queue
index testing membership instead.

The DPD bucket is stored with the priority (``dpd_bucket``, refreshed with it every
night) and has its own queue index. Two filters cannot be served in queue order:
- ``due_today``: ``ix_case_next_action`` finds the due cases but not in priority order.
  A bounded probe decides: few due cases are read through that index and ranked; many
  are found by walking the queue order (where they are dense).
- ``no_next_action`` (orphans: open cases whose next action date was lost): the same,
  through the ``next_action_at IS NULL`` range of ``ix_case_next_action``. Normally
  there are none or a few, so they are ranked; paging is by the same ``(priority, id)``
  keys as every page, never by the NULL column. Held orphans are listed too (marked):
  an orphan must be surfaced whatever else holds the case.

Search
------
Search looks at every case whatever the scope and filters (an operator searching for a
borrower expects to find them), held cases included, since an inbound call from a
borrower on hold must still be logged; held rows carry ``on_hold`` for the desk to
mark. Archived (closed) cases are found too, ranked last (priority 0), read-only when
opened; only a match so common that the queue order is walked (a one-character name)
lists open cases alone. ``on_hold=True`` narrows a search to held cases. Matches are ranked like the
queue and paged by the same keys:
- ``#123``: that case;
- a phone number in any format (``+86 138 1234 8000``, ``0086-138…``, ``13812348000``)
  that ``phonenumbers`` accepts: exact match on ``phone.digits_rev``; other digit runs of
  4 or more: the number's last digits, a prefix range on ``phone.digits_rev`` (numbers
  of relatives and employers count: an inbound call may come from any of them);
- ``id:…`` or ``…X``: last characters of the ID number, a prefix range on
  ``borrower.id_rev`` (at least 4 characters);
- a name: through ``borrower_name_gram``. One or two characters are a gram; a longer
  name is looked up by its rarest two-character piece and confirmed with LIKE.

The side index gives borrowers, not queue order. If few borrowers match, their cases are
ranked by the database (a top-N sort); if many do, walking the queue order and testing
each case fills a page sooner. Walking costs about ``limit x cases / matches`` probes and
ranking about ``matches``; they meet at ``sqrt(limit x cases)`` matches (about 7,800 at
a million cases), so a page never costs much more than that many probes: measured
20-30 ms at the crossover, 1-15 ms elsewhere. A bounded count of the side index picks
the way. A long name whose every piece is that common ranks at most ``CANDIDATE_CAP``
borrowers (the operator types more).

Leases
------
``take_next`` and ``claim_case`` give the actor a lease: ``lease_holder_id`` and
``lease_expires_at``. Expiry is derived when read (``lease_expires_at > now`` means held),
never swept, so a dropped SSH session frees its case by itself. An agent holds at most
one lease: claiming releases the previous one in the same transaction. A lease is not an
edit of the case, so it is written with Core updates that leave the optimistic
``version`` alone: an operator who opened the case keeps their version across lease
renewals, and an edit based on a stale read is still refused by ``load_for_edit``. Take
next offers due work only (next action at or before now): a case just worked has its
next action moved ahead by the contact log and does not come straight back.

Modules
-------
``filters`` (what the operator asks for), ``access`` (access paths, and the path of a
queue without search), ``search`` (search access paths), ``paging`` (keyset pages),
``rows`` (what a page shows), ``leases`` (claiming, renewing and releasing), ``take``
(take next), ``orphaned`` (orphans); ``tables`` holds the table, the pinned index and
the queue order they share.
"""

from __future__ import annotations

from tui_desk.services.queue.access import PageContext, Ranked, Walk
from tui_desk.services.queue.access import _orphan_keys as _orphan_keys
from tui_desk.services.queue.filters import MIN_SUFFIX, QueueFilter, Scope
from tui_desk.services.queue.leases import LeaseHeld, claim_case, release_lease, renew_lease
from tui_desk.services.queue.orphaned import _orphan_terms as _orphan_terms
from tui_desk.services.queue.orphaned import orphan_count, orphans
from tui_desk.services.queue.paging import _access as _access
from tui_desk.services.queue.paging import page_statement, queue_page
from tui_desk.services.queue.rows import queue_reason
from tui_desk.services.queue.search import CANDIDATE_CAP
from tui_desk.services.queue.tables import case_indexed_by
from tui_desk.services.queue.take import _Claimable as _Claimable
from tui_desk.services.queue.take import _owned_by as _owned_by
from tui_desk.services.queue.take import callback_stale_minutes, take_next

__all__ = [
    "CANDIDATE_CAP",
    "MIN_SUFFIX",
    "LeaseHeld",
    "QueueFilter",
    "Scope",
    "callback_stale_minutes",
    "case_indexed_by",
    "claim_case",
    "orphan_count",
    "orphans",
    "page_statement",
    "queue_page",
    "queue_reason",
    "release_lease",
    "renew_lease",
    "take_next",
]

# The query-plan and orphan tests reach these internals through the package, like the
# ``_``-named imports above.
_Context = PageContext
_Ranked = Ranked
_Walk = Walk
