"""Tokenizer for the subset of JavaScript expressions n8n workflows use (inside `{{ }}`)."""

from __future__ import annotations

from dataclasses import dataclass

from core.workflows.errors import ExpressionError

# Longest first, so `===` is not read as `==` then `=`.
PUNCTUATORS = (
    "...", "===", "!==", "**=", "??=", "||=", "&&=",
    "**", "?.", "??", "==", "!=", "<=", ">=", "&&", "||", "=>", "+=", "-=", "*=", "/=", "%=", "++", "--",
    "+", "-", "*", "/", "%", "<", ">", "!", "?", ":", ".", ",", "(", ")", "[", "]", "{", "}", "=", ";",
)
# After these words a `/` starts a regular expression, not a division (as JavaScript reads it).
_REGEX_AFTER_WORDS = frozenset({"return", "typeof", "case", "do", "else", "in", "instanceof", "new", "delete",
                                "void", "throw", "yield", "await", "of"})
_REGEX_AFTER_CHARS = frozenset("(,=:[!&|?{};+-*%<>~^")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
MAX_SOURCE = 100_000


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num", "str", "template", "regex", "name", "punct", "end"
    value: object
    pos: int
    nl: bool = False  # a line break comes before it (for `return` and the end of a statement)


def _is_name_start(c: str) -> bool:
    return c.isalpha() or c in "_$"


def _is_name_part(c: str) -> bool:
    return c.isalnum() or c in "_$"


def tokenize(source: str) -> list[Token]:
    """Tokens of `source`, ending with an `end` token; ExpressionError names the position of anything else."""
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"expression longer than {MAX_SOURCE} characters")
    out: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c.isspace():
            if c in "\n\r\u2028\u2029" and out and not out[-1].nl:
                out.append(_with_nl(out.pop()))
            i += 1
        elif c == "/" and _regex_allowed(out[-1] if out else None):
            body, flags, end = read_regex(source, i)
            out.append(Token("regex", (body, flags), i))
            i = end
        elif c.isdigit() or (c == "." and i + 1 < n and source[i + 1].isdigit()):
            i = _number(source, i, out)
        elif c in "'\"":
            text, i = read_string(source, i)
            out.append(Token("str", text, i))
        elif c == "`":
            parts, end = read_template(source, i)
            out.append(Token("template", parts, i))
            i = end
        elif _is_name_start(c):
            start = i
            while i < n and _is_name_part(source[i]):
                i += 1
            out.append(Token("name", source[start:i], start))
        else:
            for p in PUNCTUATORS:
                if source.startswith(p, i):
                    # `a?.5:1` is a ternary, not optional chaining (as JavaScript reads it).
                    if p == "?." and i + 2 < n and source[i + 2].isdigit():
                        continue
                    out.append(Token("punct", p, i))
                    i += len(p)
                    break
            else:
                raise ExpressionError(f"unexpected character {c!r} at position {i}")
    out.append(Token("end", None, n))
    return _shift_nl(out)


def _with_nl(tok: Token) -> Token:
    # Marks the token *before* the break for now; _shift_nl moves each mark to the token after it.
    return Token(tok.kind, tok.value, tok.pos, True)


def _shift_nl(tokens: list[Token]) -> list[Token]:
    out, pending = [], False
    for tok in tokens:
        out.append(Token(tok.kind, tok.value, tok.pos, pending))
        pending = tok.nl
    return out


def _regex_allowed(prev: Token | None) -> bool:
    if prev is None:
        return True
    if prev.kind == "punct":
        return prev.value not in (")", "]", "}")
    return prev.kind == "name" and prev.value in _REGEX_AFTER_WORDS


def read_regex(source: str, i: int) -> tuple[str, str, int]:
    """The regular expression literal opening at `i`: its body, its flags and the position after it."""
    j, n, in_class = i + 1, len(source), False
    if source.startswith("//", i) or source.startswith("/*", i):
        raise ExpressionError(f"comments are not supported in expressions (position {i})")
    while j < n:
        c = source[j]
        if c == "\\":
            j += 2
            continue
        if c in "\n\r":
            break
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "/":
            k = j + 1
            while k < n and _is_name_part(source[k]):
                k += 1
            return source[i + 1:j], source[j + 1:k], k
        j += 1
    raise ExpressionError(f"unterminated regular expression starting at position {i}")


