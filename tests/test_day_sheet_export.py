"""The collector's day sheet as Markdown and as fixed-width text: order, alignment by display
width (Chinese names take two cells a character), money from minor units, header, footer."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from rich.cells import cell_len

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, AppointmentStatus, Stage
from tui_desk.exports.day_sheet import render_markdown, render_text, wrap
from tui_desk.formatting import amount as money
from tui_desk.i18n import set_language
from tui_desk.rules.profile import load_profile
from tui_desk.services import visits
from tui_desk.services.context import Actor, Context
from tui_desk.views.visits import DaySheet, SheetVisit

SH = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 12, 3)  # a Thursday
PRINTED = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)  # 17:00 in Beijing
LONG_ADDRESS = (
    "北京市海淀区中关村大街27号中关村大厦B座1708室，前台登记后乘东侧电梯上楼，右转第三间办公室"
)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute), tzinfo=SH).astimezone(dt.UTC)


def visit(
    appointment_id: int,
    start: dt.datetime,
    name: str,
    *,
    amount: int = 1_234_567,
    address: str = "北京市朝阳区建国路88号3单元1201室",
    district: str = "朝阳区",
    phone: str | None = "+8613812345678",
    status: AppointmentStatus = AppointmentStatus.BOOKED,
    check: tuple[str, ...] = (),
    bring: tuple[str, ...] = ("work ID card",),
) -> SheetVisit:
    return SheetVisit(
        appointment_id=appointment_id,
        case_id=100 + appointment_id,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        status=status,
        borrower_name=name,
        address=address,
        district=district,
        phone=phone,
        outstanding_minor=amount,
        documents_to_check=check,
        bring=bring,
    )


def sheet_of(*visits_: SheetVisit) -> DaySheet:
    return DaySheet(
        collector_id=9,
        collector_name="王芳",
        collector_login="wang.fang",
        day=DAY,
        timezone="Asia/Shanghai",
        visits=visits_,
    )


@pytest.fixture
def sheet() -> DaySheet:
    # Deliberately out of order: the sheet is printed in time order whatever it is given.
    return sheet_of(
        visit(
            3,
            at(14),
            "欧阳娜娜",
            amount=123_456_700,
            address=LONG_ADDRESS,
            district="海淀区",
            phone="+8613800000002",
            status=AppointmentStatus.CONFIRMED,
            check=("identity (check the original)", "missing: income proof"),
            bring=("work ID card", "receipt book (for money paid at the door)"),
        ),
        visit(1, at(9), "张三", amount=1_234_567),
        visit(2, at(10, 30), "Li Wei", amount=5, phone=None, status=AppointmentStatus.DONE),
    )


def table_rows(text: str) -> list[str]:
    """The summary table's data rows (they start with the visit number)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("-  ---"))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("="):
            break
        rows.append(line)
    return rows


def column_of(line: str, value: str) -> int:
    """The display column where ``value`` starts in ``line``."""
    return cell_len(line[: line.index(value)])


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (1_234_567, "12,345.67"),
        (123_456_700, "1,234,567.00"),
        (-150, "-1.50"),
        (100, "1.00"),
    ],
)
def test_money_from_minor_units(minor: int, text: str) -> None:
    assert money(minor) == text


def test_wrap_breaks_words_and_long_chinese_runs_by_display_width() -> None:
    assert wrap("work ID card and receipt book", 12) == ["work ID card", "and receipt", "book"]
    lines = wrap(LONG_ADDRESS, 20)
    assert "".join(lines) == LONG_ADDRESS
    assert all(cell_len(line) <= 20 for line in lines)
    assert wrap("", 10) == [""]


# --- plain text ---------------------------------------------------------------------------


def test_text_header_lists_collector_date_and_weekday(sheet: DaySheet) -> None:
    text = render_text(sheet, printed_at=PRINTED)
    first, second = text.splitlines()[:2]
    assert "王芳" in first and "wang.fang" in first
    assert "2026-12-03" in second and "Thursday" in second and "3 visits" in second


