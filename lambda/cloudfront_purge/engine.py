"""The purge engine: create invalidations, wait for Completed, retry what is transient.

One piece of code serves the Lambda handler, the command-line tool and the benchmarks. It
takes an injected CloudFront client and clock, so the local cloud and the tests drive the
very code that runs in Lambda.

Each batch of paths on each target is a Job, with its own small state machine. A target is
a distribution or a distribution tenant: a tenant is purged with the
``...ForDistributionTenant`` operations and otherwise handled exactly like a distribution
(same references, waits, limits and retries; ``Job.tenant`` says which calls to make).


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
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from cloudfront_purge.errors import (
    AwsError,
    CloudFrontCallError,
    PurgeError,
    PurgeFailed,
    PurgeTimeout,
    Unfinished,
)
from cloudfront_purge.rules import (
    MAX_FILES_IN_PROGRESS,
    MAX_SERVICE_TIMEOUT_SECONDS,
    MAX_WILDCARDS_IN_PROGRESS,
    Batch,
    PurgeSpec,
    caller_reference,
    is_wildcard,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
else:
    CloudFrontClient = Any

PENDING = "Pending"
BLOCKED = "Blocked"
IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
FAILED = "Failed"

#: Codes worth another try after a pause; every other ClientError is terminal.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_REUSED_REFERENCE_HINT = "caller reference"
#: A reused reference can only come from this same request, which is at most as old as
#: CloudFormation's longest ServiceTimeout (plus slack); older invalidations are not ours.
_LOOKBACK_SECONDS = 2 * MAX_SERVICE_TIMEOUT_SECONDS

#: How long AccessDenied on a distribution counts as "the grant has not applied yet",
#: counted from this request's first call on that distribution. IAM documents that it is
#: eventually consistent: a change takes time to be visible from every endpoint (IAM User
#: Guide, Troubleshooting IAM, "Changes that I make are not always immediately visible");
#: aws-cdk issues 37675 and 21332 show functions denied for seconds after CloudFormation
#: reported their policy created. A minute covers those seconds several times over, while
#: a grant that is really missing still fails the deploy within about a minute (README
#: "Troubleshooting"). A re-delivered event (a Lambda retry) starts a new window; a
#: hand-off does not (``first_calls``).
IAM_PROPAGATION_WINDOW_SECONDS = 60.0
#: The longest pause between two tries while waiting for IAM, so a grant that applies is
#: noticed within seconds.
IAM_RETRY_CAP_SECONDS = 8.0
#: How long GetInvalidation may answer NoSuchInvalidation for an id CreateInvalidation has
#: just accepted. AWS documents no read-after-write guarantee for GetInvalidation; a global
#: service's reads can lag its writes for seconds, so half a minute is generous, and past
#: it the invalidation is reported as missing (errors.py: advice for NoSuchInvalidation).
NEW_INVALIDATION_VISIBILITY_SECONDS = 30.0
#: Status calls share the account's GetInvalidation rate with every other waiting function
#: (CloudFront limits request rates per account, not per caller; README "Performance"). A
#: throttled status call doubles the job's poll interval, up to this factor; each answered
#: one eases it back by POLL_EASE. So many functions waiting at once settle near their share
#: of the account's rate instead of retrying in lockstep, and a lone one polls as before.
POLL_SLOWDOWN_MAX = 8.0
POLL_EASE = 0.85
#: A throttled CreateInvalidation (or capacity check) is retried within this many seconds,
#: not Timing.backoff_cap: the account regains one CreateInvalidation every 2 s, and with
#: many stacks deploying at once a longer pause mostly leaves that call unused (bench
#: section 7: the last of 50 creates came 54 s after the ideal with the 20 s cap).
THROTTLED_RETRY_CAP_SECONDS = 8.0
#: The error codes that mean "over the rate" (a subset of RETRYABLE_CODES).
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
#: ListInvalidations: items per page (CloudFront's default MaxItems) and at most this many
#: items read per listing (newest first), which bounds one capacity check or look-up.
LIST_PAGE_SIZE = 100
MAX_LISTED_INVALIDATIONS = 2000


def is_completed(status: str | None) -> bool:
    """CloudFront says "Completed"; moto says "COMPLETED". Compare without case."""
    return (status or "").lower() == COMPLETED.lower()


def is_in_progress(status: str | None) -> bool:
    return (status or "").lower() == IN_PROGRESS.lower()


class Clock(Protocol):
    def time(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True)
class Timing:
    """When to ask CloudFront again.

    ``poll_steps``: (until this many seconds since the invalidation began, poll this often).
    Dense early, when short invalidations finish, sparser later. On today's waits (P95
    25 s) SUCCESS follows Completed by about half a second at the median at under one status
    call a second; on long waits (up to 15 minutes) by under a second at the median and
    under 3 s at p95, at under one call per 2 s (bench/ measures all of it). Throttled
    polls back off to at least twice the normal gap, so throttling lowers the call rate.
    ``scale`` shrinks every delay for emulated runs.
    """

    # First look after 2 s: CloudFront reports few invalidations Completed that soon, and
    # skipping the 1 s look keeps today's short waits under one status call a second.
    poll_steps: tuple[tuple[float, float], ...] = (
        (2.0, 2.0),
        (40.0, 1.0),
        (120.0, 2.0),
        (math.inf, 2.8),
    )
    backoff_base: float = 0.5
    backoff_cap: float = 20.0
    capacity_interval: float = 5.0
    iam_wait: float = IAM_PROPAGATION_WINDOW_SECONDS
    not_found_wait: float = NEW_INVALIDATION_VISIBILITY_SECONDS
    scale: float = 1.0

    def poll_delay(self, elapsed: float) -> float:
        unscaled = elapsed / self.scale
        for until, interval in self.poll_steps:
            if unscaled < until:
                return interval * self.scale
        return self.poll_steps[-1][1] * self.scale

    def backoff_delay(self, attempt: int, rng: random.Random) -> float:
        """Capped exponential backoff with equal jitter: never zero, never in lockstep."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** max(attempt - 1, 0))
        return (ceiling / 2 + rng.uniform(0, ceiling / 2)) * self.scale

    def capacity_delay(self) -> float:
        return self.capacity_interval * self.scale

    @property
    def iam_window(self) -> float:
        return self.iam_wait * self.scale

    @property
    def not_found_window(self) -> float:
        return self.not_found_wait * self.scale


