"""Whether CloudFormation is rolling the stack back: its StackStatus, asked once.

An Update that arrives while the stack is UPDATE_ROLLBACK_IN_PROGRESS is answered SUCCESS
(a FAILED answer would leave the stack UPDATE_ROLLBACK_FAILED; docs/troubleshooting.md).
The handler asks with its own CloudFormation client; the fallback answers
(:mod:`~cloudfront_purge.function.fallback`) ask through boto3, imported lazily inside a
guard: it ships with Lambda's Python runtime, and if it (or the call) fails, the status is
unknown and the Update is answered as a normal one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from cloudfront_purge.function import responder
from cloudfront_purge.model.errors import AwsError

logger = logging.getLogger(__name__)

#: DescribeStacks is one small call: a few seconds, not the function's whole timeout.
_DESCRIBE_TIMEOUT_SECONDS = 5


def stack_status(
    event: Mapping[str, Any],
    client: Callable[[], Any] | None = None,
    *,
    consequence: str = "treated as a normal update: answered FAILED",
    advice: str = "",
) -> str | None:
    """DescribeStacks' StackStatus for the event's stack, or None when it cannot be known.

    The one place that asks (rollback detection), for the fallback answers and for the
    handler, which passes its own CloudFormation client (``client`` makes it) and says what an
    unknown status means there.
    """
    try:
        if client is not None:
            cloudformation = client()
        else:
            import boto3  # in Lambda's Python runtime; guarded: this module must never break
            from botocore.config import Config

            cloudformation = boto3.client(
                "cloudformation",
                config=Config(
                    connect_timeout=_DESCRIBE_TIMEOUT_SECONDS,
                    read_timeout=_DESCRIBE_TIMEOUT_SECONDS,
                    retries={"max_attempts": 3, "mode": "standard"},
                ),
            )
        stacks = cloudformation.describe_stacks(StackName=str(event["StackId"]))["Stacks"]
        return str(stacks[0]["StackStatus"]) if stacks else None
    except Exception as exc:  # any failure means "not known to be a rollback"
        error = AwsError.of(exc)
        problem = (
            f"{error.operation} failed with {error.code}: {error.message}"
            if error is not None
            else f"{type(exc).__name__}: {exc}"
        )
        logger.warning(
            "stack_status_unknown",
            extra={
                "problem": responder.scrub(problem, str(event.get("ResponseURL") or "")),
                "consequence": consequence,
                **({"advice": advice} if advice else {}),
            },
        )
        return None
