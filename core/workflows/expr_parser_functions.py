"""Parsing functions: arrow and `function` expressions, their parameters and destructuring patterns, and the
statements a function body may hold (`const`/`let`, `if`/`else`, `return`, expressions, blocks)."""

from __future__ import annotations

from core.workflows.errors import ExpressionError
from core.workflows.expr_parser_base import Node, ParserBase, show

_UNSUPPORTED_STATEMENTS = frozenset({
    "for", "while", "do", "switch", "try", "throw", "break", "continue", "var", "class", "function", "import",
    "export", "with", "debugger", "catch", "finally", "case", "default",
})
_HINT = "a function body may hold const/let, if/else, return and expressions (loop with map, filter or reduce)"


class FunctionParser(ParserBase):
    def arrow_ahead(self) -> bool:
        """After `(`: whether the parenthesis holds an arrow function's parameters (a `=>` follows its `)`)."""
        j, depth = self.i, 1
        while j < len(self.tokens):
            tok = self.tokens[j]
            if tok.kind == "end":
                return False
            if tok.kind == "punct":
                if tok.value in ("(", "[", "{"):
                    depth += 1
                elif tok.value in (")", "]", "}"):
                    depth -= 1
                    if depth == 0:
                        after = self.tokens[j + 1] if j + 1 < len(self.tokens) else tok
                        return after.kind == "punct" and after.value == "=>"
            j += 1
        return False

    def arrow_from_paren(self) -> Node:
        """An arrow function whose `(` was read: `(a, {b}, ...rest) => body`."""
        params = self.params()
        self.expect("=>")
        return self.function_body(None, params)

    def arrow_from_name(self, name: str) -> Node:
        self.expect("=>")
        return self.function_body(None, [("pname", name)])

    def function_expression(self) -> Node:
        """After `function`: an optional name, `(params)` and a `{ body }`."""
        name = self.binding_name() if self.peek().kind == "name" else None
        self.expect("(")
        params = self.params()
        if not self.at("{"):
            tok = self.peek()
            raise ExpressionError(f"expected '{{' at position {tok.pos}, found {show(tok)}")
        return ("fn", name, params, self.block(), True)

    def function_body(self, name: str | None, params: list[Node]) -> Node:
        if self.at("{"):
            return ("fn", name, params, self.block(), True)
        return ("fn", name, params, self.expression(0), False)

    def params(self) -> list[Node]:
        """Parameters up to and including the closing `)`."""
        params: list[Node] = []
        while not self.at(")"):
            if self.at("..."):
                self.next()
                params.append(("prest", self.pattern()))
                if not self.at(")"):
                    raise ExpressionError(f"a rest parameter must be the last (position {self.peek().pos})")
                break
            params.append(self.pattern_with_default())
            if not self.at(")"):
                self.expect(",")
        self.next()
        return params

    def pattern(self) -> Node:
        """What a value is bound to: a name, `[a, , b = 1, ...rest]` or `{a, b: c, d = 1, ...rest}`."""
        if self.at("["):
            self.next()
            return self.array_pattern()
        if self.at("{"):
            self.next()
            return self.object_pattern()
        return ("pname", self.binding_name())

    def pattern_with_default(self) -> Node:
        target = self.pattern()
        if self.at("="):
            self.next()
            return ("pdefault", target, self.expression(0))
        return target

    def array_pattern(self) -> Node:
        elements: list[Node | None] = []
        rest: Node | None = None
        while not self.at("]"):
            if self.at(","):
                self.next()
                elements.append(None)
                continue
            if self.at("..."):
                self.next()
                rest = self.pattern()
                break
            elements.append(self.pattern_with_default())
            if not self.at("]"):
                self.expect(",")
        self.expect("]")
        return ("parr", elements, rest)

    def object_pattern(self) -> Node:
        props: list[tuple[Node, Node]] = []
        rest: str | None = None
        while not self.at("}"):
            if self.at("..."):
                self.next()
                rest = self.binding_name()
                break
            tok = self.next()
            if tok.kind == "punct" and tok.value == "[":
                key: Node = self.expression()
                self.expect("]")
            elif tok.kind in ("name", "str", "num"):
                key = ("lit", str(tok.value))
            else:
                raise ExpressionError(f"unexpected {show(tok)} in a destructuring pattern at position {tok.pos}")
            if self.at(":"):
                self.next()
                props.append((key, self.pattern_with_default()))
            elif tok.kind == "name":
                self.i -= 1
                props.append((key, self.pattern_with_default()))
            else:
                self.expect(":")
            if not self.at("}"):
                self.expect(",")
        self.expect("}")
        return ("pobj", props, rest)

    # -- statements ---------------------------------------------------------------------------------------

    def block(self) -> Node:
        """`{ statements }`; the node carries the names it declares (each is unusable before its declaration)."""
        self.enter()
        self.expect("{")
        statements: list[Node] = []
        declared: list[str] = []
        while not self.at("}"):
            if self.peek().kind == "end":
                raise ExpressionError("missing '}' to close a function body")
            statements.append(self.statement(declared))
        self.next()
        self.leave()
        return ("block", statements, tuple(declared))

    def statement(self, declared: list[str] | None) -> Node:
        tok = self.peek()
        if tok.kind == "punct" and tok.value == "{":
            return self.block()
        if tok.kind == "punct" and tok.value == ";":
            self.next()
            return ("empty",)
        word = tok.value if tok.kind == "name" else None
        if word in ("const", "let"):
            if declared is None:
                raise ExpressionError(f"a declaration cannot be the body of an if (position {tok.pos}); use a block")
            node = self.declaration(declared)
        elif word == "return":
            self.next()
            after = self.peek()
            ends = after.kind == "end" or after.nl or (after.kind == "punct" and after.value in (";", "}"))
            node = ("return", None if ends else self.expression())
        elif word == "if":
            return self.if_statement()
        elif word in _UNSUPPORTED_STATEMENTS:
            raise ExpressionError(f"`{word}` is not supported (position {tok.pos}): {_HINT}")
        else:
            node = ("expr", self.expression())
        self.end_statement()
        return node

    def if_statement(self) -> Node:
        self.next()
        self.expect("(")
        test = self.expression()
        self.expect(")")
        then = self.statement(None)
        other = None
        if self.at_word("else"):
            self.next()
            other = self.statement(None)
        return ("if", test, then, other)

    def declaration(self, declared: list[str]) -> Node:
        kind = str(self.next().value)
        bindings: list[tuple[Node, Node | None]] = []
        while True:
            start = self.peek().pos
            target = self.pattern()
            for name in pattern_names(target):
                if name in declared:
                    raise ExpressionError(f"'{name}' has already been declared (position {start})")
                declared.append(name)
            init = None
            if self.at("="):
                self.next()
                init = self.expression()
            elif kind == "const" or target[0] != "pname":
                raise ExpressionError(f"missing '=' after the declaration at position {start}")
            bindings.append((target, init))
            if not self.at(","):
                break
            self.next()
        return ("decl", kind, bindings)

    def end_statement(self) -> None:
        tok = self.peek()
        if tok.kind == "punct" and tok.value == ";":
            self.next()
        elif not (tok.kind == "end" or tok.nl or (tok.kind == "punct" and tok.value == "}")):
            raise ExpressionError(f"expected ';' at position {tok.pos}, found {show(tok)}")


def pattern_names(pattern: Node) -> list[str]:
    kind = pattern[0]
    if kind == "pname":
        return [pattern[1]]
    if kind in ("pdefault", "prest"):
        return pattern_names(pattern[1])
    if kind == "parr":
        names = [n for p in pattern[1] if p is not None for n in pattern_names(p)]
        return names + (pattern_names(pattern[2]) if pattern[2] is not None else [])
    names = [n for _, p in pattern[1] for n in pattern_names(p)]
    return names + ([pattern[2]] if pattern[2] is not None else [])
