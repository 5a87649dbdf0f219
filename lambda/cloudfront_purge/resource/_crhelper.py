"""The one module that knows crhelper (pinned: crhelper==2.0.12 in pyproject.toml).

crhelper runs the request: it calls the operation registered for the request type, turns
an exception into FAILED, fills a missing PhysicalResourceId, and starts a timer that
answers 0.5 s before Lambda ends the invocation. This module keeps that and changes five
things, through crhelper members its type stubs do not list (``_send``, ``_timeout``,
``_wrap_function``, ``_response_url``, ``_context``, ``_sam_local``, the ``AWS_SAM_LOCAL``
switch read by its constructor). tests/unit/test_crhelper_contract.py pins each of them,
so an upgrade that moves one fails there, not in a deploy.

- No EventBridge polling clients: crhelper builds lambda/events/logs clients at start-up
  for its polling, which this provider does not use (its 1-minute granularity is too
  coarse); skipping them keeps the cold start near ``import boto3`` + one client.
- Answers go through the project's body builder and sender (``responder``): bounded
  retries, non-2xx retried, the Reason cut at its end rather than its start.
- After a hand-off, this invocation answers nothing: the next leg answers.
- When the timer fires, the caller decides the answer (a rollback's Update answers SUCCESS).
- Its log lines follow the project's convention (docs/troubleshooting.md): a failed request
  logs ``request_failed`` with the error as fields, never the exception's text as the
  message (``_wrap_function`` replaced; its other lines rewritten by ``_event_names``).

The rest of the provider sees only :class:`Lifecycle` and the :class:`Answer` protocol.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Generic, Protocol, TypeVar

from crhelper import CfnResource

from cloudfront_purge.function.responder import response_body

logger = logging.getLogger(__name__)

SUCCESS = "SUCCESS"
FAILED = "FAILED"


class Answer(Protocol):
    """What one request has decided to answer so far; the caller makes one per request."""

    physical_id: str
    data: dict[str, str]
    reason: str


RequestT = TypeVar("RequestT", bound=Answer)
#: An operation: the event, Lambda's context, this request's state; returns the
#: PhysicalResourceId to answer.
Operation = Callable[[dict[str, Any], Any, RequestT], str]
#: Sends one answer: the ResponseURL and the body; returns whether it was delivered.
Sender = Callable[[str, Mapping[str, Any]], object]
#: The answer when time runs out before one was sent, given the problem: (status, reason).
OnTimeout = Callable[[RequestT, str], tuple[str, str]]


class Lifecycle(Generic[RequestT]):
    """Create / Update / Delete operations run by crhelper, one answer per request, and a
    hand-off that excludes the timer's answer."""

    def __init__(self, send: Sender) -> None:
        #: crhelper's resource underneath; only tests reach it (to fire its timer hook).
        self.resource = _Resource(self, send)
        self._operations: dict[str, Operation[RequestT]] = {}
        self._on_timeout: OnTimeout[RequestT] | None = None

    def create(self, operation: Operation[RequestT]) -> Operation[RequestT]:
        self._operations["Create"] = operation
        return operation

    def update(self, operation: Operation[RequestT]) -> Operation[RequestT]:
        self._operations["Update"] = operation
        return operation

    def delete(self, operation: Operation[RequestT]) -> Operation[RequestT]:
        self._operations["Delete"] = operation
        return operation

    def on_timeout(self, decide: OnTimeout[RequestT]) -> OnTimeout[RequestT]:
        self._on_timeout = decide
        return decide

    def __call__(self, event: dict[str, Any], context: Any, request: RequestT) -> None:  # noqa: ANN401 - Lambda's context
        """Run the operation for ``event`` and answer CloudFormation (unless handed off)."""
        self.resource.run(event, context, request)

    def begin_hand_off(self) -> bool:
        """Claim the hand-off; False if an answer (the timer's) went out already."""
        return self.resource.begin_hand_off()

    def end_hand_off(self, *, succeeded: bool) -> None:
        self.resource.end_hand_off(succeeded=succeeded)

    def operation(self, request_type: str) -> Operation[RequestT] | None:
        return self._operations.get(request_type)

    def timed_out(self, request: RequestT) -> tuple[str, str]:
        problem = (
            "the provider function ran out of time before it could hand the wait to a new "
            "invocation (a CloudFront call hung?); the invalidations go on in CloudFront"
        )
        if self._on_timeout is None:
            return FAILED, problem
        return self._on_timeout(request, problem)


