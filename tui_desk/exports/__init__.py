"""Documents the desk prints or saves: view types in, text out.

Exports never touch the database and never import Textual; they format what a service
returned (money from minor units, times in the sheet's zone, display-width alignment).
"""
