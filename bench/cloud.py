"""The local cloud the benchmark runs against, and the handler's own code paths.

One LocalCloudFront (moto + CloudFront's invalidation behaviour, over HTTP) and one
ResponseServer (the HTTPS ResponseURL endpoint) serve every section. Each invalidation's
duration is looked up by distribution and path, so two strategies given the same index get
the same duration.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cloudfront_purge import engine
from cloudfront_purge.function.responder import response_body, response_data
from cloudfront_purge.model import rules
from localcloud.cloudformation.responses import ResponseServer
from localcloud.cloudfront import LocalCloudFront

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/6a1f0c2e"
#: The provider function's timeout (FUNCTION_TIMEOUT in the construct's _function.py): each
#: leg waits this long less the handler's hand-off margin, then the handler re-invokes itself.
LAMBDA_TIMEOUT_SECONDS = 15 * 60

DurationRule = Callable[[Sequence[str]], float]


@dataclass
class DurationBook:
    """Per-distribution duration rules for LocalCloudFront's ``invalidation_seconds``."""

    rules: dict[str, DurationRule] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, distribution_id: str, rule: DurationRule) -> None:
        with self._lock:
            self.rules[distribution_id] = rule

    def __call__(self, distribution_id: str, paths: Sequence[str]) -> float:
        with self._lock:
            rule = self.rules.get(distribution_id)
        return 0.0 if rule is None else rule(paths)


@contextmanager
def local_cloud() -> Iterator[tuple[LocalCloudFront, ResponseServer, DurationBook]]:
    """Start both servers; the process trusts the ResponseServer's CA while they run."""
    book = DurationBook()
    with LocalCloudFront(invalidation_seconds=book) as cloud, ResponseServer() as responses:
        previous = os.environ.get("SSL_CERT_FILE")
        # responder.deliver uses ssl.create_default_context(), which reads SSL_CERT_FILE.
        os.environ["SSL_CERT_FILE"] = str(responses.cert_path)
        try:
            yield cloud, responses, book
        finally:
            if previous is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = previous


def handler_client_config() -> Any:  # noqa: ANN401 - botocore Config
    """The exact botocore Config the Lambda handler builds its CloudFront client with."""
    from cloudfront_purge.resource import handler

    return handler._CLIENT_CONFIG


def success_body(
    *,
    request_id: str,
    logical_id: str,
    physical_id: str,
    invalidation_ids: Sequence[str],
    caller_references: Sequence[str],
    status: str,
    distribution_ids: Sequence[str],
    path_count: int,
) -> dict[str, Any]:
    """The body the handler PUTs for a SUCCESS (``responder.response_body``, the one builder)."""
    return response_body(
        {"StackId": STACK_ID, "RequestId": request_id, "LogicalResourceId": logical_id},
        status="SUCCESS",
        physical_id=physical_id,
        reason="",
        data=response_data(
            invalidation_ids=invalidation_ids,
            caller_references=caller_references,
            status=status,
            distribution_ids=distribution_ids,
            path_count=path_count,
        ),
    )


@dataclass
class EngineRun:
    """What one request's run of the engine (over one or more Lambda legs) produced."""

    result: engine.PurgeResult
    spec: rules.PurgeSpec
    legs: int
    events: dict[str, int]


def run_like_handler(
    client: Any,  # noqa: ANN401 - boto3 CloudFront client
    properties: Mapping[str, object],
    *,
    request_id: str,
    factor: float,
) -> EngineRun:
    """Create/Update as handler._purge does it, with every delay scaled by ``factor``.

    Calls the engine itself (plan_jobs + purge); nothing of it is reimplemented. Each
    Lambda leg stops ``handoff_margin`` before the function's 15-minute timeout (both
    scaled); the next leg re-plans from the same event and resumes from ``known``, as
    the handler's self re-invocation does. Not modelled: the new leg's cold start and
    Lambda's async-invoke latency between legs.
    """
    from cloudfront_purge.resource.handler import handoff_margin

    spec = rules.parse_properties(properties)
    started = time.time()
    deadline = started + spec.timeout_seconds * factor
    leg_seconds = (LAMBDA_TIMEOUT_SECONDS - handoff_margin(LAMBDA_TIMEOUT_SECONDS)) * factor
    events: dict[str, int] = {}

    def report(kind: str, _job: engine.Job) -> None:
        events[kind] = events.get(kind, 0) + 1

    known: dict[str, str] | None = None
    legs = 0
    while True:
        legs += 1
        jobs = engine.plan_jobs(spec, request_id=request_id)
        result = engine.purge(
            client,
            jobs,
            deadline=deadline,
            timeout_seconds=spec.timeout_seconds,
            wait=spec.wait_for_completion,
            stop_at=time.time() + leg_seconds,
            known=known,
            timing=engine.Timing(scale=factor),
            report=report,
        )
        if result.finished:
            return EngineRun(result=result, spec=spec, legs=legs, events=events)
        known = result.known