@dataclass
class Job:
    """One batch of paths on one target, and where it stands.

    ``distribution_id`` is the target's id: a distribution's, or with ``tenant`` a
    distribution tenant's.
    """

    distribution_id: str
    batch: Batch
    caller_reference: str
    tenant: bool = False
    invalidation_id: str | None = None
    status: str = PENDING
    created_at: float | None = None
    #: Our clock when CreateInvalidation (or an earlier leg) gave us the id.
    accepted_at: float | None = None
    completed_at: float | None = None
    next_at: float = 0.0
    attempts: int = 0
    status_calls: int = 0
    #: How much slower than Timing.poll_steps this job polls (POLL_SLOWDOWN_MAX).
    poll_slowdown: float = 1.0
    #: The last transient error, for a timeout's Reason ("ServiceUnavailable: ...").
    last_problem: str | None = None
    #: Files and wildcards in progress on the distribution at the last capacity check.
    in_progress_files: int | None = None
    in_progress_wildcards: int | None = None
    error: PurgeError | None = None

    @property
    def accepted(self) -> bool:
        return self.invalidation_id is not None

    @property
    def target(self) -> str:
        """What a person reads: "distribution E2..." or "distribution tenant dt_..."."""
        return f"{'distribution tenant' if self.tenant else 'distribution'} {self.distribution_id}"

    def finished(self, wait: bool) -> bool:
        if self.status in (COMPLETED, FAILED):
            return True
        return not wait and self.accepted


