"""n8n's string extensions (`"a b".toSnakeCase()`, `.hash()`, `.extractEmail()` ...), after its StringExtensions."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from core.workflows import expr_budget
from core.workflows import expr_string_regex as patterns
from core.workflows.date_parse import parse_date
from core.workflows.errors import ExpressionError
from core.workflows.expr_args import arg, cap
from core.workflows.expr_builtins import GLOBALS
from core.workflows.expr_dates import DateValue
from core.workflows.expr_ext_common import Extension, bind, from_millis, timestamp_to_date, to_json_string
from core.workflows.expr_regexp import RegExpValue
from core.workflows.expr_title_case import title_case
from core.workflows.expr_values import UNDEFINED, from_json, nullish, number, to_number, to_string, truthy

# n8n's patterns, as JavaScript regexes (run by Hive's RE2-backed engine, so linear in the text).
_CURRENCY = ("(\\u004c\\u0065\\u006b|\\u060b|\\u0024|\\u0192|\\u20bc|\\u0042\\u0072|\\u0042\\u005a\\u0024|"
             "\\u0024\\u0062|\\u004b\\u004d|\\u0050|\\u043b\\u0432|\\u0052\\u0024|\\u17db|\\u00a5|\\u20a1|"
             "\\u006b\\u006e|\\u20b1|\\u004b\\u010d|\\u006b\\u0072|\\u0052\\u0044\\u0024|\\u00a3|\\u20ac|\\u00a2|"
             "\\u0051|\\u004c|\\u0046\\u0074|\\u20b9|\\u0052\\u0070|\\ufdfc|\\u20aa|\\u004a\\u0024|\\u20a9|\\u20ad|"
             "\\u0434\\u0435\\u043d|\\u0052\\u004d|\\u20a8|\\u20ae|\\u004d\\u0054|\\u0043\\u0024|\\u20a6|"
             "\\u0042\\u002f\\u002e|\\u0047\\u0073|\\u0053\\u002f\\u002e|\\u007a\\u0142|\\u006c\\u0065\\u0069|\\u20bd|"
             "\\u0414\\u0438\\u043d\\u002e|\\u0053|\\u0052|\\u0043\\u0048\\u0046|\\u004e\\u0054\\u0024|\\u0e3f|"
             "\\u0054\\u0054\\u0024|\\u20ba|\\u20b4|\\u0024\\u0055|\\u0042\\u0073|\\u20ab|\\u005a\\u0024)")
_HOST = (r"((?:(?:[-\w]+\.)+(?:[a-zA-Z]{2,}|xn--[a-zA-Z0-9]+)|localhost|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}))"
         r"(?::\d+)?")
_DOMAIN_EXTRACT = (r"^(?:(?:https?|ftp):\/\/)?(?:mailto:)?(?:\/\/)?((?:www\.)?(?:(?:[-\w]+\.)+(?:[a-zA-Z]{2,}|"
                   r"xn--[a-zA-Z0-9]+)|localhost|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}))(?::\d+)?(?:\/[^\s?]*)?"
                   r"(?:\?[^\s#]*)?(?:#[^\s]*)?$")
_DOMAIN = r"^(?:www\.)?" + _HOST + r"(?:\/[^\s?]*)?(?:\?[^\s#]*)?(?:#[^\s]*)?$"
_EMAIL = (r'''(([^<>()\[\]\\.,;:\s@"]+(\.[^<>()\[\]\\.,;:\s@"]+)*)|(".+"))@(?<domain>(\[[0-9]{1,3}\.[0-9]{1,3}'''
          r'''\.[0-9]{1,3}\.[0-9]{1,3}])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))''')
# n8n's URL patterns end `(?=([^\s]+#.*)?)#?[^\s]*`: the look-ahead's group is optional, so it always holds and
# only fills a capture nobody reads. It is left out: without it RE2 runs the pattern (Hive refuses it otherwise).
_URL = r"(?:(?:https?|ftp):\/\/)(?:www\.)?" + _HOST + r"(?:\/[^\s?#]*)?(?:\?[^\s#]*)?#?[^\s]*"
_URL_EXACT = "^" + _URL + "$"
_SNAKE_DROP = re.compile(r"[\u2000-\u206F\u2E00-\u2E7F\\'!\"#$%&()*+,./:;<=>?@\[\]^`{|}~]")
_TAGS = re.compile(r"<[^>]*>?")
_SENTENCE = re.compile(r"[^!?.]*[!?.]|[^!?.]+")
# removeMarkdown's replacements, in n8n's order: (pattern, flags, replacement).
_MARKDOWN: list[tuple[str, str, str]] = [
    (r"^([\s\t]*)([*\-+]|\d\.)\s+", "gm", "$1"),
    (r"\n={2,}", "g", "\n"), (r"~~", "g", ""), (r"`{3}.*\n", "g", ""),
    (r"""<[\w|\s|=|'|"|:|(|)|,|;|/|0-9|.|-]+[>|\\>]""", "g", ""), (r"^[=-]{2,}\s*$", "g", ""),
    (r"\[\^.+?\](: .*?$)?", "g", ""), (r"\s{0,2}\[.*?\]: .*?$", "g", ""),
    (r"!\[.*?\][[(].*?[\])]", "g", ""), (r"\[(.*?)\][[(].*?[\])]", "g", "$1"), (r">", "g", ""),
    (r"""^\s{1,2}\[(.*?)\]: (\S+)( ".*?")?\s*$""", "g", ""), (r"^#{1,6}\s*([^#]*)\s*(#{1,6})?", "gm", "$1"),
    (r"([*_]{1,3})(\S.*?\S)\1", "g", "$2"), (r"(`{3,})(.*?)\1", "gm", "$2"), (r"^-{3,}\s*$", "g", ""),
    (r"`(.+?)`", "g", "$1"), (r"\n{2,}", "g", "\n\n"),
]
_HASHES = {"md5": "md5", "sha1": "sha1", "sha224": "sha224", "sha256": "sha256", "sha384": "sha384",
           "sha512": "sha512", "sha3": "sha3_512"}
