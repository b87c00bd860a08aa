"""Upload-time checks of a Merge node, per typeVersion: what n8n would flag as a parameter issue or run as an error,
and what Hive does not run (the SQL mode). Values given as expressions are left to run time."""

from __future__ import annotations

from typing import Any

from core.workflows.model import Node
from core.workflows.node_merge import V3_COMBINATIONS, V3_MODES
from core.workflows.node_merge_fields import JOIN_MODES
from core.workflows.node_merge_legacy import V1_MODES, V2_COMBINATIONS, V2_MODES
from core.workflows.node_params import option

Found = list[tuple[str, str]]


def _literal(value: Any) -> bool:
    return not (isinstance(value, str) and value.startswith("="))


def _one_of(p: dict[str, Any], name: str, default: Any, allowed: tuple[Any, ...], what: str, path: str = "") -> Found:
    value = p.get(name, default)
    if _literal(value) and value not in allowed:
        return [(f"{path}.{name}", f"{what} {value!r} does not exist in this typeVersion "
                                   f"(one of {', '.join(map(str, allowed))})")]
    return []


def merge_problems(node: Node) -> Found:
    p, v = node.parameters, node.type_version
    if v < 2:
        return _v1(p)
    if v < 3:
        return _v2(p)
    return _v3(p)


def _v1(p: dict[str, Any]) -> Found:
    out = _one_of(p, "mode", "append", V1_MODES, "mode")
    mode = p.get("mode", "append")
    if mode == "mergeByIndex":
        out += _one_of(p, "join", "left", ("inner", "left", "outer"), "join")
    if mode in ("keepKeyMatches", "mergeByKey", "removeKeyMatches"):
        for name in ("propertyName1", "propertyName2"):
            if p.get(name) in (None, "", "="):
                out.append((f".{name}", f"required parameter {name} is missing (the field to match items on)"))
    if mode == "mergeByKey":
        out += _one_of(p, "overwrite", "always", ("always", "blank", "undefined"), "overwrite")
    return out


def _v2(p: dict[str, Any]) -> Found:
    out = _one_of(p, "mode", "append", V2_MODES, "mode")
    if p.get("mode") == "mergeByPosition":
        out[-1] = (".mode", "mode 'mergeByPosition' does not exist in Merge v2 (append, combine, chooseBranch): n8n "
                            "outputs no items with it; use mode 'combine' with combinationMode 'mergeByPosition'")
    mode = p.get("mode", "append")
    if mode == "chooseBranch":
        out += _one_of(p, "chooseBranchMode", "waitForBoth", ("waitForBoth",), "chooseBranchMode")
        out += _one_of(p, "output", "input1", ("input1", "input2", "empty"), "output")
    if mode == "combine":
        out += _one_of(p, "combinationMode", "mergeByFields", V2_COMBINATIONS, "combinationMode")
        if p.get("combinationMode", "mergeByFields") == "mergeByFields":
            out += _fields(p, "preferInput2", advanced=True)
    return out


def _v3(p: dict[str, Any]) -> Found:
    out = _one_of(p, "mode", "append", V3_MODES, "mode")
    mode = p.get("mode", "append")
    inputs = p.get("numberInputs", 2)
    if mode == "combineBySql":
        out.append((".mode", "the SQL Query mode (combineBySql) is not supported: n8n runs the query in an embedded "
                             "SQL engine; use combine by fields, position or all combinations"))
    if mode == "chooseBranch":
        out += _one_of(p, "chooseBranchMode", "waitForAll", ("waitForAll",), "chooseBranchMode")
        out += _one_of(p, "output", "specifiedInput", ("specifiedInput", "empty"), "output")
        which = p.get("useDataOfInput", 1)
        if isinstance(inputs, int) and isinstance(which, int) and not 1 <= which <= inputs:
            out.append((".useDataOfInput", f"input {which} does not exist: the node has {inputs} inputs"))
    if mode == "combine":
        out += _one_of(p, "combineBy", "combineByFields", V3_COMBINATIONS, "combineBy")
        how = p.get("combineBy", "combineByFields")
        if how == "combineByFields":
            out += _fields(p, "preferLast", advanced=p.get("advanced") is True)
        clash = option(p, "options", "clashHandling", "values", "resolveClash")
        if how == "combineByPosition" and isinstance(clash, str) and clash.startswith("preferInput"):
            k = clash.removeprefix("preferInput")
            if not (k.isdigit() and isinstance(inputs, int) and 1 <= int(k) <= inputs):
                out.append((".options.clashHandling.values.resolveClash", f"{clash!r} names no input of this node"))
    return out


def _fields(p: dict[str, Any], last: str, advanced: bool) -> Found:
    """Combine by matching fields: join mode, output, clash handling, and fields that n8n would refuse to match on."""
    out = _one_of(p, "joinMode", "keepMatches", JOIN_MODES, "joinMode")
    if p.get("joinMode", "keepMatches") in ("keepMatches", "keepNonMatches"):
        out += _one_of(p, "outputDataFrom", "both", ("both", "input1", "input2"), "outputDataFrom")
    clash = option(p, "options", "clashHandling", "values", "resolveClash")
    allowed = ("addSuffix", "preferInput1", last)
    if clash is not None and _literal(clash) and clash not in allowed:
        out.append((".options.clashHandling.values.resolveClash",
                    f"resolveClash {clash!r} is not one of {', '.join(allowed)} here: n8n would output empty items"))
    return out + _pairs(p, advanced)


def _pairs(p: dict[str, Any], advanced: bool) -> Found:
    if not advanced:
        text = p.get("fieldsToMatchString", "")
        if not isinstance(text, str) or not _literal(text):
            return []
        pairs = [(f.strip(), f.strip()) for f in text.split(",")]
        where = ".fieldsToMatchString"
    else:
        values = option(p, "mergeByFields", "values", default=[] if "mergeByFields" in p else [{}])
        if not isinstance(values, list) or any(not _literal(e.get(k, "")) for e in values if isinstance(e, dict)
                                               for k in ("field1", "field2")):
            return []
        pairs = [(e.get("field1", ""), e.get("field2", "")) for e in values if isinstance(e, dict)]
        where = ".mergeByFields.values"
    if len(pairs) == 1 and pairs[0] == ("", ""):
        return [(where, "no fields to match: set 'Fields to Match'")]
    return [(where, f"pair {k + 1} of 'Fields to Match' needs both fields") for k, (a, b) in enumerate(pairs)
            if a == "" or b == ""]