def _number(source: str, i: int, out: list[Token]) -> int:
    start, n = i, len(source)
    if source.startswith(("0x", "0X"), i):
        i += 2
        while i < n and source[i] in "0123456789abcdefABCDEF":
            i += 1
        out.append(Token("num", int(source[start + 2:i] or "0", 16), start))
        return i
    while i < n and source[i].isdigit():
        i += 1
    is_float = False
    if i < n and source[i] == ".":
        is_float = True
        i += 1
        while i < n and source[i].isdigit():
            i += 1
    if i < n and source[i] in "eE":
        j = i + 1
        if j < n and source[j] in "+-":
            j += 1
        if j < n and source[j].isdigit():
            is_float = True
            i = j
            while i < n and source[i].isdigit():
                i += 1
    text = source[start:i]
    value: float | int = float(text) if is_float else int(text)
    if i < n and _is_name_start(source[i]):
        raise ExpressionError(f"invalid number {source[start:i + 1]!r} at position {start}")
    out.append(Token("num", value, start))
    return i


def read_string(source: str, i: int) -> tuple[str, int]:
    """The string literal opening at `i` (quote included) and the position after it."""
    start, quote, i, n = i, source[i], i + 1, len(source)
    chars: list[str] = []
    while i < n:
        c = source[i]
        if c == quote:
            return "".join(chars), i + 1
        if c == "\\":
            i = _escape(source, i, chars)
            continue
        if c == "\n":
            break
        chars.append(c)
        i += 1
    raise ExpressionError(f"unterminated string starting at position {start}")


def _escape(source: str, i: int, chars: list[str]) -> int:
    if i + 1 >= len(source):
        raise ExpressionError("a backslash ends the expression")
    e = source[i + 1]
    if e == "u":
        if source.startswith("{", i + 2):
            end = source.find("}", i + 3)
            digits = source[i + 3:end] if end > 0 else ""
            after = end + 1
        else:
            digits, after = source[i + 2:i + 6], i + 6
        try:
            chars.append(chr(int(digits, 16)))
        except ValueError as err:
            raise ExpressionError(f"invalid \\u escape at position {i}") from err
        return after
    if e == "x":
        try:
            chars.append(chr(int(source[i + 2:i + 4], 16)))
        except ValueError as err:
            raise ExpressionError(f"invalid \\x escape at position {i}") from err
        return i + 4
    if e == "\n":
        return i + 2  # a line continuation
    chars.append(_ESCAPES.get(e, e))
    return i + 2


def read_template(source: str, i: int) -> tuple[list[str | list[Token]], int]:
    """A template literal: its text parts and, between them, the tokens of each `${...}`."""
    i += 1
    n = len(source)
    parts: list[str | list[Token]] = []
    chars: list[str] = []
    while i < n:
        c = source[i]
        if c == "`":
            parts.append("".join(chars))
            return parts, i + 1
        if c == "\\":
            i = _escape(source, i, chars)
            continue
        if c == "$" and source.startswith("{", i + 1):
            parts.append("".join(chars))
            chars = []
            end = find_close(source, i + 2, "}")
            inner = tokenize(source[i + 2:end])
            parts.append(inner)
            i = end + 1
            continue
        chars.append(c)
        i += 1
    raise ExpressionError("unterminated template literal")


def find_close(source: str, i: int, closer: str) -> int:
    """Position of the `closer` (`}` or `}}`) that ends code starting at `i`, skipping strings and nested braces."""
    depth, n = 0, len(source)
    prev, word = "", ""  # the last code character and, if it ended a word, that word: to tell `/re/` from `a / b`
    while i < n:
        c = source[i]
        if c in "'\"":
            _, i = read_string(source, i)
            prev, word = c, ""
            continue
        if c == "`":
            _, i = read_template(source, i)
            prev, word = c, ""
            continue
        if c == "/" and (prev == "" or prev in _REGEX_AFTER_CHARS or word in _REGEX_AFTER_WORDS):
            _, _, i = read_regex(source, i)
            prev, word = "/", ""
            continue
        if depth == 0 and source.startswith(closer, i):
            return i
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
            if depth < 0:
                raise ExpressionError(f"unbalanced {c!r} at position {i}")
        if _is_name_part(c):
            word = word + c if i > 0 and _is_name_part(source[i - 1]) else c
        elif not c.isspace():
            word = ""
        if not c.isspace():
            prev = c
        i += 1
    raise ExpressionError(f"missing {closer!r} to close the expression")
