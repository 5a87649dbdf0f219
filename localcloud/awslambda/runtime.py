"""Run a Python Lambda handler locally the way AWS Lambda does.

One concern per module: :mod:`localcloud.awslambda.model` (a function, an invocation),
:mod:`localcloud.awslambda.runtime_dir` (boto3 and nothing else beside the standard library),
:mod:`localcloud.awslambda.process` (one fresh process per invocation, timeouts),
:mod:`localcloud.awslambda.api` (the Invoke API a handler calls to re-invoke itself),
:mod:`localcloud.awslambda.async_invoke` (asynchronous retries, event age, on-failure destinations,
lost and duplicated events). This module ties them together in :class:`LocalLambda`.

* Each invocation is a FRESH process with ``sys.path`` = [asset dir, runtime dir] + the
  standard library. The environment is built from scratch (Lambda's variables, dummy
  credentials, the caller's ``env``, the function's own ``environment``); the parent's
  environment is not passed on, except PATH.
* ``context.get_remaining_time_in_millis()`` counts down to a deadline set when the
  process is started.
* Invocations are asynchronous (CloudFormation uses InvocationType Event):
  :meth:`LocalLambda.invoke` returns an :class:`Invocation` at once.
* A local Lambda Invoke API (plain HTTP on 127.0.0.1) lets a handler re-invoke itself
  with ``boto3.client("lambda").invoke(FunctionName=context.invoked_function_arn,
  InvocationType="Event", ...)``: the handler gets ``AWS_ENDPOINT_URL_LAMBDA`` (botocore
  reads ``AWS_ENDPOINT_URL_<SERVICE>`` before ``AWS_ENDPOINT_URL``), and every leg is
  recorded in :attr:`LocalLambda.invocations`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Self

from localcloud._service import LocalService, serve_in_thread, stop_serving
from localcloud.awslambda.api import ApiServer
from localcloud.awslambda.async_invoke import AsyncConfig, AsyncQueue, DestinationRecord
from localcloud.awslambda.model import Invocation, InvocationSource, InvocationType, LambdaFunction
from localcloud.awslambda.process import BOOTSTRAP, kill_group, run, spawn
from localcloud.awslambda.runtime_dir import RUNTIME_MODULES, build_runtime_dir

__all__ = [
    "BOOTSTRAP",
    "RESERVED_ENV_VARS",
    "RUNTIME_MODULES",
    "AsyncConfig",
    "Invocation",
    "LambdaFunction",
    "LocalLambda",
    "build_runtime_dir",
]

#: Keys Lambda refuses in a function's environment configuration.
RESERVED_ENV_VARS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):lambda:(?P<region>[^:]+):(?P<account>\d{12}):function:"
    r"(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$"
)
_PARTIAL_ARN = re.compile(
    r"^(?P<account>\d{12}):function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$"
)


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class LocalLambda(LocalService):
    """Registered functions, their invocations, and a local Lambda Invoke API.

    Environment of a handler process, later entries winning:
      1. PATH, LANG, TZ; Lambda's own variables (AWS_REGION, AWS_DEFAULT_REGION,
         AWS_LAMBDA_FUNCTION_NAME/VERSION/MEMORY_SIZE, AWS_LAMBDA_FUNCTION_TIMEOUT,
         AWS_LAMBDA_LOG_GROUP_NAME/STREAM_NAME, AWS_EXECUTION_ENV, _HANDLER,
         LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR), dummy credentials, AWS_CONFIG_FILE and
         AWS_SHARED_CREDENTIALS_FILE pointing nowhere (the host's ~/.aws is never read),
         AWS_EC2_METADATA_DISABLED;
      2. :meth:`env` (AWS_ENDPOINT_URL_LAMBDA: this object's Invoke API);
      3. the constructor's ``env``; then ``register(fn, env=...)``;
      4. the ``env`` given to :meth:`invoke`;
      5. ``fn.environment`` (must not set Lambda's reserved keys, as on AWS);
      6. AWS_LAMBDA_LOG_FORMAT and, for a JSON function, AWS_LAMBDA_LOG_LEVEL, from the
         function's logging config.

    An invocation started through the Invoke API (a handler re-invoking itself) uses the
    ``env`` of the latest :meth:`invoke` of that function, as if the caller's ``env``
    were part of the function's configuration.

    Asynchronous invocations follow :mod:`localcloud.awslambda.async_invoke`. A function given an
    :class:`AsyncConfig` (:meth:`configure_async`) gets Lambda's rules: its retries 1 and
    2 minutes apart, its maximum event age, its on-failure destination, all times
    multiplied by ``async_time_scale``. Any other function: an Event invocation that fails
    is run again up to ``max_event_retries`` times, ``retry_delay_seconds`` apart, with
    the same aws_request_id, and nothing more. Default 0 here, so a test sees only the
    legs it expects. Switches: :meth:`drop_invocations`, :meth:`duplicate_invocations`,
    :meth:`lose`.
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        partition: str = "aws",
        python: str | None = None,
        runtime_dir: Path | None = None,
        grace_seconds: float = 0.5,
        env: Mapping[str, str] | None = None,
        max_event_retries: int = 0,
        retry_delay_seconds: float = 0.0,
        async_time_scale: float = 1.0,
        waiter_delay_scale: float = 1.0,
    ) -> None:
        if not waiter_delay_scale > 0:
            raise ValueError(f"waiter_delay_scale must be > 0, got {waiter_delay_scale!r}")
        self.region = region
        #: botocore waiters in handler processes sleep this fraction of their Delay
        #: (docs/local-cloud.md, "The peer's BucketDeployment handler"); 1: untouched.
        self.waiter_delay_scale = waiter_delay_scale
        self.account_id = account_id
        self.partition = partition
        self.python = python or sys.executable
        self.grace_seconds = grace_seconds
        self.max_event_retries = max_event_retries
        self.retry_delay_seconds = retry_delay_seconds
        self._base_env = dict(env or {})
        self._runtime_dir = runtime_dir
        self._cond = threading.Condition()
        self._functions: dict[str, LambdaFunction] = {}
        self._function_env: dict[str, dict[str, str]] = {}
        self._last_invoke_env: dict[str, dict[str, str]] = {}
        self._invocations: list[Invocation] = []
        self._running: dict[int, subprocess.Popen[bytes]] = {}
        self._active = 0  # handler processes not yet done
        self._queue = AsyncQueue(
            self._cond,
            launch=self._launch,
            resolve=self._lookup,
            arn=self.arn,
            time_scale=async_time_scale,
            default_retries=max_event_retries,
            default_delay=retry_delay_seconds,
        )
        self._httpd: ApiServer | None = None
        self._thread: threading.Thread | None = None
        self._workdir: Path | None = None
        self._stopped = False
        #: IAM for the Invoke API: (Authorization header, function ARN) -> AccessDenied
        #: message, or None to allow. None: nothing is evaluated.
        self.authorize: Callable[[str | None, str], str | None] | None = None

    # lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopped = False
        if self._runtime_dir is None:
            self._runtime_dir = build_runtime_dir()
        self._workdir = Path(tempfile.mkdtemp(prefix="localcloud-lambda-"))
        self._queue.start()
        httpd = ApiServer(("127.0.0.1", 0))
        httpd.owner = self
        self._httpd = httpd
        self._thread = serve_in_thread(httpd, "localcloud-lambda-api")
        return self

    def stop(self) -> None:
        """Stop the API, cancel pending retries, kill every running handler process."""
        with self._cond:
            self._stopped = True
            running = list(self._running.values())
            self._cond.notify_all()
        self._queue.stop()
        for proc in running:
            kill_group(proc)
        httpd, self._httpd = self._httpd, None
        thread, self._thread = self._thread, None
        stop_serving(httpd, thread)
        for invocation in self.invocations:
            invocation.wait(5)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # configuration ---------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("LocalLambda is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def runtime_dir(self) -> Path:
        if self._runtime_dir is None:
            raise RuntimeError("LocalLambda is not started")
        return self._runtime_dir

    def env(self) -> dict[str, str]:
        """What a handler process needs to reach this Invoke API."""
        return {"AWS_ENDPOINT_URL_LAMBDA": self.endpoint_url}

    def arn(self, fn: LambdaFunction | str) -> str:
        name = fn.name if isinstance(fn, LambdaFunction) else fn
        return f"arn:{self.partition}:lambda:{self.region}:{self.account_id}:function:{name}"

    def register(self, fn: LambdaFunction, *, env: Mapping[str, str] | None = None) -> str:
        """Make ``fn`` invocable (by name or ARN). Returns its ARN."""
        reserved = sorted(RESERVED_ENV_VARS & set(fn.environment))
        if reserved:
            raise ValueError(
                f"function {fn.name}: environment sets reserved keys {reserved} "
                "(Lambda refuses them)"
            )
        if not fn.asset_dir.is_dir():
            raise ValueError(f"function {fn.name}: asset dir {fn.asset_dir} does not exist")
        with self._cond:
            self._functions[fn.name] = fn
            self._function_env[fn.name] = dict(env or {})
        return self.arn(fn)

    def configure_async(self, name: str, config: AsyncConfig | None) -> None:
        """Set (None: remove) the function's EventInvokeConfig: retries, event age, and
        on-failure destination (a function name or ARN registered here)."""
        self._queue.configure(name, config)

    def async_config(self, name: str) -> AsyncConfig | None:
        return self._queue.config(name)

    def drop_invocations(self, *numbers: int) -> None:
        """Fault: lose the Nth asynchronous attempts (1-based, counted from this runtime's
        start over every function, duplicates not counted) before they run. A lost attempt
        counts as a failed one: it is retried, or given up to the on-failure destination,
        by the function's rules."""
        self._queue.drop(*numbers)

    def duplicate_invocations(self, *numbers: int) -> None:
        """Fault: deliver the Nth asynchronous attempts twice, at once, with one request id
        (Lambda's queue may deliver an event more than once)."""
        self._queue.duplicate(*numbers)

    def lose(self, invocation: Invocation) -> None:
        """The event of ``invocation`` is gone: if it fails, nothing retries it and no
        destination hears of it (a host failure that takes the event with it)."""
        invocation.lost = True

    @property
    def async_attempts(self) -> int:
        """Asynchronous attempts so far (what :meth:`drop_invocations` and
        :meth:`duplicate_invocations` count): the next one is ``async_attempts + 1``."""
        with self._cond:
            return self._queue.attempts

    @property
    def destination_records(self) -> list[DestinationRecord]:
        """Every on-failure record sent so far (a copy)."""
        with self._cond:
            return list(self._queue.records)

    @property
    def functions(self) -> dict[str, LambdaFunction]:
        with self._cond:
            return dict(self._functions)

    # invocations -----------------------------------------------------------------

    @property
    def invocations(self) -> list[Invocation]:
        """Every invocation so far, in start order (a copy)."""
        with self._cond:
            return list(self._invocations)

    def invocations_of(self, request_id: str) -> list[Invocation]:
        """Invocations whose aws_request_id is this one (retries share it)."""
        return [i for i in self.invocations if i.request_id == request_id]

    def invoke(
        self,
        name_or_fn: str | LambdaFunction,
        event: object,
        *,
        env: Mapping[str, str] | None = None,
        invocation_type: InvocationType = "Event",
    ) -> Invocation:
        """Start one invocation and return at once. An unregistered LambdaFunction is
        registered first; a name must be registered."""
        if isinstance(name_or_fn, LambdaFunction):
            with self._cond:
                known = self._functions.get(name_or_fn.name)
                registered_env = self._function_env.get(name_or_fn.name)
            if known is not name_or_fn:
                self.register(name_or_fn, env=registered_env)
            fn = name_or_fn
        else:
            found = self._lookup(name_or_fn)
            if found is None:
                raise KeyError(f"function {name_or_fn!r} is not registered")
            fn = found
        call_env = dict(env or {})
        with self._cond:
            self._last_invoke_env[fn.name] = call_env
        return self._start(
            fn, event, env=call_env, invocation_type=invocation_type, source="direct"
        )

    def wait_idle(self, timeout: float) -> bool:
        """Block until no invocation runs and no retry is pending. True if idle."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._active > 0 or self._queue.pending > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def wait_for_invocations(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` invocations have started. True if so."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._invocations) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    # internals -------------------------------------------------------------------

    def _lookup(self, name: str) -> LambdaFunction | None:
        match = _ARN.match(name)
        with self._cond:
            if match is not None:
                if (
                    match.group("partition") != self.partition
                    or match.group("region") != self.region
                    or match.group("account") != self.account_id
                ):
                    return None
                return self._functions.get(match.group("name"))
            return self._functions.get(name.split(":", 1)[0])

    def invoke_from_api(
        self,
        fn: LambdaFunction,
        event: Any,  # noqa: ANN401 - any JSON value, as Lambda accepts
        invocation_type: Literal["Event", "RequestResponse"],
    ) -> Invocation:
        """Start an invocation that arrived through the Invoke API (:mod:`.api`)."""
        return self._start(
            fn, event, env=self._api_env(fn.name), invocation_type=invocation_type, source="api"
        )

    def lookup_api_name(
        self, function_name: str, qualifier: str | None
    ) -> tuple[LambdaFunction | None, tuple[int, str, str]]:
        arn_match = _ARN.match(function_name) or _PARTIAL_ARN.match(function_name)
        if arn_match is not None:
            name = arn_match.group("name")
            qualifier = arn_match.group("qualifier") or qualifier
            if arn_match.group("account") != self.account_id or (
                "region" in arn_match.groupdict()
                and (
                    arn_match.group("region") != self.region
                    or arn_match.group("partition") != self.partition
                )
            ):
                name = ""
        else:
            name, _, suffix = function_name.partition(":")
            qualifier = suffix or qualifier
        with self._cond:
            fn = self._functions.get(name) if name else None
        denied = (
            403,
            "AccessDeniedException",
            f"User is not authorized to perform: lambda:InvokeFunction on resource: "
            f"{function_name}",
        )
        if fn is None:
            return None, denied
        if qualifier not in (None, "$LATEST"):
            return None, (
                404,
                "ResourceNotFoundException",
                f"Function not found: {self.arn(fn)}:{qualifier}",
            )
        return fn, (0, "", "")

    def _api_env(self, name: str) -> dict[str, str]:
        with self._cond:
            return dict(self._last_invoke_env.get(name, {}))

    def _process_env(
        self,
        fn: LambdaFunction,
        call_env: Mapping[str, str],
        invocation: Invocation,
        deadline_ms: int,
    ) -> dict[str, str]:
        assert self._workdir is not None
        runtime = fn.runtime or f"python{sys.version_info[0]}.{sys.version_info[1]}"
        stream_date = time.strftime("%Y/%m/%d", time.gmtime())
        nowhere = str(self._workdir / "no-such-aws-config")
        env: dict[str, str] = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "ASIALOCALCLOUDDUMMY",
            "AWS_SECRET_ACCESS_KEY": "localcloud-dummy-secret-access-key",
            "AWS_SESSION_TOKEN": "localcloud-dummy-session-token",
            "AWS_CONFIG_FILE": nowhere,
            "AWS_SHARED_CREDENTIALS_FILE": nowhere,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": _format_seconds(fn.timeout_seconds),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{stream_date}/[$LATEST]{uuid.uuid4().hex}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
            "_HANDLER": fn.handler,
            "LAMBDA_TASK_ROOT": str(fn.asset_dir.resolve()),
            "LAMBDA_RUNTIME_DIR": str(self.runtime_dir),
        }
        env.update(self.env())
        env.update(self._base_env)
        with self._cond:
            env.update(self._function_env.get(fn.name, {}))
        env.update(call_env)
        env.update(fn.environment)
        if fn.access_key_id:
            # The execution role's credentials are Lambda's to give, whatever the caller's
            # environment says (the local services evaluate calls signed with this key).
            env["AWS_ACCESS_KEY_ID"] = fn.access_key_id
        # What Lambda derives from LoggingConfig; awslambdaric reads these at start-up.
        env["AWS_LAMBDA_LOG_FORMAT"] = fn.log_format
        if fn.logs_json:
            env["AWS_LAMBDA_LOG_LEVEL"] = fn.application_log_level or "INFO"
        else:
            env.pop("AWS_LAMBDA_LOG_LEVEL", None)
        env["_LOCALCLOUD_REQUEST_ID"] = invocation.request_id
        env["_LOCALCLOUD_DEADLINE_MS"] = str(deadline_ms)
        env["_LOCALCLOUD_INVOKED_ARN"] = invocation.invoked_function_arn
        if self.waiter_delay_scale != 1.0:
            env["_LOCALCLOUD_WAITER_DELAY_SCALE"] = repr(self.waiter_delay_scale)
        return env
    def _start(
        self,
        fn: LambdaFunction,
        event: object,
        *,
        env: Mapping[str, str],
        invocation_type: InvocationType,
        source: InvocationSource,
        request_id: str | None = None,
        attempt: int = 1,
        received_at: float | None = None,
    ) -> Invocation:
        payload = json.dumps(event).encode()
        invocation = Invocation(
            function=fn,
            event=event,
            request_id=request_id or str(uuid.uuid4()),
            invocation_type=invocation_type,
            source=source,
            attempt=attempt,
            invoked_function_arn=self.arn(fn),
            received_at=received_at,
        )
        duplicate = False
        with self._cond:
            if self._stopped or self._httpd is None or self._workdir is None:
                raise RuntimeError("LocalLambda is not running")
            if invocation_type == "Event" and source != "duplicate":
                dropped, duplicate = self._queue.admit()
                if dropped:
                    invocation.dropped = True
                    invocation.started_at = invocation.ended_at = time.time()
                    invocation.error = {
                        "errorMessage": "the attempt was lost before the function ran "
                        "(localcloud fault injection)",
                        "errorType": "Localcloud.Dropped",
                    }
                    self._invocations.append(invocation)
                    self._cond.notify_all()
            if not invocation.dropped:
                result_file = self._workdir / f"{uuid.uuid4().hex}.result.json"
                invocation.started_at = time.time()
                deadline_ms = int((invocation.started_at + fn.timeout_seconds) * 1000)
                process_env = self._process_env(fn, env, invocation, deadline_ms)
                invocation._platform(
                    f"START RequestId: {invocation.request_id} Version: $LATEST",
                    "platform.start",
                    {"requestId": invocation.request_id, "version": "$LATEST"},
                    invocation.started_at,
                )
                proc = spawn(self.python, invocation, process_env, result_file)
                invocation.pid = proc.pid
                self._running[proc.pid] = proc
                self._invocations.append(invocation)
                self._active += 1
                self._cond.notify_all()
        if invocation.dropped:
            self._queue.settle(invocation, env)
            invocation._finish()
        else:
            threading.Thread(
                target=self._supervise,
                args=(invocation, proc, payload, result_file, env),
                name=f"localcloud-lambda-{proc.pid}",
                daemon=True,
            ).start()
        if duplicate:
            self._start(
                fn,
                json.loads(payload),
                env=env,
                invocation_type=invocation_type,
                source="duplicate",
                request_id=invocation.request_id,
                attempt=attempt,
                received_at=invocation.received_at,
            )
        return invocation

    def _supervise(
        self,
        invocation: Invocation,
        proc: subprocess.Popen[bytes],
        payload: bytes,
        result_file: Path,
        call_env: Mapping[str, str],
    ) -> None:
        try:
            run(invocation, proc, payload, result_file, self.grace_seconds)
        finally:
            with self._cond:
                self._running.pop(proc.pid, None)
            self._queue.settle(invocation, call_env)
            invocation._finish()
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def _launch(
        self,
        fn: LambdaFunction,
        event: object,
        call_env: Mapping[str, str],
        source: InvocationSource,
        request_id: str | None,
        attempt: int,
        received_at: float | None,
    ) -> Invocation:
        """The async queue's way in: a retry, or a destination's invocation."""
        return self._start(
            fn,
            event,
            env=call_env,
            invocation_type="Event",
            source=source,
            request_id=request_id,
            attempt=attempt,
            received_at=received_at,
        )
