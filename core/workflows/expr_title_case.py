"""Title case as the npm package title-case 3 (which n8n's toTitleCase calls) writes it."""

from __future__ import annotations

import re

from core.workflows import expr_budget

_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# Words are runs without spaces, colons or dashes; any other character but a line end is a token of its own
# (JavaScript's `.` skips line ends, so the package drops them: kept faithfully).
_TOKENS = re.compile(f"[^{_JS_SPACE}:\u2013\u2014-]+|[^\n\r\u2028\u2029]")
_SMALL_WORDS = re.compile(r"\b(?:an?d?|a[st]|because|but|by|en|for|i[fn]|neither|nor|o[fnr]|only|over|per|so|"
                          r"some|tha[tn]|the|to|up|upon|vs?\.?|versus|via|when|with|without|yet)\b",
                          re.IGNORECASE | re.ASCII)
_SPACE = re.compile(f"[{_JS_SPACE}]")
_MANUAL_CASE = re.compile(r"[^\n\r\u2028\u2029](?=[A-Z]|\.[^\n\r\u2028\u2029])")
_ALPHANUMERIC = re.compile("[A-Za-z0-9\u00c0-\u00ff]")


def title_case(text: str) -> str:
    expr_budget.charge(len(text))
    out = []
    for m in _TOKENS.finditer(text):
        token, start = m.group(0), m.start()
        end = start + len(token)
        follows = text[end:end + 1]
        if (not _MANUAL_CASE.search(token)
                and (not _SMALL_WORDS.search(token) or start == 0 or end == len(text))
                and (follows != ":" or bool(_SPACE.match(text[end + 1:end + 2])))):
            out.append(_ALPHANUMERIC.sub(lambda c: c.group(0).upper(), token, count=1))
        else:
            out.append(token)
    return "".join(out)
