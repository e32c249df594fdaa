"""Updating a pane's text without laying out the whole screen again.

``Static.update`` asks for a layout of the screen every time, which at 160×50 costs more
than everything else a move from one case to the next does: every widget is arranged
and drawn again. A pane's text that keeps its height needs only its own lines redrawn.
"""

from __future__ import annotations

from typing import cast

from textual.css.styles import RulesMap
from textual.visual import VisualType
from textual.widgets import Static


def update_in_place(widget: Static, content: VisualType) -> None:
    """Show ``content`` in ``widget``; draw nothing if it is what the widget shows, and lay
    the screen out again only if its size changes.

    The size can change only for a widget sized by its content (``auto``) whose new text
    takes another number of lines at its present width.
    """
    if content == widget.content:
        return  # the same text: nothing to draw
    styles = widget.styles
    if styles.width is not None and styles.width.is_auto:
        widget.update(content)  # its width follows the text: no cheap way to know
        return
    if styles.height is None or not styles.height.is_auto:
        widget.update(content, layout=False)  # its size is set by the layout alone
        return
    region = widget.content_region
    if not widget.is_mounted or region.width <= 0:
        widget.update(content)
        return
    widget.update(content, layout=False)
    # The height it has now is the height its text took (or its max-height, when the
    # text took more: then a layout is asked for, which is merely not needed).
    rules = cast(RulesMap, styles)  # what Textual itself passes: the styles read as rules
    if widget.visual.get_height(rules, region.width) != region.height:
        widget.refresh(layout=True)
