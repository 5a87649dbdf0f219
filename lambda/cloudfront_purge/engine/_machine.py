"""One step of one job: the state machine.

Each job is in one :class:`JobState`; a step calls the function for that state, which
returns a :class:`Next` (new state, delay, event), and :meth:`Machine.schedule` is the one
place that applies it::

    PENDING ──_pending──▶ _create ─┬─ accepted ───────▶ IN_PROGRESS ──_in_progress──▶ COMPLETED
                                   │  (when not waiting, the job is done once accepted)
                                   ├─ Verdict.BLOCKED ─▶ BLOCKED ──_blocked──▶ _create, once it fits
                                   └─ Verdict.ADOPT ───▶ _adopt: accepted ("resumed"), or FAILED

    any state, on an error, by classify() in _errors:
        RETRY             same state, again after _backoff (throttled: a
                          poll slows the job's pace, a create retries within 8 s)
        WAIT_FOR_IAM      same state, within Timing.iam_window (_wait_for_iam)
        NOT_VISIBLE_YET   same state, within Timing.not_found_window (_not_visible_yet)
        FAIL, or a window passed: FAILED (_failed), and so are the target's other jobs

    a job COMPLETED frees capacity: its target's BLOCKED jobs are stepped at once (schedule)

Why AccessDenied and NoSuchInvalidation get a window: :mod:`._purge`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from cloudfront_purge.engine._calls import TargetCalls, epoch
from cloudfront_purge.engine._errors import Verdict, classify, decode, is_throttling
from cloudfront_purge.engine._job import Job, Reporter
from cloudfront_purge.engine._states import Event, JobState, is_completed
from cloudfront_purge.engine._timing import Clock, Timing, eased, slowed
from cloudfront_purge.model.errors import AwsError, CloudFrontCallError
from cloudfront_purge.model.rules import (
    MAX_FILES_IN_PROGRESS,
    MAX_SERVICE_TIMEOUT_SECONDS,
    MAX_WILDCARDS_IN_PROGRESS,
    Batch,
)

#: A reused reference can only come from this same request, which is at most as old as
#: CloudFormation's longest ServiceTimeout (plus slack); older invalidations are not ours.
_LOOKBACK_SECONDS = 2 * MAX_SERVICE_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Next:
    """What one step decided about its job, for :meth:`Machine.schedule` to apply."""

    #: Reported to the caller once the job has changed; None reports nothing.
    event: str | None = None
    #: The job's new state. None: unchanged, because the step met a transient condition.
    state: JobState | None = None
    #: Seconds until the job's next step. None: ``next_at`` stays (a finished job is not
    #: stepped again; a resumed one is stepped at once).
    delay: float | None = None
    #: Why the job failed, with ``state`` FAILED.
    error: CloudFrontCallError | None = None


@dataclass
class Machine:
    """Steps the jobs of one run; ``first_calls`` anchors each target's IAM window."""

    calls: TargetCalls
    jobs: list[Job]
    timing: Timing
    clock: Clock
    report: Reporter
    rng: random.Random
    first_calls: dict[str, float]

    def resume(self, known: Mapping[str, str]) -> None:
        """Jobs an earlier leg got accepted (CallerReference -> id) go on being polled."""
        now = self.clock.time()
        for job in self.jobs:
            if job.caller_reference in known and job.status == JobState.PENDING:
                job.invalidation_id = known[job.caller_reference]
                # Accepted in an earlier leg, at the latest now: the visibility window must not
                # restart with every leg.
                job.accepted_at = min(self.first_calls.get(job.distribution_id, now), now)
                self.schedule(job, Next(state=JobState.IN_PROGRESS))

    def step(self, job: Job) -> None:
        self.first_calls.setdefault(job.distribution_id, self.clock.time())
        by_state: dict[JobState, Callable[[Job], Next]] = {
            JobState.PENDING: self._pending,
            JobState.BLOCKED: self._blocked,
            JobState.IN_PROGRESS: self._in_progress,
        }
        try:
            decided = by_state[job.status](job)
        except ClientError as exc:
            decided = self._on_error(job, decode(exc), creating=False)
        except (ConnectionError, HTTPClientError) as exc:
            decided = self._retry(job, type(exc).__name__, str(exc))
        self.schedule(job, decided)

    def schedule(self, job: Job, decided: Next) -> None:
        """Apply a step's decision: the only place a job's ``status`` and ``next_at`` change."""
        if decided.state is JobState.FAILED:
            # A target fails as a whole: its unfinished jobs stop with the same error.
            for other in self._siblings(job):
                if not other.finished(True):
                    other.status, other.error = JobState.FAILED, decided.error
            job.error = decided.error
        if decided.state is not None:
            job.status = decided.state
        if decided.delay is not None:
            job.next_at = self.clock.time() + decided.delay
        if decided.event is not None:
            self.report(decided.event, job)
        if decided.event == Event.COMPLETED:
            # Our own capacity just freed up: blocked siblings may fit now.
            now = self.clock.time()
            for other in self._siblings(job):
                if other.status == JobState.BLOCKED:
                    other.next_at = now
        if decided.state is not None:
            job.attempts = 0  # CloudFront answered: the run of transient errors is over

    def _pending(self, job: Job) -> Next:
        """PENDING: create, unless an earlier batch on the target waits for room."""
        if self._behind_another_blocked(job):
            # One capacity check per distribution is enough, and batches go in order:
            # a later batch never takes the room an earlier, blocked one waits for.
            return Next(delay=self.timing.capacity_delay())
        return self._create(job)

    def _blocked(self, job: Job) -> Next:
        """BLOCKED: read what is in progress on the target; create once the batch fits.

        For a tenant, that is what ListInvalidationsForDistributionTenant shows: the
        tenant's own invalidations. If its distribution's other tenants share the limits,
        CloudFront's TooManyInvalidationsInProgress still guards them: a batch that does
        not fit is refused again and waits another round.
        """
        if self._behind_another_blocked(job):
            return Next(delay=self.timing.capacity_delay())
        files, wildcards = self.calls.in_progress_load(job)
        job.in_progress_files, job.in_progress_wildcards = files, wildcards
        if not _fits(job.batch, files, wildcards):
            return Next(Event.WAITING_FOR_CAPACITY, delay=self.timing.capacity_delay())
        return self._create(job)

    def _in_progress(self, job: Job) -> Next:
        """IN_PROGRESS: poll until CloudFront says Completed."""
        assert job.invalidation_id is not None
        invalidation = self.calls.get(job, job.invalidation_id)
        now = self.clock.time()
        if job.created_at is None:
            job.created_at = epoch(invalidation.get("CreateTime"), default=now)
        if is_completed(invalidation.get("Status")):
            job.completed_at = now
            return Next(Event.COMPLETED, JobState.COMPLETED)
        delay = self.timing.paced_poll_delay(
            max(0.0, now - job.created_at), self.rng, slowdown=job.poll_slowdown
        )
        job.poll_slowdown = eased(job.poll_slowdown)  # answered: the pace recovers
        return Next(Event.WAITING, JobState.IN_PROGRESS, delay)

    # --- what the states share: create, adopt, errors -----------------------------------

    def _create(self, job: Job) -> Next:
        try:
            invalidation = self.calls.create(job)
        except ClientError as exc:
            return self._on_error(job, decode(exc), creating=True)
        return self._accept(job, invalidation, Event.SUBMITTED)

    def _accept(self, job: Job, invalidation: Mapping[str, Any], event: Event) -> Next:
        now = self.clock.time()
        job.invalidation_id = str(invalidation["Id"])
        job.accepted_at = now
        job.created_at = epoch(invalidation.get("CreateTime"), default=now)
        done = is_completed(invalidation.get("Status"))
        if done:
            job.completed_at = now
        state = JobState.COMPLETED if done else JobState.IN_PROGRESS
        return Next(event, state, self.timing.poll_delay(now - job.created_at))

    def _adopt(self, job: Job, error: AwsError) -> Next:
        """CloudFront refused our reference as used: this request's earlier leg made it."""
        found = self.calls.find_by_reference(job, self.clock.time() - _LOOKBACK_SECONDS)
        if found is None:
            return _failed(_reference_used_elsewhere(job, error))
        paths = tuple(found.get("InvalidationBatch", {}).get("Paths", {}).get("Items", []))
        if sorted(paths) != sorted(job.batch.paths):
            return _failed(_reference_taken(job, error, str(found["Id"])))
        return self._accept(job, found, Event.RESUMED)

    def _on_error(self, job: Job, error: AwsError, *, creating: bool) -> Next:
        """Act on :func:`classify`'s verdict; the eventual-consistency windows end here."""
        verdict = classify(error, creating=creating)
        if verdict is Verdict.BLOCKED:
            return Next(Event.BLOCKED, JobState.BLOCKED, self.timing.capacity_delay())
        if verdict is Verdict.ADOPT:
            return self._adopt(job, error)
        if verdict is Verdict.RETRY:
            return self._retry(job, error.code, error.message)
        if verdict is Verdict.WAIT_FOR_IAM:
            return self._wait_for_iam(job, error)
        if verdict is Verdict.NOT_VISIBLE_YET and self._not_visible_yet(job):
            return self._retry(job, error.code, error.message, event=Event.NOT_VISIBLE_YET)
        return _failed(_call_error(job, error))

    def _retry(
        self, job: Job, code: str, detail: str, *, event: str = "", until: float | None = None
    ) -> Next:
        """The same step again after a pause: backoff for a transient error, or while IAM
        may still be applying a grant, the capped IAM pause with the last try ``until``."""
        job.last_problem = f"{code}: {detail}" if detail else code
        job.attempts += 1
        now = self.clock.time()
        if until is None:
            delay = _backoff(job, code, self.timing, self.rng, now)
        else:
            delay = min(self.timing.iam_retry_delay(job.attempts, self.rng), until - now)
        return Next(event or Event.retry(code), delay=delay)

    def _wait_for_iam(self, job: Job, error: AwsError) -> Next:
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
            return _failed(_call_error(job, error, note=note))
        # The last try falls at the window's end, so "denied after the window" is observed.
        return self._retry(
            job, error.code, error.message, event=Event.WAITING_FOR_IAM, until=window_ends
        )

    def _not_visible_yet(self, job: Job) -> bool:
        """NoSuchInvalidation for an id CloudFront accepted moments ago: read lag, not loss."""
        if job.accepted_at is None:
            return False
        return self.clock.time() - job.accepted_at < self.timing.not_found_window

    def _behind_another_blocked(self, job: Job) -> bool:
        return any(
            other.status == JobState.BLOCKED and other.batch.index < job.batch.index
            for other in self._siblings(job)
        )

    def _siblings(self, job: Job) -> Iterator[Job]:
        """The run's jobs on ``job``'s target, ``job`` included."""
        return (other for other in self.jobs if other.distribution_id == job.distribution_id)


