"""The supervisors' wallboard in a browser: a small aiohttp server around textual-serve's
process handling, with a sign-in in front (``tui-desk serve-board``)."""
