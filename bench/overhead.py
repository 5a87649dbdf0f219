"""Section 1: from CloudFront's Completed to SUCCESS at the ResponseURL.

Both strategies run against the same LocalCloudFront, with the same seeded durations
(scaled by the time factor), the same concurrency and the same delivery
(``responder.deliver`` over HTTPS to the ResponseServer):

- ours: exactly the handler's code path, ``engine.plan_jobs`` + ``engine.purge`` with
  ``engine.Timing(scale=factor)`` and the handler's client Config (see
  :func:`bench.cloud.run_like_handler`), then ``deliver``;
- baseline: what aws-cdk BucketDeployment does (its client Config: standard retries,
  max_attempts 10; a uuid4 CallerReference), create_invalidation then botocore's
  ``invalidation_completed`` waiter with ``Delay = 20 s x factor`` (botocore passes Delay
  straight to ``time.sleep``, so a float works), then the same ``deliver``.

The overhead of one invalidation is ``arrival at the ResponseURL - completes_at`` (the
instant LocalCloudFront starts answering Completed), divided by the factor.
"""

from __future__ import annotations

import queue
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.retries.standard import ExponentialBackoff

from bench.cloud import (
    STACK_ID,
    DurationBook,
    handler_client_config,
    run_like_handler,
    success_body,
)
from bench.stats import (
    BUCKET_DEPLOYMENT_MAX_ATTEMPTS,
    CRHELPER_POLL_SECONDS,
    WAITER_DELAY_SECONDS,
    WAITER_MAX_ATTEMPTS,
    calls_per_two_seconds,
    fixed_interval_calls,
    fixed_interval_overhead,
    summarize,
    would_fail,
)
from cloudfront_purge.function.responder import deliver
from cloudfront_purge.model import rules
from localcloud.cloudformation.responses import ResponseServer
from localcloud.cloudfront import LocalCloudFront

OURS = "ours"
BASELINE = "baseline"
THROTTLED = "ours-throttled"
#: No practical limit for the scaled waiter: a give-up is counted from the durations.
_WAITER_ATTEMPTS_UNLIMITED = 1_000_000
_PATH = re.compile(r"^/bench/[^/]+/(?P<index>\d+)/")


@dataclass(frozen=True)
class OverheadConfig:
    count: int
    factor: float
    concurrency: int
    seed: int
    throttle_rate: float = 0.2


@dataclass
class Sample:
    """One invalidation under one strategy. Times are epoch seconds (real, scaled run)."""

    strategy: str
    index: int
    duration: float  # unscaled seconds
    invalidation_id: str = ""
    started_at: float = 0.0
    completes_at: float = 0.0
    arrived_at: float = 0.0
    last_poll_at: float = 0.0  # when the GetInvalidation that saw Completed was issued
    get_calls: int = 0
    response_status: str = ""
    legs: int = 1
    retries: int = 0  # the engine's own retries (it saw the error)
    botocore_retries: int = 0  # retries botocore made inside one client call
    error: str = ""

    def overhead(self, factor: float) -> float:
        """The Overhead rows' figure (the goals judge it): everything from Completed to
        arrival, divided by the factor."""
        return (self.arrived_at - self.completes_at) / factor

    def overhead_fixed_unscaled(self, factor: float) -> float:
        """The scheduled wait divided by the factor; round trips and delivery kept real.

        Splits at the instant the detecting GetInvalidation was issued: before it, the
        Completed status sat unread (poll schedule, scaled); after it, one CloudFront
        round trip, the engine's return and the HTTPS PUT (fixed costs, not scaled).
        """
        unread = max(0.0, self.last_poll_at - self.completes_at)
        fixed = self.arrived_at - max(self.last_poll_at, self.completes_at)
        return unread / factor + fixed


@dataclass
class PhaseResult:
    strategy: str
    samples: list[Sample]
    wall_seconds: float
    concurrency: int
    cpu_seconds: float = 0.0  # this process's CPU time over the run (both servers included)

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if not s.error and s.response_status == "SUCCESS"]


