"""Values from clients (JSON text, numbers, language codes), checked before anything uses them.

Every form field and realtime event field that holds a number goes through :func:`number`,
and every JSON text through :func:`parse_json`: nesting, Infinity, NaN, booleans and
numbers too large to convert are answered with a 400 that names the field, never a 500.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from typing import Any, Literal, overload

from .errors import APIError

__all__ = ["MAX_PROMPT_CHARACTERS", "language_code", "number", "parse_json", "prompt", "shown"]

MAX_PROMPT_CHARACTERS = 1_000
"""Whisper reads at most the last 224 tokens of a prompt: about 1,000 characters of English."""


def parse_json(text: str, param: str | None = None, code: str = "invalid_json") -> Any:
    """``text`` as JSON; a 400 (``code``) for anything that is not plain JSON.

    Refused: malformed text, ``Infinity``/``NaN``, integers over Python's digit limit and
    nesting too deep to parse (``RecursionError``), each with a message saying which.
    """
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except _Constant as constant:
        raise APIError(f"{constant} is not a JSON value: numbers are finite", 400, param, code) from None
    except RecursionError:
        raise APIError("not JSON this server reads: nested too deeply", 400, param, code) from None
    except ValueError as error:  # JSONDecodeError, and integers over Python's digit limit
        raise APIError(f"not JSON: {error}", 400, param, code) from None


class _Constant(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _Constant(name)


@overload
def number(value: Any, name: str, low: float, high: float, *, whole: Literal[True], param: str | None = None) -> int:
    ...


@overload
def number(value: Any, name: str, low: float, high: float, *, whole: Literal[False] = False,
           param: str | None = None) -> float:
    ...


@overload
def number(value: Any, name: str, low: float, high: float, *, whole: bool, param: str | None = None) -> float | int:
    ...


def number(value: Any, name: str, low: float, high: float, *, whole: bool = False,
           param: str | None = None) -> float | int:
    """``value`` as a number in ``[low, high]`` (an ``int`` when ``whole``), or a 400 naming ``name``."""
    kind = "a whole number" if whole else "a number"
    message = f"'{name}' must be {kind} in [{low:g}, {high:g}], got {shown(value)}"
    if isinstance(value, bool):
        raise APIError(message, 400, param or name, "invalid_value")
    if isinstance(value, str):
        try:
            value = float(value.strip()) if len(value) < 40 else math.nan
        except ValueError:
            value = math.nan
    if not isinstance(value, (int, float)):
        raise APIError(message, 400, param or name, "invalid_value")
    try:
        as_float = float(value)
    except OverflowError:  # an int too large for a float
        as_float = math.inf
    if not (math.isfinite(as_float) and low <= as_float <= high) or (whole and as_float != int(as_float)):
        raise APIError(message, 400, param or name, "invalid_value")
    return int(as_float) if whole else as_float


def shown(value: Any) -> str:
    """A short, safe repr of a client's value for an error message (any depth, any size)."""
    return reprlib.repr(value)


def language_code(value: Any, param: str = "language") -> str | None:
    """An ISO-639-1 (or -3) code such as ``en``, ``None`` for none; a 400 otherwise."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[a-z]{2,3}", value.strip()):
        raise APIError(f"'{param}' must be an ISO-639-1 code like 'en', got {shown(value)}", 400, param,
                       "invalid_value")
    return value.strip()


def prompt(value: str | None, param: str = "prompt") -> str | None:
    """A prompt for the recognizer, at most :data:`MAX_PROMPT_CHARACTERS` long."""
    if value is not None and len(value) > MAX_PROMPT_CHARACTERS:
        raise APIError(f"'{param}' is {len(value):,} characters long; this server accepts at most "
                       f"{MAX_PROMPT_CHARACTERS:,} (whisper reads only its last 224 tokens)", 400, param,
                       "invalid_value")
    return value
