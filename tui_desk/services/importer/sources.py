"""Where rows come from: a CSV file, or a paginated JSON feed over HTTP with retries."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tui_desk.i18n import _
from tui_desk.rules.imports import RecordKind, RowError, Value, header_kind

HTTP_TIMEOUT = 30.0
HTTP_RETRIES = 2
MAX_PAGES = 100_000


class SourceError(Exception):
    """The source itself is broken (unreadable file, HTTP error, malformed page)."""


@dataclass(frozen=True)
class RawRow:
    """A row as read from the source, before any check."""

    row_no: int
    kind: RecordKind | None
    fields: Mapping[str, Value]
    problem: str | None = None  # the source already knows the row is unusable


@dataclass(frozen=True)
class Chunk:
    rows: list[RawRow]
    total: int | None  # rows in the whole source, when known


def count_csv_rows(path: Path) -> int:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return max(0, sum(1 for row in csv.reader(fh) if any(c.strip() for c in row)) - 1)
    except (OSError, UnicodeDecodeError, csv.Error):
        return 0


def csv_chunks(path: Path, batch_size: int) -> Iterator[Chunk]:
    """The rows of a CSV file, ``batch_size`` at a time (the header decides their kind)."""
    total = count_csv_rows(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header: list[str] | None = None
            kind: RecordKind | None = None
            rows: list[RawRow] = []
            for row_no, values in enumerate(reader, start=1):
                if header is None:
                    header = [c.strip().lower() for c in values]
                    try:
                        kind = header_kind(header)
                    except RowError as exc:
                        raise SourceError(str(exc)) from exc
                    continue
                if not any(v.strip() for v in values):
                    continue
                problem = None
                if len(values) > len(header):
                    problem = _("the row has {n} fields, the header {m}").format(
                        n=len(values), m=len(header)
                    )
                fields: dict[str, Value] = dict(zip(header, values, strict=False))
                rows.append(RawRow(row_no, kind, fields, problem))
                if len(rows) >= batch_size:
                    yield Chunk(rows, total)
                    rows = []
            if header is None:
                raise SourceError(_("the file is empty (no header)"))
            if rows:
                yield Chunk(rows, total)
    except OSError as exc:
        raise SourceError(
            _("cannot read {path}: {error}").format(path=path, error=exc.strerror or exc)
        ) from exc
    except UnicodeDecodeError as exc:
        raise SourceError(
            _("{path} is not UTF-8 text: {error}").format(path=path, error=exc)
        ) from exc
    except csv.Error as exc:
        raise SourceError(
            _("{path} is not valid CSV: {error}").format(path=path, error=exc)
        ) from exc


def _scalar(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | Decimal) and not isinstance(value, bool))


def _page_items(body: Any, page_no: int, url: str) -> tuple[list[Any], str | None, int | None]:
    where = _("page {n} ({url})").format(n=page_no, url=url)
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise SourceError(_('{where}: expected an object with an "items" list').format(where=where))
    nxt = body.get("next")
    if nxt is not None and not isinstance(nxt, str):
        raise SourceError(_('{where}: "next" must be a URL or null').format(where=where))
    total = body.get("total")
    return body["items"], nxt or None, total if isinstance(total, int) else None


def _raw_item(item: Any, row_no: int) -> RawRow:
    if not isinstance(item, dict):
        return RawRow(row_no, None, {}, _("the item is not an object"))
    record = item.get("record", "account")
    fields: dict[str, Value] = {}
    for key, value in item.items():
        if not _scalar(value):
            return RawRow(
                row_no, None, {}, _("field {field} is not a text or a number").format(field=key)
            )
        fields[str(key).lower()] = value
    if record not in ("account", "payment"):
        return RawRow(row_no, None, fields, _("unknown record {value}").format(value=record))
    kind: RecordKind = "payment" if record == "payment" else "account"
    return RawRow(row_no, kind, fields)


def _get(client: httpx.Client, url: str, page_no: int, retries: int, backoff: float) -> Any:
    where = _("page {n} ({url})").format(n=page_no, url=url)
    attempt = 0
    while True:
        try:
            response = client.get(url)
        except httpx.HTTPError as exc:
            problem = _("{where}: {error}").format(
                where=where, error=str(exc) or type(exc).__name__
            )
            retry = True
        else:
            if response.status_code == 200:
                try:
                    return response.json(parse_float=Decimal)
                except ValueError as exc:
                    raise SourceError(
                        _("{where}: the answer is not valid JSON ({error})").format(
                            where=where, error=exc
                        )
                    ) from exc
            problem = _("{where}: the server answered {status} {reason}").format(
                where=where, status=response.status_code, reason=response.reason_phrase
            )
            retry = response.status_code >= 500 or response.status_code == 429
        if not retry or attempt >= retries:
            raise SourceError(problem)
        time.sleep(backoff * (2**attempt))
        attempt += 1


def url_chunks(
    url: str,
    batch_size: int,
    *,
    client: httpx.Client | None = None,
    timeout: float = HTTP_TIMEOUT,
    retries: int = HTTP_RETRIES,
    backoff: float = 0.5,
) -> Iterator[Chunk]:
    """The items of a paginated JSON feed; a page is read and checked whole before use."""
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=True)
    try:
        seen: set[str] = set()
        current: str | None = url
        page_no = 0
        row_no = 0
        while current is not None:
            page_no += 1
            if current in seen or page_no > MAX_PAGES:
                raise SourceError(
                    _("page {n} ({url}) was already read: the feed loops").format(
                        n=page_no, url=current
                    )
                )
            seen.add(current)
            body = _get(http, current, page_no, retries, backoff)
            items, nxt, total = _page_items(body, page_no, current)
            rows: list[RawRow] = []
            for item in items:
                row_no += 1
                rows.append(_raw_item(item, row_no))
            for start in range(0, len(rows), batch_size):
                yield Chunk(rows[start : start + batch_size], total)
            current = str(httpx.URL(current).join(nxt)) if nxt else None
    finally:
        if own:
            http.close()
