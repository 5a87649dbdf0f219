"""Pure helpers: seeded durations, percentiles, the crhelper polling model, goals.

Nothing here touches the network or the clock, so the smoke test can check it on known
data.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: botocore's ``invalidation_completed`` waiter (and ``aws cloudfront wait
#: invalidation-completed``): a fixed 20 s between polls, 30 polls (10 minutes).
WAITER_DELAY_SECONDS = 20.0
WAITER_MAX_ATTEMPTS = 30
#: aws-cdk BucketDeployment overrides MaxAttempts to (13*60)//20 = 39 (13 minutes).
BUCKET_DEPLOYMENT_MAX_ATTEMPTS = (13 * 60) // 20
#: crhelper's polling: an EventBridge rule ``rate(1 minute)``; the first poll runs when the
#: rule first fires, about a minute after the initial invocation.
CRHELPER_POLL_SECONDS = 60.0


def log_uniform_durations(
    count: int, *, low: float = 5.0, high: float = 900.0, seed: int = 5
) -> list[float]:
    """``count`` durations spread log-uniformly over [low, high] seconds, seeded.

    Most invalidations finish within a minute or two; a long tail takes 10-15 minutes
    (field reports of 2021-2025, aws-cdk issue 15891). Log-uniform gives both.
    """
    if count < 0 or not 0 < low <= high:
        raise ValueError("need count >= 0 and 0 < low <= high")
    rng = random.Random(seed)
    a, b = math.log(low), math.log(high)
    return [math.exp(rng.uniform(a, b)) for _ in range(count)]


#: AWS What's New, April 2026, "Amazon CloudFront now supports invalidation by cache tag":
#: invalidations report Completed in under 25 s at P95 (they take effect in under 5 s).
TODAY_P95_SECONDS = 25.0
#: Not published: an assumption. 10 s puts the median well past the 5 s P95 at which an
#: invalidation takes effect (Completed also waits for the status to be reported) and gives
#: a P95/median spread of 2.5.
TODAY_MEDIAN_SECONDS = 10.0
_Z95 = statistics.NormalDist().inv_cdf(0.95)


def today_durations(
    count: int,
    *,
    median: float = TODAY_MEDIAN_SECONDS,
    p95: float = TODAY_P95_SECONDS,
    seed: int = 5,
) -> list[float]:
    """``count`` durations from a log-normal with this median and P95, seeded, shuffled.

    Log-normal: completion times are positive and right-skewed, and a purge finishes when
    its slowest edge location reports, a product of many small delays; AWS publishes only
    the P95, so the shape and the median are choices (see the constants). One draw per
    equal-probability stratum (stratified sampling), so even a small sample has the
    profile's median and P95 rather than a lucky draw's.
    """
    if count < 0 or not 0 < median < p95:
        raise ValueError("need count >= 0 and 0 < median < p95")
    rng = random.Random(seed)
    sigma = math.log(p95 / median) / _Z95
    normal = statistics.NormalDist()
    values = [
        median * math.exp(sigma * normal.inv_cdf((i + rng.uniform(0.01, 0.99)) / count))
        for i in range(count)
    ]
    rng.shuffle(values)
    return values


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between closest ranks.

    The same definition as numpy's default (``method="linear"``).
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be within [0, 100], got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    lower = math.floor(position)
    upper = math.ceil(position)
    if lower == upper:
        return ordered[lower]
    weight = position - lower
    return ordered[lower] * (1.0 - weight) + ordered[upper] * weight


@dataclass(frozen=True)
class Summary:
    count: int
    median: float
    p95: float
    max: float
    mean: float


def summarize(values: Sequence[float]) -> Summary:
    return Summary(
        count=len(values),
        median=percentile(values, 50),
        p95=percentile(values, 95),
        max=max(values),
        mean=statistics.fmean(values),
    )


def fixed_interval_overhead(duration: float, interval: float, first: float | None = None) -> float:
    """Seconds from Completed to the first poll that sees it, polls at first, first+interval...

    The waiter's first poll is immediate (``first=0``); crhelper's is one rule period in.
    Completed at exactly a poll instant counts as seen by that poll (CloudFront status
    flips at ``completes_at``, and ``status(now)`` is ``now >= completes_at``).
    """
    start = interval if first is None else first
    if duration <= start:
        return start - duration
    polls_after_first = math.ceil((duration - start) / interval)
    return start + polls_after_first * interval - duration


def fixed_interval_calls(duration: float, interval: float, first: float | None = None) -> int:
    """GetInvalidation calls a fixed-interval poller makes until it sees Completed."""
    start = interval if first is None else first
    if duration <= start:
        return 1
    return 1 + math.ceil((duration - start) / interval)


def poll_schedule(duration: float, poll_delay: Callable[[float], float]) -> tuple[float, int]:
    """(lag, calls) of a poller scheduled like the engine, with zero-latency calls.

    The engine polls first at ``poll_delay(0)`` after the invalidation is accepted, then
    at ``t + poll_delay(t)`` after a poll at ``t`` (elapsed since CreateTime), and sees
    Completed at the first poll at or after ``duration``.
    """
    t = poll_delay(0.0)
    calls = 1
    while t < duration:
        t += poll_delay(t)
        calls += 1
    return t - duration, calls


def calls_per_two_seconds(total_calls: int, total_waiting_seconds: float) -> float:
    """Status calls per 2 s of waiting: the rate goal is at most 1."""
    if total_waiting_seconds <= 0:
        raise ValueError("total waiting must be positive")
    return total_calls / (total_waiting_seconds / 2.0)


def would_fail(duration: float, delay: float, max_attempts: int) -> bool:
    """Whether a fixed-delay waiter gives up before seeing Completed (WaiterError).

    Polls happen at 0, delay, ..., (max_attempts - 1) * delay.
    """
    return duration > (max_attempts - 1) * delay


@dataclass(frozen=True)
class Goal:
    """A target a figure must meet: ``value < limit`` (or ``<=``)."""

    limit: float
    text: str
    inclusive: bool = False

    def met(self, value: float) -> bool:
        return value <= self.limit if self.inclusive else value < self.limit

    def ratio(self, value: float) -> float:
        if self.limit == 0:  # a goal of none: met exactly, or missed without bound
            return 0.0 if value == 0 else math.inf
        return value / self.limit


def ratio(ours: float | None, baseline: float | None) -> float | None:
    if ours is None or baseline is None or baseline == 0:
        return None
    return ours / baseline
