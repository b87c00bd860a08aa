"""Audit and replay: reading the log as history, time travel, the tamper-evident digest chain, `hive audit`."""
