"""A Pratt parser from tokens to a small AST (tuples) for n8n's JavaScript-expression subset."""

from __future__ import annotations

from typing import Any

from core.workflows.errors import ExpressionError
from core.workflows.expr_lexer import Token, tokenize

Node = tuple[Any, ...]

# Binding powers of the infix operators; `**` binds right.
_INFIX = {
    "??": 1, "||": 2, "&&": 3,
    "==": 6, "!=": 6, "===": 6, "!==": 6,
    "<": 7, ">": 7, "<=": 7, ">=": 7,
    "+": 9, "-": 9, "*": 10, "/": 10, "%": 10, "**": 11,
}
_LOGICAL = frozenset({"??", "||", "&&"})
_UNARY_BP = 12
_TERNARY_BP = 0
_MAX_DEPTH = 200
_KEYWORDS = {"true": True, "false": False, "null": None}


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

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

    def expect(self, value: str) -> None:
        tok = self.next()
        if tok.kind != "punct" or tok.value != value:
            raise ExpressionError(f"expected {value!r} at position {tok.pos}, found {_show(tok)}")

    def expression(self, min_bp: int = -1) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ExpressionError("expression nested too deeply")
        left = self.prefix()
        while True:
            tok = self.peek()
            if tok.kind != "punct":
                break
            op = str(tok.value)
            if op == "?" and min_bp < _TERNARY_BP + 1:
                self.next()
                yes = self.expression(-1)
                self.expect(":")
                no = self.expression(_TERNARY_BP)
                left = ("cond", left, yes, no)
                continue
            bp = _INFIX.get(op)
            if bp is None or bp <= min_bp:
                break
            self.next()
            right = self.expression(bp - 1 if op == "**" else bp)
            left = ("logic" if op in _LOGICAL else "bin", op, left, right)
        self.depth -= 1
        return left

    def prefix(self) -> Node:
        tok = self.peek()
        if tok.kind == "punct" and tok.value in ("!", "-", "+"):
            self.next()
            return ("unary", tok.value, self.expression(_UNARY_BP))
        if tok.kind == "name" and tok.value == "typeof":
            self.next()
            return ("unary", "typeof", self.expression(_UNARY_BP))
        return self.postfix(self.primary())

    def primary(self) -> Node:
        tok = self.next()
        if tok.kind in ("num", "str"):
            return ("lit", tok.value)
        if tok.kind == "template":
            assert isinstance(tok.value, list)
            return ("tmpl", [p if isinstance(p, str) else parse_tokens(p) for p in tok.value])
        if tok.kind == "name":
            name = str(tok.value)
            if name in _KEYWORDS:
                return ("lit", _KEYWORDS[name])
            if name == "undefined":
                return ("undef",)
            if name == "new":
                return self.new()
            if name in ("function", "var", "let", "const", "return", "this", "class", "delete", "void", "await"):
                raise ExpressionError(f"`{name}` is not supported in expressions (position {tok.pos})")
            if self.at("=>"):
                self.next()
                return ("arrow", [name], self.expression(_TERNARY_BP))
            return ("name", name)
        if tok.kind == "punct":
            if tok.value == "(":
                arrow = self.arrow_params()
                if arrow is not None:
                    return ("arrow", arrow, self.expression(_TERNARY_BP))
                inner = self.expression()
                self.expect(")")
                return inner
            if tok.value == "[":
                return ("arr", self.list_of("]"))
            if tok.value == "{":
                return self.object()
        raise ExpressionError(f"unexpected {_show(tok)} at position {tok.pos}")

    def arrow_params(self) -> list[str] | None:
        """After `(`: the names of an arrow function's parameters, or None (a parenthesised expression)."""
        j, names = self.i, list[str]()
        while True:
            tok = self.tokens[j]
            if tok.kind == "punct" and tok.value == ")" and not names:
                break
            if tok.kind != "name":
                return None
            names.append(str(tok.value))
            j += 1
            sep = self.tokens[j]
            if sep.kind == "punct" and sep.value == ",":
                j += 1
                continue
            if sep.kind == "punct" and sep.value == ")":
                break
            return None
        after = self.tokens[j + 1] if j + 1 < len(self.tokens) else None
        if after is None or after.kind != "punct" or after.value != "=>":
            return None
        self.i = j + 2
        return names

    def new(self) -> Node:
        tok = self.next()
        if tok.kind != "name":
            raise ExpressionError(f"expected a constructor after `new` at position {tok.pos}")
        args: list[Node] = []
        if self.at("("):
            self.next()
            args = self.list_of(")")
        return self.postfix(("new", str(tok.value), args))

    def list_of(self, closer: str) -> list[Node]:
        items: list[Node] = []
        while not self.at(closer):
            if self.at("..."):
                raise ExpressionError(f"spread (`...`) is not supported (position {self.peek().pos})")
            items.append(self.expression())
            if not self.at(closer):
                self.expect(",")
        self.next()
        return items

    def object(self) -> Node:
        entries: list[tuple[Node, Node]] = []
        while not self.at("}"):
            tok = self.next()
            if tok.kind in ("name", "str", "num"):
                key: Node = ("lit", str(tok.value) if tok.kind != "num" else _num_key(tok.value))
            elif tok.kind == "punct" and tok.value == "[":
                key = self.expression()
                self.expect("]")
            else:
                raise ExpressionError(f"unexpected {_show(tok)} in an object literal at position {tok.pos}")
            if tok.kind == "name" and (self.at(",") or self.at("}")):
                entries.append((key, ("name", str(tok.value))))  # shorthand `{a}`
            else:
                self.expect(":")
                entries.append((key, self.expression()))
            if not self.at("}"):
                self.expect(",")
        self.next()
        return ("obj", entries)

    def postfix(self, node: Node) -> Node:
        optional_seen = False
        while True:
            tok = self.peek()
            if tok.kind != "punct":
                break
            if tok.value == ".":
                self.next()
                node = ("member", node, ("lit", self.property_name()), False)
            elif tok.value == "?.":
                self.next()
                optional_seen = True
                if self.at("("):
                    self.next()
                    node = ("call", node, self.list_of(")"), True)
                elif self.at("["):
                    self.next()
                    prop = self.expression()
                    self.expect("]")
                    node = ("member", node, prop, True)
                else:
                    node = ("member", node, ("lit", self.property_name()), True)
            elif tok.value == "[":
                self.next()
                prop = self.expression()
                self.expect("]")
                node = ("member", node, prop, False)
            elif tok.value == "(":
                self.next()
                node = ("call", node, self.list_of(")"), False)
            else:
                break
        return ("chain", node) if optional_seen else node

    def property_name(self) -> str:
        tok = self.next()
        if tok.kind != "name":
            raise ExpressionError(f"expected a property name at position {tok.pos}, found {_show(tok)}")
        return str(tok.value)


def _num_key(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _show(tok: Token) -> str:
    if tok.kind == "end":
        return "the end of the expression"
    return f"{tok.value!r}"


def parse_tokens(tokens: list[Token]) -> Node:
    parser = _Parser(tokens)
    if parser.peek().kind == "end":
        raise ExpressionError("empty expression")
    node = parser.expression()
    tok = parser.peek()
    if tok.kind != "end":
        raise ExpressionError(f"unexpected {_show(tok)} at position {tok.pos}")
    return node


def parse(source: str) -> Node:
    """The AST of one expression (the code between `{{` and `}}`)."""
    return parse_tokens(tokenize(source))
