"""The purge engine: invalidations created, waited for until Completed, retried when transient.

:mod:`cloudfront_purge.engine._purge` is the entry (``plan_jobs``, ``purge``) and says where
each part lives: the states and events (``_states``), the function per state and the one
scheduler (``_machine``), the loop (``_run``), AWS errors (``_errors``), distribution or
tenant (``_target``, ``_calls``), the delays (``_timing``). This package exports what the
Lambda function, the command line and the benchmarks use.
"""

from cloudfront_purge.engine._errors import RETRYABLE_CODES, THROTTLING_CODES
from cloudfront_purge.engine._job import Job, PurgeResult, Reporter
from cloudfront_purge.engine._purge import plan_jobs, purge
from cloudfront_purge.engine._states import (
    BLOCKED,
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    PENDING,
    Event,
    JobState,
    is_completed,
    is_in_progress,
)
from cloudfront_purge.engine._target import (
    LIST_PAGE_SIZE,
    MAX_LISTED_INVALIDATIONS,
    list_invalidations,
)
from cloudfront_purge.engine._timing import (
    IAM_PROPAGATION_WINDOW_SECONDS,
    IAM_RETRY_CAP_SECONDS,
    NEW_INVALIDATION_VISIBILITY_SECONDS,
    POLL_EASE,
    POLL_SLOWDOWN_MAX,
    THROTTLED_RETRY_CAP_SECONDS,
    Clock,
    SystemClock,
    Timing,
)

__all__ = [
    "BLOCKED",
    "COMPLETED",
    "FAILED",
    "IAM_PROPAGATION_WINDOW_SECONDS",
    "IAM_RETRY_CAP_SECONDS",
    "IN_PROGRESS",
    "LIST_PAGE_SIZE",
    "MAX_LISTED_INVALIDATIONS",
    "NEW_INVALIDATION_VISIBILITY_SECONDS",
    "PENDING",
    "POLL_EASE",
    "POLL_SLOWDOWN_MAX",
    "RETRYABLE_CODES",
    "THROTTLED_RETRY_CAP_SECONDS",
    "THROTTLING_CODES",
    "Clock",
    "Event",
    "Job",
    "JobState",
    "PurgeResult",
    "Reporter",
    "SystemClock",
    "Timing",
    "is_completed",
    "is_in_progress",
    "list_invalidations",
    "plan_jobs",
    "purge",
]
