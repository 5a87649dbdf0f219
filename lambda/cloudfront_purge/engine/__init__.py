"""The purge engine: invalidations created, waited for until Completed, retried when transient.

The state machine lives in :mod:`cloudfront_purge.engine._purge`; this package exports what the
Lambda function, the command line and the benchmarks use.
"""

from cloudfront_purge.engine._purge import (
    BLOCKED,
    COMPLETED,
    FAILED,
    IAM_PROPAGATION_WINDOW_SECONDS,
    IAM_RETRY_CAP_SECONDS,
    IN_PROGRESS,
    LIST_PAGE_SIZE,
    MAX_LISTED_INVALIDATIONS,
    NEW_INVALIDATION_VISIBILITY_SECONDS,
    PENDING,
    RETRYABLE_CODES,
    Clock,
    Job,
    PurgeResult,
    Reporter,
    SystemClock,
    Timing,
    is_completed,
    is_in_progress,
    list_invalidations,
    plan_jobs,
    purge,
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
    "RETRYABLE_CODES",
    "Clock",
    "Job",
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
