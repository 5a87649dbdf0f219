"""Run a Python Lambda handler locally the way AWS Lambda does.

* Each invocation is a FRESH process: ``<python> -I -S -u -B localcloud/_bootstrap.py``
  (isolated mode, no ``site``, unbuffered, no ``.pyc`` written: /var/task is read-only
  on Lambda, and a cdk.out asset should stay as synthesized), with ``cwd`` = the asset dir and
  ``sys.path`` = [asset dir, runtime dir] + the standard library. The runtime dir holds
  only boto3 and what it imports (symlinks into this interpreter's site-packages), as
  the Lambda Python runtime ships boto3 and nothing else: a handler that imports
  anything its asset does not bundle fails with ``Runtime.ImportModuleError``.
* The environment is built from scratch (Lambda's variables, dummy credentials, the
  caller's ``env``, the function's own ``environment``); the parent's environment is
  not passed on, except PATH.
* ``context.get_remaining_time_in_millis()`` counts down to a deadline set when the
  process is started; past ``timeout_seconds`` + a grace the process group is killed
  and the invocation is marked ``timed_out`` ("Task timed out after ...").
* Invocations are asynchronous (CloudFormation uses InvocationType Event):
  :meth:`LocalLambda.invoke` returns an :class:`Invocation` at once.
* A local Lambda Invoke API (plain HTTP on 127.0.0.1) lets a handler re-invoke itself
  with ``boto3.client("lambda").invoke(FunctionName=context.invoked_function_arn,
  InvocationType="Event", ...)``: the handler gets ``AWS_ENDPOINT_URL_LAMBDA`` (botocore
  reads ``AWS_ENDPOINT_URL_<SERVICE>`` before ``AWS_ENDPOINT_URL``), and every leg is
  recorded in :attr:`LocalLambda.invocations`.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, Self

from localcloud._service import LocalService

__all__ = [
    "BOOTSTRAP",
    "RESERVED_ENV_VARS",
    "RUNTIME_MODULES",
    "Invocation",
    "LambdaFunction",
    "LocalLambda",
    "build_runtime_dir",
]

BOOTSTRAP = Path(__file__).resolve().with_name("_bootstrap.py")

#: What ``import boto3; boto3.client(...)`` loads beyond the standard library
#: (checked by running it under ``python -I -S`` and listing ``sys.modules``).
RUNTIME_MODULES: tuple[str, ...] = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "urllib3",
    "six",
)

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

_DEFAULT_CACHE = Path(__file__).resolve().parents[1] / ".build" / "lambda-runtime"
_API_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):lambda:(?P<region>[^:]+):(?P<account>\d{12}):function:"
    r"(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$"
)
_PARTIAL_ARN = re.compile(
    r"^(?P<account>\d{12}):function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$"
)
_MAX_EVENT_PAYLOAD = 1024 * 1024  # async invocation payload limit (1 MB since 2025; was 256 KB)
_MAX_SYNC_PAYLOAD = 6 * 1024 * 1024

InvocationSource = Literal["direct", "api", "retry"]
InvocationType = Literal["Event", "RequestResponse"]


@dataclass
class LambdaFunction:
    """A function as Lambda knows it. ``handler`` ``a.b.c`` means module ``a.b``, function ``c``."""

    name: str
    asset_dir: Path
    handler: str
    timeout_seconds: float = 3.0
    environment: dict[str, str] = field(default_factory=dict)
    memory_mb: int = 128
    runtime: str | None = None
    """The template's ``Runtime`` (e.g. ``python3.13``); informational: the local
    interpreter is whatever :class:`LocalLambda` is given."""

    def __post_init__(self) -> None:
        self.asset_dir = Path(self.asset_dir)
        if "." not in self.handler:
            raise ValueError(f"handler {self.handler!r} must look like 'module.function'")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be > 0")


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def build_runtime_dir(cache_root: Path | None = None) -> Path:
    """Build (once) a directory holding only boto3 and its dependencies, as symlinks.

    The directory name is a hash of the interpreter and the linked paths, so a changed
    venv gets a new one. Built in a temporary sibling and renamed into place, so
    concurrent builders never see half a directory.
    """
    root = cache_root or _DEFAULT_CACHE
    links: dict[str, Path] = {}
    dists = importlib.metadata.packages_distributions()
    for module in RUNTIME_MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{module} is not installed in {sys.prefix}: the runtime needs it")
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
        else:
            source = Path(spec.origin)
        links[source.name] = source
        for dist_name in dists.get(module, []):
            normalized = re.sub(r"[-_.]+", "_", dist_name)
            for info in source.parent.glob(f"{normalized}-*.dist-info"):
                links[info.name] = info
    digest = hashlib.sha256(
        "\n".join(
            [sys.executable, sys.version, *(f"{k}={v}" for k, v in sorted(links.items()))]
        ).encode()
    ).hexdigest()[:16]
    target = root / f"py{sys.version_info[0]}{sys.version_info[1]}-{digest}"
    if (target / ".complete").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        staging.chmod(0o755)
        for name, source in links.items():
            (staging / name).symlink_to(source, target_is_directory=source.is_dir())
        (staging / ".complete").write_text("\n".join(sorted(links)) + "\n")
        try:
            staging.rename(target)
        except OSError:
            if not (target / ".complete").exists():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


class Invocation:
    """One run of a handler in its own process. Fields fill in as it runs."""

    def __init__(
        self,
        *,
        function: LambdaFunction,
        event: object,
        request_id: str,
        invocation_type: InvocationType,
        source: InvocationSource,
        attempt: int,
        invoked_function_arn: str,
    ) -> None:
        self.function = function
        self.event: Any = event
        self.request_id = request_id
        self.invocation_type: InvocationType = invocation_type
        self.source: InvocationSource = source
        self.attempt = attempt
        self.invoked_function_arn = invoked_function_arn
        self.started_at: float = 0.0
        self.ended_at: float | None = None
        self.returncode: int | None = None
        self.timed_out = False
        self.pid: int | None = None
        self.result: Any = None
        self.error: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._output = threading.Condition(self._lock)
        self._chunks: list[bytes] = []
        self._done = threading.Event()

    @property
    def logs(self) -> str:
        """Everything the process wrote to stdout and stderr, plus Lambda's
        START / END / REPORT lines and the "Task timed out" line. Live while running."""
        with self._lock:
            data = b"".join(self._chunks)
        return data.decode("utf-8", errors="replace")

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def succeeded(self) -> bool:
        """Finished, not timed out, and the handler returned (no error)."""
        return self.done and not self.timed_out and self.error is None and self.returncode == 0

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the process has ended and its logs are collected. True if done."""
        return self._done.wait(timeout)

    def wait_for_log(self, text: str, timeout: float) -> bool:
        """Block until ``text`` appears in the logs (True) or timeout / the end (False)."""
        needle = text.encode()
        deadline = time.monotonic() + timeout
        with self._output:
            while needle not in b"".join(self._chunks):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._done.is_set():
                    return False
                self._output.wait(remaining)
            return True

    def _append(self, data: bytes) -> None:
        with self._output:
            self._chunks.append(data)
            self._output.notify_all()

    def _finish(self) -> None:
        self._done.set()
        with self._output:
            self._output.notify_all()

    def _log_line(self, text: str) -> None:
        self._append((text + "\n").encode())

    def __repr__(self) -> str:
        if not self.done:
            state = "running"
        else:
            state = "timed out" if self.timed_out else f"rc={self.returncode}"
        return (
            f"Invocation({self.function.name!r}, request_id={self.request_id!r}, "
            f"source={self.source}, attempt={self.attempt}, {state})"
        )


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: LocalLambda


