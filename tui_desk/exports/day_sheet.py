"""The collector's day sheet as Markdown or as plain text for printing.

The sheet is what a field collector takes on the road: the day's visits in order, each
with the time, the borrower, the full address, the phone, what is owed, what to check and
what to bring, and a line to sign. Plain text is fixed width: Chinese characters take two
columns on a terminal or a printer, so every column is padded by display width
(``rich.cells.cell_len``), never by ``len``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from rich.cells import cell_len, chop_cells

from tui_desk.clock import utcnow
from tui_desk.formatting import amount, safe_text
from tui_desk.i18n import N_, _, ngettext
from tui_desk.rules.phones import format_for_display
from tui_desk.views.visits import DaySheet, SheetVisit

DASH = "-"
ELLIPSIS = "…"
_WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
_STATUS = {
    "booked": N_("booked"),
    "confirmed": N_("confirmed"),
    "done": N_("done"),
    "rescheduled": N_("rescheduled"),
    "cancelled": N_("cancelled"),
    "no_show": N_("no show"),
}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


# --- values -------------------------------------------------------------------------------


def weekday(day: dt.date) -> str:
    return _(_WEEKDAYS[day.weekday()])


def status_label(visit: SheetVisit) -> str:
    value = str(visit.status.value)
    return _(_STATUS[value]) if value in _STATUS else value


def phone_label(visit: SheetVisit, home_region: str) -> str:
    return format_for_display(visit.phone, home_region) if visit.phone else DASH


def time_range(visit: SheetVisit, zone: ZoneInfo) -> str:
    start = visit.starts_at.astimezone(zone)
    end = visit.ends_at.astimezone(zone)
    return f"{start:%H:%M}-{end:%H:%M}"


def _in_order(sheet: DaySheet) -> list[SheetVisit]:
    return sorted(sheet.visits, key=lambda v: (v.starts_at, v.appointment_id))


def _printed(sheet: DaySheet, printed_at: dt.datetime | None) -> str:
    at = (printed_at or utcnow()).astimezone(ZoneInfo(sheet.timezone))
    return _("Printed {time} ({zone})").format(time=f"{at:%Y-%m-%d %H:%M}", zone=sheet.timezone)


def _title(sheet: DaySheet) -> str:
    return _("Day sheet: {name} ({login})").format(
        name=sheet.collector_name, login=sheet.collector_login
    )


def _subtitle(sheet: DaySheet) -> str:
    count = ngettext("{count} visit", "{count} visits", len(sheet.visits))
    return _("{date}, {weekday}; times in {zone}; {visits}").format(
        date=sheet.day.isoformat(),
        weekday=weekday(sheet.day),
        zone=sheet.timezone,
        visits=count.format(count=len(sheet.visits)),
    )


# --- display width ------------------------------------------------------------------------


def pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal cells (cut with … when longer)."""
    text = fit(text, width)
    return text + " " * (width - cell_len(text))


def pad_left(text: str, width: int) -> str:
    text = fit(text, width)
    return " " * (width - cell_len(text)) + text


