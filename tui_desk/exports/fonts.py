"""The Chinese font the desk's PDFs are set in, from a package the project installs itself.

The font is **Noto Sans CJK SC** (SIL Open Font License 1.1), Regular weight, from the
``noto-cjk-sans-otc`` wheel, which carries the upstream ``NotoSansCJK-Regular.ttc``
collection: its faces (JP, KR, SC, TC, HK, and Mono) share one glyph set and differ in the
default regional forms, so the SC face is picked by name for Simplified Chinese.

A PDF needs nothing installed on the reader's machine: every document embeds a subset of
the glyphs it uses. The collection's outlines are CID-keyed CFF; fpdf2 embeds such a font
with a custom code-to-CID CMap, whose widths some text extractors (pypdf among them)
misread, inserting a space between every two Chinese characters. So
:func:`truetype_subset` cuts the face down to the document's characters and converts the
cubic CFF outlines to TrueType quadratics (cu2qu, at most 1 unit off on the 1000-unit em,
invisible in print): the PDF then carries an Identity-H ``CIDFontType2`` font with a
``/FontFile2``, the form every reader and extractor handles. Cutting first keeps that fast
(a few hundred glyphs, not 65,000).
"""

from __future__ import annotations

import functools
import io
from importlib import resources
from pathlib import Path
from typing import Any

from fontTools import subset  # type: ignore[import-untyped]
from fontTools.pens.cu2quPen import Cu2QuPen  # type: ignore[import-untyped]
from fontTools.pens.ttGlyphPen import TTGlyphPen  # type: ignore[import-untyped]
from fontTools.ttLib import TTCollection, TTFont, newTable  # type: ignore[import-untyped]

FONT_DISTRIBUTION = "noto-cjk-sans-otc"
FONT_PACKAGE = "noto_cjk_sans_otc"
FONT_FILE = "NotoSansCJK-Regular.ttc"
FACE_FAMILY = "Noto Sans CJK SC"
FONT_LICENSE = "SIL Open Font License 1.1"
# Largest distance, in font units (1000 to the em), between a CFF curve and its quadratic.
_MAX_ERROR = 1.0
# Tables a PDF never uses; dropping them keeps the embedded subset small.
_DROP_TABLES = ("vhea", "vmtx", "VORG", "BASE", "JSTF", "MATH", "DSIG", "meta")


class CJKFontError(RuntimeError):
    """The Chinese font is not installed or not usable."""


def font_path() -> Path:
    """The installed ``NotoSansCJK-Regular.ttc``; :class:`CJKFontError` naming the fix if absent."""
    hint = (
        f"the Chinese font for PDF documents comes from the {FONT_DISTRIBUTION!r} package, "
        "a dependency of tui-desk: reinstall with `make install` "
        f"(or `pip install {FONT_DISTRIBUTION}`)"
    )
    try:
        resource = resources.files(FONT_PACKAGE).joinpath(FONT_FILE)
    except ModuleNotFoundError as exc:
        raise CJKFontError(f"{FONT_DISTRIBUTION} is not installed: {hint}") from exc
    path = Path(str(resource))
    if not path.is_file():
        raise CJKFontError(f"{FONT_FILE} is missing from {FONT_DISTRIBUTION}: {hint}")
    return path


@functools.cache
def face_index(path: Path) -> int:
    """The index in the collection of the Simplified Chinese face (found by its family name)."""
    collection = TTCollection(str(path), lazy=True)
    try:
        families = [face["name"].getDebugName(1) for face in collection.fonts]
    finally:
        collection.close()
    if FACE_FAMILY not in families:
        raise CJKFontError(f"{path.name} has no {FACE_FAMILY!r} face (it has {families})")
    return families.index(FACE_FAMILY)


@functools.lru_cache(maxsize=16)
def truetype_subset(text: str) -> bytes:
    """The SC face cut down to ``text``'s characters, with TrueType outlines, as font bytes.

    Deterministic: the same text gives the same bytes (no timestamp is recalculated).
    Characters the font lacks are left out; the PDF shows them as the empty ``.notdef``.
    """
    path = font_path()
    font = TTFont(str(path), fontNumber=face_index(path), lazy=True, recalcTimestamp=False)
    try:
        options = subset.Options()
        options.layout_features = []  # fpdf2 sets text without shaping: no GSUB/GPOS needed
        options.hinting = False
        options.notdef_outline = True
        options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
        options.drop_tables = [*options.drop_tables, *_DROP_TABLES]
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        _cff_to_truetype(font)
        buffer = io.BytesIO()
        font.save(buffer)
    finally:
        font.close()
    return buffer.getvalue()


def _cff_to_truetype(font: Any) -> None:
    """Replace a ``CFF `` table by ``glyf``/``loca`` (after fontTools' otf2ttf snippet)."""
    if "CFF " not in font:
        return
    glyph_order: list[str] = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, _MAX_ERROR, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = glyphs
    del font["CFF "]
    glyf.compile(font)  # computes each glyph's bounding box
    hmtx = font["hmtx"]
    for name, glyph in glyf.glyphs.items():
        if hasattr(glyph, "xMin"):  # TrueType wants the left side bearing to equal xMin
            hmtx[name] = (hmtx[name][0], glyph.xMin)
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for field in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = glyph_order
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"