class _ApiHandler(BaseHTTPRequestHandler):
    server: _ApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def _reply(
        self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _error(self, status: int, error_type: str, message: str) -> None:
        body = json.dumps({"Type": "User", "message": message}).encode()
        self._reply(
            status,
            body,
            {"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())},
        )

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_POST(self) -> None:
        body = self._read_body()
        split = urllib.parse.urlsplit(self.path)
        match = _API_PATH.match(split.path)
        if match is None:
            self._unknown()
            return
        function_name = urllib.parse.unquote(match.group("name"))
        qualifier = urllib.parse.parse_qs(split.query).get("Qualifier", [None])[0]
        owner = self.server.owner
        fn, problem = owner._lookup_api_name(function_name, qualifier)
        if fn is None:
            status, error_type, message = problem
            self._error(status, error_type, message)
            return
        invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "DryRun":
            self._reply(204)
            return
        if invocation_type not in ("Event", "RequestResponse"):
            self._error(
                400,
                "InvalidParameterValueException",
                f"Unsupported invocation type {invocation_type!r}",
            )
            return
        limit = _MAX_EVENT_PAYLOAD if invocation_type == "Event" else _MAX_SYNC_PAYLOAD
        if len(body) > limit:
            self._error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
            )
            return
        try:
            event = json.loads(body.decode("utf-8")) if body else {}
        except (UnicodeDecodeError, ValueError):
            self._error(
                400,
                "InvalidRequestContentException",
                "Could not parse request body into json",
            )
            return
        try:
            invocation = owner._start(
                fn,
                event,
                env=owner._api_env(fn.name),
                invocation_type=invocation_type,  # type: ignore[arg-type]
                source="api",
            )
        except RuntimeError as exc:  # stopped meanwhile
            self._error(503, "ServiceException", str(exc))
            return
        if invocation_type == "Event":
            self._reply(202, b"", {"x-amzn-RequestId": invocation.request_id})
            return
        invocation.wait(fn.timeout_seconds + owner.grace_seconds + 10)
        headers = {"x-amzn-RequestId": invocation.request_id, "X-Amz-Executed-Version": "$LATEST"}
        if self.headers.get("X-Amz-Log-Type") == "Tail":
            headers["X-Amz-Log-Result"] = base64.b64encode(
                invocation.logs.encode()[-4096:]
            ).decode()
        if invocation.error is not None:
            headers["X-Amz-Function-Error"] = "Unhandled"
            payload = json.dumps(invocation.error).encode()
        else:
            payload = json.dumps(invocation.result).encode()
        self._reply(200, payload, headers)

    def _unknown(self) -> None:
        self._error(404, "UnknownOperationException", "Unknown operation")

    def do_GET(self) -> None:
        self._read_body()
        self._unknown()

    do_PUT = do_GET  # noqa: N815
    do_DELETE = do_GET  # noqa: N815


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
      5. ``fn.environment`` (must not set Lambda's reserved keys, as on AWS).

    An invocation started through the Invoke API (a handler re-invoking itself) uses the
    ``env`` of the latest :meth:`invoke` of that function, as if the caller's ``env``
    were part of the function's configuration.

    ``max_event_retries``: an Event invocation that fails (error, crash or timeout) is run
    again up to this many times, ``retry_delay_seconds`` apart, with the same
    aws_request_id, as Lambda does for asynchronous invocations (AWS default: 2 retries,
    1 and 2 minutes apart). Default 0 here, so a test sees only the legs it expects.
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
    ) -> None:
        self.region = region
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
        self._active = 0  # invocations not yet done + retries scheduled
        self._pending_retries: list[_PendingRetry] = []
        self._httpd: _ApiServer | None = None
        self._thread: threading.Thread | None = None
        self._workdir: Path | None = None
        self._stopped = False

    # lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopped = False
        if self._runtime_dir is None:
            self._runtime_dir = build_runtime_dir()
        self._workdir = Path(tempfile.mkdtemp(prefix="localcloud-lambda-"))
        httpd = _ApiServer(("127.0.0.1", 0), _ApiHandler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="localcloud-lambda-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the API, cancel pending retries, kill every running handler process."""
        with self._cond:
            self._stopped = True
            for pending in self._pending_retries:
                if not pending.claimed:
                    pending.claimed = True
                    pending.timer.cancel()
                    self._active -= 1
            self._pending_retries = []
            running = list(self._running.values())
            self._cond.notify_all()
        for proc in running:
            _kill_group(proc)
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
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
            while self._active > 0:
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

    def _lookup_api_name(
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
        env["_LOCALCLOUD_REQUEST_ID"] = invocation.request_id
        env["_LOCALCLOUD_DEADLINE_MS"] = str(deadline_ms)
        env["_LOCALCLOUD_INVOKED_ARN"] = invocation.invoked_function_arn
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
        )
        with self._cond:
            if self._stopped or self._httpd is None or self._workdir is None:
                raise RuntimeError("LocalLambda is not running")
            result_file = self._workdir / f"{uuid.uuid4().hex}.result.json"
            invocation.started_at = time.time()
            deadline_ms = int((invocation.started_at + fn.timeout_seconds) * 1000)
            process_env = self._process_env(fn, env, invocation, deadline_ms)
            invocation._log_line(f"START RequestId: {invocation.request_id} Version: $LATEST")
            proc = subprocess.Popen(
                [self.python, "-I", "-S", "-u", "-B", str(BOOTSTRAP), str(result_file)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=fn.asset_dir,
                env=process_env,
                start_new_session=True,
            )
            invocation.pid = proc.pid
            self._running[proc.pid] = proc
            self._invocations.append(invocation)
            self._active += 1
            self._cond.notify_all()
        threading.Thread(
            target=self._supervise,
            args=(invocation, proc, payload, result_file, env),
            name=f"localcloud-lambda-{proc.pid}",
            daemon=True,
        ).start()
        return invocation

    def _supervise(
        self,
        invocation: Invocation,
        proc: subprocess.Popen[bytes],
        payload: bytes,
        result_file: Path,
        call_env: Mapping[str, str],
    ) -> None:
        fn = invocation.function
        reader = threading.Thread(target=_pump, args=(proc, invocation), daemon=True)
        reader.start()
        try:
            assert proc.stdin is not None
            try:
                proc.stdin.write(payload)
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            limit = invocation.started_at + fn.timeout_seconds + self.grace_seconds
            try:
                proc.wait(timeout=max(0.0, limit - time.time()))
            except subprocess.TimeoutExpired:
                invocation.timed_out = True
                _kill_group(proc)
                proc.wait()
            invocation.ended_at = time.time()
            invocation.returncode = proc.returncode
            reader.join(timeout=1.0)
            if reader.is_alive():  # a grandchild holds the pipe open: end the group
                _kill_group(proc)
                reader.join(timeout=2.0)
            self._collect(invocation, result_file)
        finally:
            with self._cond:
                self._running.pop(proc.pid, None)
            self._maybe_schedule_retry(invocation, call_env)
            invocation._finish()
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def _collect(self, invocation: Invocation, result_file: Path) -> None:
        fn = invocation.function
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(invocation.ended_at))
        if invocation.timed_out:
            invocation._log_line(
                f"{stamp}Z {invocation.request_id} Task timed out after "
                f"{fn.timeout_seconds:.2f} seconds"
            )
            invocation.error = {
                "errorMessage": (
                    f"{stamp}Z {invocation.request_id} Task timed out after "
                    f"{fn.timeout_seconds:.2f} seconds"
                ),
                "errorType": "Sandbox.Timedout",
            }
        else:
            try:
                outcome = json.loads(result_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                outcome = None
            if isinstance(outcome, dict) and "error" in outcome:
                invocation.error = outcome["error"]
            elif isinstance(outcome, dict) and "result" in outcome:
                invocation.result = outcome["result"]
            else:
                message = f"RequestId: {invocation.request_id} Error: Runtime exited"
                if invocation.returncode is not None and invocation.returncode < 0:
                    message += f" with signal {-invocation.returncode}"
                else:
                    message += f" with error: exit status {invocation.returncode}"
                invocation._log_line(message)
                invocation.error = {"errorMessage": message, "errorType": "Runtime.ExitError"}
        result_file.unlink(missing_ok=True)
        duration_ms = (invocation.duration or 0.0) * 1000
        invocation._log_line(f"END RequestId: {invocation.request_id}")
        status = "\tStatus: timeout" if invocation.timed_out else ""
        invocation._log_line(
            f"REPORT RequestId: {invocation.request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {int(duration_ms) + 1} ms\tMemory Size: {fn.memory_mb} MB{status}"
        )

    def _maybe_schedule_retry(self, invocation: Invocation, call_env: Mapping[str, str]) -> None:
        if invocation.invocation_type != "Event" or invocation.error is None:
            return
        if invocation.attempt > self.max_event_retries:
            return

        def fire() -> None:
            with self._cond:
                if pending.claimed:  # cancelled by stop()
                    return
                pending.claimed = True
                self._pending_retries.remove(pending)
            try:
                self._start(
                    invocation.function,
                    invocation.event,
                    env=call_env,
                    invocation_type="Event",
                    source="retry",
                    request_id=invocation.request_id,
                    attempt=invocation.attempt + 1,
                )
            except RuntimeError:
                pass  # stopped meanwhile
            finally:
                with self._cond:
                    self._active -= 1
                    self._cond.notify_all()

        with self._cond:
            if self._stopped:
                return
            pending = _PendingRetry(threading.Timer(self.retry_delay_seconds, fire))
            pending.timer.daemon = True
            self._pending_retries.append(pending)
            self._active += 1  # a pending retry keeps the runtime busy
            pending.timer.start()


@dataclass
class _PendingRetry:
    timer: threading.Timer
    claimed: bool = False


def _pump(proc: subprocess.Popen[bytes], invocation: Invocation) -> None:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        invocation._append(chunk)
    proc.stdout.close()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass
