"""Clients of the systems the desk talks to over HTTP (SMS gateway, ...) and their local
stand-ins (sandboxes) used by the demo and the tests. No Textual, no database here."""