class _PollClock:
    """Per thread: when the latest GetInvalidation was issued; botocore's own retries."""

    def __init__(self) -> None:
        self._local = threading.local()

    def attach(self, client: Any) -> None:  # noqa: ANN401 - boto3 client
        client.meta.events.register("before-call.cloudfront.GetInvalidation", self._before)

    def _before(self, **_kwargs: object) -> None:
        self._local.at = time.time()

    def reset(self) -> None:
        self._local.at = 0.0
        self._local.botocore_retries = 0

    def last(self) -> float:
        return float(getattr(self._local, "at", 0.0))

    def count_botocore_retry(self) -> None:
        self._local.botocore_retries = getattr(self._local, "botocore_retries", 0) + 1

    def botocore_retries(self) -> int:
        return int(getattr(self._local, "botocore_retries", 0))


@contextmanager
def scaled_botocore_backoff(factor: float, polls: _PollClock) -> Iterator[None]:
    """Scale botocore's own retry sleeps (standard mode) by the time factor, and count them.

    Both client Configs here use botocore's standard retry mode, whose backoff sleeps
    real seconds (up to 1 s x 2^n for throttling). Unscaled, one such sleep would stand
    for 1/factor seconds of the scaled run; scaled, the run models real time. The number
    of retries is unchanged.
    """
    original = ExponentialBackoff.delay_amount

    def delay_amount(self: ExponentialBackoff, context: Any) -> float:  # noqa: ANN401
        polls.count_botocore_retry()
        return float(original(self, context)) * factor

    ExponentialBackoff.delay_amount = delay_amount  # type: ignore[method-assign]
    try:
        yield
    finally:
        ExponentialBackoff.delay_amount = original  # type: ignore[method-assign]


@dataclass
class _Context:
    cloud: LocalCloudFront
    responses: ResponseServer
    distribution_id: str
    factor: float
    clients: queue.Queue[Any]
    polls: _PollClock
    durations: Sequence[float]
    source_hash: str = field(default_factory=lambda: uuid.uuid4().hex)


def duration_rule(durations: Sequence[float], factor: float) -> Callable[[Sequence[str]], float]:
    """Scaled duration of ``/bench/<strategy>/<index>/...``: durations[index] x factor."""

    def rule(paths: Sequence[str]) -> float:
        match = _PATH.match(paths[0]) if paths else None
        return durations[int(match["index"])] * factor if match else 0.0

    return rule


def _event(index: int) -> dict[str, str]:
    return {
        "RequestId": str(uuid.uuid4()),
        "StackId": STACK_ID,
        "LogicalResourceId": f"Purge{index}",
    }


def _ours(ctx: _Context, strategy: str, index: int) -> Sample:
    sample = Sample(strategy=strategy, index=index, duration=ctx.durations[index])
    event = _event(index)
    url = ctx.responses.new_url(event)
    client = ctx.clients.get()
    ctx.polls.reset()
    try:
        sample.started_at = time.time()
        run = run_like_handler(
            client,
            {
                rules.PROP_DISTRIBUTION_IDS: [ctx.distribution_id],
                rules.PROP_PATHS: [f"/bench/{strategy}/{index}/index.html"],
                rules.PROP_SOURCE_HASH: ctx.source_hash,
            },
            request_id=event["RequestId"],
            factor=ctx.factor,
        )
        sample.last_poll_at = ctx.polls.last()
        sample.botocore_retries = ctx.polls.botocore_retries()
        result = run.result
        delivered = deliver(
            url,
            success_body(
                request_id=event["RequestId"],
                logical_id=event["LogicalResourceId"],
                physical_id=rules.physical_resource_id(
                    stack_id=STACK_ID,
                    logical_id=event["LogicalResourceId"],
                    distribution_ids=run.spec.distribution_ids,
                ),
                invalidation_ids=result.invalidation_ids,
                caller_references=result.caller_references,
                status=result.status,
                distribution_ids=run.spec.distribution_ids,
                path_count=len(run.spec.paths),
            ),
        )
        sample.invalidation_id = result.invalidation_ids[0]
        sample.legs = run.legs
        sample.retries = sum(n for kind, n in run.events.items() if kind.startswith("retry:"))
        if not delivered:
            sample.error = "response not delivered"
    except Exception as exc:  # a failed request is a result to report, not a crash
        sample.error = f"{type(exc).__name__}: {exc}"
    finally:
        ctx.clients.put(client)
    return _finish(ctx, sample, url)