def _failed(error: CloudFrontCallError) -> Next:
    return Next(Event.FAILED, JobState.FAILED, error=error)


def _backoff(job: Job, code: str, timing: Timing, rng: random.Random, now: float) -> float:
    """The pause before retrying after a transient error; a throttled poll slows the pace."""
    polling_for = now - (job.created_at or now) if job.accepted else None
    throttled = is_throttling(code)
    if throttled and job.accepted:
        job.poll_slowdown = slowed(job.poll_slowdown)  # over the account's rate
    return timing.retry_delay(
        job.attempts, rng, polling_for=polling_for, throttled=throttled, slowdown=job.poll_slowdown
    )


def _fits(batch: Batch, files: int, wildcards: int) -> bool:
    """Whether ``batch`` fits beside what is in progress, under CloudFront's limits."""
    return (
        files + batch.files <= MAX_FILES_IN_PROGRESS
        and wildcards + batch.wildcards <= MAX_WILDCARDS_IN_PROGRESS
    )


def _call_error(job: Job, error: AwsError, *, note: str = "") -> CloudFrontCallError:
    return CloudFrontCallError.from_error(job.distribution_id, error, note=note, tenant=job.tenant)


def _reference_used_elsewhere(job: Job, error: AwsError) -> CloudFrontCallError:
    return CloudFrontCallError(
        job.distribution_id,
        error.operation,
        "CallerReferenceAlreadyUsed",
        f"CallerReference {job.caller_reference} was used before, more than "
        f"{_LOOKBACK_SECONDS // 3600} h ago or by another caller, so nothing new "
        f"was purged; a new request (or a new --run-id) gets a new reference "
        f"(CloudFront said {error.code}: {error.message})",
        tenant=job.tenant,
    )


def _reference_taken(job: Job, error: AwsError, invalidation_id: str) -> CloudFrontCallError:
    return CloudFrontCallError(
        job.distribution_id,
        error.operation,
        error.code,
        f"CallerReference {job.caller_reference} is taken by invalidation "
        f"{invalidation_id} with other paths",
        tenant=job.tenant,
    )
