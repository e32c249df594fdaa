"""OutageLine: one steady line while the database does not answer, gone when it is back."""

from __future__ import annotations

from textual.widgets import Static


class OutageLine(Static):
    """Shows the App's outage sentence ("database unavailable since 12:01:03, retrying").

    Hidden while the database answers. A screen pushed during an outage shows the line
    from its first frame: the widget asks the App for the sentence when it is mounted.
    """

    DEFAULT_CLASSES = "outage-line"

    def on_mount(self) -> None:
        text = getattr(self.app, "outage_text", None)
        self.show_outage(text if isinstance(text, str) else None)

    def show_outage(self, text: str | None) -> None:
        self.update(text or "")
        self.display = text is not None