def _baseline(ctx: _Context, strategy: str, index: int) -> Sample:
    """aws-cdk BucketDeployment's cloudfront_invalidate, delays scaled."""
    sample = Sample(strategy=strategy, index=index, duration=ctx.durations[index])
    event = _event(index)
    url = ctx.responses.new_url(event)
    client = ctx.clients.get()
    ctx.polls.reset()
    try:
        sample.started_at = time.time()
        path = f"/bench/{strategy}/{index}/index.html"
        response = client.create_invalidation(
            DistributionId=ctx.distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": [path]},
                "CallerReference": str(uuid.uuid4()),
            },
        )
        invalidation_id = str(response["Invalidation"]["Id"])
        client.get_waiter("invalidation_completed").wait(
            DistributionId=ctx.distribution_id,
            Id=invalidation_id,
            WaiterConfig={
                "Delay": WAITER_DELAY_SECONDS * ctx.factor,
                "MaxAttempts": _WAITER_ATTEMPTS_UNLIMITED,
            },
        )
        sample.last_poll_at = ctx.polls.last()
        sample.botocore_retries = ctx.polls.botocore_retries()
        delivered = deliver(
            url,
            success_body(
                request_id=event["RequestId"],
                logical_id=event["LogicalResourceId"],
                physical_id=f"bench-baseline-{index}",
                invalidation_ids=[invalidation_id],
                caller_references=[""],
                status="Completed",
                distribution_ids=[ctx.distribution_id],
                path_count=1,
            ),
        )
        sample.invalidation_id = invalidation_id
        if not delivered:
            sample.error = "response not delivered"
    except Exception as exc:
        sample.error = f"{type(exc).__name__}: {exc}"
    finally:
        ctx.clients.put(client)
    return _finish(ctx, sample, url)


def _finish(ctx: _Context, sample: Sample, url: str) -> Sample:
    answer = ctx.responses.response(url)
    if answer is not None:
        sample.arrived_at = answer.arrived_at
        sample.response_status = answer.status or ""
        if answer.violations and not sample.error:
            sample.error = "; ".join(answer.violations)
    if sample.invalidation_id:
        sample.get_calls = ctx.cloud.get_calls(sample.invalidation_id)
        for record in ctx.cloud.invalidations(ctx.distribution_id):
            if record.id == sample.invalidation_id:
                sample.completes_at = record.completes_at
    return sample


def run_phase(
    cloud: LocalCloudFront,
    responses: ResponseServer,
    book: DurationBook,
    *,
    strategy: str,
    durations: Sequence[float],
    config: OverheadConfig,
    progress: Callable[[str], None] = lambda _msg: None,
) -> PhaseResult:
    """Run every invalidation of one strategy, ``config.concurrency`` at a time."""
    distribution_id = cloud.create_distribution(f"bench {strategy}")
    book.set(distribution_id, duration_rule(durations, config.factor))
    polls = _PollClock()
    clients: queue.Queue[Any] = queue.Queue()
    for _ in range(config.concurrency):
        if strategy == BASELINE:
            client = boto3.client(
                "cloudfront",
                endpoint_url=cloud.endpoint_url,
                region_name=cloud.region,
                config=Config(retries={"max_attempts": 10, "mode": "standard"}),
            )
        else:
            client = boto3.client(
                "cloudfront",
                endpoint_url=cloud.endpoint_url,
                region_name=cloud.region,
                config=handler_client_config(),
            )
        polls.attach(client)
        clients.put(client)
    ctx = _Context(
        cloud=cloud,
        responses=responses,
        distribution_id=distribution_id,
        factor=config.factor,
        clients=clients,
        polls=polls,
        durations=durations,
    )
    task = _baseline if strategy == BASELINE else _ours
    lanes = balanced_lanes(durations, config.concurrency, seed=config.seed)
    if strategy == THROTTLED:
        cloud.faults.rate("GetInvalidation", "Throttling", config.throttle_rate)
    started = time.monotonic()
    cpu_started = time.process_time()
    done = 0
    done_lock = threading.Lock()

    def run_lane(lane: list[int]) -> list[Sample]:
        nonlocal done
        lane_samples = []
        for i in lane:
            lane_samples.append(task(ctx, strategy, i))
            with done_lock:
                done += 1
                if done % 10 == 0 or done == len(durations):
                    progress(f"  {strategy}: {done}/{len(durations)}")
        return lane_samples

    try:
        with (
            scaled_botocore_backoff(config.factor, polls),
            ThreadPoolExecutor(len(lanes), thread_name_prefix=strategy) as pool,
        ):
            samples = [s for f in [pool.submit(run_lane, lane) for lane in lanes]
                       for s in f.result()]
    finally:
        if strategy == THROTTLED:
            cloud.faults.clear()
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    samples.sort(key=lambda s: s.index)
    return PhaseResult(strategy, samples, wall, config.concurrency, cpu)


