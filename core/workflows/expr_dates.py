"""Dates in expressions: `$now`/`$today` (Luxon's DateTime in n8n) and `new Date()`, as one UTC value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.workflows.errors import ExpressionError
from core.workflows.expr_values import UNDEFINED, Fn, JsObject, to_number, to_string


def _arg(args: list[Any], i: int) -> Any:
    return args[i] if i < len(args) else UNDEFINED


def _fn(name: str, impl: Any) -> Fn:
    return Fn(name, impl)


class DateValue(JsObject):
    """A JavaScript Date and a Luxon DateTime in one (n8n's `$now` is Luxon, `new Date()` is a Date); UTC."""

    def __init__(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)

    def millis(self) -> int:
        return int(self.at.timestamp() * 1000)

    def iso_z(self) -> str:
        return self.at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.at.microsecond // 1000:03d}Z"

    def iso_offset(self) -> str:
        return self.iso_z()[:-1] + "+00:00"

    def get(self, key: str) -> Any:
        simple = {
            "toISOString": self.iso_z, "toJSON": self.iso_z, "toISO": self.iso_offset, "toString": self.iso_offset,
            "getTime": self.millis, "toMillis": self.millis, "valueOf": self.millis,
            "toSeconds": lambda: self.millis() / 1000, "toISODate": lambda: self.at.strftime("%Y-%m-%d"),
            "getFullYear": lambda: self.at.year, "getMonth": lambda: self.at.month - 1, "getDate": lambda: self.at.day,
            "getDay": lambda: (self.at.weekday() + 1) % 7, "getHours": lambda: self.at.hour,
            "getMinutes": lambda: self.at.minute, "getSeconds": lambda: self.at.second,
        }
        if key in simple:
            impl = simple[key]
            return _fn(key, lambda a: impl())
        fields = {"year": self.at.year, "month": self.at.month, "day": self.at.day, "hour": self.at.hour,
                  "minute": self.at.minute, "second": self.at.second, "weekday": self.at.isoweekday()}
        if key in fields:
            return fields[key]
        if key in ("plus", "minus"):
            sign = 1 if key == "plus" else -1
            return _fn(key, lambda a: DateValue(self.at + sign * _duration(a)))
        if key == "toFormat":
            return _fn(key, lambda a: _format(self.at, to_string(_arg(a, 0))))
        return UNDEFINED


_UNITS = {"millisecond": "milliseconds", "second": "seconds", "minute": "minutes", "hour": "hours", "day": "days",
          "week": "weeks"}


def _duration(args: list[Any]) -> timedelta:
    spec = _arg(args, 0)
    if isinstance(spec, dict):
        parts = spec.items()
    else:
        parts = [(to_string(_arg(args, 1)), spec)]  # type: ignore[assignment]
    kwargs: dict[str, float] = {}
    for unit, amount in parts:
        name = _UNITS.get(unit.rstrip("s"), None)
        if name is None:
            raise ExpressionError(f"unsupported duration unit {unit!r}")
        kwargs[name] = kwargs.get(name, 0) + float(to_number(amount))
    try:
        return timedelta(**kwargs)
    except OverflowError as err:
        raise ExpressionError("duration out of range") from err


_FORMAT = [("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S")]


def _format(at: datetime, fmt: str) -> str:
    out = fmt.replace("%", "%%")
    for token, code in _FORMAT:
        out = out.replace(token, code)
    return at.strftime(out)


def new_date(args: list[Any], scope: Any) -> DateValue:
    if not args:
        now = scope.lookup("$now")
        assert isinstance(now, DateValue)
        return DateValue(now.at)
    value = args[0]
    if isinstance(value, DateValue):
        return DateValue(value.at)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return DateValue(datetime.fromtimestamp(value / 1000, UTC))
        except (OverflowError, ValueError, OSError) as err:
            raise ExpressionError("invalid date") from err
    try:
        parsed = datetime.fromisoformat(to_string(value).replace("Z", "+00:00"))
    except ValueError as err:
        raise ExpressionError(f"invalid date {to_string(value)!r}") from err
    return DateValue(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
