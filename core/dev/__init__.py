"""Embedded servers and the one-command dev stack (`hive dev`)."""
