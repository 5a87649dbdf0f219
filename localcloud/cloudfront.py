"""A local CloudFront that behaves like the real one where invalidations are concerned.

moto 5.2.5 serves CloudFront, but its invalidations are unlike AWS: status "COMPLETED"
at once (the botocore waiter never succeeds), no CallerReference idempotency, no
in-progress limits, oldest-first lists and no path validation (see
/work/shared/FIELD-NOTES.md). Code that waits for an invalidation, retries it or
splits paths cannot be tested against that.

This module runs moto's server in process over real HTTP, so boto3 code reaches it
through ``AWS_ENDPOINT_URL`` with no code switch, and puts a WSGI middleware in front
of moto's app. The middleware answers the three invalidation operations itself
(CreateInvalidation, GetInvalidation, ListInvalidations) with CloudFront's behaviour
and XML, and hands every other request (CreateDistribution, GetDistribution, S3, ...)
to moto unchanged. Distributions are moto's: one created through boto3 against the
server is visible here.

moto internals this depends on (moto is pinned to 5.2.5 in pyproject for that reason):

- ``moto.moto_server.werkzeug_app.DomainDispatcherApplication``, ``create_backend_app``
  and ``MotoRequestHandler``: the same pieces ``ThreadedMotoServer`` builds its server
  from. We build the server ourselves because ThreadedMotoServer creates its app inside
  a private method and gives no way to wrap it.
- ``moto.cloudfront.models.cloudfront_backends[account]["aws"].distributions``: a dict
  keyed by distribution id, read to answer NoSuchDistribution.
- moto picks the account from ``MOTO_ACCOUNT_ID``, then the ``x-moto-account-id``
  header, then the access key. The middleware sets the header on every request it
  passes on (when absent), so distributions land in ``account_id``.

moto's backends are module-level state: every LocalCloudFront in one process (and any
``mock_aws`` there) shares the same distributions. Invalidation state, faults and
counters belong to each LocalCloudFront.

Run ``python -m localcloud.cloudfront --port 4566 --invalidation-seconds 30`` to point
the AWS CLI or a script at one by hand.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import string
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final, Self
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import boto3
from botocore.config import Config
from moto.cloudfront.models import cloudfront_backends
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from localcloud._service import LocalService

__all__ = [
    "OPERATIONS",
    "CloudFrontError",
    "FaultInjector",
    "InvalidationRecord",
    "LocalCloudFront",
    "main",
]

CREATE: Final = "CreateInvalidation"
GET: Final = "GetInvalidation"
LIST: Final = "ListInvalidations"
#: The operations this module answers itself; fault injection and counters use these names.
OPERATIONS: Final[frozenset[str]] = frozenset({CREATE, GET, LIST})

IN_PROGRESS: Final = "InProgress"
COMPLETED: Final = "Completed"

_XMLNS: Final = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
_API: Final = "/2020-05-31"
_INVALIDATIONS_RE: Final = re.compile(r"^/2020-05-31/distribution/(?P<dist>[^/]+)/invalidation/?$")
_INVALIDATION_RE: Final = re.compile(
    r"^/2020-05-31/distribution/(?P<dist>[^/]+)/invalidation/(?P<inv>[^/]+)$"
)
# Any other request about one distribution (GetDistribution, UpdateDistribution, ...):
# only looked at so that FaultInjector.deny() covers it too.
_DISTRIBUTION_RE: Final = re.compile(r"^/2020-05-31/distribution/(?P<dist>[^/]+)(?:/|$)")

# Roughly which IAM action a request passed on to moto needs, for the AccessDenied text.
_DISTRIBUTION_ACTIONS: Final = {"PUT": "UpdateDistribution", "DELETE": "DeleteDistribution"}

MAX_PATH_LENGTH: Final = 4000
DEFAULT_MAX_ITEMS: Final = 100

# Messages as CloudFront words them where known (from error reports in the field);
# bad-path errors get a suffix naming the path, which AWS does not give, to save a
# debugging session.
_BAD_PATHS_MESSAGE: Final = "Your request contains one or more invalid invalidation paths."
_TOO_MANY_FILES_MESSAGE: Final = (
    "Processing your request will cause you to exceed the maximum number of "
    "in-progress invalidations."
)
_TOO_MANY_WILDCARDS_MESSAGE: Final = (
    "Processing your request will cause you to exceed the maximum number of "
    "in-progress wildcard invalidations."
)
_REUSED_REFERENCE_MESSAGE: Final = (
    "Your request contains a caller reference that was used for a previous invalidation "
    "batch for the same distribution."
)

#: HTTP status and default message of the error codes a fault can name. Codes not
#: listed answer 400 unless a status is given.
ERROR_DEFAULTS: Final[dict[str, tuple[int, str]]] = {
    "Throttling": (400, "Rate exceeded"),
    "ServiceUnavailable": (503, "CloudFront encountered an internal error. Please try again."),
    "InternalError": (500, "CloudFront encountered an internal error. Please try again."),
    "AccessDenied": (403, "Access denied."),
    "NoSuchDistribution": (404, "The specified distribution does not exist."),
    "NoSuchInvalidation": (404, "The specified invalidation does not exist."),
    "TooManyInvalidationsInProgress": (400, _TOO_MANY_FILES_MESSAGE),
    "InvalidationBatchAlreadyExists": (409, "Invalidation batch already exists."),
    "InvalidArgument": (400, "An argument is invalid."),
    "MissingBody": (
        400,
        "This operation requires a body. Ensure that the body is present and the "
        "Content-Type header is set.",
    ),
    "InconsistentQuantities": (400, "The value of Quantity and the size of Items don't match."),
    "BatchTooLarge": (413, "Invalidation batch specified is too large."),
}

Duration = float | Callable[[str, Sequence[str]], float]


class CloudFrontError(Exception):
    """An error answered the way CloudFront answers it (code, message, HTTP status)."""

    def __init__(self, code: str, message: str | None = None, status: int | None = None) -> None:
        default_status, default_message = ERROR_DEFAULTS.get(code, (400, code))
        self.code = code
        self.message = message if message is not None else default_message
        self.status = status if status is not None else default_status
        super().__init__(f"{code} ({self.status}): {self.message}")


@dataclass(frozen=True)
class InvalidationRecord:
    """One invalidation as this server keeps it; what benchmarks and tests inspect.

    Times are epoch seconds (``time.time()``), so a benchmark can compare them with
    its own clock readings directly.
    """

    id: str
    distribution_id: str
    caller_reference: str
    paths: tuple[str, ...]
    create_time: float
    completes_at: float

    def status(self, now: float | None = None) -> str:
        """``InProgress`` until ``completes_at``, then ``Completed`` (CloudFront's case)."""
        return (
            COMPLETED if (time.time() if now is None else now) >= self.completes_at else IN_PROGRESS
        )

    @property
    def wildcard_count(self) -> int:
        """Wildcard paths are limited separately from file paths (15 vs 3,000 in progress)."""
        return sum(1 for p in self.paths if p.endswith("*"))

    @property
    def file_count(self) -> int:
        """Paths that name one file each; they count against the 3,000 in-progress limit."""
        return len(self.paths) - self.wildcard_count


@dataclass
class _Fault:
    code: str
    status: int
    message: str
    after: bool  # perform the operation, then answer the error (the response got lost)

    def error(self) -> CloudFrontError:
        return CloudFrontError(self.code, self.message, self.status)


@dataclass
class _RateRule:
    probability: float
    fault: _Fault


@dataclass
class _NthRule:
    call_number: int  # absolute call number (1-based) of the operation that fails
    fault: _Fault


@dataclass
class _FaultState:
    rates: dict[str, list[_RateRule]] = field(default_factory=dict)
    nth: dict[str, list[_NthRule]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    seen: dict[str, int] = field(default_factory=dict)


class FaultInjector:
    """Makes CloudFront fail on demand, so retry and error paths can be exercised.

    Real CloudFront throttles (``Throttling: Rate exceeded``), has 5xx spells
    (``ServiceUnavailable`` after 4 retries in aws-cdk issue 15891) and answers
    ``AccessDenied`` when an IAM grant is missing. Rates draw from a seeded
    ``random.Random`` so a failing run can be replayed.
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.RLock()
        self._seed = seed
        self._rng = random.Random(seed)
        self._state = _FaultState()

    @staticmethod
    def _make(code: str, status: int | None, message: str | None, after: bool) -> _Fault:
        err = CloudFrontError(code, message, status)
        return _Fault(code=err.code, status=err.status, message=err.message, after=after)

    @staticmethod
    def _check_operation(operation: str) -> None:
        if operation not in OPERATIONS:
            raise ValueError(
                f"unknown operation {operation!r}; expected one of {sorted(OPERATIONS)}"
            )

    def rate(
        self,
        operation: str,
        code: str,
        probability: float,
        *,
        status: int | None = None,
        message: str | None = None,
        after: bool = False,
    ) -> None:
        """Answer ``code`` on a share ``probability`` of the calls to ``operation``.

        Several rates on one operation add up (one draw per call picks at most one), so
        "20% Throttling and 5% ServiceUnavailable" is two calls. ``after=True``
        performs the operation first and then answers the error, as when CloudFront
        created the invalidation but the response was lost: the case a CallerReference
        exists for.
        """
        self._check_operation(operation)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {probability}")
        with self._lock:
            rules = self._state.rates.setdefault(operation, [])
            if sum(r.probability for r in rules) + probability > 1.0 + 1e-9:
                raise ValueError(f"rates for {operation} would add up to more than 1")
            rules.append(_RateRule(probability, self._make(code, status, message, after)))

    def on_call(
        self,
        operation: str,
        n: int,
        code: str,
        *,
        status: int | None = None,
        message: str | None = None,
        after: bool = False,
    ) -> None:
        """Answer ``code`` on the ``n``-th call (1-based) to ``operation`` from now on.

        Counting starts when the rule is set, so ``on_call(op, 1, ...)`` fails the next
        call whatever happened before; set it before any call to mean "the first call".
        """
        self._check_operation(operation)
        if n < 1:
            raise ValueError(f"n is 1-based, got {n}")
        with self._lock:
            base = self._state.seen.get(operation, 0)
            self._state.nth.setdefault(operation, []).append(
                _NthRule(base + n, self._make(code, status, message, after))
            )

    def deny(self, distribution_id: str) -> None:
        """Answer ``AccessDenied`` for every request about this distribution.

        Emulates a Lambda role without a grant on the distribution ARN (aws-cdk issue
        4223 is this failure during Delete). Covers requests passed on to moto too
        (GetDistribution, ...).
        """
        with self._lock:
            self._state.denied.add(distribution_id)

    def allow(self, distribution_id: str) -> None:
        """Undo :meth:`deny` for one distribution (the grant was added)."""
        with self._lock:
            self._state.denied.discard(distribution_id)

    def clear(self) -> None:
        """Remove every rule and denial and reseed, so a scenario starts from scratch."""
        with self._lock:
            seen = self._state.seen
            self._state = _FaultState(seen=seen)
            self._rng = random.Random(self._seed)

    def is_denied(self, distribution_id: str) -> bool:
        """Whether :meth:`deny` is in force for the distribution."""
        with self._lock:
            return distribution_id in self._state.denied

    def denial(self, distribution_id: str, action: str, account_id: str) -> CloudFrontError | None:
        """The AccessDenied error for a denied distribution, worded like IAM's."""
        if not self.is_denied(distribution_id):
            return None
        return CloudFrontError(
            "AccessDenied",
            f"User: arn:aws:sts::{account_id}:assumed-role/localcloud/test is not authorized "
            f"to perform: cloudfront:{action} on resource: "
            f"arn:aws:cloudfront::{account_id}:distribution/{distribution_id} because no "
            f"identity-based policy allows the cloudfront:{action} action",
        )

    def decide(self, operation: str) -> _Fault | None:
        """Count one call to ``operation`` and say which fault, if any, it meets.

        A call-number rule wins over a rate; the random draw happens only when the
        operation has rates, so rules on one operation do not shift another's draws.
        """
        with self._lock:
            number = self._state.seen.get(operation, 0) + 1
            self._state.seen[operation] = number
            nth = self._state.nth.get(operation, [])
            for rule in nth:
                if rule.call_number == number:
                    nth.remove(rule)
                    return rule.fault
            rates = self._state.rates.get(operation)
            if not rates:
                return None
            draw = self._rng.random()
            cumulative = 0.0
            for rate_rule in rates:
                cumulative += rate_rule.probability
                if draw < cumulative:
                    return rate_rule.fault
            return None


@dataclass
class _Batch:
    caller_reference: str
    paths: tuple[str, ...]


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local_name(child.tag) == name:
            return child
    return None


def _parse_batch(body: bytes) -> _Batch:
    """Parse and validate an InvalidationBatch as CloudFront does."""
    if not body.strip():
        raise CloudFrontError("MissingBody")
    try:
        # The body comes from a local client of a test server; expat in Python >= 3.11
        # refuses entity-expansion bombs anyway.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise CloudFrontError(
            "InvalidArgument", f"The request body is not valid XML: {exc}"
        ) from exc
    if _local_name(root.tag) != "InvalidationBatch":
        raise CloudFrontError("InvalidArgument", "The request body must be an InvalidationBatch.")
    ref_el = _child(root, "CallerReference")
    reference = (ref_el.text or "").strip() if ref_el is not None else ""
    if not reference:
        raise CloudFrontError("InvalidArgument", "The CallerReference is required.")
    paths_el = _child(root, "Paths")
    if paths_el is None:
        raise CloudFrontError("InvalidArgument", "The invalidation batch has no Paths.")
    quantity_el = _child(paths_el, "Quantity")
    try:
        quantity = int((quantity_el.text or "") if quantity_el is not None else "")
    except ValueError as exc:
        raise CloudFrontError("InvalidArgument", "Paths.Quantity must be an integer.") from exc
    items_el = _child(paths_el, "Items")
    paths = tuple(
        (el.text or "")
        for el in (items_el if items_el is not None else [])
        if _local_name(el.tag) == "Path"
    )
    if quantity != len(paths):
        raise CloudFrontError(
            "InconsistentQuantities",
            f"The value of Quantity ({quantity}) and the size of Items ({len(paths)}) don't match.",
        )
    if not paths:
        raise CloudFrontError("InvalidArgument", "The invalidation batch contains no paths.")
    for path in paths:
        problem = _path_problem(path)
        if problem:
            raise CloudFrontError(
                "InvalidArgument", f"{_BAD_PATHS_MESSAGE} {path[:200]!r}: {problem}"
            )
    return _Batch(reference, paths)


def _path_problem(path: str) -> str | None:
    """Why CloudFront would refuse one invalidation path, or None."""
    if not path.startswith("/"):
        return "a path must start with '/'"
    if "*" in path[:-1]:
        return "'*' is allowed only as the last character"
    if len(path) > MAX_PATH_LENGTH:
        return f"a path is at most {MAX_PATH_LENGTH} characters (this one has {len(path)})"
    return None


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _xml(root: ET.Element) -> bytes:
    return ('<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode")).encode("utf-8")


def _invalidation_xml(record: InvalidationRecord, now: float) -> bytes:
    root = ET.Element("Invalidation", {"xmlns": _XMLNS})
    _sub(root, "Id", record.id)
    _sub(root, "Status", record.status(now))
    _sub(root, "CreateTime", _timestamp(record.create_time))
    batch = _sub(root, "InvalidationBatch")
    paths = _sub(batch, "Paths")
    _sub(paths, "Quantity", str(len(record.paths)))
    items = _sub(paths, "Items")
    for path in record.paths:
        _sub(items, "Path", path)
    _sub(batch, "CallerReference", record.caller_reference)
    return _xml(root)


def _error_response(error: CloudFrontError, request_id: str) -> Response:
    root = ET.Element("ErrorResponse", {"xmlns": _XMLNS})
    err = _sub(root, "Error")
    _sub(err, "Type", "Receiver" if error.status >= 500 else "Sender")
    _sub(err, "Code", error.code)
    _sub(err, "Message", error.message)
    _sub(root, "RequestId", request_id)
    return Response(
        _xml(root),
        status=error.status,
        content_type="text/xml",
        headers={"x-amz-request-id": request_id},
    )


class _QuietRequestHandler(MotoRequestHandler):
    """moto's handler without werkzeug's one-line-per-request access log on stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Drop access-log lines; errors are still logged by werkzeug."""


class LocalCloudFront(LocalService):
    """moto's CloudFront over real HTTP, with CloudFront's invalidation behaviour.

    Invalidations stay ``InProgress`` for ``invalidation_seconds`` (a number, or a
    callable ``(distribution_id, paths) -> seconds`` for a spread), then read
    ``Completed``; status is computed from the clock on each read. CallerReference
    reuse, in-progress limits, path validation, newest-first paginated lists and
    NoSuchDistribution / NoSuchInvalidation answer as CloudFront does. ``faults`` makes
    calls fail on demand; ``calls()`` counts them for benchmarks. Thread-safe: the
    server answers each connection on its own thread.
    """

    def __init__(
        self,
        *,
        invalidation_seconds: Duration = 2.0,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        max_files_in_progress: int = 3000,
        max_wildcards_in_progress: int = 15,
        reused_reference_error: bool = False,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        quiet: bool = True,
    ) -> None:
        """Configure; nothing listens until :meth:`start`.

        ``reused_reference_error=True`` answers any CallerReference reuse with the
        ``InvalidArgument`` reported from the field instead of the documented
        idempotent reply, so a handler can be tested against both. ``port=0`` picks a
        free port. ``quiet`` drops the per-request access log.
        """
        self.account_id = account_id
        self.region = region
        self.max_files_in_progress = max_files_in_progress
        self.max_wildcards_in_progress = max_wildcards_in_progress
        self.reused_reference_error = reused_reference_error
        self.faults = FaultInjector(seed)
        self._duration: Duration = invalidation_seconds
        self._host = host
        self._port = port
        self._quiet = quiet
        self._lock = threading.RLock()
        self._ids = random.Random(f"invalidation-ids-{seed}")
        self._records: list[InvalidationRecord] = []  # oldest first
        self._by_id: dict[tuple[str, str], InvalidationRecord] = {}
        self._ids_used: set[str] = set()
        self._by_reference: dict[tuple[str, str], InvalidationRecord] = {}
        self._calls: dict[str, int] = {}
        self._get_calls: dict[str, int] = {}
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint_url = ""

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Self:
        """Listen on ``host:port`` in a daemon thread; sets :attr:`endpoint_url`."""
        if self._server is not None:
            raise RuntimeError("already started")
        handler = _QuietRequestHandler if self._quiet else MotoRequestHandler
        moto_app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self._host,
            self._port,
            self._middleware(moto_app),
            threaded=True,
            request_handler=handler,
        )
        port = self._server.server_address[1]
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host  # noqa: S104
        self.endpoint_url = f"http://{host}:{port}"
        # A short poll interval: shutdown() waits up to one interval (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"localcloud-cloudfront-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and free the port. Idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)


    # -- helpers for callers -------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Environment that points boto3 / the AWS CLI at this server with dummy keys."""
        self._require_started()
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, *, max_attempts: int | None = None) -> Any:  # noqa: ANN401 - boto3 client
        """A boto3 CloudFront client for this server.

        ``max_attempts=1`` switches botocore's retries off, so a test sees an injected
        fault itself instead of botocore quietly retrying it.
        """
        self._require_started()
        config = Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts}
            if max_attempts is not None
            else None
        )
        return boto3.client(
            "cloudfront",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - dummy key for the local server
            config=config,
        )

    def create_distribution(self, comment: str = "local") -> str:
        """Create a minimal distribution through boto3 against the server; return its Id."""
        reference = f"localcloud-{uuid.uuid4()}"
        response = self.client().create_distribution(
            DistributionConfig={
                "CallerReference": reference,
                "Comment": comment,
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "origin",
                            "DomainName": "origin.example.com",
                            "CustomOriginConfig": {
                                "HTTPPort": 80,
                                "HTTPSPort": 443,
                                "OriginProtocolPolicy": "https-only",
                            },
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "origin",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                },
            }
        )
        return str(response["Distribution"]["Id"])

    def set_invalidation_seconds(self, value: Duration) -> None:
        """Change how long invalidations created from now on stay InProgress."""
        with self._lock:
            self._duration = value

    def invalidations(self, distribution_id: str | None = None) -> list[InvalidationRecord]:
        """Invalidations created so far, oldest first, optionally for one distribution."""
        with self._lock:
            return [
                r
                for r in self._records
                if distribution_id is None or r.distribution_id == distribution_id
            ]

    def calls(self, operation: str) -> int:
        """How many requests for ``operation`` arrived, faulted or not (0 if none)."""
        with self._lock:
            return self._calls.get(operation, 0)

    def get_calls(self, invalidation_id: str) -> int:
        """How many GetInvalidation requests named this invalidation: a waiter's poll count."""
        with self._lock:
            return self._get_calls.get(invalidation_id, 0)

    def call_counts(self) -> dict[str, int]:
        """A snapshot of every operation's call count."""
        with self._lock:
            return dict(self._calls)

    def reset_counters(self) -> None:
        """Zero the call counters (not the invalidations), e.g. between benchmark rounds."""
        with self._lock:
            self._calls.clear()
            self._get_calls.clear()

    def complete_now(
        self, *, distribution_id: str | None = None, invalidation_id: str | None = None
    ) -> int:
        """Make in-progress invalidations Completed at once; return how many changed.

        Lets a test free in-progress capacity or end a wait at a chosen moment instead
        of sleeping through the configured duration.
        """
        with self._lock:
            now = time.time()
            changed = 0
            for index, record in enumerate(self._records):
                if record.status(now) != IN_PROGRESS:
                    continue
                if distribution_id is not None and record.distribution_id != distribution_id:
                    continue
                if invalidation_id is not None and record.id != invalidation_id:
                    continue
                done = replace(record, completes_at=now)
                self._records[index] = done
                self._by_id[(done.distribution_id, done.id)] = done
                self._by_reference[(done.distribution_id, done.caller_reference)] = done
                changed += 1
            return changed

    def distribution_exists(self, distribution_id: str, account_id: str | None = None) -> bool:
        """Whether moto knows the distribution in the account (this server's by default)."""
        backend = cloudfront_backends[account_id or self.account_id]["aws"]
        return distribution_id in backend.distributions

    # -- the invalidation operations -------------------------------------------------

    def _require_started(self) -> None:
        if not self.endpoint_url:
            raise RuntimeError("call start() first")

    def _draw_duration(self, distribution_id: str, paths: tuple[str, ...]) -> float:
        duration = self._duration
        seconds = duration(distribution_id, paths) if callable(duration) else duration
        return max(0.0, float(seconds))

    def _new_id(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        while True:
            candidate = "I" + "".join(self._ids.choice(alphabet) for _ in range(13))
            if candidate not in self._ids_used:
                self._ids_used.add(candidate)
                return candidate

    def _create(self, distribution_id: str, batch: _Batch) -> InvalidationRecord:
        """Create, or return the earlier invalidation for a reused CallerReference."""
        with self._lock:
            now = time.time()
            earlier = self._by_reference.get((distribution_id, batch.caller_reference))
            if earlier is not None:
                if self.reused_reference_error:
                    raise CloudFrontError("InvalidArgument", _REUSED_REFERENCE_MESSAGE)
                if earlier.paths != batch.paths:
                    raise CloudFrontError(
                        "InvalidationBatchAlreadyExists",
                        f"Invalidation batch already exists with CallerReference "
                        f"{batch.caller_reference!r} and different paths (as {earlier.id}).",
                    )
                return earlier
            in_progress = [
                r
                for r in self._records
                if r.distribution_id == distribution_id and r.status(now) == IN_PROGRESS
            ]
            new_wildcards = sum(1 for p in batch.paths if p.endswith("*"))
            new_files = len(batch.paths) - new_wildcards
            busy_files = sum(r.file_count for r in in_progress)
            busy_wildcards = sum(r.wildcard_count for r in in_progress)
            if new_wildcards and busy_wildcards + new_wildcards > self.max_wildcards_in_progress:
                raise CloudFrontError("TooManyInvalidationsInProgress", _TOO_MANY_WILDCARDS_MESSAGE)
            if new_files and busy_files + new_files > self.max_files_in_progress:
                raise CloudFrontError("TooManyInvalidationsInProgress", _TOO_MANY_FILES_MESSAGE)
            record = InvalidationRecord(
                id=self._new_id(),
                distribution_id=distribution_id,
                caller_reference=batch.caller_reference,
                paths=batch.paths,
                create_time=now,
                completes_at=now + self._draw_duration(distribution_id, batch.paths),
            )
            self._records.append(record)
            self._by_id[(distribution_id, record.id)] = record
            self._by_reference[(distribution_id, batch.caller_reference)] = record
            return record

    def _get(self, distribution_id: str, invalidation_id: str) -> InvalidationRecord:
        with self._lock:
            record = self._by_id.get((distribution_id, invalidation_id))
        if record is None:
            raise CloudFrontError("NoSuchInvalidation")
        return record

    def _list(
        self, distribution_id: str, marker: str, max_items_text: str | None
    ) -> tuple[list[InvalidationRecord], int, str | None]:
        """One page, newest first: (items, max_items, next_marker or None)."""
        try:
            max_items = (
                DEFAULT_MAX_ITEMS if max_items_text in (None, "") else int(max_items_text or "")
            )
        except ValueError as exc:
            raise CloudFrontError("InvalidArgument", "MaxItems must be an integer.") from exc
        if max_items < 0:
            raise CloudFrontError("InvalidArgument", "MaxItems must not be negative.")
        newest_first = list(reversed(self.invalidations(distribution_id)))
        start = 0
        if marker:
            ids = [r.id for r in newest_first]
            if marker not in ids:
                raise CloudFrontError("InvalidArgument", f"The Marker {marker!r} is not valid.")
            start = ids.index(marker) + 1
        page = newest_first[start : start + max_items]
        truncated = start + len(page) < len(newest_first)
        next_marker = page[-1].id if truncated and page else None
        return page, max_items, next_marker

    # -- WSGI ----------------------------------------------------------------------

    def _middleware(self, moto_app: WSGIApplication) -> WSGIApplication:
        """The WSGI app the server runs: our invalidation operations, else moto."""

        def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            environ.setdefault("HTTP_X_MOTO_ACCOUNT_ID", self.account_id)
            path = environ.get("PATH_INFO", "")
            method = environ.get("REQUEST_METHOD", "GET")
            if path.startswith(_API + "/distribution/") and _is_cloudfront(environ):
                response = self._handle(environ, path, method)
                if response is not None:
                    return response(environ, start_response)
            return moto_app(environ, start_response)

        return app

    def _account_for(self, environ: WSGIEnvironment) -> str:
        """The account moto will use for this request (same precedence as moto)."""
        return os.environ.get("MOTO_ACCOUNT_ID") or str(environ.get("HTTP_X_MOTO_ACCOUNT_ID"))

    def _handle(self, environ: WSGIEnvironment, path: str, method: str) -> Response | None:
        """Answer an invalidation operation, or a denied distribution; None passes to moto."""
        request_id = str(uuid.uuid4())
        account = self._account_for(environ)
        operation: str | None = None
        invalidation_id = ""
        if (m := _INVALIDATION_RE.match(path)) and method == "GET":
            operation, distribution_id, invalidation_id = GET, m["dist"], m["inv"]
        elif (m := _INVALIDATIONS_RE.match(path)) and method in ("GET", "POST"):
            operation, distribution_id = (CREATE if method == "POST" else LIST), m["dist"]
        elif m := _DISTRIBUTION_RE.match(path):
            action = _DISTRIBUTION_ACTIONS.get(method, "GetDistribution")
            denial = self.faults.denial(m["dist"], action, account)
            return _error_response(denial, request_id) if denial else None
        else:
            return None

        with self._lock:
            self._calls[operation] = self._calls.get(operation, 0) + 1
            if operation == GET:
                self._get_calls[invalidation_id] = self._get_calls.get(invalidation_id, 0) + 1
        try:
            fault = self.faults.decide(operation)  # first, so every call is numbered
            denial = self.faults.denial(distribution_id, operation, account)
            if denial is not None:
                raise denial
            if fault is not None and not fault.after:
                raise fault.error()
            if not self.distribution_exists(distribution_id, account):
                raise CloudFrontError("NoSuchDistribution")
            response = self._perform(
                operation, distribution_id, invalidation_id, environ, request_id
            )
            if fault is not None:
                raise fault.error()
            return response
        except CloudFrontError as error:
            return _error_response(error, request_id)

    def _perform(
        self,
        operation: str,
        distribution_id: str,
        invalidation_id: str,
        environ: WSGIEnvironment,
        request_id: str,
    ) -> Response:
        request = Request(environ)
        headers = {"x-amz-request-id": request_id}
        if operation == CREATE:
            record = self._create(distribution_id, _parse_batch(request.get_data()))
            location = (
                f"{request.host_url.rstrip('/')}{_API}/distribution/{distribution_id}"
                f"/invalidation/{record.id}"
            )
            return Response(
                _invalidation_xml(record, time.time()),
                status=201,
                content_type="text/xml",
                headers={**headers, "Location": location},
            )
        if operation == GET:
            record = self._get(distribution_id, invalidation_id)
            return Response(
                _invalidation_xml(record, time.time()),
                status=200,
                content_type="text/xml",
                headers=headers,
            )
        marker = request.args.get("Marker", "")
        page, max_items, next_marker = self._list(
            distribution_id, marker, request.args.get("MaxItems")
        )
        now = time.time()
        root = ET.Element("InvalidationList", {"xmlns": _XMLNS})
        _sub(root, "Marker", marker)
        if next_marker is not None:
            _sub(root, "NextMarker", next_marker)
        _sub(root, "MaxItems", str(max_items))
        _sub(root, "IsTruncated", "true" if next_marker is not None else "false")
        _sub(root, "Quantity", str(len(page)))
        if page:
            items = _sub(root, "Items")
            for record in page:
                summary = _sub(items, "InvalidationSummary")
                _sub(summary, "Id", record.id)
                _sub(summary, "CreateTime", _timestamp(record.create_time))
                _sub(summary, "Status", record.status(now))
        return Response(_xml(root), status=200, content_type="text/xml", headers=headers)


def _is_cloudfront(environ: WSGIEnvironment) -> bool:
    """True unless the request is signed for another service (moto serves them all)."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    return match is None or match.group(1) == "cloudfront"


def main(argv: Sequence[str] | None = None) -> int:
    """Run a LocalCloudFront until Ctrl-C, printing the endpoint and the env to export."""
    parser = argparse.ArgumentParser(
        prog="python -m localcloud.cloudfront",
        description="A local CloudFront (moto plus real invalidation behaviour) over HTTP.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument(
        "--invalidation-seconds",
        type=float,
        default=30.0,
        help="how long invalidations stay InProgress",
    )
    parser.add_argument(
        "--max-files", type=int, default=3000, help="in-progress file paths per distribution"
    )
    parser.add_argument(
        "--max-wildcards", type=int, default=15, help="in-progress wildcards per distribution"
    )
    parser.add_argument(
        "--reused-reference-error",
        action="store_true",
        help="answer InvalidArgument to any CallerReference reuse (as seen in the field)",
    )
    parser.add_argument(
        "--create-distribution", action="store_true", help="create one and print its Id"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    cloudfront = LocalCloudFront(
        invalidation_seconds=args.invalidation_seconds,
        max_files_in_progress=args.max_files,
        max_wildcards_in_progress=args.max_wildcards,
        reused_reference_error=args.reused_reference_error,
        host=args.host,
        port=args.port,
        quiet=not args.verbose,
    )
    with cloudfront:
        print(f"Local CloudFront listening on {cloudfront.endpoint_url}")
        print(f"Invalidations stay InProgress for {args.invalidation_seconds:g} s.")
        print("Export this to point boto3 or the AWS CLI at it:")
        for key, value in cloudfront.env().items():
            print(f"export {key}={value}")
        if args.create_distribution:
            print(f"Distribution created: {cloudfront.create_distribution('localcloud CLI')}")
        print("Ctrl-C stops it.", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\nStopping.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
