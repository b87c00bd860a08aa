"""The parser's cursor over tokens: peeking, expecting, nesting depth, and error messages that name positions."""

from __future__ import annotations

from typing import Any

from core.workflows.errors import ExpressionError
from core.workflows.expr_lexer import Token

Node = tuple[Any, ...]
MAX_DEPTH = 200

# Words that cannot name a variable or a parameter (JavaScript's reserved words, strict mode).
RESERVED = frozenset({
    "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do", "else",
    "export", "extends", "false", "finally", "for", "function", "if", "import", "in", "instanceof", "new", "null",
    "return", "super", "switch", "this", "throw", "true", "try", "typeof", "var", "void", "while", "with",
    "yield", "let", "static", "enum", "await", "implements", "package", "protected", "interface", "private",
    "public", "undefined", "arguments", "eval",
})


def show(tok: Token) -> str:
    if tok.kind == "end":
        return "the end of the expression"
    if tok.kind == "regex":
        assert isinstance(tok.value, tuple)
        return f"/{tok.value[0]}/{tok.value[1]}"
    return f"{tok.value!r}"


class ParserBase:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def expression(self, min_bp: int = -1) -> Node:
        raise NotImplementedError

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def at(self, value: str) -> bool:
        tok = self.peek()
        return tok.kind == "punct" and tok.value == value

    def at_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "name" and tok.value == word

    def expect(self, value: str) -> None:
        tok = self.next()
        if tok.kind != "punct" or tok.value != value:
            raise ExpressionError(f"expected {value!r} at position {tok.pos}, found {show(tok)}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("expression nested too deeply")

    def leave(self) -> None:
        self.depth -= 1

    def binding_name(self) -> str:
        tok = self.next()
        if tok.kind != "name":
            raise ExpressionError(f"expected a name at position {tok.pos}, found {show(tok)}")
        name = str(tok.value)
        if name in RESERVED:
            raise ExpressionError(f"`{name}` cannot be used as a name (position {tok.pos})")
        return name