class _Resource(CfnResource):
    """crhelper's CfnResource with the changes the module docstring lists."""

    def __init__(self, lifecycle: Lifecycle[Any], send: Sender) -> None:
        with _skip_polling_clients():
            # json_logging off: crhelper's JSON formatter would replace Lambda's own and drop
            # every field given as ``extra`` (docs/troubleshooting.md).
            super().__init__(
                json_logging=False, log_level="INFO", boto_level="ERROR", sleep_on_delete=0
            )
        self._sam_local = None
        logging.getLogger(CfnResource.__module__).addFilter(_event_names)
        self._lifecycle = lifecycle
        self._deliver = send
        # crhelper's timer runs on its own thread; this lock makes "answer" and "hand off"
        # exclusive, so CloudFormation never gets FAILED while a next leg waits.
        self._lock = threading.Lock()
        self._handing_off = False
        self._handed_off = False
        self._answered = False
        self._request: Answer | None = None
        self._request_event: Mapping[str, Any] = {}
        for request_type, register in (
            ("Create", self.create),
            ("Update", self.update),
            ("Delete", self.delete),
        ):
            register(self._operation_for(request_type))

    def _operation_for(self, request_type: str) -> Callable[[Any, Any], str]:
        def run(event: Any, context: Any) -> str:  # noqa: ANN401 - crhelper's arguments
            operation = self._lifecycle.operation(request_type)
            if operation is None:
                return ""
            assert self._request is not None
            return operation(event, context, self._request)

        return run

    def run(self, event: dict[str, Any], context: Any, request: Answer) -> None:  # noqa: ANN401
        self._handing_off = self._handed_off = self._answered = False
        self._request = request
        self._request_event = event
        try:
            self(event, context)
        finally:
            self._request = None

    def begin_hand_off(self) -> bool:
        with self._lock:
            if self._answered:
                return False
            self._handing_off = True
            return True

    def end_hand_off(self, *, succeeded: bool) -> None:
        with self._lock:
            self._handing_off = False
            self._handed_off = succeeded

    # crhelper 2.0.12 calls this with the registered operation; replaced so the failure is
    # logged as an event name with fields (docs/troubleshooting.md), not as ``str(e)``.
    def _wrap_function(self, func: Callable[[Any, Any], str] | None) -> None:
        request = self._request
        assert request is not None
        try:
            if func is not None:
                request.physical_id = func(self._request_event, self._context)  # type: ignore[attr-defined]
            self.Reason = request.reason
        except Exception as exc:
            logger.error(
                "request_failed",
                extra={
                    "request_type": self._request_event.get("RequestType"),
                    "error": type(exc).__name__,
                    "error_message": str(exc),
                },
                exc_info=True,
            )
            self.Reason = str(exc)
            self.Status = FAILED
        self.PhysicalResourceId = request.physical_id

    # crhelper 2.0.12's only way out to CloudFormation (its answer, its errors, its timer).
    def _send(
        self, status: str | None = None, reason: str = "", send_response: object = None
    ) -> None:
        with self._lock:
            if self._handed_off or self._answered:
                return
            self._answered = True
        request = self._request
        if status is None:
            status, reason = self.Status, str(self.Reason)
            physical_id = str(self.PhysicalResourceId)
        else:
            physical_id = request.physical_id if request is not None else ""
        # The ids crhelper read from this request's event (its public attributes), so an
        # event it could not read still gets the answer crhelper itself would build.
        ids = {
            "StackId": self.StackId,
            "RequestId": self.RequestId,
            "LogicalResourceId": self.LogicalResourceId,
        }
        body = response_body(
            ids,
            status=status,
            physical_id=physical_id,
            reason=reason,
            data=request.data if request is not None else {},
        )
        # _response_url: set by crhelper 2.0.12 per request; not in its stubs.
        self._deliver(self._response_url, body)  # type: ignore[attr-defined]

    # crhelper 2.0.12's timer, 0.5 s before Lambda ends the invocation.
    def _timeout(self) -> None:
        with self._lock:
            if self._handing_off or self._handed_off:
                return
        request = self._request
        if request is None:
            return
        status, reason = self._lifecycle.timed_out(request)
        self._send(status, reason)


def _event_names(record: logging.LogRecord) -> bool:
    """crhelper's own log lines in the project's convention (docs/troubleshooting.md): an
    event name as the message, the rest as fields. It logs an exception object (a request
    it could not run) or a sentence (how it chose a PhysicalResourceId)."""
    if isinstance(record.msg, BaseException):
        record.error = type(record.msg).__name__
        record.error_message = str(record.msg)
        record.msg, record.args = "request_failed", ()
    elif isinstance(record.msg, str) and not record.msg.isidentifier():
        record.note = record.getMessage()
        record.msg, record.args = "crhelper_note", ()
    return True


@contextmanager
def _skip_polling_clients() -> Iterator[None]:
    previous = os.environ.get("AWS_SAM_LOCAL")
    os.environ["AWS_SAM_LOCAL"] = "true"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["AWS_SAM_LOCAL"]
        else:
            os.environ["AWS_SAM_LOCAL"] = previous