def test_text_lists_visits_in_time_order(sheet: DaySheet) -> None:
    text = render_text(sheet, printed_at=PRINTED)
    rows = table_rows(text)
    assert [row.split()[0] for row in rows] == ["1", "2", "3"]
    assert [row.split()[1] for row in rows] == ["09:00-10:00", "10:30-11:30", "14:00-15:00"]
    assert ["张三" in rows[0], "Li Wei" in rows[1], "欧阳娜娜" in rows[2]] == [True] * 3
    # The visit blocks follow in the same order.
    blocks = [text.index(f"{n}. {t}") for n, t in ((1, "09:00"), (2, "10:30"), (3, "14:00"))]
    assert blocks == sorted(blocks)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_text_chinese_name_column_is_aligned_by_display_width(
    sheet: DaySheet, language: str
) -> None:
    set_language(language)
    try:
        text = render_text(sheet, printed_at=PRINTED)
    finally:
        set_language("en")
    lines = text.splitlines()
    rows = table_rows(text)
    header = lines[lines.index(rows[0]) - 2]
    # Every column after the (mixed Chinese / Latin) name starts at the same display column.
    districts = [
        column_of(row, d) for row, d in zip(rows, ("朝阳区", "朝阳区", "海淀区"), strict=True)
    ]
    assert len(set(districts)) == 1
    statuses = {cell_len(row) - cell_len(row.split()[-1]) for row in rows}
    assert len(statuses) == 1
    # The header's district title sits over the district column, whatever its language.
    title = header.split()[3]
    assert column_of(header, title) == districts[0]
    # len() would have got this wrong: the name column is not aligned by characters.
    assert (
        len({row.index(d) for row, d in zip(rows, ("朝阳区", "朝阳区", "海淀区"), strict=True)}) > 1
    )


def test_text_amounts_are_formatted_and_right_aligned(sheet: DaySheet) -> None:
    rows = table_rows(render_text(sheet, printed_at=PRINTED))
    amounts = ["12,345.67", "0.05", "1,234,567.00"]
    for row, amount in zip(rows, amounts, strict=True):
        assert f" {amount} " in row
    ends = {
        column_of(row, amount) + cell_len(amount) for row, amount in zip(rows, amounts, strict=True)
    }
    assert len(ends) == 1


def test_text_visit_blocks_hold_everything_for_the_road(sheet: DaySheet) -> None:
    text = render_text(sheet, printed_at=PRINTED)
    block = text[text.index("3. 14:00-15:00") :]
    assert "欧阳娜娜" in block.splitlines()[0]
    # The long address is wrapped inside the page width, nothing lost.
    lines = block.splitlines()
    first = next(i for i, line in enumerate(lines) if line.split()[0] == "Address")
    last = next(i for i, line in enumerate(lines) if line.split()[0] == "District")
    assert last - first > 1
    pieces = [lines[first].split()[1]] + [line.strip() for line in lines[first + 1 : last]]
    assert "".join(pieces) == LONG_ADDRESS
    assert "138 0000 0002" in block  # national format
    assert "1,234,567.00" in block and "confirmed" in block
    assert "identity (check the original)" in block and "missing: income proof" in block
    assert "receipt book (for money paid at the door)" in block
    no_phone = text[text.index("2. 10:30-11:30") : text.index("3. 14:00-15:00")]
    assert any(line.split() == ["Phone", "-"] for line in no_phone.splitlines())


@pytest.mark.parametrize("width", [60, 80])
def test_text_fits_the_page_width(sheet: DaySheet, width: int) -> None:
    text = render_text(sheet, printed_at=PRINTED, width=width)
    lines = text.splitlines()
    rows = table_rows(text)
    # The summary table fits a normal page; on a narrow one only it may run over.
    table = {*rows, lines[lines.index(rows[0]) - 1], lines[lines.index(rows[0]) - 2]}
    for line in lines:
        if width >= 80 or line not in table:
            assert cell_len(line) <= width, line