def fit(text: str, width: int) -> str:
    if cell_len(text) <= width:
        return text
    if width <= 0:
        return ""
    return chop_cells(text, width - cell_len(ELLIPSIS))[0] + ELLIPSIS


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` cells: breaks at spaces, long runs (Chinese) by cells."""
    width = max(width, 2)
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if cell_len(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        pieces = chop_cells(word, width) if cell_len(word) > width else [word]
        lines.extend(pieces[:-1])
        line = pieces[-1]
    if line or not lines:
        lines.append(line)
    return lines


# --- plain text ---------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Columns padded by display width, two spaces apart; ``right`` columns right-aligned."""
    caps = {2: 14}  # the borrower's name: the full name is in the visit's own block
    widths = [
        min(caps.get(i, 1 << 30), max(cell_len(r[i]) for r in [header, *rows]))
        for i in range(len(header))
    ]

    def line(cells: Sequence[str]) -> str:
        out = [
            pad_left(c, widths[i]) if i in right else pad(c, widths[i]) for i, c in enumerate(cells)
        ]
        return "  ".join(out).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _block(
    label_width: int, width: int, label: str, values: Iterable[str], indent: str
) -> list[str]:
    lines: list[str] = []
    room = width - len(indent) - label_width - 2
    first = True
    for value in values:
        for part in wrap(value, room):
            head = pad(label if first else "", label_width)
            lines.append(f"{indent}{head}  {part}".rstrip())
            first = False
    if first:
        lines.append(f"{indent}{pad(label, label_width)}  {DASH}")
    return lines


def render_text(
    sheet: DaySheet,
    *,
    printed_at: dt.datetime | None = None,
    width: int = 80,
    home_region: str = "CN",
) -> str:
    """The day sheet as fixed-width plain text, ``width`` cells wide, for printing."""
    zone = ZoneInfo(sheet.timezone)
    visits = _in_order(sheet)
    rule, thin = "=" * width, "-" * width
    out = [_title(sheet), _subtitle(sheet), rule]
    if not visits:
        out.append(_("No visits on this day."))
    else:
        header = [
            "#",
            _("Time"),
            _("Borrower"),
            _("District"),
            _("Phone"),
            _("Outstanding"),
            _("Status"),
        ]
        rows = [
            [
                str(n),
                time_range(v, zone),
                v.borrower_name,
                v.district,
                phone_label(v, home_region),
                amount(v.outstanding_minor),
                status_label(v),
            ]
            for n, v in enumerate(visits, start=1)
        ]
        out += _table(header, rows, right={0, 5})
        out.append(rule)
        labels = {
            "address": _("Address"),
            "district": _("District"),
            "phone": _("Phone"),
            "outstanding": _("Outstanding"),
            "status": _("Status"),
            "check": _("Check"),
            "bring": _("Bring"),
        }
        label_width = max(cell_len(text) for text in labels.values())
        for n, v in enumerate(visits, start=1):
            if n > 1:
                out.append(thin)
            out.append(f"{n}. {time_range(v, zone)}  {v.borrower_name}")
            indent = " " * 3
            for key, values in (
                ("address", [v.address]),
                ("district", [v.district]),
                ("phone", [phone_label(v, home_region)]),
                ("outstanding", [amount(v.outstanding_minor)]),
                ("status", [status_label(v)]),
                ("check", list(v.documents_to_check)),
                ("bring", list(v.bring)),
            ):
                out += _block(label_width, width, labels[key], values, indent)
        out.append(rule)
    out += ["", _signature_line(min(width, 72)), _printed(sheet, printed_at)]
    return safe_text("\n".join(out) + "\n")


def _signature_line(width: int = 72) -> str:
    """A line to sign and date, ``width`` cells at most (the blanks shrink to fit)."""
    template = _("Collector's signature: {line}    Date: {date}")
    blanks = max(width - cell_len(template.format(line="", date="")), 12)
    signature = blanks * 2 // 3
    return template.format(line="_" * signature, date="_" * (blanks - signature))


# --- Markdown -----------------------------------------------------------------------------


def md_escape(text: str) -> str:
    """Text shown literally in Markdown (tables included): specials backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def render_markdown(
    sheet: DaySheet, *, printed_at: dt.datetime | None = None, home_region: str = "CN"
) -> str:
    """The day sheet as Markdown: a summary table, then one section per visit."""
    zone = ZoneInfo(sheet.timezone)
    visits = _in_order(sheet)
    out = [f"# {md_escape(_title(sheet))}", "", md_escape(_subtitle(sheet)), ""]
    if not visits:
        out += [md_escape(_("No visits on this day.")), ""]
    else:
        header = ["#", _("Time"), _("Borrower"), _("District"), _("Phone")]
        header += [_("Outstanding"), _("Status")]
        out.append("| " + " | ".join(md_escape(h) for h in header) + " |")
        out.append("|---:|---|---|---|---|---:|---|")
        for n, v in enumerate(visits, start=1):
            cells = [
                str(n),
                time_range(v, zone),
                v.borrower_name,
                v.district,
                phone_label(v, home_region),
                amount(v.outstanding_minor),
                status_label(v),
            ]
            out.append("| " + " | ".join(md_escape(c) for c in cells) + " |")
        out.append("")
        for n, v in enumerate(visits, start=1):
            out += [f"## {n}. {time_range(v, zone)} {md_escape(v.borrower_name)}", ""]
            for label, value in (
                (_("Address"), v.address),
                (_("District"), v.district),
                (_("Phone"), phone_label(v, home_region)),
                (_("Outstanding"), amount(v.outstanding_minor)),
                (_("Status"), status_label(v)),
            ):
                out.append(f"- **{md_escape(label)}:** {md_escape(value)}")
            for label, items in ((_("Check"), v.documents_to_check), (_("Bring"), v.bring)):
                out.append(f"- **{md_escape(label)}:**" + ("" if items else f" {DASH}"))
                out += [f"  - {md_escape(item)}" for item in items]
            out.append("")
    out += [
        "---",
        "",
        md_escape(_signature_line()),
        "",
        f"*{md_escape(_printed(sheet, printed_at))}*",
    ]
    return safe_text("\n".join(out) + "\n")
