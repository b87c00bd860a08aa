"""Paging limits shared by the list endpoints (their parameters are declared in gateway/openapi.py)."""

from __future__ import annotations

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
