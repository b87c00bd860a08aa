"""n8n's expression extension functions in Hive's evaluator.

Behaviour follows n8n-io/n8n packages/workflow/src/extensions/{string,array,object,number,boolean}-extensions.ts,
extended-functions.ts and expression-extension.ts (`$if`, generic isEmpty); expected values are taken from its
tests, packages/workflow/test/ExpressionExtensions/{string,array,object,number,boolean,generic}-extensions.test.ts
and expression-extension.test.ts, where they have one (the rest from the functions' `doc.examples`).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from core.workflows.context import ItemScope, RunView
from core.workflows.errors import ExpressionError
from core.workflows.expr_eval import evaluate
from core.workflows.expr_parser import parse
from core.workflows.expressions import plain_value
from core.workflows.items import Item
from tests.unit.expr_support import ev

STRINGS: list[tuple[str, Any]] = [
    ('"NotBlank".isEmpty()', False), ('"".isEmpty()', True),
    ('"NotBlank".isNotEmpty()', True), ('"".isNotEmpty()', False),
    ('"12345".hash("base64")', "MTIzNDU="), ('"12345".hash()', "827ccb0eea8a706c4c34a16891f84e7b"),
    ('"12345".hash("md5")', "827ccb0eea8a706c4c34a16891f84e7b"),
    ('"12345".hash("sha1")', "8cb2237d0679ca88db6464eac60da96345513964"),
    ('"12345".hash("sha224")', "a7470858e79c282bc2f6adfd831b132672dfd1224c1e78cbf5bcd057"),
    ('"12345".hash("SHA256")', "5994471abb01112afcc18159f6cc74b4f511b99806da59b3caf5a9c173cacfc5"),
    ('"12345".hash("sha384")', "0fa76955abfa9dafd83facca8343a92aa09497f98101086611b0bfa95dbc0dcc661d62e9568a5a032ba8"
                               "1960f3e55d4a"),
    ('"12345".hash("sha512")', "3627909a29c31381a071ec27f7c9ca97726182aed29a7ddd2e54353322cfb30abb9e3a6df2ac2c20fe"
                               "23436311d678564d0c8d305930575f60e2d3d048184d79"),
    ('"12345".hash("sha3")', "0a2a1719bf3ce682afdbedf3b23857818d526efbe7fcb372b31347c26239a0f916c398b7ad8dd0ee76e8e"
                             "388604d0b0f925d5e913ad2d3165b9b35b3844cd5e6"),
    ('"string%20with%20spaces".urlDecode(false)', "string with spaces"),
    ('"string with spaces".urlEncode(false)', "string%20with%20spaces"),
    ('"name=Nathan Automat".urlEncode()', "name%3DNathan%20Automat"),
    ('"name=Nathan Automat".urlEncode(true)', "name=Nathan%20Automat"),
    ('"name%3DNathan%20Automat".urlDecode()', "name=Nathan Automat"),
    ('"name%3DNathan%20Automat".urlDecode(true)', "name%3DNathan Automat"),
    ('"<html><head>test</head></html>".removeTags()', "test"),
    ('"<b>bold</b>, <a>link</a>".removeTags()', "bold, link"),
    ('"<html><head>test</head></html>".removeMarkdown()', "test"),
    ('"*bold*, [link]()".removeMarkdown()', "bold, link"),
    ('"1.1".toFloat()', 1.1), ('"1.1".toDecimalNumber()', 1.1),
    ('"1.1".toInt()', 1), ('"1.1".toWholeNumber()', 1), ('"1.5".toInt()', 1),
    ('"123".toNumber()', 123), ('"1.23E10".toNumber()', 12300000000),
    ('"test".quote()', '"test"'), ('"\\"test\\"".quote()', '"\\"test\\""'),
    ('\'Nathan says "hi"\'.quote()', '"Nathan says \\"hi\\""'),
    ('"".isNumeric()', False), ('"asdf".isNumeric()', False), ('"1234".isNumeric()', True),
    ('"4e4".isNumeric()', True), ('"4.4".isNumeric()', True), ('"123E23".isNumeric()', True),
    ('"https://example.com/".isUrl()', True), ('"ftp://example.com/".isUrl()', True),
    ('"example.com".isUrl()', False), ('"www.example.com".isUrl()', False),
    ('"https://example.com/path?query=1".isUrl()', True), ('"https://example.com/path#fragment".isUrl()', True),
    ('"https://example.com:8080".isUrl()', True), ('"example.com/path".isUrl()', False),
    ('"http:///".isUrl()', False), ('"https://".isUrl()', False), ('"".isUrl()', False),
    ('"example.com".isDomain()', True), ('"asdf".isDomain()', False), ('"https://example.com/".isDomain()', False),
    ('"www.example.com".isDomain()', True), ('"example.co.uk".isDomain()', True), ('"example.".isDomain()', False),
    ('".com".isDomain()', False), ('"example..com".isDomain()', False), ('"example_com".isDomain()', False),
    ('"example com".isDomain()', False), ('"123.com".isDomain()', True),
    ('"xn--80aswg.xn--p1ai".isDomain()', True), ('"example.com:8080".isDomain()', True), ('"".isDomain()', False),
    ('"I am a test!".toSnakeCase()', "i_am_a_test"), ('"i_am_a_test".toSnakeCase()', "i_am_a_test"),
    ('"quick brown $FOX".toSnakeCase()', "quick_brown_fox"),
    ('"i am a test! i have multiple types of Punctuation. or do i?".toSentenceCase()',
     "I am a test! I have multiple types of punctuation. Or do i?"),
    ('"i am a test!".toSentenceCase()', "I am a test!"), ('"i am a test".toSentenceCase()', "I am a test"),
    ('"quick! brown FOX".toSentenceCase()', "Quick! Brown fox"),
    ('"quick a brown fox".toTitleCase()', "Quick a Brown Fox"),
    ('"the lord of the rings".toTitleCase()', "The Lord of the Rings"),
    ('"I am a test with a url: https://example.net/ and I am a test with an email: test@example.org"'
     '.extractUrl()', "https://example.net/"),
    ('"Check this out: https://subdomain.example.com:3000/path?q=1#hash".extractUrl()',
     "https://subdomain.example.com:3000/path?q=1#hash"),
    ('"Invalid URL: http:///example.com".extractUrl()', None),
    ('"Mixed content: https://www.example.com and http://www.example.org".extractUrl()', "https://www.example.com"),
    ('"Localhost URL: http://localhost:8080/test?x=1".extractUrl()', "http://localhost:8080/test?x=1"),
    ('"IP URL: http://192.168.1.1:8000/path?q=value#frag".extractUrl()', "http://192.168.1.1:8000/path?q=value#frag"),
    ('"test@example.org".extractDomain()', "example.org"), ('"https://www.google.com".extractDomain()',
                                                              "www.google.com"),
    ('"ftp://ftp.example.com".extractDomain()', "ftp.example.com"), ('"google.com".extractDomain()', "google.com"),
    ('"//example.com".extractDomain()', "example.com"),
    ('"mailto:john.doe@example.com".extractDomain()', "example.com"),
    ('"tel:+1-555-123-4567".extractDomain()', None), ('"first.last@example.co.uk".extractDomain()', "example.co.uk"),
    ('"www.example.net?test=1213".extractDomain()', "www.example.net"),
    ('"https://www.example.net#tesdt123".extractDomain()', "www.example.net"),
    ('"https://192.168.1.1".extractDomain()', "192.168.1.1"), ('"https://localhost?test=123".extractDomain()',
                                                               "localhost"),
    ('"https://www.example_with_underscore.com".extractDomain()', "www.example_with_underscore.com"),
    ('"https://www.example.com:8080".extractDomain()', "www.example.com"),
    ('"I am a test with a url: https://example.net/ and I am a test with an email: test@example.org"'
     '.extractEmail()', "test@example.org"),
    ('"test@example.com".isEmail()', True), ('"aaaaaaaa".isEmail()', False), ('"test @ n8n".isEmail()', False),
    ('"It\'s me@example.com".isEmail()', False),
    ('"https://example.com/orders/1/detail#hash?foo=bar".extractUrlPath()', "/orders/1/detail"),
    ('"hi".extractUrlPath()', None),
    ('\'{"test1":1,"test2":"2"}\'.parseJson()', {"test1": 1, "test2": "2"}),
    ('"test".toJsonString()', json.dumps("test")), ('"".toJsonString()', '""'),
    ('"False".toBoolean()', False), ('"".toBoolean()', False), ('"0".toBoolean()', False), ('"no".toBoolean()', False),
    ('"TRUE".toBoolean()', True), ('"hello".toBoolean()', True),
    ('"n8n test".base64Encode()', "bjhuIHRlc3Q="), ('"bjhuIHRlc3Q=".base64Decode()', "n8n test"),
    ('"hello".base64Encode()', "aGVsbG8="), ('"déjà".replaceSpecialChars()', "deja"),
    ('"2008-11-11".toDateTime().toISODate()', "2008-11-11"),
    ('"Wed, 21 Oct 2015 07:28:00 GMT".toDateTime().toISO()', "2015-10-21T07:28:00.000+00:00"),
    ('"1713976144063".toDateTime("ms").toMillis()', 1713976144063),
    ('"31-01-2024".toDateTime("dd-MM-yyyy").toISODate()', "2024-01-31"),
    ('"quick".toUpperCase().toSnakeCase()', "quick"),
]

STRING_ERRORS: list[tuple[str, str]] = [
    ('"12345".hash("invalid")', "Unknown algorithm"),
    ('"{\'test1\':1,\'test2\':\'2\'}".parseJson()', "Parsing failed. Check you're using double quotes"),
    ('"No JSON here".parseJson()', "Parsing failed"),
    ('"hi".toDateTime()', "cannot convert to Luxon DateTime"),
    ('"1,5".toFloat()', "expected . as decimal separator"), ('"abc".toInt()', "cannot convert to integer"),
    ('"abc".toNumber()', "cannot convert to number"),
]

ARRAYS: list[tuple[str, Any]] = [
    ('[1,2,3, "imhere"].isNotEmpty()', True), ("[].isEmpty()", True), ("[1].isEmpty()", False),
    ("[{ value: 1, string: '1' }, { value: 2 }, { value: { something: 'else' } }].pluck('value')",
     [1, 2, {"something": "else"}]),
    ("[{ firstName: 'John', lastName: 'Doe', phone: {} }, { firstName: 'Jane', lastName: 'Doe' }]"
     ".pluck('firstName', 'lastName')", [["John", "Doe"], ["Jane", "Doe"]]),
    ("[{ name: 'Nathan', age: 42 },{ name: 'Jan', city: 'Berlin' }].pluck('age')", [42]),
    ("[{ value: 1 }, { value: 2 }].pluck()", [{"value": 1}, {"value": 2}]),
    ('["repeat","repeat","a","b","c"].unique()', ["repeat", "a", "b", "c"]),
    ('[1, 2, 3, "as", {}, {}, 1, 2, [1,2], "[sad]", "[sad]", null].unique()',
     [1, 2, 3, "as", {}, [1, 2], "[sad]", None]),
    ("[{'name':'Nathan', age:42}, {'name':'Jan', age:16}, {'name':'Nathan', age:21}].unique('name')",
     [{"name": "Nathan", "age": 42}, {"name": "Jan", "age": 16}]),
    ("[{ name: 'Nathan', age: 42 }, { name: 'Nathan', age: 22 }].removeDuplicates()",
     [{"name": "Nathan", "age": 42}, {"name": "Nathan", "age": 22}]),
    ("[{a: 1, b: 2}, {b: 2, a: 1}].unique()", [{"a": 1, "b": 2}]),
    ('["repeat","repeat","a","b","c"].last()', "c"), ('["repeat","repeat","a","b","c"].first()', "repeat"),
    ("[{ test1: 1, test2: 2 }, { test1: 1, test3: 3 }].merge([{ test1: 2, test3: 3 }, { test4: 4 }])",
     {"test1": 1, "test2": 2, "test3": 3, "test4": 4}),
    ('[{ a: 1, some: null }, { a: 2, c: "something" }, 2, "asds", { b: 23 }, null, [1, 2]].merge()',
     {"a": 1, "some": None, "c": "something", "b": 23}),
    ('[{ name: "test1", value: "value1" }, { name: "test2", value: null }].smartJoin("name", "value")',
     {"test1": "value1", "test2": None}),
    ('[{ test1: 1, test2: 2 }, { test1: 1, test3: 3 }].renameKeys("test1", "rename1", "test3", "rename3")',
     [{"rename1": 1, "test2": 2}, {"rename1": 1, "rename3": 3}]),
    ("[1, 2, 3, 4, 5, 6].sum()", 21), ("[1, 2, 3, 4, 5, 6].average()", 3.5), ("[].average()", 0),
    ("[1, 2, 3, 4, 5, 6].min()", 1), ("[1, 2, 3, 4, 5, 6].max()", 6), ("[0.1, 0.2].sum()", 0.30000000000000004),
    ("[{ test1: 1 }, { test2: 2 }].union([{ test1: 1, test3: 3 }, { test2: 2 }, { test4: 4 }])",
     [{"test1": 1}, {"test2": 2}, {"test1": 1, "test3": 3}, {"test4": 4}]),
    ('[1, 2, "dd", {}, null].union([1, {}, null, 3])', [1, 2, "dd", {}, None, 3]),
    ("[{ test1: 1 }, { test2: 2 }].intersection([{ test1: 1, test3: 3 }, { test2: 2 }, { test4: 4 }])",
     [{"test2": 2}]),
    ('[1, 2, "dd", {}, null].intersection([1, {}, null])', [1, {}, None]),
    ("[{ test1: 1 }, { test2: 2 }].difference([{ test1: 1, test3: 3 }, { test2: 2 }, { test4: 4 }])",
     [{"test1": 1}]),
    ("[{ test1: 1 }, { test2: 2 }].difference([{ test1: 1 }, { test2: 2 }])", []),
    ('[1, 2, "dd", {}, null, ["a", 1]].difference([1, {}, null, ["a", 1]])', [2, "dd"]),
    ('[{ test1: 1, test2: undefined, test3: null }, null, undefined, 1, 2, 0, { test: "asdf" }].compact()',
     [{"test1": 1}, 1, 2, 0, {"test": "asdf"}]),
    ('[2, null, 1, ""].compact()', [2, 1]),
    ("numberList(1, 20).chunk(5)", [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15], [16, 17, 18, 19, 20]]),
    ("[1, 2, 3, 4, 5].chunk(2)", [[1, 2], [3, 4], [5]]),
    ('[true, 1, "one", {foo: "bar"}].toJsonString()', '[true,1,"one",{"foo":"bar"}]'),
    ('[1,2,3].append(4,5,"done")', [1, 2, 3, 4, 5, "done"]),
    ("numberList(1, 20).toInt()", None), ("numberList(1, 20).toFloat()", None),
    ("numberList(1, 20).toBoolean()", None), ("numberList(1, 20).toDateTime()", None),
    ("[1, 2, 3, 4]?.sum()", 10),
]

ARRAY_ERRORS: list[tuple[str, str]] = [
    ('["1", 2, 3, 4, 5, "bad"].sum()', "sum(): all array elements must be numbers"),
    ('["1", 2, 3, 4, 5, "bad"].average()', "average(): all array elements must be numbers"),
    ('["1", 2].min()', "min(): all array elements must be numbers"),
    ('["1", 2].max()', "max(): all array elements must be numbers"),
    ("[1].chunk(0)", "chunk(): expected non-zero numeric arg"), ("[1].union(1)", "union(): expected array arg"),
    ('[{a: 1}].renameKeys("a")', "renameKeys(): expected an even amount of args"),
    ('[{a: 1}].smartJoin("a")', "smartJoin(): expected two string args"),
    ('[{a: 1}].merge({a: 1})', "merge(): expected array arg"),
]

OBJECTS: list[tuple[str, Any]] = [
    ("({}).isEmpty()", True), ("({ test: 1 }).isEmpty()", False),
    ("({ test1: null, test2: undefined }).isEmpty()", False), ("({'name': 'Nathan'}).isNotEmpty()", True),
    ('({ test1: 1 }).hasField("test1")', True), ('({ test1: 1 }).hasField("test2")', False),
    ("({ name: 'Nathan', age: 42 }).hasField('Name')", False),
    ('({ test1: 1, test2: 2, test3: 3 }).removeField("test2")', {"test1": 1, "test3": 3}),
    ('({ test1: 1, test2: 2, test3: 3 }).removeField("testDoesntExist")', {"test1": 1, "test2": 2, "test3": 3}),
    ('({ test1: "i exist", test2: "i should be removed", test3: "i should also be removed" })'
     '.removeFieldsContaining("removed")', {"test1": "i exist"}),
    ("({ name: 'Mr Nathan', city: 'hanoi', age: 42 }).removeFieldsContaining('han')", {"age": 42}),
    ('({ test1: "i exist", test2: "i should be removed", test3: { test4: "me too" } }).keepFieldsContaining("exist")',
     {"test1": "i exist"}),
    ("({ name: 'Mr Nathan', city: 'hanoi', age: 42 }).keepFieldsContaining('han')",
     {"name": "Mr Nathan", "city": "hanoi"}),
    ('({ test1: 1, test2: "2", test3: undefined, test4: null }).compact()', {"test1": 1, "test2": "2"}),
    ('({ test1: 0, test2: false, test3: "", test4: "nil", test5: NaN }).compact()',
     {"test1": 0, "test2": False, "test5": None}),  # NaN is kept; as JSON it is null
    ("({}).compact()", {}), ("({ test1: undefined, test2: null }).compact()", {}),
    ('({ test1: 1, test2: { nested1: null, nested2: "value" }, test3: undefined }).compact()',
     {"test1": 1, "test2": {"nested2": "value"}}),
    ('({ test1: 1, test2: "2" }).urlEncode()', "test1=1&test2=2"),
    ("({ name: 'Mr Nathan', city: 'hanoi' }).urlEncode()", "name=Mr+Nathan&city=hanoi"),
    ("({ test1: 1, test2: 2 }).keys()", ["test1", "test2"]), ("({}).keys()", []),
    ('({ test1: 1, test2: "value" }).values()', [1, "value"]), ("({}).values()", []),
    ('({ test1: 1, test2: "2" }).toJsonString()', '{"test1":1,"test2":"2"}'),
    ('({ test1: 1, test2: "2" }).toInt()', None), ('({ test1: 1, test2: "2" }).toFloat()', None),
    ('({ test1: 1, test2: "2" }).toBoolean()', None), ('({ test1: 1, test2: "2" }).toDateTime()', None),
]

OBJECT_ERRORS: list[tuple[str, str]] = [
    ('({ test1: "i exist" }).removeFieldsContaining("")', "expected non-empty string arg"),
    ('({ test1: "i exist" }).keepFieldsContaining("")', "must be a non-empty string"),
]

NUMBERS: list[tuple[str, Any]] = [
    ("Number(100).format()", "100"), ("(123456.789).format()", "123,456.789"), ("(1.23456).format()", "1.235"),
    ("(-1234567).format()", "-1,234,567"), ("(1.2).ceil()", 2), ("(1.9).ceil()", 2), ("(1.0).ceil()", 1),
    ("(1.2).floor()", 1), ("(1.9).floor()", 1), ("(1.0).floor()", 1),
    ("(1.3333333).round(3)", 1.333), ("(1.3333333).round(0)", 1), ("(1.5001).round(0)", 2),
    ("(1.256).round()", 1), ("(1.256).round(1)", 1.3), ("(1.256).round(2)", 1.26),
    ("(9).isOdd()", True), ("(8).isOdd()", False), ("(0).isOdd()", False), ("(-3).isOdd()", True),
    ("(9).isEven()", False), ("(8).isEven()", True), ("(0).isEven()", True),
    ("(-1.7).abs()", 1.7), ("(4).isInteger()", True), ("(4.12).isInteger()", False), ("(-4).isInteger()", True),
    ("(1704085200000).toDateTime().toISO()", "2024-01-01T05:00:00.000+00:00"),  # n8n's test: 00:00 -05:00
    ('(1704085200000).toDateTime("ms").toISO()', "2024-01-01T05:00:00.000+00:00"),
    ('(1704085200).toDateTime("s").toISO()', "2024-01-01T05:00:00.000+00:00"),
    ('(42144).toDateTime("excel").toISO()', "2015-05-20T00:00:00.000+00:00"),  # n8n: 2015-05-19T20:00 -04:00
    ('(1704085200000000).toDateTime("us").toISO()', "2024-01-01T05:00:00.000+00:00"),
    ("(42144).toInt()", 42144), ("(42144.345).toInt()", 42144), ("(42144.545).toInt()", 42145),
    ("(42144).toFloat()", 42144), ("(42144.345).toFloat()", 42144.345),
    ("(42144).toBoolean()", True), ("(-1.549).toBoolean()", True), ("(0).toBoolean()", False),
    ("(true).toInt()", 1), ("(true).toFloat()", 1), ("(false).toInt()", 0), ("(false).toFloat()", 0),
    ("true.toNumber()", 1), ("false.toNumber()", 0), ("(true).toDateTime()", None), ("(true).toBoolean()", True),
    ("(undefined).isEmpty()", True), ("(null).isNotEmpty()", False), ("(0).isEmpty()", True),
]

NUMBER_ERRORS: list[tuple[str, str]] = [
    ("(NaN).isOdd()", "isOdd() is only callable on integers"), ("(9.2).isOdd()", "isOdd() is only callable"),
    ("(NaN).isEven()", "isEven() is only callable on integers"), ("(9.2).isEven()", "isEven() is only callable"),
    ('(1).toDateTime("days")', "Unsupported format 'days'"),
]

GLOBALS: list[tuple[str, Any]] = [
    ("min(1, 2, 3, 4, 5, 6)", 1), ("max(1, 2, 3, 4, 5, 6)", 6), ("average(1, 2, 3, 4, 5, 6)", 3.5),
    ("$min(4, 2, 9)", 2), ("$max(4, 2, 9)", 9), ("$average(1, 2)", 1.5),
    ("numberList(1, 10)", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    ("numberList(1, -10)", [1, 0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10]),
    ('zip(["test1", "test2", "test3"], [1, 2, 3])', {"test1": 1, "test2": 2, "test3": 3}),
    ('$if("a"==="a", 1, 2)', 1), ('$if("a"==="b", 1, 2)', 2), ('$if("a"==="a", 1)', 1), ('$if("a"==="b", 1)', False),
    # Only the branch taken runs (n8n rewrites $if to `?:`): the other would fail here.
    ('$if(true, "ok", $json.missing.deeper)', "ok"), ('$if(false, $json.missing.deeper, "ok")', "ok"),
    ("$not(1)", False), ("$not(0)", True), ("$not(undefined)", True), ('$not("")', True), ('$not("a")', False),
    ('$ifEmpty(1, "default")', 1), ('$ifEmpty(0, "default")', 0), ('$ifEmpty(false, "default")', False),
    ('$ifEmpty(true, "default")', True), ('$ifEmpty("", "default")', "default"),
    ('$ifEmpty(null, "default")', "default"), ('$ifEmpty(undefined, "default")', "default"),
    ('$ifEmpty([], "default")', "default"), ('$ifEmpty({}, "default")', "default"),
    ('$ifEmpty([1], "default")', [1]), ('$ifEmpty({a: 1}, "default")', {"a": 1}),
    ('$ifEmpty($json.missing, "none")', "none"),
]

GLOBAL_ERRORS: list[tuple[str, str]] = [
    ("$if(true)", "$if requires at least 2 parameters"), ("$ifEmpty(1)", "expected two arguments"),
    ('zip(["a"], [1, 2])', "keys and values not of equal length"),
]

# JavaScript's own methods stay as they were where an extension could have taken the name.
NATIVE: list[tuple[str, Any]] = [
    ('"hello".length', 5), ("[1, 2, 3].includes(2)", True), ("[1, 2, 3].at(-1)", 3), ("[1, 2, 3].slice(1)", [2, 3]),
    ('"abc".slice(1)', "bc"), ("({ keys: 1 }).keys", 1), ("({ keys: () => 'own' }).keys()", "own"),
    ("(1.5).toFixed(1)", "1.5"), ("[1, 2].first()", 1), ("[1, 2].last()", 2),
    ("$json.nums.sum()", 45), ("$json.people.pluck('name')", ["Bo", "al", "Cy"]),
    ("$json.text.extractEmail()", "jo@example.com"), ("$json.counts.keys()", ["x", "y"]),
]


@pytest.mark.parametrize(("source", "expected"), STRINGS + ARRAYS + OBJECTS + NUMBERS + GLOBALS + NATIVE)
def test_extension(source: str, expected: Any) -> None:
    assert ev(source) == expected


@pytest.mark.parametrize(("source", "message"),
                         STRING_ERRORS + ARRAY_ERRORS + OBJECT_ERRORS + NUMBER_ERRORS + GLOBAL_ERRORS)
def test_extension_error(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")):
        ev(source)


def test_nan_results() -> None:
    for source in ("(NaN).ceil()", "(NaN).floor()", "(NaN).round(3)", "min(1, NaN, 3)", "average(1, NaN, 3)"):
        value = evaluate(parse(source), ItemScope(RunView(), "Here", [], 0))
        assert isinstance(value, float) and math.isnan(value), source


def test_random_item_is_an_element() -> None:
    # Random as in n8n (the node's output is recorded, so a replay does not draw again).
    assert ev("[1, 2, 3].randomItem()") in (1, 2, 3)
    assert ev("[].randomItem()") is None


def test_date_now_is_the_executions_now() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    scope = ItemScope(RunView(now=now), "Here", [Item(json={})], 0)
    assert evaluate(parse("Date.now()"), scope) == int(now.timestamp() * 1000)
    assert evaluate(parse("Date.now() - $now.toMillis()"), scope) == 0


def test_extensions_do_not_change_the_item() -> None:
    data = {"people": [{"name": "Bo", "age": 31}, {"name": None}], "counts": {"x": 2, "y": ""}}
    item = Item(json=json.loads(json.dumps(data)))
    scope = ItemScope(RunView(), "Here", [item], 0)
    for source in ('$json.people.renameKeys("name", "who")', "$json.people.compact()", "$json.counts.compact()",
                   '$json.counts.removeField("x")', '$json.people.merge()', '$json.people.unique("name")',
                   '$json.people.append(1)', '$json.counts.keepFieldsContaining("2")'):
        plain_value(evaluate(parse(source), scope))
    assert item.json == data


def test_work_is_bounded_by_the_budget() -> None:
    with pytest.raises(ExpressionError, match="too many steps|too much data"):
        ev("[1, 2].chunk(0.0000001)")  # 20 million chunks: the step budget stops it
    with pytest.raises(ExpressionError, match="more than"):
        ev("numberList(1, 100000000)")


def test_large_inputs_within_the_data_budget() -> None:
    # Charged as data scanned (like the other array methods), not as evaluator steps, so large lists pass.
    assert ev("numberList(1, 200000).unique().length") == 200000
    assert ev("numberList(1, 200000).difference([5]).length") == 199999
    assert ev('"<b>x</b>".repeat(20000).removeTags().length') == 20000  # past the regex engine's input bound


def test_extensions_are_seen_only_by_calls_as_in_n8n() -> None:
    # n8n rewrites only calls (`x.keys()`): reading `$json.keys` of an item without that field stays undefined.
    assert ev("$json.counts.keys()") == ["x", "y"]
    assert ev("$json.counts.keys ?? 'none'") == "none"
    assert ev("typeof $json.tags.sum") == "undefined"
    assert ev("$json.nums.sum()") == 45
