"""Account-wide request rates: CloudFront throttles an account, not a caller.

Every client of one account draws on the same token buckets, whichever stack, function or
CLI makes the call: 50 stacks deployed at once share one CreateInvalidation rate. A call
that finds its bucket empty is answered ``Throttling`` (HTTP 400, ``Rate exceeded``, no
Retry-After header), as CloudFront answers it (field reports: rust-lang/crates.io issue
11588, mdn/kuma issue 6177), and does not reach the operation.

Defaults (:data:`AWS_DEFAULTS`):

- CreateInvalidation: 0.5 a second per account. Source: an AWS SDK maintainer in
  aws-sdk-js issue 3983 ("the default rate limit for CreateInvalidation is 0.5"). AWS
  publishes no burst: a bucket of 1 token, so no two creates pass within 2 s (the stricter
  reading).
- GetInvalidation and ListInvalidations: AWS publishes no figure. Chosen here, and
  deliberately low, as a local judge should be when unsure: GetInvalidation 5 a second with
  a burst of 10, ListInvalidations 1 a second with a burst of 2.
- The ``...ForDistributionTenant`` variants draw on the same bucket as their distribution
  operation (nothing published either way; one shared bucket is the stricter choice).

The limits are off unless a :class:`LocalCloudFront` is given some (``rate_limits=``), so
tests about other behaviour are not throttled by accident; :meth:`AccountRates.scaled`
shrinks time for benchmark runs that use a time factor.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from localcloud.cloudfront.errors import CloudFrontError
from localcloud.cloudfront.faults import (
    CREATE,
    CREATE_FOR_TENANT,
    GET,
    GET_FOR_TENANT,
    LIST,
    LIST_FOR_TENANT,
)

__all__ = ["AWS_DEFAULTS", "BUCKET_OF", "AccountRates", "RateLimit", "throttling_error"]

#: The bucket each operation draws on: a tenant variant shares its distribution operation's.
BUCKET_OF: Final[Mapping[str, str]] = {
    CREATE: CREATE,
    CREATE_FOR_TENANT: CREATE,
    GET: GET,
    GET_FOR_TENANT: GET,
    LIST: LIST,
    LIST_FOR_TENANT: LIST,
}


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``per_second`` tokens added each second, at most ``burst`` kept."""

    per_second: float
    burst: float

    def __post_init__(self) -> None:
        if not (self.per_second > 0 and math.isfinite(self.per_second)):
            raise ValueError(f"per_second must be a positive number, got {self.per_second}")
        if not (self.burst >= 1 and math.isfinite(self.burst)):
            raise ValueError(f"burst must be at least 1 (one call), got {self.burst}")


#: See the module docstring for the source of each figure.
AWS_DEFAULTS: Final[Mapping[str, RateLimit]] = {
    CREATE: RateLimit(per_second=0.5, burst=1),
    GET: RateLimit(per_second=5.0, burst=10),
    LIST: RateLimit(per_second=1.0, burst=2),
}


def throttling_error() -> CloudFrontError:
    """What CloudFront answers a call over the rate: 400 ``Throttling``, ``Rate exceeded``."""
    return CloudFrontError("Throttling", "Rate exceeded", 400)


@dataclass
class _Bucket:
    limit: RateLimit
    tokens: float
    updated: float


class AccountRates:
    """Token buckets per (account, operation bucket), shared by every caller. Thread-safe.

    ``limits`` maps an operation of :data:`BUCKET_OF`'s values (CreateInvalidation,
    GetInvalidation, ListInvalidations) to its :class:`RateLimit`; an operation without one
    is not limited. ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        limits: Mapping[str, RateLimit] = AWS_DEFAULTS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        unknown = sorted(set(limits) - set(BUCKET_OF.values()))
        if unknown:
            raise ValueError(
                f"rate limits for unknown operations {unknown}; "
                f"expected some of {sorted(set(BUCKET_OF.values()))}"
            )
        self.limits: dict[str, RateLimit] = dict(limits)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._throttled: dict[str, int] = {}

    def scaled(self, factor: float) -> AccountRates:
        """The same limits for a run whose time is scaled by ``factor`` (0.1: ten times
        faster): rates divided by the factor, bursts kept."""
        if not factor > 0:
            raise ValueError(f"factor must be positive, got {factor}")
        return AccountRates(
            {op: RateLimit(lim.per_second / factor, lim.burst) for op, lim in self.limits.items()},
            clock=self._clock,
        )

    def take(self, account: str, operation: str) -> bool:
        """Spend one token of the operation's bucket in the account; False if none is left."""
        bucket_name = BUCKET_OF.get(operation, operation)
        limit = self.limits.get(bucket_name)
        if limit is None:
            return True
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get((account, bucket_name))
            if bucket is None:
                bucket = self._buckets[(account, bucket_name)] = _Bucket(limit, limit.burst, now)
            bucket.tokens = min(
                limit.burst, bucket.tokens + (now - bucket.updated) * limit.per_second
            )
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return True
            self._throttled[operation] = self._throttled.get(operation, 0) + 1
            return False

    def check(self, account: str, operation: str) -> None:
        """Raise CloudFront's Throttling error if the account's bucket for it is empty."""
        if not self.take(account, operation):
            raise throttling_error()

    def throttled(self) -> dict[str, int]:
        """How many calls of each operation were throttled so far."""
        with self._lock:
            return dict(self._throttled)
