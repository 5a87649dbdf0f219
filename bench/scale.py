"""Section 3: many file paths.

Normalise and batch (``rules.normalize_paths`` + ``rules.plan_batches``), then run the
engine as the handler does against LocalCloudFront, every invalidation taking a fixed
(scaled) duration, under CloudFront's in-progress limit of 3,000 file paths per
distribution. The ideal is ``ceil(files / 3000)`` waits one after the other, each exactly
the duration, with nothing between them.
"""

from __future__ import annotations

import itertools
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from bench.cloud import DurationBook, handler_client_config, run_like_handler
from cloudfront_purge.model import rules
from localcloud.cloudfront import LocalCloudFront

#: Every file sits under /assets/, 100 per directory.
FILES_PER_DIRECTORY = 100
WILDCARD_COLLAPSE = "/assets/*"


def make_paths(count: int) -> list[str]:
    """``count`` distinct file paths, as a static site's build output might list them."""
    return [f"/assets/{i // FILES_PER_DIRECTORY:05d}/chunk-{i:06d}.js" for i in range(count)]


def ideal_batches(files: int) -> int:
    return max(1, math.ceil(files / rules.MAX_FILES_PER_BATCH))


@dataclass(frozen=True)
class Plan:
    paths: int
    normalized: int
    batches: int
    batch_sizes: tuple[int, ...]
    normalize_seconds: float
    batch_seconds: float

    @property
    def seconds(self) -> float:
        return self.normalize_seconds + self.batch_seconds


def plan(count: int, *, repeats: int = 1) -> Plan:
    """Time normalise + batch (best of ``repeats``) on ``count`` generated paths."""
    paths = make_paths(count)
    best_norm = best_batch = math.inf
    normalized: list[str] = []
    batches: list[rules.Batch] = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        normalized = rules.normalize_paths(paths)
        middle = time.perf_counter()
        batches = rules.plan_batches(normalized)
        ended = time.perf_counter()
        best_norm = min(best_norm, middle - started)
        best_batch = min(best_batch, ended - middle)
    return Plan(
        paths=count,
        normalized=len(normalized),
        batches=len(batches),
        batch_sizes=tuple(len(b.paths) for b in batches),
        normalize_seconds=best_norm,
        batch_seconds=best_batch,
    )


@dataclass(frozen=True)
class Wait:
    """One run to every batch Completed. Seconds are unscaled (real / factor)."""

    paths: int
    batches: int
    duration: float  # per invalidation
    seconds: float  # first CreateInvalidation accepted -> the engine returns
    gaps: tuple[float, ...]  # batch i Completed -> batch i+1 accepted
    final_lag: float  # last batch Completed -> the engine returns
    legs: int
    calls: dict[str, int]
    blocked: int
    plan_seconds: float  # real seconds: parse + normalise + plan_jobs, inside the run

    @property
    def ideal_seconds(self) -> float:
        return self.batches * self.duration

    @property
    def wildcard_seconds(self) -> float:
        """One invalidation of ``/assets/*`` covers every file: one wait."""
        return self.duration

    @property
    def mean_gap(self) -> float:
        return sum(self.gaps) / len(self.gaps) if self.gaps else 0.0


def wait(
    cloud: LocalCloudFront,
    book: DurationBook,
    count: int,
    *,
    duration: float,
    factor: float,
) -> Wait:
    """Run the engine on ``count`` paths until every batch is Completed.

    TimeoutSeconds is the maximum (3,480 s): 34 sequential batches of 60 s outlast the
    default 30 minutes. The handler's Lambda legs (hand-offs every 14.5 minutes) are
    followed, scaled. The clock starts when CloudFront accepts the first batch, so the
    parsing and normalising before it (real CPU time, reported apart) is not divided by
    the factor.
    """
    distribution_id = cloud.create_distribution(f"bench scale {count}")
    book.set(distribution_id, lambda _paths: duration * factor)
    client = _handler_client(cloud)
    cloud.reset_counters()
    started = time.time()
    run = run_like_handler(
        client,
        {
            rules.PROP_DISTRIBUTION_IDS: [distribution_id],
            rules.PROP_PATHS: make_paths(count),
            rules.PROP_SOURCE_HASH: uuid.uuid4().hex,
            rules.PROP_TIMEOUT_SECONDS: str(rules.MAX_TIMEOUT_SECONDS),
        },
        request_id=str(uuid.uuid4()),
        factor=factor,
    )
    returned = time.time()
    records = sorted(cloud.invalidations(distribution_id), key=lambda r: r.create_time)
    if len(records) != len(run.result.jobs):
        raise RuntimeError(f"{len(records)} invalidations for {len(run.result.jobs)} batches")
    gaps = tuple(
        (later.create_time - earlier.completes_at) / factor
        for earlier, later in itertools.pairwise(records)
    )
    return Wait(
        paths=count,
        batches=len(records),
        duration=duration,
        seconds=(returned - records[0].create_time) / factor,
        gaps=gaps,
        final_lag=(returned - max(r.completes_at for r in records)) / factor,
        legs=run.legs,
        calls=cloud.call_counts(),
        blocked=run.events.get("blocked", 0),
        plan_seconds=records[0].create_time - started,
    )


def _handler_client(cloud: LocalCloudFront) -> object:
    import boto3

    return boto3.client(
        "cloudfront",
        endpoint_url=cloud.endpoint_url,
        region_name=cloud.region,
        config=handler_client_config(),
    )


def sizes_text(sizes: Sequence[int]) -> str:
    distinct = sorted(set(sizes), reverse=True)
    return " + ".join(f"{sizes.count(n)}x{n:,}" for n in distinct)
