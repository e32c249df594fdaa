"""One module per pane of the desk. Widgets draw the view types of ``tui_desk.views`` and
never touch the services or the database layer."""
