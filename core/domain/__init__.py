"""Pure domain: aggregates as folds, decisions as functions, placement policy. No I/O here."""
