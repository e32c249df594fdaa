"""`python -m tui_desk`: the command line, ``tui_desk.cli``."""

from tui_desk.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
