"""Pure policy: no I/O, no clock. Every rule takes `now` and facts and returns a decision."""
