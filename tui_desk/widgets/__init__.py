"""One module per pane of the desk. Widgets receive dataclasses from services and never
touch the database layer."""
