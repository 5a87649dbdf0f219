"""Faults on demand: the failures real CloudFront and IAM produce, switchable per test."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Final

from localcloud.cloudfront.errors import CloudFrontError

__all__ = [
    "CREATE",
    "CREATE_FOR_TENANT",
    "GET",
    "GET_FOR_TENANT",
    "LIST",
    "LIST_FOR_TENANT",
    "OPERATIONS",
    "Fault",
    "FaultInjector",
]

CREATE: Final = "CreateInvalidation"
GET: Final = "GetInvalidation"
LIST: Final = "ListInvalidations"
CREATE_FOR_TENANT: Final = "CreateInvalidationForDistributionTenant"
GET_FOR_TENANT: Final = "GetInvalidationForDistributionTenant"
LIST_FOR_TENANT: Final = "ListInvalidationsForDistributionTenant"
#: The operations this server answers itself; fault injection and counters use these names.
OPERATIONS: Final[frozenset[str]] = frozenset(
    {CREATE, GET, LIST, CREATE_FOR_TENANT, GET_FOR_TENANT, LIST_FOR_TENANT}
)

#: Resource types of the ARNs an AccessDenied message names.
DISTRIBUTION: Final = "distribution"
DISTRIBUTION_TENANT: Final = "distribution-tenant"


@dataclass
class Fault:
    """One error to answer, before or after the operation did its work."""

    code: str
    status: int
    message: str
    after: bool  # perform the operation, then answer the error (the response got lost)

    def error(self) -> CloudFrontError:
        return CloudFrontError(self.code, self.message, self.status)


@dataclass
class _RateRule:
    probability: float
    fault: Fault


@dataclass
class _NthRule:
    call_number: int  # absolute call number (1-based) of the operation that fails
    fault: Fault


@dataclass
class _IamLag:
    seconds: float | None
    until: float | None
    first_call: dict[str, float] = field(default_factory=dict)  # target id -> epoch seconds

    def denies(self, target_id: str, now: float) -> bool:
        if self.until is not None:
            return now < self.until
        first = self.first_call.setdefault(target_id, now)
        return now < first + (self.seconds or 0.0)


@dataclass
class _FaultState:
    rates: dict[str, list[_RateRule]] = field(default_factory=dict)
    nth: dict[str, list[_NthRule]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    iam_lags: dict[str | None, _IamLag] = field(default_factory=dict)  # None: every target
    read_lags: dict[str | None, float] = field(default_factory=dict)  # None: every target
    seen: dict[str, int] = field(default_factory=dict)


class FaultInjector:
    """Makes CloudFront fail on demand, so retry and error paths can be exercised.

    Real CloudFront throttles (``Throttling: Rate exceeded``), has 5xx spells
    (``ServiceUnavailable`` after 4 retries in aws-cdk issue 15891), answers
    ``AccessDenied`` when an IAM grant is missing or has not propagated yet (aws-cdk
    issues 37675, 21332), and may not find an invalidation it accepted a moment ago.
    A "target" is what a request names: a distribution id, or a distribution tenant id
    for the ``...ForDistributionTenant`` operations. Rates draw from a seeded
    ``random.Random`` so a failing run can be replayed.
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.RLock()
        self._seed = seed
        self._rng = random.Random(seed)
        self._state = _FaultState()

    @staticmethod
    def _make(code: str, status: int | None, message: str | None, after: bool) -> Fault:
        err = CloudFrontError(code, message, status)
        return Fault(code=err.code, status=err.status, message=err.message, after=after)

    @staticmethod
    def _check_operation(operation: str) -> None:
        if operation not in OPERATIONS:
            raise ValueError(
                f"unknown operation {operation!r}; expected one of {sorted(OPERATIONS)}"
            )

    def rate(
        self,
        operation: str,
        code: str,
        probability: float,
        *,
        status: int | None = None,
        message: str | None = None,
        after: bool = False,
    ) -> None:
        """Answer ``code`` on a share ``probability`` of the calls to ``operation``.

        Several rates on one operation add up (one draw per call picks at most one), so
        "20% Throttling and 5% ServiceUnavailable" is two calls. ``after=True``
        performs the operation first and then answers the error, as when CloudFront
        created the invalidation but the response was lost: the case a CallerReference
        exists for.
        """
        self._check_operation(operation)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {probability}")
        with self._lock:
            rules = self._state.rates.setdefault(operation, [])
            if sum(r.probability for r in rules) + probability > 1.0 + 1e-9:
                raise ValueError(f"rates for {operation} would add up to more than 1")
            rules.append(_RateRule(probability, self._make(code, status, message, after)))

    def on_call(
        self,
        operation: str,
        n: int,
        code: str,
        *,
        status: int | None = None,
        message: str | None = None,
        after: bool = False,
    ) -> None:
        """Answer ``code`` on the ``n``-th call (1-based) to ``operation`` from now on.

        Counting starts when the rule is set, so ``on_call(op, 1, ...)`` fails the next
        call whatever happened before; set it before any call to mean "the first call".
        """
        self._check_operation(operation)
        if n < 1:
            raise ValueError(f"n is 1-based, got {n}")
        with self._lock:
            base = self._state.seen.get(operation, 0)
            self._state.nth.setdefault(operation, []).append(
                _NthRule(base + n, self._make(code, status, message, after))
            )

    def deny(self, target_id: str) -> None:
        """Answer ``AccessDenied`` for every request about this distribution or tenant.

        Emulates a Lambda role without a grant on the target's ARN (aws-cdk issue 4223 is
        this failure during Delete). For a distribution it covers requests passed on to
        moto too (GetDistribution, ...).
        """
        with self._lock:
            self._state.denied.add(target_id)

    def allow(self, target_id: str) -> None:
        """Undo :meth:`deny` for one distribution or tenant (the grant was added)."""
        with self._lock:
            self._state.denied.discard(target_id)

    def iam_lag(
        self, target_id: str | None, seconds: float | None = None, *, until: float | None = None
    ) -> None:
        """Deny the invalidation operations on a target while its IAM grant propagates.

        A new or changed role policy can take seconds to apply (aws-cdk issues 37675,
        21332): the grant is in the template, yet the first calls answer AccessDenied.
        Create/Get/List invalidation calls (distribution or tenant variants) on
        ``target_id`` (None: every target) answer the same AccessDenied as :meth:`deny`
        for ``seconds`` counted from the first such call on that target after this rule
        is set, or until the epoch time ``until``; then they succeed. Give exactly one
        of ``seconds`` and ``until``.
        """
        if (seconds is None) == (until is None):
            raise ValueError("iam_lag takes exactly one of seconds and until")
        if seconds is not None and seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds}")
        with self._lock:
            self._state.iam_lags[target_id] = _IamLag(seconds, until)

    def read_lag(self, seconds: float, target_id: str | None = None) -> None:
        """Eventual consistency: a new invalidation is not found for ``seconds``.

        GetInvalidation (or its tenant variant) for an invalidation on ``target_id``
        (None: every target) answers NoSuchInvalidation (404, as CloudFront does) until
        ``seconds`` have passed since CreateInvalidation accepted it.
        """
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds}")
        with self._lock:
            self._state.read_lags[target_id] = seconds

    def clear(self) -> None:
        """Remove every rule, denial and lag and reseed, so a scenario starts from scratch."""
        with self._lock:
            seen = self._state.seen
            self._state = _FaultState(seen=seen)
            self._rng = random.Random(self._seed)

    def is_denied(self, target_id: str) -> bool:
        """Whether :meth:`deny` is in force for the distribution or tenant."""
        with self._lock:
            return target_id in self._state.denied

    def denial(
        self,
        target_id: str,
        action: str,
        account_id: str,
        *,
        resource_type: str = DISTRIBUTION,
        invalidation: bool = False,
    ) -> CloudFrontError | None:
        """The AccessDenied error, worded like IAM's, if the call is denied; else None.

        ``invalidation=True`` for the invalidation operations, which an :meth:`iam_lag`
        covers too (and whose first call starts the lag's clock).
        """
        with self._lock:
            denied = target_id in self._state.denied
            if not denied and invalidation:
                now = time.time()
                for key in (target_id, None):
                    lag = self._state.iam_lags.get(key)
                    if lag is not None and lag.denies(target_id, now):
                        denied = True
                        break
        if not denied:
            return None
        return CloudFrontError(
            "AccessDenied",
            f"User: arn:aws:sts::{account_id}:assumed-role/localcloud/test is not authorized "
            f"to perform: cloudfront:{action} on resource: "
            f"arn:aws:cloudfront::{account_id}:{resource_type}/{target_id} because no "
            f"identity-based policy allows the cloudfront:{action} action",
        )

    def hidden(self, target_id: str, created_at: float, now: float | None = None) -> bool:
        """Whether a :meth:`read_lag` still hides an invalidation created at ``created_at``."""
        with self._lock:
            lags = [s for key, s in self._state.read_lags.items() if key in (target_id, None)]
        if not lags:
            return False
        return (time.time() if now is None else now) < created_at + max(lags)

    def decide(self, operation: str) -> Fault | None:
        """Count one call to ``operation`` and say which fault, if any, it meets.

        A call-number rule wins over a rate; the random draw happens only when the
        operation has rates, so rules on one operation do not shift another's draws.
        """
        with self._lock:
            number = self._state.seen.get(operation, 0) + 1
            self._state.seen[operation] = number
            nth = self._state.nth.get(operation, [])
            for rule in nth:
                if rule.call_number == number:
                    nth.remove(rule)
                    return rule.fault
            rates = self._state.rates.get(operation)
            if not rates:
                return None
            draw = self._rng.random()
            cumulative = 0.0
            for rate_rule in rates:
                cumulative += rate_rule.probability
                if draw < cumulative:
                    return rate_rule.fault
            return None
