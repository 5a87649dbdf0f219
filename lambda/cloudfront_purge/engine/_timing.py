"""When the engine asks CloudFront again: the clock, the poll schedule, every delay.

Every pause the engine takes is computed here, from :class:`Timing`; the run only adds it
to the clock (``Machine.schedule`` in ``_machine``).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Protocol

#: How long AccessDenied on a distribution counts as "the grant has not applied yet",
#: counted from this request's first call on that distribution. IAM documents that it is
#: eventually consistent: a change takes time to be visible from every endpoint (IAM User
#: Guide, Troubleshooting IAM, "Changes that I make are not always immediately visible");
#: aws-cdk issues 37675 and 21332 show functions denied for seconds after CloudFormation
#: reported their policy created. A minute covers those seconds several times over, while
#: a grant that is really missing still fails the deploy within about a minute
#: (docs/troubleshooting.md). A re-delivered event (a Lambda retry) starts a new window; a
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
#: (CloudFront limits request rates per account, not per caller; docs/performance.md). A
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


def slowed(slowdown: float) -> float:
    """A job's poll slowdown after a throttled status call: doubled, up to the cap."""
    return min(POLL_SLOWDOWN_MAX, slowdown * 2.0)


def eased(slowdown: float) -> float:
    """A job's poll slowdown after an answered status call: eased back towards 1."""
    return max(1.0, slowdown * POLL_EASE)


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
    under 3 s at p95, at under one call per 2 s (bench/ measures all of it). A throttled
    poll slows the job's pace (``slowed``, eased back by each answer, ``eased``); other
    failed polls back off to at least twice the normal gap, so errors lower the call rate.
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

    def paced_poll_delay(self, elapsed: float, rng: random.Random, *, slowdown: float) -> float:
        """The pause before the next poll of a job whose pace is ``slowdown`` times slower
        than ``poll_steps`` (1: the schedule itself; above 1: recently throttled, jittered)."""
        gap = self.poll_delay(elapsed)
        if slowdown > 1.0:
            gap *= slowdown * rng.uniform(0.75, 1.25)
        return gap

    def retry_delay(
        self,
        attempt: int,
        rng: random.Random,
        *,
        polling_for: float | None,
        throttled: bool = False,
        slowdown: float = 1.0,
    ) -> float:
        """The pause after the ``attempt``-th transient error in a row (throttling, 5xx, a
        lost connection) before the same step is tried again.

        ``polling_for``: seconds since the invalidation began, when the step is a poll; a
        failed poll must not come sooner than a normal one would. ``throttled``: the account
        is over its rate. A throttled poll waits the job's slowed pace (``slowdown``, already
        raised by ``slowed``) rather than an exponential backoff, which would leave a
        Completed invalidation unseen for up to ``backoff_cap``; any other throttled step
        (a create, a capacity check) waits at most THROTTLED_RETRY_CAP_SECONDS.
        """
        delay = self.backoff_delay(attempt, rng)
        if polling_for is not None:
            gap = self.poll_delay(polling_for)
            if throttled:
                return gap * slowdown * rng.uniform(0.5, 1.0)
            return max(delay, 2 * gap)
        if throttled:
            cap = THROTTLED_RETRY_CAP_SECONDS * self.scale
            delay = min(delay, cap / 2 + rng.uniform(0, cap / 2))
        return delay

    def iam_retry_delay(self, attempt: int, rng: random.Random) -> float:
        """The pause after the ``attempt``-th AccessDenied in a row while IAM may still be
        applying a new grant: the backoff, capped so a grant that applies is seen soon."""
        return min(self.backoff_delay(attempt, rng), IAM_RETRY_CAP_SECONDS * self.scale)

    def capacity_delay(self) -> float:
        return self.capacity_interval * self.scale

    @property
    def iam_window(self) -> float:
        return self.iam_wait * self.scale

    @property
    def not_found_window(self) -> float:
        return self.not_found_wait * self.scale
