"""A job (one batch of paths on one target) and what a run hands back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cloudfront_purge.engine._states import JobState
from cloudfront_purge.engine._target import TargetKind, target_kind
from cloudfront_purge.model.errors import PurgeError
from cloudfront_purge.model.rules import Batch


@dataclass
class Job:
    """One batch of paths on one target, and where it stands.

    ``distribution_id`` is the target's id: a distribution's, or with ``tenant`` a
    distribution tenant's. ``status`` and ``next_at`` change in one place only, the run's
    scheduler (``Machine.schedule`` in ``_machine``).
    """

    distribution_id: str
    batch: Batch
    caller_reference: str
    tenant: bool = False
    invalidation_id: str | None = None
    status: JobState = JobState.PENDING
    created_at: float | None = None
    #: Our clock when CreateInvalidation (or an earlier leg) gave us the id.
    accepted_at: float | None = None
    completed_at: float | None = None
    next_at: float = 0.0
    attempts: int = 0
    status_calls: int = 0
    #: How much slower than Timing.poll_steps this job polls (_timing.POLL_SLOWDOWN_MAX).
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
    def kind(self) -> TargetKind:
        """Which CloudFront calls purge this target."""
        return target_kind(self.tenant)

    @property
    def target(self) -> str:
        """What a person reads: "distribution E2..." or "distribution tenant dt_..."."""
        return f"{self.kind.noun} {self.distribution_id}"

    def finished(self, wait: bool) -> bool:
        if self.status in (JobState.COMPLETED, JobState.FAILED):
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
    def status(self) -> JobState:
        done = all(j.status == JobState.COMPLETED for j in self.jobs)
        return JobState.COMPLETED if done else JobState.IN_PROGRESS


#: ``report(event, job)``: the event names the step, an :class:`Event` value or, for a retry,
#: ``Event.retry(code)`` ("retry:Throttling"); ``Event.of`` reads either back.
Reporter = Callable[[str, Job], None]
