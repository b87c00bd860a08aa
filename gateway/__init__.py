"""The HTTP gateway: a thin Litestar edge that turns requests into events or read-model queries."""
