"""The agreement as a PDF (fpdf2, with the Chinese font subset embedded).

The document itself (its parts, checks and Markdown) is ``agreement_document``; this
module is imported on the first export, so the PDF and font libraries are not loaded
with the desk (they cost its start-up a fifth of a second and tens of megabytes).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, TextMode, XPos, YPos

from tui_desk.exports.agreement_document import (
    _COLUMNS,
    AgreementDocument,
    Section,
    _imprint,
    _labels,
    _originals,
    _row,
    break_units,
    check,
)
from tui_desk.exports.fonts import FONT_LICENSE, truetype_subset


def render_pdf(doc: AgreementDocument) -> bytes:
    """The agreement as an A4 PDF with its Chinese font embedded as a subset."""
    check(doc)
    with tempfile.TemporaryDirectory(prefix="tui-desk-font-") as folder:
        font_file = Path(folder) / "NotoSansCJKsc-subset.ttf"
        font_file.write_bytes(truetype_subset(_all_text(doc)))
        # The footer says "page 1 of N": lay out once to learn N, then print for real.
        pages = _AgreementPDF(doc, font_file, total_pages=0).build().pages_count
        return bytes(_AgreementPDF(doc, font_file, total_pages=pages).build().output())


# --- layout --------------------------------------------------------------------------------

_FAMILY = "NotoSansSC"
_MARGIN_X = 20.0
_MARGIN_TOP = 24.0
_MARGIN_BOTTOM = 22.0
_PT = 25.4 / 72  # millimetres per point
_BODY_PT = 11.0
_BODY_LINE = _BODY_PT * _PT * 1.6
_HEADING_PT = 12.5
_HEADING_LINE = 7.0
_HEADING_ABOVE = 2.5
_HEADING_BELOW = 0.8
_HEADING_SPACE = _HEADING_ABOVE + _HEADING_LINE + _HEADING_BELOW  # a one-line heading
_SIGN_SPACE = 16.0  # blank height for a seal or a signature
_FIELD_GAP = 5.0
_TITLE_PT = 18.0
_SMALL_PT = 8.5
_TABLE_PT = 10.0
_ROW_H = 6.6
# The font package has one weight. Headings are set larger and drawn filled and stroked
# (PDF text render mode 2): fpdf2 2.8 writes the line width of that mode as points.
_EMPHASIS_STROKE = 0.35
_INK = (20, 20, 20)
_GREY = (95, 95, 95)
_RULE = (170, 170, 170)
_TABLE_FILL = (236, 236, 236)
_COLUMN_WIDTHS = {"seq": 16.0, "due": 34.0, "principal": 40.0, "interest": 40.0}
_COLUMN_ALIGN = {"seq": Align.C, "due": Align.C, "principal": Align.R, "interest": Align.R}


def _all_text(doc: AgreementDocument) -> str:
    """Every character the PDF may draw, so the font subset has a glyph for each."""
    pieces = [
        doc.title,
        doc.number,
        doc.copy_label,
        doc.issuer,
        doc.form_code,
        doc.preamble,
        doc.content_sha256,
        _imprint(doc),
        _originals(doc),
        *_labels(doc.language).values(),
        *(s.heading + s.body for s in doc.sections),
        *(p.role + p.name + "".join(a + b for a, b in p.details) for p in doc.parties),
        *("".join(_row(line)) for line in doc.schedule),
        "".join(_row(doc.schedule_total)) if doc.schedule_total else "",
        *(vars(doc.signatures).values()),
        "".join(chr(code) for code in range(0x20, 0x7F)),
    ]
    return "".join(sorted(set("".join(pieces)) - {"\n", "\r", "\t"}))


class _AgreementPDF(FPDF):
    def __init__(self, doc: AgreementDocument, font_file: Path, total_pages: int) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc = doc
        self.labels = _labels(doc.language)
        self.total_pages = total_pages
        self.add_font(_FAMILY, "", font_file)
        self.set_margins(_MARGIN_X, _MARGIN_TOP, _MARGIN_X)
        self.set_auto_page_break(True, margin=_MARGIN_BOTTOM)
        created = dt.datetime.combine(doc.prepared_on, dt.time(0, 0), tzinfo=dt.UTC)
        self.set_creation_date(created)
        self.set_creator("tui-desk")
        self.set_producer("tui-desk")
        self.set_title(f"{doc.title} {doc.number}")
        self.set_subject(doc.copy_label)
        if doc.issuer:
            self.set_author(doc.issuer)
        self.set_keywords([doc.number, f"sha256:{doc.content_sha256}", f"font: {FONT_LICENSE}"])
        self.set_lang("zh-CN" if doc.language == "zh_CN" else "en")
        self.set_font(_FAMILY, size=_BODY_PT)
        self.set_text_color(*_INK)

    @property
    def content_width(self) -> float:
        return float(self.epw)

    # --- page furniture ---

    def header(self) -> None:
        self.set_font(_FAMILY, size=_SMALL_PT)
        self.set_text_color(*_GREY)
        self.set_xy(_MARGIN_X, 11)
        left = _imprint(self.doc) or self.doc.title
        self.cell(self.content_width / 2, 5, left)
        right = f"{self.labels['number'].format(number=self.doc.number)}    "
        self.set_x(_MARGIN_X + self.content_width / 2)
        with self.stroked(0.2, ink=_GREY):
            self.cell(self.content_width / 2, 5, right + self.doc.copy_label, align=Align.R)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(_MARGIN_X, 17, self.w - _MARGIN_X, 17)
        self.set_text_color(*_INK)
        self.set_font(_FAMILY, size=_BODY_PT)
        self.set_xy(_MARGIN_X, _MARGIN_TOP)

    def footer(self) -> None:
        top = self.h - 15
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(_MARGIN_X, top, self.w - _MARGIN_X, top)
        self.set_font(_FAMILY, size=_SMALL_PT - 0.5)
        self.set_text_color(*_GREY)
        self.set_xy(_MARGIN_X, top + 1.5)
        page = self.labels["page"].format(page=self.page_no(), pages=self.total_pages)
        page_width = self.get_string_width(page) + 1
        self.cell(self.content_width - page_width, 5, self.labels["hash"] + self.doc.content_sha256)
        self.cell(page_width, 5, page, align=Align.R)
        self.set_text_color(*_INK)

    @contextmanager
    def stroked(
        self, stroke: float = _EMPHASIS_STROKE, ink: tuple[int, int, int] = _INK
    ) -> Iterator[None]:
        """Emulated bold: fill and stroke the glyph outlines (PDF text render mode 2).

        ``ink`` is the text colour in use, so the stroke matches the fill.
        """
        with self.local_context(text_mode=TextMode.FILL_STROKE):  # restores colour and width
            self.set_draw_color(*ink)
            self.set_line_width(stroke)
            yield

    # --- content ---

    def build(self) -> _AgreementPDF:
        doc = self.doc
        self.add_page()
        self.title_block()
        self.parties_block()
        if doc.preamble:
            self.paragraphs(doc.preamble)
        for section in doc.sections:
            self.section(section)
        if doc.schedule:
            self.schedule()
        self.signature_block()
        return self

    def title_block(self) -> None:
        self.set_font(_FAMILY, size=_TITLE_PT)
        with self.stroked(0.45):
            self.cell(0, 11, self.doc.title, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(_FAMILY, size=_BODY_PT)
        number = self.labels["number"].format(number=self.doc.number)
        mark = self.labels["copy_mark"].format(copy=self.doc.copy_label)
        self.cell(0, 6, f"{number}    {mark}", align=Align.C)
        self.ln(11)

    def heading(self, text: str, keep_with: float) -> None:
        self.set_font(_FAMILY, size=_HEADING_PT)
        lines = self.wrap(text, self.content_width)
        if self.will_page_break(_HEADING_SPACE + (len(lines) - 1) * _HEADING_LINE + keep_with):
            self.add_page()
        self.ln(_HEADING_ABOVE)
        with self.stroked():
            for line in lines:
                self.cell(0, _HEADING_LINE, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(_FAMILY, size=_BODY_PT)
        self.ln(_HEADING_BELOW)

    def parties_block(self) -> None:
        self.heading(self.labels["parties"], keep_with=2 * _BODY_LINE)
        colon = self.labels["colon"]
        for party in self.doc.parties:
            self.set_font(_FAMILY, size=_BODY_PT)
            with self.stroked(0.25):
                self.lines(f"{party.role}{colon}{party.name}")
            for label, value in party.details:
                self.lines(f"{label}{colon}{value}", indent=4)
            self.ln(1.5)

    def section(self, section: Section) -> None:
        self.heading(section.heading, keep_with=2 * _BODY_LINE)
        self.paragraphs(section.body)

    def paragraphs(self, text: str) -> None:
        self.set_font(_FAMILY, size=_BODY_PT)
        first_indent = 2 * _BODY_PT * _PT if self.doc.language == "zh_CN" else 0.0
        for paragraph in text.split("\n"):
            if paragraph.strip():
                self.lines(paragraph.strip(), first_indent=first_indent)
                self.ln(1.2)

    def lines(self, text: str, indent: float = 0.0, first_indent: float = 0.0) -> None:
        width = self.content_width - indent
        wrapped = self.wrap(text, width, first_width=width - first_indent)
        for index, line in enumerate(wrapped):
            self.set_x(_MARGIN_X + indent + (first_indent if index == 0 else 0.0))
            self.cell(0, _BODY_LINE, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def wrap(self, text: str, width: float, first_width: float | None = None) -> list[str]:
        """Greedy line filling over :func:`break_units`, measured in the current font."""
        lines: list[str] = []
        current = ""
        limit = width if first_width is None else first_width
        for unit in break_units(text):
            if unit == " " and not current:
                continue
            candidate = current + unit
            if self.get_string_width(candidate.rstrip()) <= limit:
                current = candidate
                continue
            if current.strip():
                lines.append(current.rstrip())
                limit = width
                current = "" if unit == " " else unit
            else:
                current = unit
            while current and self.get_string_width(current) > limit:  # longer than a line
                cut = _longest_fitting(self, current, limit)
                lines.append(current[:cut])
                limit = width
                current = current[cut:]
        if current.strip() or not lines:
            lines.append(current.rstrip())
        return lines

    def schedule(self) -> None:
        rows = [_row(line) for line in self.doc.schedule]
        self.heading(self.labels["schedule"], keep_with=3 * _ROW_H)
        self.table_header()
        for row in rows:
            if self.will_page_break(_ROW_H):
                self.add_page()
                self.table_header()
            self.table_row(row)
        if self.doc.schedule_total:
            total = [self.labels["total"], *_row(self.doc.schedule_total)[1:]]
            if self.will_page_break(_ROW_H):
                self.add_page()
                self.table_header()
            self.table_row(total, emphasised=True)
        self.set_font(_FAMILY, size=_BODY_PT)
        self.ln(3)

    def column_widths(self) -> list[float]:
        fixed = sum(_COLUMN_WIDTHS.values())
        return [*_COLUMN_WIDTHS.values(), self.content_width - fixed]

    def table_header(self) -> None:
        self.set_font(_FAMILY, size=_TABLE_PT)
        self.set_fill_color(*_TABLE_FILL)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        with self.stroked(0.25):
            for column, width in zip(_COLUMNS, self.column_widths(), strict=True):
                align = _COLUMN_ALIGN.get(column, Align.R)
                text = self.labels[f"col.{column}"]
                self.cell(width, _ROW_H, text, border="B", align=align, fill=True)
        self.ln(_ROW_H)

    def table_row(self, row: Sequence[str], emphasised: bool = False) -> None:
        self.set_font(_FAMILY, size=_TABLE_PT)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.1)
        with self.stroked(0.25) if emphasised else _nothing():
            for column, width, text in zip(_COLUMNS, self.column_widths(), row, strict=True):
                align = _COLUMN_ALIGN.get(column, Align.R)
                self.cell(width, _ROW_H, text, border="B", align=align)
        self.ln(_ROW_H)

    def signature_block(self) -> None:
        sig = self.doc.signatures
        labels = self.labels
        self.set_font(_FAMILY, size=_BODY_PT)
        originals = self.wrap(_originals(self.doc), self.content_width)
        # The "two originals, this is the ... copy" line stays on the page with the signatures.
        signing = _SIGN_SPACE + 3 * _BODY_LINE + _FIELD_GAP
        if self.will_page_break(2 + len(originals) * _BODY_LINE + _HEADING_SPACE + signing):
            self.add_page()
        self.ln(2)
        self.lines(_originals(self.doc))
        self.heading(labels["signatures"], keep_with=signing)
        half = self.content_width / 2
        top = self.y
        for column, (title, label, value) in enumerate(
            (
                (labels["sig.bank"], labels["sig.bank_signatory"], sig.bank_signatory),
                (
                    labels["sig.borrower"],
                    labels["sig.borrower_confirmation"],
                    sig.borrower_confirmation,
                ),
            )
        ):
            x = _MARGIN_X + column * half
            self.set_xy(x, top)
            with self.stroked(0.25):
                self.cell(half, _BODY_LINE, title)
            self.set_xy(x, top + _BODY_LINE + _SIGN_SPACE)  # room for a seal or a signature
            self.field(label, value, half - 6)
        self.set_xy(_MARGIN_X, top + _BODY_LINE + _SIGN_SPACE + _BODY_LINE + _FIELD_GAP)
        row = self.y
        self.field(labels["sig.place"], sig.place, half - 6)
        self.set_xy(_MARGIN_X + half, row)
        self.field(labels["sig.date"], sig.date, half - 6)
        self.set_xy(_MARGIN_X, row + _BODY_LINE)

    def field(self, label: str, value: str, width: float) -> None:
        """``label`` then the value on a rule, or a blank rule to write on."""
        x, y = self.x, self.y
        label_width = self.get_string_width(label) + 0.5
        self.cell(label_width, _BODY_LINE, label)
        self.cell(max(width - label_width, 10), _BODY_LINE, value)
        self.set_draw_color(*_INK)
        self.set_line_width(0.25)
        base = y + _BODY_LINE - 0.8
        self.line(x + label_width, base, x + width, base)


def _longest_fitting(pdf: FPDF, text: str, limit: float) -> int:
    """How many leading characters of ``text`` fit in ``limit`` (at least one)."""
    cut = 1
    while cut < len(text) and pdf.get_string_width(text[: cut + 1]) <= limit:
        cut += 1
    return cut


@contextmanager
def _nothing() -> Iterator[None]:
    yield
