"""The repayment agreement (process step 6) as a document: its parts, checks and Markdown.

The PDF to print and sign is laid out by :mod:`tui_desk.exports.agreement_pdf` (loaded on
the first export).

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
import unicodedata
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

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
