"""What the engine does about an AWS error: one pure classification, tested as a table.

The verdict says what kind of answer CloudFront gave; the run decides the rest from time
alone (how long IAM or a new id has had to become visible). See the diagram in
:mod:`._machine` for where each verdict leads.
"""

from __future__ import annotations

from enum import Enum

from botocore.exceptions import ClientError

from cloudfront_purge.model.errors import AwsError

#: The codes that mean "over the rate": CloudFront limits request rates per account, not per
#: caller (docs/performance.md), so these pace the retry (``Timing.retry_delay``).
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
#: Codes worth another try after a pause; every other ClientError is terminal.
RETRYABLE_CODES = THROTTLING_CODES | frozenset(
    {
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
#: CreateInvalidation answers a reused CallerReference with InvalidationBatchAlreadyExists,
#: or (some endpoints) InvalidArgument naming the reference.
_REUSED_REFERENCE_HINT = "caller reference"


class Verdict(Enum):
    """What an error means for the step that met it."""

    #: Transient (throttling, 5xx): the same step again after a backoff.
    RETRY = "retry"
    #: AccessDenied: a new grant may not have applied yet (IAM is eventually consistent).
    WAIT_FOR_IAM = "wait for IAM"
    #: NoSuchInvalidation: an id CloudFront just accepted may not be readable yet.
    NOT_VISIBLE_YET = "not visible yet"
    #: TooManyInvalidationsInProgress on create: wait for room under the in-progress limits.
    BLOCKED = "blocked"
    #: Our CallerReference was used: an earlier leg of this request made the invalidation.
    ADOPT = "adopt"
    #: Anything else: retrying will not help.
    FAIL = "fail"


def classify(error: AwsError, *, creating: bool) -> Verdict:
    """The verdict on ``error``; ``creating`` when CreateInvalidation (either kind) said it.

    BLOCKED and ADOPT are answers to a create only: the same codes from a read are terminal.
    """
    if creating:
        if error.code == "TooManyInvalidationsInProgress":
            return Verdict.BLOCKED
        if error.code == "InvalidationBatchAlreadyExists" or (
            error.code == "InvalidArgument" and _REUSED_REFERENCE_HINT in error.message.lower()
        ):
            return Verdict.ADOPT
    if error.code in RETRYABLE_CODES or error.http_status >= 500:
        return Verdict.RETRY
    if error.code == "AccessDenied":
        return Verdict.WAIT_FOR_IAM
    if error.code == "NoSuchInvalidation":
        return Verdict.NOT_VISIBLE_YET
    return Verdict.FAIL


def is_throttling(code: str) -> bool:
    """Whether a RETRY verdict's ``code`` says the account is over its request rate."""
    return code in THROTTLING_CODES


def decode(exc: ClientError) -> AwsError:
    error = AwsError.of(exc)
    assert error is not None  # a ClientError always carries its response
    return error
