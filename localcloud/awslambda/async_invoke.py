"""Lambda's asynchronous invocation queue, as the AWS Lambda Developer Guide describes it
("How Lambda handles asynchronous invocations", "Capturing records of Lambda asynchronous
invocations"):

* a failed attempt (an error, a crash, a timeout) is retried up to ``retry_attempts``
  times (0..2), about 1 and then 2 minutes later, with the same request id;
* an event older than ``max_event_age_seconds`` (60..21600) when its retry is due is
  discarded instead;
* either way, a given-up event goes to the ``on_failure`` destination as an invocation
  record (``version``, ``timestamp``, ``requestContext`` {``requestId``, ``functionArn``,
  ``condition`` RetriesExhausted | EventAgeExceeded, ``approximateInvokeCount``},
  ``requestPayload``, and for RetriesExhausted ``responseContext`` / ``responsePayload``
  of the last attempt);
* the queue may lose an attempt or deliver an event twice: switches emulate both.

Delays and the event age scale with ``time_scale`` (1.0: as on AWS), so tests keep the
documented proportions in seconds instead of minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from localcloud.awslambda.model import Invocation, LambdaFunction

__all__ = [
    "RETRY_DELAYS_SECONDS",
    "AsyncConfig",
    "AsyncQueue",
    "Condition",
    "DestinationRecord",
    "destination_record",
]

#: Lambda's back-off between the attempts of an asynchronous event.
RETRY_DELAYS_SECONDS = (60.0, 120.0)
MAX_RETRY_ATTEMPTS = 2
MIN_EVENT_AGE_SECONDS = 60
MAX_EVENT_AGE_SECONDS = 21600

Condition = Literal["RetriesExhausted", "EventAgeExceeded"]
DestinationRecord = dict[str, Any]


@dataclass(frozen=True)
class AsyncConfig:
    """A function's EventInvokeConfig (``AWS::Lambda::EventInvokeConfig``)."""

    retry_attempts: int = MAX_RETRY_ATTEMPTS
    max_event_age_seconds: float = MAX_EVENT_AGE_SECONDS
    on_failure: str | None = None
    """Name or ARN of the destination function; None: given-up events are discarded."""

    def __post_init__(self) -> None:
        if not 0 <= self.retry_attempts <= MAX_RETRY_ATTEMPTS:
            raise ValueError(
                f"MaximumRetryAttempts must be between 0 and {MAX_RETRY_ATTEMPTS}, "
                f"got {self.retry_attempts}"
            )
        if not MIN_EVENT_AGE_SECONDS <= self.max_event_age_seconds <= MAX_EVENT_AGE_SECONDS:
            raise ValueError(
                f"MaximumEventAgeInSeconds must be between {MIN_EVENT_AGE_SECONDS} and "
                f"{MAX_EVENT_AGE_SECONDS}, got {self.max_event_age_seconds}"
            )


