"""The repayment agreement (process step 6) as a PDF to print and sign, and as Markdown.

The bank's standard form (统一印制) is printed twice: a bank copy (银行留存联) and a
borrower copy (借款人留存联), and each side keeps a signed original. Both copies carry the
same SHA-256 of the agreement's content, printed with the page number at the foot of every
page, so a page can be matched to the agreement it belongs to and a changed text shows.

The renderer is pure: an :class:`AgreementDocument` of already formatted strings in, bytes
or text out; no database, no clock, no global language (labels follow the document's own
``language``; the gettext catalogues are not consulted, so a PDF never depends on the
desk's current language). The Chinese font is embedded as a subset (see
:mod:`tui_desk.exports.fonts`), so the PDF shows the same on any machine. The same
document gives the same bytes: the PDF's dates come from ``prepared_on``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Literal

from fpdf import FPDF
from fpdf.enums import Align, TextMode, XPos, YPos

from tui_desk.exports.fonts import FONT_LICENSE, truetype_subset
from tui_desk.views.safe import SafeText

Language = Literal["zh_CN", "en"]


class CopyKind(StrEnum):
    BANK = "bank"
    BORROWER = "borrower"


class SectionKind(StrEnum):
    """What a clause is about, so a missing required clause is caught before printing."""

    RIGHTS_AND_OBLIGATIONS = "rights_and_obligations"
    TERM_AND_FREQUENCY = "term_and_frequency"
    BREACH_LIABILITY = "breach_liability"
    LEGAL_REMEDIES = "legal_remedies"
    BALANCE = "balance"  # the balance owed and its structure
    INTEREST_DURING_REPAYMENT = "interest_during_repayment"  # do interest/fees still accrue
    BORROWER_UNDERTAKINGS = "borrower_undertakings"
    SPECIAL_TERMS = "special_terms"
    OTHER = "other"


# The process (step 6): every agreement states at least these.
REQUIRED_SECTIONS: tuple[SectionKind, ...] = (
    SectionKind.RIGHTS_AND_OBLIGATIONS,
    SectionKind.TERM_AND_FREQUENCY,
    SectionKind.BREACH_LIABILITY,
    SectionKind.LEGAL_REMEDIES,
)
# The CN profile also wants the balance, whether interest runs on, and the undertakings.
REQUIRED_SECTIONS_BY_PROFILE: dict[str, tuple[SectionKind, ...]] = {
    "cn": (
        *REQUIRED_SECTIONS,
        SectionKind.BALANCE,
        SectionKind.INTEREST_DURING_REPAYMENT,
        SectionKind.BORROWER_UNDERTAKINGS,
    ),
    "us-regf": REQUIRED_SECTIONS,
}


@dataclass(frozen=True)
class Party(SafeText):
    role: str  # "甲方（贷款人）" / "Party A (lender)"
    name: str
    details: tuple[tuple[str, str], ...] = ()  # (label, value): address, ID (masked), ...


@dataclass(frozen=True)
class Section(SafeText):
    kind: SectionKind
    heading: str
    body: str  # paragraphs separated by "\n"


@dataclass(frozen=True)
class ScheduleLine(SafeText):
    seq: str
    due_date: str
    principal: str
    interest: str
    amount: str


@dataclass(frozen=True)
class Signatures(SafeText):
    """What is already signed; an empty field prints as a blank line to sign on."""

    bank_signatory: str = ""
    borrower_confirmation: str = ""
    place: str = ""
    date: str = ""


@dataclass(frozen=True)
class AgreementDocument(SafeText):
    title: str
    number: str
    copy: CopyKind
    parties: tuple[Party, ...]
    sections: tuple[Section, ...]  # in print order
    schedule: tuple[ScheduleLine, ...]
    signatures: Signatures
    content_sha256: str  # 64 hex digits, printed on every page
    language: Language
    prepared_on: dt.date  # the PDF's creation date (never "now": same input, same bytes)
    profile: str = "cn"  # which clauses are required (REQUIRED_SECTIONS_BY_PROFILE)
    issuer: str = ""  # the bank whose standard form this is: "…统一印制"
    form_code: str = ""  # the standard form's code and version
    preamble: str = ""
    schedule_total: ScheduleLine | None = None

    @property
    def copy_label(self) -> str:
        return _labels(self.language)[f"copy.{self.copy.value}"]


def both_copies(doc: AgreementDocument) -> tuple[AgreementDocument, AgreementDocument]:
    """The bank copy and the borrower copy of one agreement (same content, same hash)."""
    return replace(doc, copy=CopyKind.BANK), replace(doc, copy=CopyKind.BORROWER)


def content_digest(doc: AgreementDocument) -> str:
    """A SHA-256 over what both copies say alike: not the copy label, signatures or hash.

    Canonical JSON (sorted keys, UTF-8), so any process can recompute it from the same
    fields. Callers that hash the stored agreement text their own way pass that instead.
    """
    payload = {
        "title": doc.title,
        "number": doc.number,
        "language": doc.language,
        "profile": doc.profile,
        "issuer": doc.issuer,
        "form_code": doc.form_code,
        "preamble": doc.preamble,
        "parties": [[p.role, p.name, [list(d) for d in p.details]] for p in doc.parties],
        "sections": [[s.kind.value, s.heading, s.body] for s in doc.sections],
        "schedule": [_row(line) for line in doc.schedule],
        "schedule_total": _row(doc.schedule_total) if doc.schedule_total else None,
    }
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def missing_sections(doc: AgreementDocument) -> list[SectionKind]:
    required = REQUIRED_SECTIONS_BY_PROFILE.get(doc.profile, REQUIRED_SECTIONS)
    present = {section.kind for section in doc.sections}
    return [kind for kind in required if kind not in present]


def check(doc: AgreementDocument) -> None:
    """Refuse, naming what is wrong, a document that must not be printed."""
    if doc.language not in _LABELS:
        raise ValueError(f"unknown agreement language {doc.language!r} (zh_CN or en)")
    if not re.fullmatch(r"[0-9a-f]{64}", doc.content_sha256):
        raise ValueError("content_sha256 must be 64 lowercase hex digits")
    if missing := missing_sections(doc):
        names = ", ".join(kind.value for kind in missing)
        raise ValueError(f"the agreement lacks required clauses ({doc.profile}): {names}")


# --- labels -----------------------------------------------------------------------------

_LABELS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "copy.bank": "银行留存联",
        "copy.borrower": "借款人留存联",
        "copy_mark": "【{copy}】",
        "number": "协议编号：{number}",
        "imprint": "{issuer}统一印制",
        "form": "格式文本编号：{code}",
        "parties": "协议双方",
        "schedule": "还款计划表",
        "col.seq": "期次",
        "col.due": "到期日",
        "col.principal": "本金",
        "col.interest": "利息",
        "col.amount": "应还金额",
        "total": "合计",
        "originals": (
            "本协议一式两份，甲方、乙方各执一份，经双方签署后各保留一份原件备查，"
            "两份具有同等法律效力。本份为{copy}。"
        ),
        "signatures": "签署",
        "sig.bank": "甲方（盖章）",
        "sig.bank_signatory": "授权签字人：",
        "sig.borrower": "乙方（签字）",
        "sig.borrower_confirmation": "借款人签字确认：",
        "sig.place": "签署地点：",
        "sig.date": "签署日期：",
        "hash": "文本摘要 SHA-256：",
        "page": "第 {page} / {pages} 页",
        "colon": "：",
    },
    "en": {
        "copy.bank": "Bank copy",
        "copy.borrower": "Borrower copy",
        "copy_mark": "[{copy}]",
        "number": "Agreement no. {number}",
        "imprint": "Standard form of {issuer}",
        "form": "Form {code}",
        "parties": "Parties",
        "schedule": "Repayment schedule",
        "col.seq": "No.",
        "col.due": "Due date",
        "col.principal": "Principal",
        "col.interest": "Interest",
        "col.amount": "Amount due",
        "total": "Total",
        "originals": (
            "This agreement is made in two originals; the bank and the borrower each keep "
            "one signed original, and both have the same legal effect. This is the {copy}."
        ),
        "signatures": "Signatures",
        "sig.bank": "Party A (seal)",
        "sig.bank_signatory": "Authorised signatory: ",
        "sig.borrower": "Party B (signature)",
        "sig.borrower_confirmation": "Borrower's confirmation: ",
        "sig.place": "Place of signing: ",
        "sig.date": "Date of signing: ",
        "hash": "Content SHA-256: ",
        "page": "Page {page} of {pages}",
        "colon": ": ",
    },
}


def _labels(language: str) -> dict[str, str]:
    return _LABELS.get(language, _LABELS["en"])


def _row(line: ScheduleLine) -> list[str]:
    return [line.seq, line.due_date, line.principal, line.interest, line.amount]


def _originals(doc: AgreementDocument) -> str:
    copy = doc.copy_label if doc.language == "zh_CN" else doc.copy_label.lower()
    return _labels(doc.language)["originals"].format(copy=copy)


def _is_imprint_phrase(issuer: str) -> bool:
    """An issuer line that is itself the imprint ("Printed uniformly by the bank")."""
    low = issuer.lower()
    return "统一印制" in issuer or "printed uniformly" in low or "standard form" in low


def _imprint(doc: AgreementDocument) -> str:
    labels = _labels(doc.language)
    parts = []
    if doc.issuer:
        # A form whose issuer line already says it is the bank's standard form (the
        # shipped templates' "示例银行统一印制") is printed as it is, not imprinted twice.
        issuer = doc.issuer.strip()
        if _is_imprint_phrase(issuer):
            parts.append(issuer)
        else:
            parts.append(labels["imprint"].format(issuer=issuer))
    if doc.form_code:
        parts.append(labels["form"].format(code=doc.form_code))
    return "  ".join(parts)


# --- Markdown ---------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_markdown(doc: AgreementDocument) -> str:
    """The agreement as Markdown: the same content, labels and hash as the PDF."""
    check(doc)
    labels = _labels(doc.language)
    colon = labels["colon"]
    out = [f"# {_md(doc.title)}", ""]
    out.append(f"{_md(labels['number'].format(number=doc.number))}  ")
    out.append(f"**{_md(doc.copy_label)}**")
    if imprint := _imprint(doc):
        out[-1] += "  "
        out.append(_md(imprint))
    out += ["", f"## {_md(labels['parties'])}", ""]
    for party in doc.parties:
        out.append(f"**{_md(party.role)}**{colon}{_md(party.name)}  ")
        out += [f"{_md(label)}{colon}{_md(value)}  " for label, value in party.details]
        out[-1] = out[-1].rstrip()
        out.append("")
    if doc.preamble:
        out += [*_md_paragraphs(doc.preamble), ""]
    for section in doc.sections:
        out += [f"## {_md(section.heading)}", "", *_md_paragraphs(section.body), ""]
    if doc.schedule:
        out += [f"## {_md(labels['schedule'])}", ""]
        out.append("| " + " | ".join(_md(labels[f"col.{c}"]) for c in _COLUMNS) + " |")
        out.append("|" + "|".join(_MD_ALIGN[c] for c in _COLUMNS) + "|")
        rows = [_row(line) for line in doc.schedule]
        if doc.schedule_total:
            total = _row(doc.schedule_total)
            rows.append([labels["total"], *total[1:]])
        cells = [[_md(cell) for cell in row] for row in rows]
        if doc.schedule_total:
            cells[-1] = [f"**{cell}**" if cell else cell for cell in cells[-1]]
        out += ["| " + " | ".join(row) + " |" for row in cells]
        out.append("")
    out += [_md(_originals(doc)), "", f"## {_md(labels['signatures'])}", ""]
    sig = doc.signatures
    for label, value in (
        (f"{labels['sig.bank']} {labels['sig.bank_signatory']}", sig.bank_signatory),
        (
            f"{labels['sig.borrower']} {labels['sig.borrower_confirmation']}",
            sig.borrower_confirmation,
        ),
        (labels["sig.place"], sig.place),
        (labels["sig.date"], sig.date),
    ):
        out.append(f"- {_md(label)}{_md(value) if value else _BLANK}")
    out += ["", "---", "", f"{_md(labels['hash'])}`{doc.content_sha256}`", ""]
    return "\n".join(out)


_BLANK = "\\_" * 16
_COLUMNS = ("seq", "due", "principal", "interest", "amount")
_MD_ALIGN = {
    "seq": ":---:",
    "due": ":---:",
    "principal": "---:",
    "interest": "---:",
    "amount": "---:",
}


def _md_paragraphs(text: str) -> list[str]:
    paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
    out: list[str] = []
    for paragraph in paragraphs:
        if out:
            out.append("")
        out.append(_md(paragraph))
    return out


# --- line breaking ----------------------------------------------------------------------

# Never at the start of a line (closing punctuation) / never at the end (opening).
_NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉”’％‰…—～·,.;:?!)]}%")
_NO_LINE_END = frozenset("（《「『【〔〈“‘([{")


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def break_units(text: str) -> list[str]:
    """Split a line of text where it may break: between two Chinese characters, at spaces.

    A run of Latin letters, digits and their punctuation ("12,345.67", "2026-03-01") is one
    unit; a space is its own unit (dropped at a line's ends); closing punctuation sticks
    to what precedes it and opening punctuation to what follows (no "，" starts a line).
    """
    units: list[str] = []
    word = ""
    for char in text:
        if char == " " or _is_wide(char):
            if word:
                units.append(word)
                word = ""
            units.append(char)
        else:
            word += char
    if word:
        units.append(word)
    glued: list[str] = []
    stick_to_next = False
    for unit in units:
        if unit == " ":
            glued.append(unit)
            stick_to_next = False
            continue
        if glued and glued[-1] != " " and (stick_to_next or unit[0] in _NO_LINE_START):
            glued[-1] += unit
        else:
            glued.append(unit)
        stick_to_next = unit[-1] in _NO_LINE_END
    return glued


# --- PDF --------------------------------------------------------------------------------

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


def render_pdf(doc: AgreementDocument) -> bytes:
    """The agreement as an A4 PDF with its Chinese font embedded as a subset."""
    check(doc)
    with tempfile.TemporaryDirectory(prefix="tui-desk-font-") as folder:
        font_file = Path(folder) / "NotoSansCJKsc-subset.ttf"
        font_file.write_bytes(truetype_subset(_all_text(doc)))
        # The footer says "page 1 of N": lay out once to learn N, then print for real.
        pages = _AgreementPDF(doc, font_file, total_pages=0).build().pages_count
        return bytes(_AgreementPDF(doc, font_file, total_pages=pages).build().output())


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
