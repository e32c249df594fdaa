"""The repayment agreement as PDF and Markdown: Chinese that extracts, an embedded subset font,
the content hash and page number on every page, the same bytes twice."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from dataclasses import replace
from typing import Any

import pytest
from pypdf import PdfReader

from tui_desk.exports.agreement_document import (
    AgreementDocument,
    CopyKind,
    Party,
    ScheduleLine,
    Section,
    SectionKind,
    Signatures,
    both_copies,
    break_units,
    content_digest,
    render_markdown,
)
from tui_desk.exports.agreement_pdf import render_pdf
from tui_desk.exports.fonts import CJKFontError, face_index, font_path, truetype_subset

BORROWER = "欧阳晓梅"
HASH = "3f5a9c0e7b21d4468a0f1c2b3d4e5f60718293a4b5c6d7e8f90123456789abcd"


def _money(fen: int) -> str:
    units, cents = divmod(fen, 100)
    return f"{units:,}.{cents:02d}"


def _schedule(count: int) -> tuple[ScheduleLine, ...]:
    lines = []
    day = dt.date(2026, 4, 15)
    for seq in range(1, count + 1):
        principal, interest = 125_000 + seq, 3_150 - seq * 10
        lines.append(
            ScheduleLine(
                str(seq),
                day.isoformat(),
                _money(principal),
                _money(interest),
                _money(principal + interest),
            )
        )
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 15)
    return tuple(lines)


def _total(count: int) -> ScheduleLine:
    principal = sum(125_000 + seq for seq in range(1, count + 1))
    interest = sum(3_150 - seq * 10 for seq in range(1, count + 1))
    return ScheduleLine("", "", _money(principal), _money(interest), _money(principal + interest))


def chinese_agreement(**changes: Any) -> AgreementDocument:
    schedule = _schedule(40)
    doc = AgreementDocument(
        title="逾期贷款分期还款协议",
        number="HK-2026-000417",
        copy=CopyKind.BANK,
        parties=(
            Party(
                "甲方（贷款人）",
                "示例银行股份有限公司深圳分行",
                (("地址", "深圳市福田区益田路5023号"), ("联系电话", "0755-8888****")),
            ),
            Party(
                "乙方（借款人）",
                BORROWER,
                (
                    ("身份证号", "440301********123X"),
                    ("住址", "深圳市南山区科技园南区高新南七道18号3栋1201室"),
                    ("手机", "138****8000"),
                ),
            ),
        ),
        preamble=(
            "甲、乙双方经上门协商，就乙方在甲方办理的个人消费贷款（合同编号 PL-2023-88123）"
            "逾期欠款的偿还事宜，本着平等自愿、诚实信用的原则，达成如下协议，双方共同遵守。"
        ),
        sections=(
            Section(
                SectionKind.BALANCE,
                "第一条 欠款余额及构成",
                "截至2026年3月1日，乙方尚欠甲方本金人民币50,000.00元、利息1,234.56元、"
                "罚息321.00元、费用0.00元，合计51,555.56元。",
            ),
            Section(
                SectionKind.RIGHTS_AND_OBLIGATIONS,
                "第二条 甲乙双方的权利和义务",
                "1. 甲方有权按本协议约定收取各期还款，并应在乙方结清后出具结清证明。\n"
                "2. 乙方应按本协议约定的期限和金额足额还款，如联系方式、住址或收入情况发生变化，"
                "应在五个工作日内书面通知甲方。",
            ),
            Section(
                SectionKind.TERM_AND_FREQUENCY,
                "第三条 还款期限与频率",
                "还款期限自2026年4月15日起至2029年7月15日止，共40期，按月还款，每月15日为还款日，"
                "各期金额见本协议所附还款计划表。",
            ),
            Section(
                SectionKind.INTEREST_DURING_REPAYMENT,
                "第四条 还款期间的利息与费用",
                "在乙方按期足额履行本协议期间，甲方暂停计收罚息及其他费用，利息按还款计划表计收。",
            ),
            Section(
                SectionKind.BORROWER_UNDERTAKINGS,
                "第五条 乙方承诺",
                "乙方承诺所提供的身份、住址、收入及资产资料真实、完整、有效，并承诺本协议约定的"
                "还款金额在其实际还款能力范围之内。",
            ),
            Section(
                SectionKind.BREACH_LIABILITY,
                "第六条 违约责任",
                "乙方任一期未按约定足额还款且逾期超过三十日的，甲方有权宣布本协议项下剩余款项"
                "全部提前到期，并恢复计收罚息。",
            ),
            Section(
                SectionKind.LEGAL_REMEDIES,
                "第七条 争议解决与法律救济",
                "因本协议发生的争议，双方应协商解决；协商不成的，任何一方均可向甲方所在地有管辖权的"
                "人民法院提起诉讼。",
            ),
            Section(
                SectionKind.SPECIAL_TERMS,
                "第八条 特别约定",
                "乙方提前结清全部欠款的，甲方减免已计收利息的百分之十（10%）作为提前结清奖励。",
            ),
        ),
        schedule=schedule,
        schedule_total=_total(40),
        signatures=Signatures(),
        content_sha256=HASH,
        language="zh_CN",
        prepared_on=dt.date(2026, 3, 2),
        issuer="示例银行",
        form_code="HKXY-2026.1",
    )
    return replace(doc, **changes)


def english_agreement() -> AgreementDocument:
    doc = chinese_agreement()
    return replace(
        doc,
        title="Repayment Agreement",
        language="en",
        profile="us-regf",
        issuer="Example Bank",
        preamble="The parties agree as follows.",
        parties=(
            Party("Party A (lender)", "Example Bank, N.A.", (("Address", "1 Main St"),)),
            Party("Party B (borrower)", "Jane Q. Public", (("Phone", "(555) ***-0100"),)),
        ),
        sections=(
            Section(SectionKind.RIGHTS_AND_OBLIGATIONS, "1. Rights and obligations", "Both ..."),
            Section(SectionKind.TERM_AND_FREQUENCY, "2. Term and frequency", "Monthly, 40."),
            Section(SectionKind.BREACH_LIABILITY, "3. Liability for breach", "If late ..."),
            Section(SectionKind.LEGAL_REMEDIES, "4. Legal remedies", "Courts of ..."),
        ),
        schedule=_schedule(3),
        schedule_total=None,
        signatures=Signatures("J. Smith", "Jane Q. Public", "Springfield", "2026-03-02"),
    )


@pytest.fixture(scope="module")
def chinese_pdf() -> bytes:
    return render_pdf(chinese_agreement())


@pytest.fixture(scope="module")
def reader(chinese_pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(chinese_pdf))


def _fonts(reader: PdfReader) -> list[tuple[str, Any]]:
    """(BaseFont, FontDescriptor) of every font used on any page."""
    found = {}
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for ref in resources["/Font"].values():
            font = ref.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            found[str(font["/BaseFont"])] = descendant["/FontDescriptor"].get_object()
    return sorted(found.items())


def test_the_agreement_runs_to_several_pages(reader: PdfReader) -> None:
    assert len(reader.pages) >= 3


def test_every_page_carries_the_hash_and_its_number(reader: PdfReader) -> None:
    pages = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert HASH in text, number
        assert f"第 {number} / {pages} 页" in text
        assert "银行留存联" in text  # the copy is named on every page


def test_chinese_text_extracts(reader: PdfReader) -> None:
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (
        "逾期贷款分期还款协议",
        "甲方（贷款人）",
        "违约责任",
        "法律救济",
        BORROWER,
        "本协议一式两份",
        "各保留一份原件",
        "示例银行统一印制",
        "51,186.20",
    ):
        assert expected in text
    assert not re.search(r"甲 方|违 约", text)  # no space between every two characters


def test_the_font_is_embedded_and_subset(reader: PdfReader) -> None:
    fonts = _fonts(reader)
    assert fonts
    for name, descriptor in fonts:
        assert re.fullmatch(r"/[A-Z]{6}\+\S+", name), name
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor, name


def test_the_pdf_is_small(chinese_pdf: bytes) -> None:
    assert len(chinese_pdf) < 1_000_000


def test_the_same_document_gives_the_same_bytes(chinese_pdf: bytes) -> None:
    truetype_subset.cache_clear()
    assert render_pdf(chinese_agreement()) == chinese_pdf


def test_the_pdf_dates_come_from_the_document(reader: PdfReader) -> None:
    assert reader.metadata is not None
    assert reader.metadata.creation_date is not None
    assert reader.metadata.creation_date.date() == dt.date(2026, 3, 2)


def test_no_glyph_is_missing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        render_pdf(chinese_agreement(title="还款协议（补充）——「特别版」"))
    assert not [r for r in caplog.records if "missing" in r.getMessage().lower()]


def test_the_borrower_copy_differs_only_in_its_label() -> None:
    bank, borrower = both_copies(chinese_agreement())
    text = PdfReader(io.BytesIO(render_pdf(borrower))).pages[0].extract_text()
    assert "借款人留存联" in text
    assert "银行留存联" not in text.replace("借款人留存联", "")
    assert content_digest(bank) == content_digest(borrower)


def test_signatures_print_when_given() -> None:
    signed = chinese_agreement(
        signatures=Signatures(
            "张建国", "欧阳晓梅（本人已阅读并同意）", "深圳市南山区", "2026年3月2日"
        )
    )
    last = PdfReader(io.BytesIO(render_pdf(signed))).pages[-1].extract_text()
    for value in ("张建国", "本人已阅读并同意", "深圳市南山区", "2026年3月2日"):
        assert value in last


def test_the_english_variant_renders() -> None:
    doc = english_agreement()
    reader = PdfReader(io.BytesIO(render_pdf(doc)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Repayment Agreement" in text
    assert "Liability for breach" in text
    assert "Jane Q. Public" in text
    assert f"Page 1 of {len(reader.pages)}" in text
    assert HASH in text
    assert "Bank copy" in text


def test_markdown_has_every_heading_and_the_hash() -> None:
    doc = chinese_agreement()
    markdown = render_markdown(doc)
    for section in doc.sections:
        assert f"## {section.heading}" in markdown
    assert HASH in markdown
    assert "银行留存联" in markdown
    assert "| 40 | 2029-07-15 |" in markdown
    assert BORROWER in markdown


def test_english_markdown() -> None:
    markdown = render_markdown(english_agreement())
    assert "## 4. Legal remedies" in markdown
    assert "Bank copy" in markdown
    assert HASH in markdown


@pytest.mark.parametrize(
    "kind", [SectionKind.BREACH_LIABILITY, SectionKind.BALANCE, SectionKind.LEGAL_REMEDIES]
)
def test_a_required_clause_cannot_be_left_out(kind: SectionKind) -> None:
    doc = chinese_agreement()
    doc = replace(doc, sections=tuple(s for s in doc.sections if s.kind != kind))
    with pytest.raises(ValueError, match=kind.value):
        render_pdf(doc)
    with pytest.raises(ValueError, match=kind.value):
        render_markdown(doc)


def test_the_hash_must_be_a_sha256() -> None:
    with pytest.raises(ValueError, match="content_sha256"):
        render_markdown(chinese_agreement(content_sha256="abc"))


def test_line_breaks_keep_numbers_whole_and_punctuation_off_the_line_start() -> None:
    units = break_units("合计51,555.56元。乙方（借款人）同意 pay monthly")
    assert "51,555.56" in units
    assert not any(unit[0] in "，。）" for unit in units)
    assert "（借" in units
    assert "元。" in units
    assert [u for u in units if u.isascii() and u != " "] == ["51,555.56", "pay", "monthly"]


def test_the_font_comes_from_the_installed_package() -> None:
    path = font_path()
    assert path.name == "NotoSansCJK-Regular.ttc"
    assert face_index(path) >= 0


def test_a_missing_font_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui_desk.exports.fonts.FONT_PACKAGE", "no_such_font_package")
    with pytest.raises(CJKFontError, match="noto-cjk-sans-otc"):
        font_path()


@pytest.mark.parametrize("issuer", ["示例银行", "示例银行统一印制"])
def test_the_imprint_is_printed_once(issuer: str) -> None:
    """Agreements drafted on the first form carry an issuer that is already the imprint."""
    text = render_markdown(chinese_agreement(issuer=issuer))
    assert "示例银行统一印制" in text
    assert "统一印制统一印制" not in text