def destination_record(
    invocation: Invocation, condition: Condition, function_arn: str, now: float
) -> DestinationRecord:
    """The on-failure record Lambda sends for the event ``invocation`` was the last try of."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
    record: DestinationRecord = {
        "version": "1.0",
        "timestamp": stamp,
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": invocation.attempt,
        },
        "requestPayload": invocation.event,
    }
    if condition == "RetriesExhausted":
        record["responseContext"] = {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        }
        record["responsePayload"] = dict(invocation.error or {})
    return record


#: (function, event, call env, source, request id, attempt, received_at) -> the new attempt.
Launcher = Callable[..., Invocation]


@dataclass
class _Pending:
    timer: threading.Timer
    claimed: bool = False


class AsyncQueue:
    """Retries, event age, destinations and the drop / duplicate switches of one LocalLambda.

    Unconfigured functions keep the runtime's defaults: ``default_retries`` retries
    ``default_delay`` seconds apart, no age limit, no destination.
    """

    def __init__(
        self,
        cond: threading.Condition,
        *,
        launch: Launcher,
        resolve: Callable[[str], LambdaFunction | None],
        arn: Callable[[LambdaFunction], str],
        time_scale: float = 1.0,
        default_retries: int = 0,
        default_delay: float = 0.0,
    ) -> None:
        self._cond = cond
        self._launch = launch
        self._resolve = resolve
        self._arn = arn
        self.time_scale = time_scale
        self.default_retries = default_retries
        self.default_delay = default_delay
        self._configs: dict[str, AsyncConfig] = {}
        self._pending: list[_Pending] = []
        self._events_seen = 0
        self._drop: set[int] = set()
        self._duplicate: set[int] = set()
        self._stopped = False
        #: Every record sent to a destination, in order (what the destination received).
        self.records: list[DestinationRecord] = []

    # configuration and switches -----------------------------------------------------

    def configure(self, function_name: str, config: AsyncConfig | None) -> None:
        with self._cond:
            if config is None:
                self._configs.pop(function_name, None)
            else:
                self._configs[function_name] = config

    def config(self, function_name: str) -> AsyncConfig | None:
        with self._cond:
            return self._configs.get(function_name)

    def drop(self, *numbers: int) -> None:
        """Lose the Nth asynchronous attempts (1-based, counted over every function) before
        they run: each counts as a failed attempt, so Lambda's retry rules decide."""
        with self._cond:
            self._drop.update(numbers)

    def duplicate(self, *numbers: int) -> None:
        """Deliver the Nth asynchronous attempts twice, at once, with the same request id."""
        with self._cond:
            self._duplicate.update(numbers)

    @property
    def attempts(self) -> int:
        """Asynchronous attempts admitted so far (the caller holds the condition)."""
        return self._events_seen

    @property
    def pending(self) -> int:
        """Retries waiting for their time (the caller holds the condition)."""
        return len(self._pending)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            for pending in self._pending:
                if not pending.claimed:
                    pending.claimed = True
                    pending.timer.cancel()
            self._pending = []
            self._cond.notify_all()

    def start(self) -> None:
        with self._cond:
            self._stopped = False

    # the queue ------------------------------------------------------------------------

    def admit(self) -> tuple[bool, bool]:
        """Count one asynchronous attempt; (drop it, duplicate it). Caller holds the lock."""
        self._events_seen += 1
        number = self._events_seen
        return number in self._drop, number in self._duplicate

    def settle(self, invocation: Invocation, call_env: Mapping[str, str]) -> None:
        """After an asynchronous attempt ended: nothing, a retry, or the destination."""
        if invocation.invocation_type != "Event" or invocation.lost:
            return
        if invocation.error is None and not invocation.dropped:
            return
        fn = invocation.function
        config = self.config(fn.name)
        retries = config.retry_attempts if config else self.default_retries
        if invocation.attempt <= retries:
            self._schedule_retry(invocation, call_env, config)
        elif config is not None:
            self._give_up(invocation, "RetriesExhausted", config, call_env)

    def _delay(self, attempt: int, config: AsyncConfig | None) -> float:
        if config is None:
            return self.default_delay
        index = min(attempt, len(RETRY_DELAYS_SECONDS)) - 1
        return RETRY_DELAYS_SECONDS[index] * self.time_scale

    def _schedule_retry(
        self, invocation: Invocation, call_env: Mapping[str, str], config: AsyncConfig | None
    ) -> None:
        def fire() -> None:
            with self._cond:
                if pending.claimed:  # cancelled by stop()
                    return
                pending.claimed = True
            try:
                age = time.time() - invocation.received_at
                if config is not None and age > config.max_event_age_seconds * self.time_scale:
                    self._give_up(invocation, "EventAgeExceeded", config, call_env)
                    return
                self._launch(
                    invocation.function,
                    invocation.event,
                    call_env,
                    "retry",
                    invocation.request_id,
                    invocation.attempt + 1,
                    invocation.received_at,
                )
            except RuntimeError:
                pass  # stopped meanwhile
            finally:
                # Counted as pending until its attempt runs, so the queue is never seen
                # idle in between.
                with self._cond:
                    if pending in self._pending:
                        self._pending.remove(pending)
                    self._cond.notify_all()

        with self._cond:
            if self._stopped:
                return
            pending = _Pending(threading.Timer(self._delay(invocation.attempt, config), fire))
            pending.timer.daemon = True
            self._pending.append(pending)
            pending.timer.start()

    def _give_up(
        self,
        invocation: Invocation,
        condition: Condition,
        config: AsyncConfig,
        call_env: Mapping[str, str],
    ) -> None:
        if config.on_failure is None:
            return
        destination = self._resolve(config.on_failure)
        if destination is None:
            return  # as on AWS: a destination that does not exist loses the record
        record = destination_record(
            invocation, condition, self._arn(invocation.function), time.time()
        )
        with self._cond:
            if self._stopped:
                return
            self.records.append(record)
        try:
            self._launch(destination, record, call_env, "destination", None, 1, None)
        except RuntimeError:
            pass  # stopped meanwhile