def test_text_footer_has_signature_line_and_printed_time(sheet: DaySheet) -> None:
    lines = render_text(sheet, printed_at=PRINTED).splitlines()
    assert lines[-2].startswith("Collector's signature: ____")
    assert lines[-1] == "Printed 2026-12-02 17:00 (Asia/Shanghai)"


def test_a_long_name_is_cut_in_the_table_but_whole_in_its_block() -> None:
    name = "阿卜杜热合曼·买买提艾力"
    text = render_text(sheet_of(visit(1, at(9), name)), printed_at=PRINTED)
    [row] = table_rows(text)
    assert name not in row and "…" in row
    assert f"1. 09:00-10:00  {name}" in text


def test_an_empty_day() -> None:
    empty = sheet_of()
    text = render_text(empty, printed_at=PRINTED)
    assert "0 visits" in text.splitlines()[1]
    assert "No visits on this day." in text
    assert text.splitlines()[-1] == "Printed 2026-12-02 17:00 (Asia/Shanghai)"
    md = render_markdown(empty, printed_at=PRINTED)
    assert "No visits on this day." in md and "|" not in md


# --- Markdown -----------------------------------------------------------------------------


def test_markdown_table_and_sections_in_time_order(sheet: DaySheet) -> None:
    md = render_markdown(sheet, printed_at=PRINTED)
    lines = md.splitlines()
    assert lines[0] == "# Day sheet: 王芳 (wang.fang)"
    assert "2026-12-03, Thursday" in md
    rows = [line for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert rows == [
        "| 1 | 09:00-10:00 | 张三 | 朝阳区 | 138 1234 5678 | 12,345.67 | booked |",
        "| 2 | 10:30-11:30 | Li Wei | 朝阳区 | - | 0.05 | done |",
        "| 3 | 14:00-15:00 | 欧阳娜娜 | 海淀区 | 138 0000 0002 | 1,234,567.00 | confirmed |",
    ]
    sections = [line for line in lines if line.startswith("## ")]
    assert sections == [
        "## 1. 09:00-10:00 张三",
        "## 2. 10:30-11:30 Li Wei",
        "## 3. 14:00-15:00 欧阳娜娜",
    ]
    assert f"- **Address:** {LONG_ADDRESS}" in lines
    assert "  - missing: income proof" in lines
    assert lines[-1] == "*Printed 2026-12-02 17:00 (Asia/Shanghai)*"
    assert any(line.startswith("Collector's signature:") for line in lines)


def test_markdown_escapes_what_would_break_the_table() -> None:
    odd = visit(1, at(9), "王|五*", address="A座 | 3号 _门_ [后院]")
    md = render_markdown(sheet_of(odd), printed_at=PRINTED)
    assert r"| 王\|五\* |" in md
    assert r"A座 \| 3号 \_门\_ \[后院\]" in md


# --- from the service -----------------------------------------------------------------------


def test_a_sheet_from_the_service_shows_the_borrowers_phone(db: Database) -> None:
    now = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH).astimezone(dt.UTC)
    make = Factory(db, now=now)
    collector = make.collector(login="col", name="王芳")
    borrower = make.borrower(name="张三", phones=["+8613812345678"])
    case_id = make.case(
        borrower_id=borrower, stage=Stage.DOCUMENTS, registered=True, documents_complete=True
    )
    with db.read() as s:
        agent = s.get(Agent, collector)
        assert agent is not None
        actor = Actor.of(agent)
    visits.book_visit(
        Context.frozen(db, actor, now, load_profile()),
        case_id,
        collector_id=collector,
        starts_at=at(9),
    )
    sheet = visits.day_sheet(Context.frozen(db, actor, now, load_profile()), collector, DAY)
    text = render_text(sheet, printed_at=PRINTED)
    assert "张三" in text
    assert "138 1234 5678" in text
