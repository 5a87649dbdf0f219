"""Lambda entry point of the provider (handler string ``cloudfront_purge.function.entry.handler``).

It loads the real handler (``cloudfront_purge.resource.handler``: crhelper, boto3, the engine) under
a guard. When that import fails (a syntax error, a missing module, an exception at module
level, a runtime upgrade that removed something) Lambda's own runtime would log the error
and answer nobody, and the stack would wait for the ServiceTimeout, twice (the Create,
then the Delete after it). Instead every request is answered at once: FAILED with the
error as the Reason, SUCCESS for a Delete (see :mod:`cloudfront_purge.function.fallback`).

Standard library, ``fallback`` and ``responder`` only: nothing the guarded import can break.
"""

from __future__ import annotations

import importlib
import logging
import os
import traceback
from collections.abc import Callable
from typing import Any

from cloudfront_purge import __version__
from cloudfront_purge.function import fallback

#: The module that holds the real handler, and its function.
HANDLER_MODULE = "cloudfront_purge.resource.handler"
HANDLER_FUNCTION = "handler"

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], object]


def describe_start_failure(exc: BaseException, task_root: str | None = None) -> str:
    """An actionable Reason for a handler that could not be loaded: what, where, what to do."""
    root = os.path.abspath(task_root or os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd())
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f"{_relative(exc.filename, root)}, line {exc.lineno}"
    else:
        frames = [
            frame
            for frame in traceback.extract_tb(exc.__traceback__)
            if os.path.abspath(frame.filename).startswith(root + os.sep)
            and os.path.abspath(frame.filename) != os.path.abspath(__file__)
        ]
        if frames:
            where = f"{_relative(frames[-1].filename, root)}, line {frames[-1].lineno}"
    message = str(exc).strip() or "(no message)"
    return (
        f"the provider function could not start: loading {HANDLER_MODULE} raised "
        f"{type(exc).__name__}: {message}"
        + (f" (in {where})" if where else "")
        + "; nothing was purged. Fix the function's code or runtime and deploy again "
        "(its log group has the traceback)"
    )


def _relative(path: str, root: str) -> str:
    absolute = os.path.abspath(path)
    return os.path.relpath(absolute, root) if absolute.startswith(root + os.sep) else path


def _load() -> tuple[Handler | None, str | None]:
    try:
        module = importlib.import_module(HANDLER_MODULE)
        real: Handler = getattr(module, HANDLER_FUNCTION)
    except Exception as exc:
        # The answer's own log lines (responded / response_retry) must show.
        logging.getLogger("cloudfront_purge").setLevel(logging.INFO)
        logger.error(
            "start_failed",
            extra={
                "error": type(exc).__name__,
                "error_message": str(exc),
                "version": __version__,
            },
            exc_info=True,
        )
        return None, describe_start_failure(exc)
    return real, None


_handler, _start_failure = _load()


def handler(event: dict[str, Any], context: Any) -> object:  # noqa: ANN401 - Lambda's context
    """Run the real handler, or answer CloudFormation with the start-up failure."""
    if _handler is not None:
        return _handler(event, context)
    reason = _start_failure or "the provider function could not start"
    if not fallback.is_cloudformation_request(event):
        raise RuntimeError(reason)
    if not fallback.answer(event, reason):
        # Not delivered: fail the invocation, so Lambda retries it (and, once retries
        # are exhausted, the on-failure destination answers).
        raise RuntimeError(f"could not deliver the answer to CloudFormation: {reason}")
    return None
