"""The string methods that take patterns: match, matchAll, search, replace, replaceAll, split (regex or text),
with JavaScript's replacement patterns (`$1`, `$<name>`, `$&`, `` $` ``, `$'`, `$$`) and replacer functions."""

from __future__ import annotations

from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError
from core.workflows.expr_args import arg, cap, integer
from core.workflows.expr_regex_subject import Hit
from core.workflows.expr_regexp import RegExpValue, captures, check_input, match_array, named, to_regexp
from core.workflows.expr_values import UNDEFINED, Fn, to_string

# One match: (start, matched text, captures, named groups or undefined).
Found = tuple[int, str, list[Any], Any]


def _all(rx: RegExpValue, text: str) -> list[Hit]:
    """Every match of a global regex from the start (an empty match steps one on), leaving lastIndex at 0."""
    subject = rx.subject(text)
    out, pos = [], 0
    while pos <= len(text):
        found = rx.find(subject, pos)
        if found is None:
            break
        expr_budget.step()
        out.append(found)
        pos = found.end + (1 if found.end == found.start else 0)
    rx.last_index = 0
    return out


def match(text: str, args: list[Any]) -> Any:
    rx = to_regexp(arg(args, 0))
    if not rx.is_global:
        return rx.exec(text)
    every = _all(rx, text)
    return [m.matched for m in every] if every else None


def match_all(text: str, args: list[Any]) -> list[Any]:
    pattern = arg(args, 0)
    if isinstance(pattern, RegExpValue) and not pattern.is_global:
        raise ExpressionError("matchAll must be called with a global RegExp (add the g flag)")
    rx = RegExpValue(pattern.source, pattern.flags) if isinstance(pattern, RegExpValue) else to_regexp(pattern, "g")
    return [match_array(m, rx.pattern, text) for m in _all(rx, text)]


def search(text: str, args: list[Any]) -> int:
    rx = to_regexp(arg(args, 0))
    found = rx.find(rx.subject(text), 0)
    return found.start if found is not None else -1


def replace(text: str, args: list[Any], every: bool) -> str:
    pattern, replacement = arg(args, 0), arg(args, 1)
    if isinstance(pattern, RegExpValue):
        if every and not pattern.is_global:
            raise ExpressionError("replaceAll must be called with a global RegExp (add the g flag)")
        if pattern.is_global:
            found = [_found(m, pattern) for m in _all(pattern, text)]
        else:
            one = pattern.exec(text)
            found = [] if one is None else [(one.props["index"], one[0], list(one[1:]), one.props["groups"])]
    else:
        found = _text_matches(text, to_string(pattern), every)
    return _substitute(text, found, replacement)


def _found(m: Hit, rx: RegExpValue) -> Found:
    return m.start, m.matched, captures(m), named(m, rx.pattern)


def _text_matches(text: str, needle: str, every: bool) -> list[Found]:
    check_input(text)
    out: list[Found] = []
    pos = text.find(needle)
    while pos >= 0:
        out.append((pos, needle, [], UNDEFINED))
        if not every:
            break
        pos = text.find(needle, pos + max(len(needle), 1))
    return out


def _substitute(text: str, found: list[Found], replacement: Any) -> str:
    pieces, last = [], 0
    for start, matched, groups, names in found:
        pieces.append(text[last:start])
        if isinstance(replacement, Fn):
            extra = [names] if names is not UNDEFINED else []
            pieces.append(to_string(replacement([matched, *groups, start, text, *extra])))
        else:
            pieces.append(expand(to_string(replacement), text, start, matched, groups, names))
        last = start + len(matched)
    pieces.append(text[last:])
    return cap("".join(pieces))


def expand(template: str, text: str, start: int, matched: str, groups: list[Any], names: Any) -> str:
    """GetSubstitution: `$$`, `$&`, `` $` ``, `$'`, `$n`/`$nn` (when that group exists) and `$<name>`."""
    out, i, n = [], 0, len(template)
    while i < n:
        c = template[i]
        nxt = template[i + 1] if i + 1 < n else ""
        if c != "$" or not nxt:
            out.append(c)
            i += 1
        elif nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "&":
            out.append(matched)
            i += 2
        elif nxt == "`":
            out.append(text[:start])
            i += 2
        elif nxt == "'":
            out.append(text[start + len(matched):])
            i += 2
        elif nxt.isdigit():
            i = _group_ref(template, i, groups, out)
        elif nxt == "<" and names is not UNDEFINED and template.find(">", i) > 0:
            end = template.find(">", i)
            value = names.get(template[i + 2:end], UNDEFINED) if isinstance(names, dict) else UNDEFINED
            out.append("" if value is UNDEFINED else to_string(value))
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _group_ref(template: str, i: int, groups: list[Any], out: list[str]) -> int:
    two = template[i + 1:i + 3]
    if len(two) == 2 and two.isdigit() and 1 <= int(two) <= len(groups):
        value, used = groups[int(two) - 1], 3
    elif 1 <= int(template[i + 1]) <= len(groups):
        value, used = groups[int(template[i + 1]) - 1], 2
    else:
        out.append("$")
        return i + 1
    out.append("" if value is UNDEFINED else to_string(value))
    return i + used


def split(text: str, args: list[Any]) -> list[str]:
    sep, limit_arg = arg(args, 0), arg(args, 1)
    limit = 2**32 - 1 if limit_arg is UNDEFINED else integer(limit_arg) % 2**32
    if limit == 0:
        return []
    if sep is UNDEFINED:
        return [text]
    if isinstance(sep, RegExpValue):
        return _split_regex(text, sep, limit)
    sep_text = to_string(sep)
    check_input(text)
    parts = list(text) if sep_text == "" else text.split(sep_text)
    return parts[:limit]


def _split_regex(text: str, rx: RegExpValue, limit: int) -> list[Any]:
    """JavaScript's @@split: try a sticky match at each position; an empty match at the last cut is no cut."""
    subject = rx.subject(text)
    if not text:
        return [] if subject.match(0) is not None else [text]
    out: list[Any] = []
    p = q = 0
    while q < len(text):
        found = subject.search(q)
        if found is None:
            break
        expr_budget.step()
        q = found.start
        if q >= len(text):
            break
        e = found.end
        if e == p or (e == q and q == p):
            q += 1
            continue
        out.append(text[p:q])
        if len(out) == limit:
            return out
        for g in captures(found):
            out.append(g)
            if len(out) == limit:
                return out
        p = q = e
    out.append(text[p:])
    return out[:limit]
