"""Reading a function's JSON log lines: did it log this event, with these fields?

The fault matrix and its prune cells judge the provider's logs with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["logged", "records"]


def records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The JSON object of each line that holds one (after any text prefix), in order."""
    for line in lines:
        start = line.find("{")
        if start < 0:
            continue
        try:
            entry = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry


def logged(logs: str, name: str, fields: tuple[str, ...]) -> bool:
    """Whether a JSON log line has ``name`` as its message (or event) and every field."""
    for entry in records(logs.splitlines()):
        message = entry.get("message")
        if isinstance(message, dict):  # a dict logged as the message: its keys are fields
            entry = {**entry, **message}
            message = message.get("event")
        if message == name and all(_has(entry, f) for f in fields):
            return True
    return False


def _has(entry: dict[str, Any], field_spec: str) -> bool:
    key, equals, value = field_spec.partition("=")
    return key in entry and (not equals or str(entry[key]) == value)
