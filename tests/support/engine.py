"""What the engine's tests share: a purge spec and one engine run on a virtual clock."""

from __future__ import annotations

import random

from cloudfront_purge import engine
from cloudfront_purge.model import rules
from tests.support.fakes import FakeClock, FakeCloudFront


def spec(paths: tuple[str, ...] = ("/*",), dists: tuple[str, ...] = ("EDIST1",), wait: bool = True) -> rules.PurgeSpec:
    return rules.PurgeSpec(distribution_ids=dists, paths=paths, source_hash="abc123def456", wait_for_completion=wait, timeout_seconds=600)


def run(cf: FakeCloudFront, clock: FakeClock, s: rules.PurgeSpec, *, request_id: str = "req-1", timeout: float = 600,
        stop_at: float | None = None, known: dict[str, str] | None = None, events: list[str] | None = None,
        first_calls: dict[str, float] | None = None) -> engine.PurgeResult:
    jobs = engine.plan_jobs(s, request_id=request_id)
    return engine.purge(cf, jobs, deadline=clock.now + timeout, timeout_seconds=timeout, wait=s.wait_for_completion,
                        stop_at=stop_at, known=known, clock=clock, rng=random.Random(1), first_calls=first_calls,
                        report=(lambda kind, _job: events.append(kind)) if events is not None else None)
