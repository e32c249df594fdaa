"""Demo data for `tui-desk demo` and `tui-desk seed`: a deterministic book of overdue cases.

``seeder.seed_database`` is the entry point. Rows come from the ``generator`` (one chunk of
cases at a time; ``journeys`` and ``plans`` write the history of cases that went beyond
the phone, on the ``state`` they share), drawn from the ``reference`` data; ``chunks``
runs the generator here or in helper processes and ``writer`` writes the rows in bulk, in
the column order ``tables`` fixes.
"""