@dataclass(frozen=True)
class PurgeResult:
    jobs: tuple[Job, ...]
    #: False when the run stopped at ``stop_at`` (the Lambda hands off to a new invocation).
    finished: bool
    #: Distribution id -> epoch of this request's first call on it, for the next leg.
    first_calls: dict[str, float] = field(default_factory=dict)

    @property
    def invalidation_ids(self) -> list[str]:
        return [j.invalidation_id for j in self.jobs if j.invalidation_id]

    @property
    def caller_references(self) -> list[str]:
        return [j.caller_reference for j in self.jobs]

    @property
    def known(self) -> dict[str, str]:
        """CallerReference -> invalidation id, for a continuation to resume from."""
        return {j.caller_reference: j.invalidation_id for j in self.jobs if j.invalidation_id}

    @property
    def status(self) -> str:
        return COMPLETED if all(j.status == COMPLETED for j in self.jobs) else IN_PROGRESS


#: ``report(event, job)``: the event names the step (submitted, waiting, completed, blocked,
#: waiting_for_capacity, waiting_for_iam, not_visible_yet, resumed, retry:<code>, failed).
Reporter = Callable[[str, Job], None]


def list_invalidations(
    client: CloudFrontClient,
    distribution_id: str,
    *,
    max_items: int = MAX_LISTED_INVALIDATIONS,
    tenant: bool = False,
) -> Iterator[Mapping[str, Any]]:
    """A distribution's (or, with ``tenant``, a distribution tenant's) invalidations, newest
    first, at most ``max_items``, read lazily.

    The one ListInvalidations loop (engine and CLI): botocore's paginators for
    ListInvalidations and ListInvalidationsForDistributionTenant, so the first page carries
    no Marker and later ones the NextMarker CloudFront gave (CloudFront API Reference).
    Stop iterating and no further page is asked for.
    """
    page_size = min(LIST_PAGE_SIZE, max_items)
    pages = (
        client.get_paginator("list_invalidations_for_distribution_tenant").paginate(
            Id=distribution_id,
            PaginationConfig={"PageSize": page_size, "MaxItems": max_items},
        )
        if tenant
        else client.get_paginator("list_invalidations").paginate(
            DistributionId=distribution_id,
            PaginationConfig={"PageSize": page_size, "MaxItems": max_items},
        )
    )
    for page in pages:
        yield from page.get("InvalidationList", {}).get("Items", [])


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
    run = _Run(
        client=client,
        jobs=list(jobs),
        wait=wait,
        timing=timing or Timing(),
        clock=clock or SystemClock(),
        report=report or (lambda _event, _job: None),
        rng=rng or random.Random(),  # noqa: S311 - jitter, not cryptography
        first_calls=dict(first_calls or {}),
    )
    now = run.clock.time()
    for job in run.jobs:
        if known and job.caller_reference in known and job.status == PENDING:
            job.invalidation_id = known[job.caller_reference]
            job.status = IN_PROGRESS
            # Accepted in an earlier leg, at the latest now: the visibility window must not
            # restart with every leg.
            job.accepted_at = min(run.first_calls.get(job.distribution_id, now), now)
    return run.until(deadline=deadline, stop_at=stop_at, timeout_seconds=timeout_seconds)


