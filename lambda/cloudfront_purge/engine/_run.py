"""One purge run: every job stepped together in one loop, until done, time or hand-off.

All targets progress together; a failed target does not stop the others from being waited
on. The state machine a step runs is :mod:`._machine`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudfront_purge.engine._job import Job, PurgeResult
from cloudfront_purge.engine._machine import Machine
from cloudfront_purge.engine._states import JobState
from cloudfront_purge.model.errors import PurgeError, PurgeFailed, PurgeTimeout, Unfinished


@dataclass
class Run:
    machine: Machine
    #: False: a job is done once CloudFront accepted it.
    wait: bool

    @property
    def jobs(self) -> list[Job]:
        return self.machine.jobs

    def until(
        self, *, deadline: float, stop_at: float | None, timeout_seconds: float
    ) -> PurgeResult:
        while True:
            active = [j for j in self.jobs if not j.finished(self.wait)]
            if not active:
                return self._result(finished=True)
            now = self.machine.clock.time()
            deadline = min(deadline, self._anchored_deadline(timeout_seconds))
            if now >= deadline:
                unfinished = [
                    Unfinished(j.distribution_id, j.invalidation_id, j.status, j.last_problem)
                    for j in active
                ]
                raise self._failure(PurgeTimeout(timeout_seconds, unfinished))
            if stop_at is not None and now >= stop_at:
                return self._result(finished=False)
            for job in active:
                if stop_at is not None and self.machine.clock.time() >= stop_at:
                    break  # the hand-off needs the time that is left
                if job.next_at <= now and not job.finished(self.wait):
                    self.machine.step(job)
            pending = [j.next_at for j in self.jobs if not j.finished(self.wait)]
            if pending:
                wake = min([*pending, deadline, stop_at if stop_at is not None else deadline])
                self.machine.clock.sleep(wake - self.machine.clock.time())

    def _anchored_deadline(self, timeout_seconds: float) -> float:
        """A re-delivered event (say, after a crash) finds the invalidations it made before;
        the timeout counts from the earliest of them, not from the re-delivery."""
        created = [j.created_at for j in self.jobs if j.created_at is not None]
        return min(created) + timeout_seconds if created else float("inf")

    def _result(self, *, finished: bool) -> PurgeResult:
        if finished and any(j.status == JobState.FAILED for j in self.jobs):
            raise self._failure(None)
        first_calls = dict(self.machine.first_calls)
        return PurgeResult(tuple(self.jobs), finished=finished, first_calls=first_calls)

    def _failure(self, timeout: PurgeTimeout | None) -> PurgeError:
        errors: list[PurgeError] = []
        for job in self.jobs:
            if job.error is not None and job.error not in errors:
                errors.append(job.error)
        if not errors and timeout is not None:
            return timeout
        failed_dists = {j.distribution_id for j in self.jobs if j.status == JobState.FAILED}
        succeeded = sorted({j.distribution_id for j in self.jobs} - failed_dists)
        if timeout is not None:
            errors.append(timeout)
            succeeded = [
                d
                for d in succeeded
                if all(j.finished(self.wait) for j in self.jobs if j.distribution_id == d)
            ]
        return PurgeFailed(errors, succeeded)
