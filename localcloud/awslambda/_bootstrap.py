"""Process entry point that runs one Lambda handler invocation, as the Python runtime does.

Started by :mod:`localcloud.awslambda.process` as ``python -I -S -u -B _bootstrap.py RESULT_FILE``:
isolated mode and no ``site``, so ``sys.path`` starts as the standard library only.
This file imports only the standard library and the runtime dir's awslambdaric (and its
botocore.waiter, when told to scale waiter delays).

Inputs:
  * stdin: the event, JSON;
  * argv[1]: a file to write the outcome to (JSON: ``{"result": ...}`` or ``{"error": ...}``);
  * environment, as Lambda sets it: ``_HANDLER``, ``LAMBDA_TASK_ROOT`` (the asset dir),
    ``LAMBDA_RUNTIME_DIR`` (boto3 and its dependencies), ``AWS_LAMBDA_FUNCTION_NAME``,
    ``AWS_LAMBDA_FUNCTION_VERSION``, ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``,
    ``AWS_LAMBDA_LOG_GROUP_NAME``, ``AWS_LAMBDA_LOG_STREAM_NAME``, ``AWS_REGION``;
    plus three private ones, removed before the handler is imported:
    ``_LOCALCLOUD_REQUEST_ID``, ``_LOCALCLOUD_DEADLINE_MS`` (epoch ms) and
    ``_LOCALCLOUD_INVOKED_ARN``; and an optional one, ``_LOCALCLOUD_WAITER_DELAY_SCALE``:
    botocore's waiters sleep that fraction of their delay (see :func:`_scale_waiters`).

Like Lambda, the handler module is imported first (the init phase), then called once.
Logging is set up by awslambdaric, the runtime interface client the managed Python runtimes
run (shipped in ``LAMBDA_RUNTIME_DIR`` as in ``/var/runtime``), from the variables Lambda
derives from the function's ``LoggingConfig``: ``AWS_LAMBDA_LOG_FORMAT`` (``JSON``: one JSON
object a record, ``extra`` fields as top-level keys; otherwise Lambda's text lines) and
``AWS_LAMBDA_LOG_LEVEL`` (the root logger's level). An error is logged by awslambdaric too
(``[ERROR] Type: message`` and the traceback, or a JSON record). After the handler returns the
process ends at once (``os._exit``), as the sandbox freezes: leftover threads do not keep it
alive.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

_REQUEST_ID = ""


class LambdaContext:
    """The ``context`` argument, with the attributes the Lambda Python runtime gives it.

    As in the real runtime, ``memory_limit_in_mb`` is the string from the environment.
    """

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


class _FaultError(Exception):
    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class _LogSink:
    """Where awslambdaric writes records: stdout, the function's log.

    In Lambda its framed sink sends a multi-line error as one log event joined by newlines;
    its plain-stdout sink would join with carriage returns, which no log reader splits on.
    """

    def log(self, msg: str, frame_type: bytes | None = None) -> None:
        sys.stdout.write(msg)

    def log_error(self, message_lines: list[str]) -> None:
        sys.stdout.write("\n".join(message_lines) + "\n")


_SINK = _LogSink()


def _ric() -> Any:  # noqa: ANN401 - awslambdaric ships no type information
    """awslambdaric's bootstrap module. Imported here, not at the top: it lives in the
    runtime dir, which is on sys.path only from main(), and it reads the log format and
    level from the environment when first imported."""
    from awslambdaric import bootstrap  # type: ignore[import-untyped]

    return bootstrap


def _setup_logging() -> None:
    ric = _ric()
    ric._setup_logging(ric._AWS_LAMBDA_LOG_FORMAT, ric._AWS_LAMBDA_LOG_LEVEL, _SINK)


def _set_request_id(request_id: str) -> None:
    # awslambdaric's filter stamps each record with this (empty during init, as in Lambda).
    _ric()._GLOBAL_AWS_REQUEST_ID = request_id


def _load_handler(spec: str) -> Callable[[Any, LambdaContext], object]:
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as exc:
        raise _FaultError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _FaultError(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _FaultError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        raise _FaultError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        ) from None
    try:
        handler: Callable[[Any, LambdaContext], object] = getattr(module, function_name)
    except AttributeError:
        raise _FaultError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        ) from None
    return handler


def _user_trace(tb: TracebackType | None) -> list[str]:
    frames = traceback.extract_tb(tb)
    here = os.path.abspath(__file__)
    kept = [f for f in frames if os.path.abspath(f.filename) != here]
    return traceback.format_list(kept)


def _log_error(error: dict[str, Any]) -> None:
    _ric().log_error(error, _SINK)
    sys.stdout.flush()


def _finish(result_file: str, outcome: dict[str, Any], code: int) -> None:
    try:
        payload = json.dumps(outcome)
    except (TypeError, ValueError) as exc:
        payload = json.dumps(
            {
                "error": {
                    "errorMessage": f"Unable to marshal response: {exc}",
                    "errorType": "Runtime.MarshalError",
                    "requestId": _REQUEST_ID,
                    "stackTrace": [],
                }
            }
        )
        code = 1
    with open(result_file, "w", encoding="utf-8") as out:
        out.write(payload)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _ScaledSleep:
    """Stands in for the ``time`` module inside ``botocore.waiter`` only."""

    def __init__(self, scale: float) -> None:
        self._scale = scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self._scale)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - the time module's attributes
        return getattr(time, name)


def _scale_waiters(raw: str) -> None:
    """Scale the delay between a botocore waiter's polls (``Delay`` in its WaiterConfig).

    Only the local Lambda's time knob (docs/local-cloud.md): a handler that waits with
    ``get_waiter(...).wait(WaiterConfig={'Delay': 20, ...})`` polls every ``20 * scale``
    seconds, the number of polls unchanged. Nothing else of the handler changes; 1 (or
    unset) leaves botocore alone.
    """
    scale = float(raw)
    if scale == 1.0:
        return
    if not scale > 0:
        raise ValueError(f"_LOCALCLOUD_WAITER_DELAY_SCALE must be > 0, got {raw!r}")
    import botocore.waiter  # type: ignore[import-untyped,unused-ignore]

    # The waiter module calls time.sleep between polls; only its own name is replaced.
    setattr(botocore.waiter, "time", _ScaledSleep(scale))  # noqa: B010


def main() -> None:
    global _REQUEST_ID
    result_file = sys.argv[1]
    _REQUEST_ID = os.environ.pop("_LOCALCLOUD_REQUEST_ID", "")
    deadline_ms = int(os.environ.pop("_LOCALCLOUD_DEADLINE_MS", "0"))
    invoked_arn = os.environ.pop("_LOCALCLOUD_INVOKED_ARN", "")
    waiter_scale = os.environ.pop("_LOCALCLOUD_WAITER_DELAY_SCALE", "")
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    runtime_dir = os.environ["LAMBDA_RUNTIME_DIR"]
    # -I -S: sys.path is the standard library only. Lambda puts the task root first.
    sys.path[:0] = [task_root, runtime_dir]
    if waiter_scale:
        _scale_waiters(waiter_scale)

    raw_event = sys.stdin.buffer.read()
    _setup_logging()
    try:
        handler = _load_handler(os.environ.get("_HANDLER", ""))
    except _FaultError as fault:
        error = {
            "errorMessage": fault.message,
            "errorType": fault.error_type,
            "requestId": "",
            "stackTrace": fault.trace,
        }
        _log_error(error)
        _finish(result_file, {"error": error}, 1)
        return
    except Exception:  # the module raised at import time
        etype, value, tb = sys.exc_info()
        error = {
            "errorMessage": str(value),
            "errorType": etype.__name__ if etype else "Exception",
            "requestId": "",
            "stackTrace": _user_trace(tb),
        }
        _log_error(error)
        _finish(result_file, {"error": error}, 1)
        return

    context = LambdaContext(_REQUEST_ID, invoked_arn, deadline_ms)
    _set_request_id(_REQUEST_ID)
    try:
        event = json.loads(raw_event.decode("utf-8"))
        result = handler(event, context)
    except Exception:
        etype, value, tb = sys.exc_info()
        error = {
            "errorMessage": str(value),
            "errorType": etype.__name__ if etype else "Exception",
            "requestId": _REQUEST_ID,
            "stackTrace": _user_trace(tb),
        }
        _log_error(error)
        _finish(result_file, {"error": error}, 1)
        return
    _finish(result_file, {"result": result}, 0)


if __name__ == "__main__":
    main()
