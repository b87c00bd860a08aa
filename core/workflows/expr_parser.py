"""A Pratt parser from tokens to a small AST (tuples) for n8n's JavaScript-expression subset.

Expression nodes: lit, undef, name, tmpl, regex, arr, obj, member, call, chain (optional chaining), new, fn,
unary, cond, logic, bin, assign; `spread` inside arr, obj, call and new. Function bodies, their statements and
destructuring patterns: see expr_parser_functions.
"""

from __future__ import annotations

from core.workflows.errors import ExpressionError
from core.workflows.expr_lexer import Token, tokenize
from core.workflows.expr_parser_base import RESERVED, Node, show
from core.workflows.expr_parser_functions import FunctionParser

__all__ = ["Node", "parse", "parse_tokens"]

# Binding powers of the infix operators; `**` binds right.
_INFIX = {
    "??": 1, "||": 2, "&&": 3,
    "==": 6, "!=": 6, "===": 6, "!==": 6,
    "<": 7, ">": 7, "<=": 7, ">=": 7,
    "+": 9, "-": 9, "*": 10, "/": 10, "%": 10, "**": 11,
}
_LOGICAL = frozenset({"??", "||", "&&"})
_ASSIGN = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "**=", "??=", "||=", "&&="})
_UNARY_BP = 12
_TERNARY_BP = 0
_KEYWORDS = {"true": True, "false": False, "null": None}
_STATEMENT_WORDS = frozenset({"const", "let", "var", "return", "if", "for", "while", "do", "switch", "try", "throw"})


class _Parser(FunctionParser):
    def expression(self, min_bp: int = -1) -> Node:
        self.enter()
        left = self.prefix()
        while True:
            tok = self.peek()
            if tok.kind != "punct":
                break
            op = str(tok.value)
            if op in ("++", "--"):
                raise _no_increment(tok)
            if op in _ASSIGN and min_bp <= _TERNARY_BP:
                # Assignment binds loosest and to the right: `a = b = 1`, `c ? x : y = 2` assigns y.
                if not _assignable(left):
                    raise ExpressionError(f"invalid left-hand side in assignment at position {tok.pos}")
                self.next()
                left = ("assign", op, left, self.expression(-1))
                continue
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
        self.leave()
        return left

    def prefix(self) -> Node:
        tok = self.peek()
        if tok.kind == "punct" and tok.value in ("++", "--"):
            raise _no_increment(tok)
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
        if tok.kind == "regex":
            assert isinstance(tok.value, tuple)
            return ("regex", tok.value[0], tok.value[1])
        if tok.kind == "template":
            assert isinstance(tok.value, list)
            return ("tmpl", [p if isinstance(p, str) else parse_tokens(p) for p in tok.value])
        if tok.kind == "name":
            return self.word(tok)
        if tok.kind == "punct":
            if tok.value == "(":
                if self.arrow_ahead():
                    return self.arrow_from_paren()
                inner = self.expression()
                self.expect(")")
                return inner
            if tok.value == "[":
                return ("arr", self.list_of("]"))
            if tok.value == "{":
                return self.object()
        raise ExpressionError(f"unexpected {show(tok)} at position {tok.pos}")

    def word(self, tok: Token) -> Node:
        name = str(tok.value)
        if name in _KEYWORDS:
            return ("lit", _KEYWORDS[name])
        if name == "undefined":
            return ("undef",)
        if name == "new":
            return self.new()
        if name == "function":
            return self.function_expression()
        if name in _STATEMENT_WORDS:
            raise ExpressionError(f"`{name}` is only allowed inside a function body such as "
                                  f"`(() => {{ ... }})()` (position {tok.pos})")
        if name in RESERVED:
            raise ExpressionError(f"`{name}` is not supported in expressions (position {tok.pos})")
        if self.at("=>"):
            return self.arrow_from_name(name)
        return ("name", name)

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
        """Elements or arguments up to `closer` (consumed), each possibly a `...spread`."""
        items: list[Node] = []
        while not self.at(closer):
            if self.at("..."):
                self.next()
                items.append(("spread", self.expression()))
            else:
                items.append(self.expression())
            if not self.at(closer):
                self.expect(",")
        self.next()
        return items

    def object(self) -> Node:
        """`{ a: 1, 'b': 2, [k]: 3, c, ...other }`; a spread entry has None for its key."""
        entries: list[tuple[Node | None, Node]] = []
        while not self.at("}"):
            if self.at("..."):
                self.next()
                entries.append((None, self.expression()))
            else:
                entries.append(self.object_entry())
            if not self.at("}"):
                self.expect(",")
        self.next()
        return ("obj", entries)

    def object_entry(self) -> tuple[Node, Node]:
        tok = self.next()
        if tok.kind in ("name", "str", "num"):
            key: Node = ("lit", str(tok.value) if tok.kind != "num" else _num_key(tok.value))
        elif tok.kind == "punct" and tok.value == "[":
            key = self.expression()
            self.expect("]")
        else:
            raise ExpressionError(f"unexpected {show(tok)} in an object literal at position {tok.pos}")
        if tok.kind == "name" and (self.at(",") or self.at("}")):
            if tok.value in RESERVED:
                raise ExpressionError(f"`{tok.value}` cannot be used as a name (position {tok.pos})")
            return key, ("name", str(tok.value))  # shorthand `{a}`
        self.expect(":")
        return key, self.expression()

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
            raise ExpressionError(f"expected a property name at position {tok.pos}, found {show(tok)}")
        return str(tok.value)


def _num_key(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _no_increment(tok: Token) -> ExpressionError:
    return ExpressionError(f"`{tok.value}` is not supported (position {tok.pos}): write `x += 1` or `x + 1`")


def _assignable(node: Node) -> bool:
    return node[0] == "name" or (node[0] == "member" and not node[3])


def parse_tokens(tokens: list[Token]) -> Node:
    parser = _Parser(tokens)
    if parser.peek().kind == "end":
        raise ExpressionError("empty expression")
    node = parser.expression()
    tok = parser.peek()
    if tok.kind != "end":
        raise ExpressionError(f"unexpected {show(tok)} at position {tok.pos}")
    return node


def parse(source: str) -> Node:
    """The AST of one expression (the code between `{{` and `}}`)."""
    return parse_tokens(tokenize(source))
