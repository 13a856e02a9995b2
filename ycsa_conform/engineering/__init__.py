"""Engineering formulas from the standards: pure functions of pint quantities."""