# replaceSpecialChars: letters that do not decompose into an ASCII letter and a mark (n8n uses the
# transliteration package; Hive covers Latin scripts and writes '?' for the rest, as its `unknown` option does).
_LATIN = {"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "œ": "oe",
          "Œ": "OE", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "ı": "i", "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T",
          "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " "}


def _sub(text: str, source: str, flags: str, replacement: str) -> str:
    return patterns.replace(text, [RegExpValue(source, flags), replacement], False)


def _exec(source: str, text: str) -> Any:
    return RegExpValue(source, "").exec(text)


def _hash(text: str, args: list[Any]) -> str:
    algorithm = "md5" if nullish(arg(args, 0)) else to_string(arg(args, 0)).lower()
    expr_budget.charge(len(text))
    if algorithm == "base64":
        return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
    name = _HASHES.get(algorithm)
    if name is None:
        raise ExpressionError(f"Unknown algorithm {algorithm}. Available algorithms are: "
                              f"{','.join(_HASHES)}, and Base64.")
    return hashlib.new(name, text.encode("utf-8", "surrogatepass")).hexdigest()


def _remove_markdown(text: str, args: list[Any]) -> str:
    for source, flags, replacement in _MARKDOWN:
        text = _sub(text, source, flags, replacement)
    return text


def _remove_tags(text: str, args: list[Any]) -> str:
    # n8n's /<[^>]*>?/gm scans each character once, so Python's re runs it in linear time on texts of any length
    # (the regex engine's bound on input length would refuse long HTML bodies).
    expr_budget.charge(len(text))
    return _TAGS.sub("", text)


def _url_encode(text: str, args: list[Any]) -> str:
    # encodeURI keeps the URI's own syntax (`;/?:@&=+$,#`); encodeURIComponent encodes it too.
    safe = "-_.!~*'();/?:@&=+$,#" if truthy(arg(args, 0)) else "-_.!~*'()"
    return cap(urllib.parse.quote(text, safe=safe))


def _url_decode(text: str, args: list[Any]) -> str:
    return _decode_uri(text) if truthy(arg(args, 0)) else _decode(text)


def _decode(text: str) -> str:
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        raise ExpressionError("URI malformed")
    try:
        return urllib.parse.unquote(text, errors="strict")
    except UnicodeDecodeError as err:
        raise ExpressionError("URI malformed") from err


_URI_RESERVED = set(";/?:@&=+$,#")


def _decode_uri(text: str) -> str:
    # Escapes that stand for reserved characters stay escaped; the rest are decoded.
    parts = re.split(r"((?:%[0-9A-Fa-f]{2})+)", text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(part)
            continue
        decoded = _decode(part)
        escapes = [part[j:j + 3] for j in range(0, len(part), 3)]
        if len(decoded) == len(escapes) and any(c in _URI_RESERVED for c in decoded):
            out.append("".join(e if c in _URI_RESERVED else c for e, c in zip(escapes, decoded, strict=True)))
        else:
            out.append(decoded)
    return "".join(out)


def _strip_currency(text: str) -> str:
    return _sub(text, _CURRENCY, "gu", "")


def _parse_int(text: str, args: list[Any]) -> Any:
    value = GLOBALS["parseInt"]([_strip_currency(text), arg(args, 0)])
    if value != value:
        raise ExpressionError("cannot convert to integer")
    return value


def _to_float(text: str, args: list[Any]) -> Any:
    if "," in text:
        raise ExpressionError("cannot convert to float, expected . as decimal separator")
    value = GLOBALS["parseFloat"]([_strip_currency(text)])
    if value != value:
        raise ExpressionError("cannot convert to float")
    return value


def _to_number(text: str, args: list[Any]) -> Any:
    value = to_number(_strip_currency(text))
    if value != value:
        raise ExpressionError("cannot convert to number")
    return number(value)


def _quote(text: str, args: list[Any]) -> str:
    mark = '"' if arg(args, 0) is UNDEFINED else to_string(arg(args, 0))
    escaped = text.replace("\\", "\\\\")
    if mark:
        # n8n builds RegExp(`\\${mark}`): the mark's first character escaped, then the rest of it.
        escaped = escaped.replace(mark, "\\" + mark)
    return cap(mark + escaped + mark)


def _is_numeric(text: str, args: list[Any]) -> bool:
    if " " in text:
        return False
    whole, prefix = to_number(text), GLOBALS["parseFloat"]([text])
    return whole == whole and prefix == prefix


def _is_email(text: str, args: list[Any]) -> bool:
    return _exec(_EMAIL, text) is not None and " " not in text


def _sentence_case(text: str, args: list[Any]) -> str:
    # n8n capitalises the first letter of each sentence (text up to `!`, `?` or `.`), lowercases the rest, and
    # drops whatever follows the last sentence that has a letter.
    expr_budget.charge(len(text))
    pieces = _SENTENCE.findall(text)
    lettered = [i for i, p in enumerate(pieces) if any(c.isalpha() for c in p)]
    if not lettered:
        return ""
    out = []
    for piece in pieces[:lettered[-1] + 1]:
        first = next((i for i, c in enumerate(piece) if c.isalpha()), None)
        out.append(piece if first is None else piece[:first] + piece[first].upper() + piece[first + 1:].lower())
    return "".join(out)


def _snake_case(text: str, args: list[Any]) -> str:
    expr_budget.charge(len(text))
    return _SNAKE_DROP.sub("", re.sub(r"[ \-]", "_", text.lower()))


def _extract_email(text: str, args: list[Any]) -> Any:
    found = _exec(_EMAIL, text)
    return UNDEFINED if found is None else found[0]


def _extract_domain(text: str, args: list[Any]) -> Any:
    if _is_email(text, []):
        return _exec(_EMAIL, text).props["groups"]["domain"]
    found = RegExpValue(_DOMAIN_EXTRACT, "i").exec(text)
    return UNDEFINED if found is None else found[1]


def _extract_url(text: str, args: list[Any]) -> Any:
    found = RegExpValue(_URL, "i").exec(text)
    return UNDEFINED if found is None else found[0]


def _extract_url_path(text: str, args: list[Any]) -> Any:
    parsed = urllib.parse.urlsplit(text)
    if not parsed.scheme or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parsed.scheme):
        return UNDEFINED
    return parsed.path or ("/" if parsed.scheme in ("http", "https", "ftp", "ws", "wss", "file") else "")


def _parse_json(text: str, args: list[Any]) -> Any:
    try:
        return from_json(text)
    except ExpressionError as err:
        if "'" in text:
            raise ExpressionError("Parsing failed. Check you're using double quotes") from err
        raise ExpressionError("Parsing failed") from err


def _to_boolean(text: str, args: list[Any]) -> bool:
    return text != "" and text.lower() not in ("false", "no", "0")


def _base64_encode(text: str, args: list[Any]) -> str:
    return cap(base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii"))


def _base64_decode(text: str, args: list[Any]) -> str:
    # js-base64's fromBase64 accepts the URL-safe alphabet and missing padding, and ignores other characters.
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text.replace("-", "+").replace("_", "/"))
    cleaned = cleaned[:len(cleaned) - len(cleaned) % 4 if len(cleaned) % 4 == 1 else len(cleaned)]
    try:
        raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except binascii.Error as err:
        raise ExpressionError("invalid base64") from err
    return raw.decode("utf-8", "replace")


def _special_chars(text: str, args: list[Any]) -> str:
    expr_budget.charge(len(text))
    out = []
    for c in text:
        if c.isascii():
            out.append(c)
        elif c in _LATIN:
            out.append(_LATIN[c])
        else:
            base = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
            out.append(base if base and base.isascii() else "?")
    return "".join(out)


_LUXON_TOKENS = [("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"),
                 ("ss", "%S"), ("M", "%m"), ("d", "%d"), ("H", "%H")]


def _from_format(text: str, fmt: str) -> datetime:
    pattern, i = "", 0
    while i < len(fmt):
        for token, code in _LUXON_TOKENS:
            if fmt.startswith(token, i):
                pattern += code
                i += len(token)
                break
        else:
            if fmt[i].isalpha():
                raise ExpressionError(f"the date format token {fmt[i]!r} is not supported in Hive (yyyy, yy, MM, "
                                      "dd, HH, mm, ss are)")
            pattern += fmt[i].replace("%", "%%")
            i += 1
    return datetime.strptime(text, pattern).replace(tzinfo=UTC)


def _to_date_time(text: str, args: list[Any]) -> DateValue:
    fmt = arg(args, 0)
    try:
        if not nullish(fmt) and to_string(fmt) != "":
            if to_string(fmt) in ("ms", "s", "us", "excel"):
                return timestamp_to_date(to_number(text), fmt)
            return DateValue(_from_format(text, to_string(fmt)))
        if re.fullmatch(r"\d+", text.strip()):
            return from_millis(int(text.strip()))
        parsed = parse_date(text)
    except (ExpressionError, ValueError, OverflowError) as err:
        raise ExpressionError("cannot convert to Luxon DateTime") from err
    if parsed is None:
        raise ExpressionError("cannot convert to Luxon DateTime")
    return DateValue(parsed)


EXTENSIONS: dict[str, Extension] = {
    "hash": _hash, "removeMarkdown": _remove_markdown,
    "removeTags": _remove_tags,
    "toDateTime": _to_date_time, "toBoolean": _to_boolean,
    "toNumber": _to_number, "toFloat": _to_float, "toDecimalNumber": _to_float,
    "toInt": _parse_int, "toWholeNumber": _parse_int,
    "toSentenceCase": _sentence_case, "toSnakeCase": _snake_case, "toTitleCase": lambda t, a: title_case(t),
    "urlEncode": _url_encode, "urlDecode": _url_decode, "quote": _quote, "replaceSpecialChars": _special_chars,
    "isDomain": lambda t, a: RegExpValue(_DOMAIN, "i").exec(t) is not None, "isEmail": _is_email,
    "isNumeric": _is_numeric, "isUrl": lambda t, a: RegExpValue(_URL_EXACT, "i").exec(t) is not None,
    "isEmpty": lambda t, a: t == "", "isNotEmpty": lambda t, a: t != "",
    "toJsonString": to_json_string, "extractEmail": _extract_email, "extractDomain": _extract_domain,
    "extractUrl": _extract_url, "extractUrlPath": _extract_url_path, "parseJson": _parse_json,
    "base64Encode": _base64_encode, "base64Decode": _base64_decode,
}


def string_extension(text: str, key: str) -> Any:
    impl = EXTENSIONS.get(key)
    return UNDEFINED if impl is None else bind(key, impl, text)
