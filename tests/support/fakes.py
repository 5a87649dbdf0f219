"""An in-memory CloudFront on a virtual clock, for engine logic without sockets or sleeps.

The HTTP-level emulator (localcloud.cloudfront) serves the local cloud's own tests
(tests/localcloud) and the functional and end-to-end tiers.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.paginate import Paginator

_SESSION = botocore.session.get_session()


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


def client_error(code: str, operation: str, status: int = 400, message: str = "") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message or code},
         "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


@dataclass
class FakeInvalidation:
    id: str
    distribution_id: str
    reference: str
    paths: tuple[str, ...]
    created: float
    done_at: float


@dataclass
class FakeCloudFront:
    clock: FakeClock
    duration: Callable[[str, tuple[str, ...]], float] = lambda _d, _p: 10.0
    distributions: set[str] = field(default_factory=lambda: {"EDIST1", "EDIST2"})
    max_files: int = 3000
    max_wildcards: int = 15
    reused_reference_error: bool = False
    invalidations: list[FakeInvalidation] = field(default_factory=list)
    faults: dict[str, list[ClientError | Exception]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    #: The Marker of every ListInvalidations call (None: not sent).
    markers: list[str | None] = field(default_factory=list)
    #: Distribution ids whose calls answer AccessDenied until the clock reaches the value.
    denied_until: dict[str, float] = field(default_factory=dict)
    #: GetInvalidation answers NoSuchInvalidation for this long after an invalidation is made.
    invisible_for: float = 0.0
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def _enter(self, op: str, distribution_id: str) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1
        queue = self.faults.get(op)
        if queue:
            raise queue.pop(0)
        if self.clock.now < self.denied_until.get(distribution_id, -1.0):
            raise client_error("AccessDenied", op, 403,
                               f"User: arn:aws:sts::123456789012:assumed-role/provider/fn is not authorized to perform: "
                               f"cloudfront:{op} on resource: arn:aws:cloudfront::123456789012:distribution/{distribution_id}")
        if distribution_id not in self.distributions:
            raise client_error("NoSuchDistribution", op, 404, "The specified distribution does not exist.")

    def _status(self, inv: FakeInvalidation) -> str:
        return "Completed" if self.clock.now >= inv.done_at else "InProgress"

    def _shape(self, inv: FakeInvalidation) -> dict[str, Any]:
        return {
            "Id": inv.id,
            "Status": self._status(inv),
            "CreateTime": datetime.fromtimestamp(inv.created, UTC),
            "InvalidationBatch": {
                "Paths": {"Quantity": len(inv.paths), "Items": list(inv.paths)},
                "CallerReference": inv.reference,
            },
        }

    def create_invalidation(self, *, DistributionId: str, InvalidationBatch: dict[str, Any]) -> dict[str, Any]:
        self._enter("CreateInvalidation", DistributionId)
        ref = InvalidationBatch["CallerReference"]
        paths = tuple(InvalidationBatch["Paths"]["Items"])
        for inv in self.invalidations:
            if inv.distribution_id == DistributionId and inv.reference == ref:
                if self.reused_reference_error:
                    raise client_error("InvalidArgument", "CreateInvalidation", 400,
                                       "Your request contains a caller reference that was used for a previous invalidation batch for the same distribution.")
                if inv.paths != paths:
                    raise client_error("InvalidationBatchAlreadyExists", "CreateInvalidation", 409)
                return {"Invalidation": self._shape(inv)}
        busy = [i for i in self.invalidations if i.distribution_id == DistributionId and self._status(i) == "InProgress"]
        files = sum(1 for i in busy for p in i.paths if not p.endswith("*")) + sum(1 for p in paths if not p.endswith("*"))
        wilds = sum(1 for i in busy for p in i.paths if p.endswith("*")) + sum(1 for p in paths if p.endswith("*"))
        if files > self.max_files or wilds > self.max_wildcards:
            raise client_error("TooManyInvalidationsInProgress", "CreateInvalidation")
        inv = FakeInvalidation(f"I{next(self._ids):04d}", DistributionId, ref, paths, self.clock.now,
                               self.clock.now + self.duration(DistributionId, paths))
        self.invalidations.append(inv)
        return {"Invalidation": self._shape(inv)}

    def get_invalidation(self, *, DistributionId: str, Id: str) -> dict[str, Any]:
        self._enter("GetInvalidation", DistributionId)
        for inv in self.invalidations:
            if inv.id == Id and inv.distribution_id == DistributionId and self.clock.now >= inv.created + self.invisible_for:
                return {"Invalidation": self._shape(inv)}
        raise client_error("NoSuchInvalidation", "GetInvalidation", 404, "The specified invalidation does not exist.")

    def get_paginator(self, name: str) -> Paginator:
        """botocore's own paginator over this fake, so paging is botocore's, not ours."""
        assert name == "list_invalidations"
        config = _SESSION.get_paginator_model("cloudfront").get_paginator("ListInvalidations")
        model = _SESSION.get_service_model("cloudfront").operation_model("ListInvalidations")
        return Paginator(self.list_invalidations, config, model)

    def list_invalidations(self, *, DistributionId: str, Marker: str | None = None, MaxItems: str | int = "100") -> dict[str, Any]:
        self.markers.append(Marker)
        if Marker == "":
            # As stock moto 5.2.5 answers it: an empty Marker is a bad request.
            raise client_error("BadRequest", "ListInvalidations", 400, "Bad Request")
        self._enter("ListInvalidations", DistributionId)
        mine = [i for i in reversed(self.invalidations) if i.distribution_id == DistributionId]
        start = next((n + 1 for n, i in enumerate(mine) if i.id == Marker), 0) if Marker else 0
        page = mine[start : start + int(MaxItems)]
        truncated = start + int(MaxItems) < len(mine)
        return {"InvalidationList": {
            "Items": [{"Id": i.id, "Status": self._status(i), "CreateTime": datetime.fromtimestamp(i.created, UTC)} for i in page],
            "IsTruncated": truncated, "NextMarker": page[-1].id if truncated and page else "",
            "Quantity": len(page), "MaxItems": int(MaxItems), "Marker": Marker or ""}}


class LambdaLogSink:
    """Where Lambda's runtime writes formatted log lines: kept here, parsed as JSON."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, msg: str, frame_type: bytes | None = None) -> None:
        self.lines.append(msg)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("message") == name]


@contextmanager
def lambda_json_logs() -> Iterator[LambdaLogSink]:
    """The logging set-up Lambda's Python runtime makes for ``logging_format`` JSON.

    awslambdaric's own ``_setup_logging`` (the runtime interface client the managed Python
    runtimes run) installs its handler and JsonFormatter on the root logger, as in Lambda;
    removed again afterwards.
    """
    from awslambdaric import bootstrap
    from awslambdaric.lambda_runtime_log_utils import LogFormat

    root = logging.getLogger()
    before, level, converter = list(root.handlers), root.level, logging.Formatter.converter
    sink = LambdaLogSink()
    bootstrap._setup_logging(LogFormat.JSON, "INFO", sink)
    try:
        yield sink
    finally:
        for added in [h for h in root.handlers if h not in before]:
            root.removeHandler(added)
        root.setLevel(level)
        logging.Formatter.converter = converter
