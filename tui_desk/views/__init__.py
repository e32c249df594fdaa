"""View types: the frozen dataclasses services return and widgets, messages and exports show.

Nothing here imports SQLAlchemy, the database layer or the services, so a widget can import
what it draws without loading the data layer. One module per area; this package imports
none of them, so a widget loads only the view types it uses.
"""
