"""n8n-compatible workflows: parsing, validation, expressions and the pure execution engine (no I/O, no clock)."""
