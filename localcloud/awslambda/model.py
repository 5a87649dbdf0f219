"""What the local Lambda knows of a function and of one invocation of it."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "APPLICATION_LOG_LEVELS",
    "LOG_FORMATS",
    "SYSTEM_LOG_LEVELS",
    "Invocation",
    "InvocationSource",
    "InvocationType",
    "LambdaFunction",
]

#: ``LoggingConfig`` values Lambda accepts (AWS Lambda API reference, "LoggingConfig").
LOG_FORMATS = ("Text", "JSON")
APPLICATION_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
SYSTEM_LOG_LEVELS = ("DEBUG", "INFO", "WARN")
#: Level of the platform records this emulator writes (platform.start, platform.report):
#: INFO, so ``SystemLogLevel`` WARN hides them (AWS Lambda Developer Guide, "Log-level
#: filtering").
_PLATFORM_RECORD_LEVEL = "INFO"

InvocationSource = Literal["direct", "api", "retry", "duplicate", "destination"]
InvocationType = Literal["Event", "RequestResponse"]


@dataclass
class LambdaFunction:
    """A function as Lambda knows it. ``handler`` ``a.b.c`` means module ``a.b``, function ``c``."""

    name: str
    asset_dir: Path
    handler: str
    timeout_seconds: float = 3.0
    environment: dict[str, str] = field(default_factory=dict)
    memory_mb: int = 128
    runtime: str | None = None
    """The template's ``Runtime`` (e.g. ``python3.13``); informational: the local
    interpreter is whatever :class:`LocalLambda` is given."""
    log_format: str = "Text"
    """``LoggingConfig.LogFormat``: ``Text`` (Lambda's text lines) or ``JSON`` (the runtime
    writes one JSON object a record, and platform lines are JSON records too)."""
    application_log_level: str | None = None
    """``LoggingConfig.ApplicationLogLevel`` (JSON only): the runtime's root logger level;
    ``INFO`` when JSON and unset."""
    system_log_level: str | None = None
    """``LoggingConfig.SystemLogLevel`` (JSON only): platform records below it are not
    written; ``INFO`` when JSON and unset."""
    access_key_id: str | None = None
    """The access key id of its execution role's credentials (``localcloud.iam``: the local
    services evaluate calls signed with it against the role's policies); None: a dummy key
    no service evaluates."""

    def __post_init__(self) -> None:
        self.asset_dir = Path(self.asset_dir)
        if "." not in self.handler:
            raise ValueError(f"handler {self.handler!r} must look like 'module.function'")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be > 0")
        if self.log_format not in LOG_FORMATS:
            raise ValueError(
                f"function {self.name}: LogFormat {self.log_format!r} must be one of "
                f"{', '.join(LOG_FORMATS)}"
            )
        for key, value, allowed in (
            ("ApplicationLogLevel", self.application_log_level, APPLICATION_LOG_LEVELS),
            ("SystemLogLevel", self.system_log_level, SYSTEM_LOG_LEVELS),
        ):
            if value is None:
                continue
            # Lambda rejects log levels on a Text function rather than ignoring them.
            if self.log_format != "JSON":
                raise ValueError(
                    f"function {self.name}: {key} needs LogFormat JSON (it is "
                    f"{self.log_format})"
                )
            if value not in allowed:
                raise ValueError(
                    f"function {self.name}: {key} {value!r} must be one of {', '.join(allowed)}"
                )

    @property
    def logs_json(self) -> bool:
        return self.log_format == "JSON"

    def writes_platform_record(self, level: str) -> bool:
        """A platform record at ``level`` reaches the log under ``SystemLogLevel``."""
        threshold = self.system_log_level or "INFO"
        return SYSTEM_LOG_LEVELS.index(level) >= SYSTEM_LOG_LEVELS.index(threshold)



class Invocation:
    """One run of a handler in its own process. Fields fill in as it runs."""

    def __init__(
        self,
        *,
        function: LambdaFunction,
        event: object,
        request_id: str,
        invocation_type: InvocationType,
        source: InvocationSource,
        attempt: int,
        invoked_function_arn: str,
        received_at: float | None = None,
    ) -> None:
        self.function = function
        self.event: Any = event
        self.request_id = request_id
        self.invocation_type: InvocationType = invocation_type
        self.source: InvocationSource = source
        self.attempt = attempt
        self.invoked_function_arn = invoked_function_arn
        #: When Lambda accepted the event (retries keep the first one): the event's age
        #: is counted from here.
        self.received_at: float = time.time() if received_at is None else received_at
        #: Fault injection: this attempt was lost before the function ran.
        self.dropped = False
        #: Set by :meth:`LocalLambda.lose`: a failure of this attempt is neither retried nor
        #: sent to a destination (the event is gone, as when a host fails with it).
        self.lost = False
        self.started_at: float = 0.0
        self.ended_at: float | None = None
        self.returncode: int | None = None
        self.timed_out = False
        self.pid: int | None = None
        self.result: Any = None
        self.error: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._output = threading.Condition(self._lock)
        self._chunks: list[bytes] = []
        # Each complete line with the time it arrived, as CloudWatch Logs stamps each event
        # (Lambda's JSON timestamp has whole seconds only; this has the clock's resolution).
        self._lines: list[tuple[float, str]] = []
        self._partial = b""
        self._done = threading.Event()

    @property
    def logs(self) -> str:
        """Everything the process wrote to stdout and stderr, plus Lambda's
        START / END / REPORT lines and the "Task timed out" line. Live while running."""
        with self._lock:
            data = b"".join(self._chunks)
        return data.decode("utf-8", errors="replace")

    @property
    def log_events(self) -> list[tuple[float, str]]:
        """Each complete log line with the epoch time it arrived, in order."""
        with self._lock:
            return list(self._lines)

    @property
    def ran(self) -> bool:
        """The handler process was started (not a dropped attempt)."""
        return self.pid is not None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def succeeded(self) -> bool:
        """Finished, not timed out, and the handler returned (no error)."""
        return self.done and not self.timed_out and self.error is None and self.returncode == 0

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the process has ended and its logs are collected. True if done."""
        return self._done.wait(timeout)

    def wait_for_log(self, text: str, timeout: float) -> bool:
        """Block until ``text`` appears in the logs (True) or timeout / the end (False)."""
        needle = text.encode()
        deadline = time.monotonic() + timeout
        with self._output:
            while needle not in b"".join(self._chunks):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._done.is_set():
                    return False
                self._output.wait(remaining)
            return True

    def _append(self, data: bytes) -> None:
        now = time.time()
        with self._output:
            self._chunks.append(data)
            *complete, self._partial = (self._partial + data).split(b"\n")
            self._lines.extend(
                (now, line.decode("utf-8", errors="replace")) for line in complete
            )
            self._output.notify_all()

    def _finish(self) -> None:
        with self._lock:
            if self._partial:  # output that ended without a newline is still an event
                self._lines.append((time.time(), self._partial.decode("utf-8", "replace")))
                self._partial = b""
        self._done.set()
        with self._output:
            self._output.notify_all()

    def _log_line(self, text: str) -> None:
        self._append((text + "\n").encode())

    def _platform(
        self, text: str | None, record_type: str, record: dict[str, Any], at: float
    ) -> None:
        """A line Lambda itself writes: ``text`` for a Text function (none if ``None``), or
        for a JSON one a ``{"time", "type", "record"}`` object, kept only at or above the
        function's ``SystemLogLevel``."""
        fn = self.function
        if not fn.logs_json:
            if text is not None:
                self._log_line(text)
            return
        if not fn.writes_platform_record(_PLATFORM_RECORD_LEVEL):
            return
        millis = int(at * 1000) % 1000
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{millis:03d}Z"
        self._log_line(json.dumps({"time": stamp, "type": record_type, "record": record}))

    def __repr__(self) -> str:
        if not self.done:
            state = "running"
        else:
            state = "timed out" if self.timed_out else f"rc={self.returncode}"
        return (
            f"Invocation({self.function.name!r}, request_id={self.request_id!r}, "
            f"source={self.source}, attempt={self.attempt}, {state})"
        )
