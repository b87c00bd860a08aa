"""Projections: PostgreSQL read models built from the event log, with checkpoints and rebuild."""
