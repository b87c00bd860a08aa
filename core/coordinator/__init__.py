"""The coordinator: the single writer of task lifecycle decisions, driven by the event log and reports."""
