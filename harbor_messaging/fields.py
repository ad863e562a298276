"""Typed readers for JSON and query fields: each returns a clean value or raises InvalidInput."""

from __future__ import annotations

import re
from typing import Any

from .errors import InvalidInput

MAX_DB_ID = 2**63 - 1
# Control characters other than tab, newline and carriage return, and the bidi overrides
# that make text read differently from how it is stored.
_FORBIDDEN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_FORBIDDEN_LINE = re.compile("[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def text_field(
    data: dict[str, Any],
    name: str,
    *,
    max_length: int,
    required: bool = False,
    multiline: bool = True,
    default: str = "",
) -> str:
    """A string field: present (when required), a string, within ``max_length`` characters."""
    if name not in data or data[name] is None:
        if required:
            raise InvalidInput(f"{name} is required.", field=name)
        return default
    value = data[name]
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string.", field=name)
    return clean_text(value, name, max_length=max_length, multiline=multiline)


def clean_text(value: str, name: str, *, max_length: int, multiline: bool = True) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{name} is not valid Unicode text.", field=name) from exc
    pattern = _FORBIDDEN_TEXT if multiline else _FORBIDDEN_LINE
    if pattern.search(value):
        raise InvalidInput(f"{name} contains control characters.", field=name)
    if len(value) > max_length:
        raise InvalidInput(
            f"{name} is longer than {max_length} characters.",
            field=name,
            details={"maxLength": max_length, "length": len(value)},
        )
    return value.replace("\r\n", "\n")


def id_value(value: Any, name: str) -> int:
    """A positive integer id; bools, floats and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be a positive integer id.", field=name)
    if not 1 <= value <= MAX_DB_ID:
        raise InvalidInput(f"{name} is out of range.", field=name)
    return value


def optional_id(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    return id_value(value, name)


def id_list(
    data: dict[str, Any], name: str, *, max_items: int, required: bool = False
) -> list[int]:
    """A list of distinct ids, order kept, duplicates folded."""
    if name not in data or data[name] is None:
        if required:
            raise InvalidInput(f"{name} is required.", field=name)
        return []
    value = data[name]
    if not isinstance(value, list):
        raise InvalidInput(f"{name} must be a list of ids.", field=name)
    if len(value) > max_items:
        raise InvalidInput(
            f"{name} holds more than {max_items} ids.", field=name, details={"maxItems": max_items}
        )
    seen: dict[int, None] = {}
    for item in value:
        seen[id_value(item, name)] = None
    return list(seen)


def bool_field(
    data: dict[str, Any], name: str, *, required: bool = False, default: bool = False
) -> bool:
    if name not in data:
        if required:
            raise InvalidInput(f"{name} is required.", field=name)
        return default
    value = data[name]
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false.", field=name)
    return value


def query_bool(params: Any, name: str) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return False
    lowered = raw.lower()
    if lowered in {"1", "true", "yes"}:
        return True
    if lowered in {"0", "false", "no"}:
        return False
    raise InvalidInput(f"{name} must be 1 or 0.", field=name)


def query_int(params: Any, name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,6}", raw):
        raise InvalidInput(
            f"{name} must be a whole number from {minimum} to {maximum}.", field=name
        )
    value = int(raw)
    if not minimum <= value <= maximum:
        raise InvalidInput(
            f"{name} must be a whole number from {minimum} to {maximum}.", field=name
        )
    return value


def query_text(params: Any, name: str, *, max_length: int) -> str:
    raw = params.get(name)
    if raw is None:
        return ""
    return clean_text(raw, name, max_length=max_length, multiline=False).strip()


def reject_unknown(data: dict[str, Any], allowed: set[str]) -> None:
    """Unknown keys are refused, so a misspelt field is never silently ignored."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidInput(
            f"Unknown field: {', '.join(unknown)}.", field=unknown[0], details={"unknown": unknown}
        )