@dataclass
class _Run:
    client: CloudFrontClient
    jobs: list[Job]
    wait: bool
    timing: Timing
    clock: Clock
    report: Reporter
    rng: random.Random
    first_calls: dict[str, float] = field(default_factory=dict)
    _paths_by_id: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def until(
        self, *, deadline: float, stop_at: float | None, timeout_seconds: float
    ) -> PurgeResult:
        while True:
            active = [j for j in self.jobs if not j.finished(self.wait)]
            if not active:
                return self._result(finished=True)
            now = self.clock.time()
            deadline = min(deadline, self._anchored_deadline(timeout_seconds))
            if now >= deadline:
                raise self._failure(
                    PurgeTimeout(
                        timeout_seconds,
                        [
                            Unfinished(
                                j.distribution_id, j.invalidation_id, j.status, j.last_problem
                            )
                            for j in active
                        ],
                    )
                )
            if stop_at is not None and now >= stop_at:
                return self._result(finished=False)
            for job in active:
                if stop_at is not None and self.clock.time() >= stop_at:
                    break  # the hand-off needs the time that is left
                if job.next_at <= now and not job.finished(self.wait):
                    self._step(job)
            pending = [j.next_at for j in self.jobs if not j.finished(self.wait)]
            if pending:
                wake = min([*pending, deadline, stop_at if stop_at is not None else deadline])
                self.clock.sleep(wake - self.clock.time())

    def _anchored_deadline(self, timeout_seconds: float) -> float:
        """A re-delivered event (say, after a crash) finds the invalidations it made before;
        the timeout counts from the earliest of them, not from the re-delivery."""
        created = [j.created_at for j in self.jobs if j.created_at is not None]
        return min(created) + timeout_seconds if created else float("inf")

    def _result(self, *, finished: bool) -> PurgeResult:
        if finished and any(j.status == FAILED for j in self.jobs):
            raise self._failure(None)
        return PurgeResult(tuple(self.jobs), finished=finished, first_calls=dict(self.first_calls))

    def _failure(self, timeout: PurgeTimeout | None) -> PurgeError:
        errors: list[PurgeError] = []
        for job in self.jobs:
            if job.error is not None and job.error not in errors:
                errors.append(job.error)
        if not errors and timeout is not None:
            return timeout
        failed_dists = {j.distribution_id for j in self.jobs if j.status == FAILED}
        succeeded = sorted({j.distribution_id for j in self.jobs} - failed_dists)
        if timeout is not None:
            errors.append(timeout)
            succeeded = [
                d
                for d in succeeded
                if all(j.finished(self.wait) for j in self.jobs if j.distribution_id == d)
            ]
        return PurgeFailed(errors, succeeded)

    # --- one step of one job ----------------------------------------------------------

    def _step(self, job: Job) -> None:
        self.first_calls.setdefault(job.distribution_id, self.clock.time())
        try:
            if job.invalidation_id is None:
                if self._behind_another_blocked(job):
                    # One capacity check per distribution is enough, and batches go in order:
                    # a later batch never takes the room an earlier, blocked one waits for.
                    job.next_at = self.clock.time() + self.timing.capacity_delay()
                    return
                if job.status == BLOCKED and not self._capacity_fits(job):
                    job.next_at = self.clock.time() + self.timing.capacity_delay()
                    return
                self._create(job)
            else:
                self._poll(job)
            job.attempts = 0
        except ClientError as exc:
            error = _decode(exc)
            if error.code in RETRYABLE_CODES or error.http_status >= 500:
                self._retry(job, error.code, error.message)
            elif error.code == "AccessDenied":
                self._access_denied(job, error)
            elif error.code == "NoSuchInvalidation" and self._not_visible_yet(job):
                self._retry(job, error.code, error.message, event="not_visible_yet")
            else:
                self._fail(job, _call_error(job, error))
        except (ConnectionError, HTTPClientError) as exc:
            self._retry(job, type(exc).__name__, str(exc))

    def _create(self, job: Job) -> None:
        batch: Any = {
            "Paths": {"Quantity": len(job.batch.paths), "Items": list(job.batch.paths)},
            "CallerReference": job.caller_reference,
        }
        try:
            response: Mapping[str, Any] = (
                self.client.create_invalidation_for_distribution_tenant(
                    Id=job.distribution_id, InvalidationBatch=batch
                )
                if job.tenant
                else self.client.create_invalidation(
                    DistributionId=job.distribution_id, InvalidationBatch=batch
                )
            )
        except ClientError as exc:
            code = _decode(exc).code
            if code == "TooManyInvalidationsInProgress":
                job.status = BLOCKED
                job.next_at = self.clock.time() + self.timing.capacity_delay()
                self.report("blocked", job)
                return
            if code == "InvalidationBatchAlreadyExists" or (
                code == "InvalidArgument" and _REUSED_REFERENCE_HINT in _decode(exc).message.lower()
            ):
                self._adopt_existing(job, exc)
                return
            raise
        self._accept(job, response["Invalidation"])
        self.report("submitted", job)

    def _accept(self, job: Job, invalidation: Mapping[str, Any]) -> None:
        now = self.clock.time()
        job.invalidation_id = str(invalidation["Id"])
        job.accepted_at = now
        job.status = COMPLETED if is_completed(invalidation.get("Status")) else IN_PROGRESS
        job.created_at = _epoch(invalidation.get("CreateTime"), default=now)
        if job.status == COMPLETED:
            job.completed_at = now
        job.next_at = now + self.timing.poll_delay(now - job.created_at)

    def _adopt_existing(self, job: Job, exc: ClientError) -> None:
        """CloudFront refused our reference as used: this request's earlier leg made it."""
        error = _decode(exc)
        found = self._find_by_reference(job)
        if found is None:
            self._fail(
                job,
                CloudFrontCallError(
                    job.distribution_id,
                    error.operation,
                    "CallerReferenceAlreadyUsed",
                    f"CallerReference {job.caller_reference} was used before, more than "
                    f"{_LOOKBACK_SECONDS // 3600} h ago or by another caller, so nothing new "
                    f"was purged; a new request (or a new --run-id) gets a new reference "
                    f"(CloudFront said {error.code}: {error.message})",
                    tenant=job.tenant,
                ),
            )
            return
        paths = tuple(found.get("InvalidationBatch", {}).get("Paths", {}).get("Items", []))
        if sorted(paths) != sorted(job.batch.paths):
            self._fail(
                job,
                CloudFrontCallError(
                    job.distribution_id,
                    error.operation,
                    error.code,
                    f"CallerReference {job.caller_reference} is taken by invalidation "
                    f"{found['Id']} with other paths",
                    tenant=job.tenant,
                ),
            )
            return
        self._accept(job, found)
        self.report("resumed", job)

    def _find_by_reference(self, job: Job) -> Mapping[str, Any] | None:
        not_before = self.clock.time() - _LOOKBACK_SECONDS
        for item in list_invalidations(self.client, job.distribution_id, tenant=job.tenant):
            if _epoch(item.get("CreateTime"), default=0.0) < not_before:
                return None
            found = self._get(job, str(item["Id"]))
            if found.get("InvalidationBatch", {}).get("CallerReference") == job.caller_reference:
                return found
        return None

    def _poll(self, job: Job) -> None:
        assert job.invalidation_id is not None
        invalidation = self._get(job, job.invalidation_id)
        now = self.clock.time()
        if job.created_at is None:
            job.created_at = _epoch(invalidation.get("CreateTime"), default=now)
        if is_completed(invalidation.get("Status")):
            job.status = COMPLETED
            job.completed_at = now
            self.report("completed", job)
            # Our own capacity just freed up: blocked siblings may fit now.
            for other in self.jobs:
                if other.distribution_id == job.distribution_id and other.status == BLOCKED:
                    other.next_at = now
            return
        job.status = IN_PROGRESS
        gap = self.timing.poll_delay(max(0.0, now - job.created_at))
        if job.poll_slowdown > 1.0:  # recently throttled: keep a slower, jittered pace
            gap *= job.poll_slowdown * self.rng.uniform(0.75, 1.25)
            job.poll_slowdown = max(1.0, job.poll_slowdown * POLL_EASE)
        job.next_at = now + gap
        self.report("waiting", job)

    def _get(self, job: Job, invalidation_id: str) -> Mapping[str, Any]:
        job.status_calls += 1
        response: Mapping[str, Any] = (
            self.client.get_invalidation_for_distribution_tenant(
                DistributionTenantId=job.distribution_id, Id=invalidation_id
            )
            if job.tenant
            else self.client.get_invalidation(
                DistributionId=job.distribution_id, Id=invalidation_id
            )
        )
        invalidation: Mapping[str, Any] = response["Invalidation"]
        return invalidation

    def _capacity_fits(self, job: Job) -> bool:
        """Read what is in progress on the target (ours and anyone else's).

        For a tenant, that is what ListInvalidationsForDistributionTenant shows: the
        tenant's own invalidations. If its distribution's other tenants share the limits,
        CloudFront's TooManyInvalidationsInProgress still guards them: a batch that does
        not fit is refused again and waits another round.
        """
        files = wildcards = 0
        for item in list_invalidations(self.client, job.distribution_id, tenant=job.tenant):
            if not is_in_progress(item.get("Status")):
                continue
            inv_id = str(item["Id"])
            if inv_id not in self._paths_by_id:
                found = self._get(job, inv_id)
                items = found.get("InvalidationBatch", {}).get("Paths", {}).get("Items", [])
                self._paths_by_id[inv_id] = tuple(items)
            for path in self._paths_by_id[inv_id]:
                if is_wildcard(path):
                    wildcards += 1
                else:
                    files += 1
        fits = (
            files + job.batch.files <= MAX_FILES_IN_PROGRESS
            and wildcards + job.batch.wildcards <= MAX_WILDCARDS_IN_PROGRESS
        )
        job.in_progress_files, job.in_progress_wildcards = files, wildcards
        if not fits:
            job.next_at = self.clock.time() + self.timing.capacity_delay()
            self.report("waiting_for_capacity", job)
        return fits

    def _behind_another_blocked(self, job: Job) -> bool:
        return any(
            other.status == BLOCKED
            and other.distribution_id == job.distribution_id
            and other.batch.index < job.batch.index
            for other in self.jobs
        )

    def _retry(self, job: Job, reason: str, detail: str = "", *, event: str = "") -> None:
        job.last_problem = f"{reason}: {detail}" if detail else reason
        job.attempts += 1
        now = self.clock.time()
        delay = self.timing.backoff_delay(job.attempts, self.rng)
        if job.accepted:
            gap = self.timing.poll_delay(now - (job.created_at or now))
            if reason in THROTTLING_CODES:
                # Over the account's rate: slow this job's polls down (POLL_SLOWDOWN_MAX)
                # rather than back off exponentially, which leaves a Completed invalidation
                # unseen for up to backoff_cap.
                job.poll_slowdown = min(POLL_SLOWDOWN_MAX, job.poll_slowdown * 2.0)
                delay = gap * job.poll_slowdown * self.rng.uniform(0.5, 1.0)
            else:
                # A failed poll must not come sooner than a normal one would.
                delay = max(delay, 2 * gap)
        elif reason in THROTTLING_CODES:
            cap = THROTTLED_RETRY_CAP_SECONDS * self.timing.scale
            delay = min(delay, cap / 2 + self.rng.uniform(0, cap / 2))
        job.next_at = now + delay
        self.report(event or f"retry:{reason}", job)

    def _access_denied(self, job: Job, error: AwsError) -> None:
        """Wait for IAM while the window from the first call on this distribution lasts."""
        now = self.clock.time()
        window_ends = self.first_calls[job.distribution_id] + self.timing.iam_window
        if now >= window_ends:
            waited = now - self.first_calls[job.distribution_id]
            note = (
                f"denied for {waited:.0f} s, longer than a new grant takes to apply"
                if waited >= 1
                else ""
            )
            self._fail(job, _call_error(job, error, note=note))
            return
        job.last_problem = f"{error.code}: {error.message}"
        job.attempts += 1
        delay = min(
            self.timing.backoff_delay(job.attempts, self.rng),
            IAM_RETRY_CAP_SECONDS * self.timing.scale,
        )
        # The last try falls at the window's end, so "denied after the window" is observed.
        job.next_at = min(now + delay, window_ends)
        self.report("waiting_for_iam", job)

    def _not_visible_yet(self, job: Job) -> bool:
        """NoSuchInvalidation for an id CloudFront accepted moments ago: read lag, not loss."""
        if job.accepted_at is None:
            return False
        return self.clock.time() - job.accepted_at < self.timing.not_found_window

    def _fail(self, job: Job, error: CloudFrontCallError) -> None:
        for other in self.jobs:
            if other.distribution_id == job.distribution_id and not other.finished(True):
                other.status = FAILED
                other.error = error
        job.status = FAILED
        job.error = error
        self.report("failed", job)


def _call_error(job: Job, error: AwsError, *, note: str = "") -> CloudFrontCallError:
    return CloudFrontCallError.from_error(job.distribution_id, error, note=note, tenant=job.tenant)


def _decode(exc: ClientError) -> AwsError:
    error = AwsError.of(exc)
    assert error is not None  # a ClientError always carries its response
    return error


def _epoch(value: object, *, default: float) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return default