def balanced_lanes(durations: Sequence[float], lanes: int, *, seed: int) -> list[list[int]]:
    """Indices of ``durations`` split into ``lanes`` sequences of near-equal total duration.

    Longest first, each to the lane with the least so far (the LPT rule), so that no lane
    idles while another still has a long wait queued; then each lane is shuffled, so long and
    short waits stay mixed over the run, as a queue in random order would have them.
    """
    totals = [0.0] * max(1, min(lanes, len(durations)))
    assigned: list[list[int]] = [[] for _ in totals]
    for i in sorted(range(len(durations)), key=lambda i: -durations[i]):
        lane = totals.index(min(totals))
        assigned[lane].append(i)
        totals[lane] += durations[i]
    rng = random.Random(seed)
    for lane_indices in assigned:
        rng.shuffle(lane_indices)
    return assigned


# --- figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The numbers one strategy is judged on (seconds unscaled)."""

    count: int
    succeeded: int
    median: float
    p95: float
    max: float
    median_fixed_real: float
    p95_fixed_real: float
    max_fixed_real: float
    calls_per_invalidation: float
    calls_per_two_seconds: float
    retries_per_invalidation: float
    botocore_retries_per_invalidation: float
    legs_over_one: int


def figures(phase: PhaseResult, factor: float) -> Figures:
    ok = phase.ok
    if not ok:
        raise RuntimeError(
            f"{phase.strategy}: no invalidation succeeded; first error: "
            f"{phase.samples[0].error if phase.samples else 'none'}"
        )
    scaled = summarize([s.overhead(factor) for s in ok])
    real = summarize([s.overhead_fixed_unscaled(factor) for s in ok])
    calls = sum(s.get_calls for s in ok)
    waiting = sum(s.duration for s in ok)
    return Figures(
        count=len(phase.samples),
        succeeded=len(ok),
        median=scaled.median,
        p95=scaled.p95,
        max=scaled.max,
        median_fixed_real=real.median,
        p95_fixed_real=real.p95,
        max_fixed_real=real.max,
        calls_per_invalidation=calls / len(ok),
        calls_per_two_seconds=calls_per_two_seconds(calls, waiting),
        retries_per_invalidation=sum(s.retries for s in ok) / len(ok),
        botocore_retries_per_invalidation=sum(s.botocore_retries for s in ok) / len(ok),
        legs_over_one=sum(1 for s in ok if s.legs > 1),
    )


@dataclass(frozen=True)
class Simulated:
    """A fixed-interval poller computed on the same durations (no run)."""

    overheads: list[float]
    calls: list[int]

    @property
    def figures(self) -> tuple[float, float, float, float]:
        s = summarize(self.overheads)
        return s.median, s.p95, s.max, sum(self.calls) / len(self.calls)


def simulate_crhelper(durations: Sequence[float]) -> Simulated:
    """crhelper polling: first check one EventBridge period (60 s) in, then every 60 s.

    A lower bound: EventBridge's firing jitter, each poll's Lambda start and the
    delivery are left out.
    """
    return Simulated(
        overheads=[fixed_interval_overhead(d, CRHELPER_POLL_SECONDS) for d in durations],
        calls=[fixed_interval_calls(d, CRHELPER_POLL_SECONDS) for d in durations],
    )


def waiter_give_ups(durations: Sequence[float]) -> tuple[int, int]:
    """How many durations outlast BucketDeployment's 13-minute and the CLI's 10-minute wait."""
    bucket = sum(
        would_fail(d, WAITER_DELAY_SECONDS, BUCKET_DEPLOYMENT_MAX_ATTEMPTS) for d in durations
    )
    cli = sum(would_fail(d, WAITER_DELAY_SECONDS, WAITER_MAX_ATTEMPTS) for d in durations)
    return bucket, cli
