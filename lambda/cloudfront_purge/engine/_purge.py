"""The purge engine: create invalidations, wait for Completed, retry what is transient.

One piece of code serves the Lambda handler, the command-line tool and the benchmarks. It
takes an injected CloudFront client and clock, so the local cloud and the tests drive the
very code that runs in Lambda.

Each batch of paths on each target is a Job, with its own small state machine. A target is
a distribution or a distribution tenant: a tenant is purged with the
``...ForDistributionTenant`` operations and otherwise handled exactly like a distribution
(same references, waits, limits and retries; ``Job.kind`` says which calls to make).

    Pending --create--> InProgress --poll--> Completed
       |  ^                                  (or, when not waiting, done once accepted)
       v  | capacity freed
    Blocked (TooManyInvalidationsInProgress: read the in-progress load, submit when it fits)

    any state --terminal CloudFront error--> Failed (and the distribution's other jobs stop)

Transient faults (throttling, 5xx, connection errors) reschedule the same step with capped
exponential backoff and jitter. Two answers that are usually final are transient for a
bounded window, because AWS is eventually consistent:

- AccessDenied, for ``Timing.iam_wait`` (60 s) from this request's first call on the
  distribution: a grant CloudFormation has just created can take that long to apply.
- NoSuchInvalidation from GetInvalidation, for ``Timing.not_found_wait`` (30 s) from the
  moment CreateInvalidation accepted that very id.

All distributions progress together in one loop; a failed distribution does not stop the
others from being waited on. The engine logs nothing itself: every step is an event handed
to the caller's ``report`` (the handler logs it, the CLI prints it).

Where each part lives: the states and events in ``_states``, the function per state and
the one scheduler in ``_machine`` (its docstring has the diagram with the function names),
the loop in ``_run``, the classification of AWS errors in ``_errors``, distribution vs
tenant in ``_target``, every delay in ``_timing``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cloudfront_purge.engine._calls import TargetCalls
from cloudfront_purge.engine._job import Job, PurgeResult, Reporter
from cloudfront_purge.engine._machine import Machine
from cloudfront_purge.engine._run import Run
from cloudfront_purge.engine._timing import Clock, SystemClock, Timing
from cloudfront_purge.model.rules import PurgeSpec, caller_reference

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
else:
    CloudFrontClient = Any


def plan_jobs(spec: PurgeSpec, *, request_id: str) -> list[Job]:
    """Every (target, batch) pair, each with its deterministic CallerReference:
    distributions first, then distribution tenants."""
    batches = spec.batches()
    targets = [(d, False) for d in spec.distribution_ids] + [
        (t, True) for t in spec.distribution_tenant_ids
    ]
    return [
        Job(
            distribution_id=target,
            batch=batch,
            tenant=tenant,
            caller_reference=caller_reference(
                source_hash=spec.source_hash,
                request_id=request_id,
                distribution_id=target,
                batch=batch,
                tenant=tenant,
            ),
        )
        for target, tenant in targets
        for batch in batches
    ]


def purge(
    client: CloudFrontClient,
    jobs: Sequence[Job],
    *,
    deadline: float,
    timeout_seconds: float,
    wait: bool = True,
    stop_at: float | None = None,
    known: Mapping[str, str] | None = None,
    timing: Timing | None = None,
    clock: Clock | None = None,
    report: Reporter | None = None,
    rng: random.Random | None = None,
    first_calls: Mapping[str, float] | None = None,
) -> PurgeResult:
    """Run the jobs until each is Completed (or accepted, when not waiting).

    Args:
        client: a boto3 CloudFront client (or anything with the same three calls).
        jobs: from :func:`plan_jobs`.
        deadline: epoch seconds; past it, raise PurgeTimeout.
        timeout_seconds: the timeout the deadline came from, for the message.
        wait: False to finish once CloudFront accepted every batch.
        stop_at: epoch seconds at which to return unfinished (time for a hand-off).
        known: CallerReference -> invalidation id already created by an earlier leg.
        first_calls: distribution id -> epoch of this request's first call on it, from an
            earlier leg (``PurgeResult.first_calls``), so a hand-off does not restart the
            IAM window.

    Returns:
        PurgeResult; ``finished`` is False only when ``stop_at`` came first.

    Raises:
        PurgeFailed: a distribution failed terminally (after the others finished).
        PurgeTimeout: the deadline passed first.
    """
    machine = Machine(
        calls=TargetCalls(client),
        jobs=list(jobs),
        timing=timing or Timing(),
        clock=clock or SystemClock(),
        report=report or (lambda _event, _job: None),
        rng=rng or random.Random(),  # noqa: S311 - jitter, not cryptography
        first_calls=dict(first_calls or {}),
    )
    if known:
        machine.resume(known)
    run = Run(machine, wait=wait)
    return run.until(deadline=deadline, stop_at=stop_at, timeout_seconds=timeout_seconds)
