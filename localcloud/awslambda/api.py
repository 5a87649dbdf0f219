"""The local Lambda Invoke API: ``POST /2015-03-31/functions/<name>/invocations`` on
127.0.0.1, as botocore's ``lambda`` client sends it (``AWS_ENDPOINT_URL_LAMBDA``)."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol

from localcloud.awslambda.model import Invocation, LambdaFunction

__all__ = ["ApiServer", "InvokeTarget"]


class InvokeTarget(Protocol):
    """What the Invoke API needs of the local Lambda that owns it."""

    grace_seconds: float
    #: IAM's decision on ``lambda:InvokeFunction`` (Authorization header, function ARN):
    #: None when allowed, else the AccessDenied message; None itself when IAM is off.
    authorize: Callable[[str | None, str], str | None] | None

    def arn(self, fn: LambdaFunction | str) -> str: ...

    def lookup_api_name(
        self, name: str, qualifier: str | None
    ) -> tuple[LambdaFunction | None, tuple[int, str, str]]: ...

    def invoke_from_api(
        self,
        fn: LambdaFunction,
        event: Any,  # noqa: ANN401 - any JSON value, as Lambda accepts
        invocation_type: Literal["Event", "RequestResponse"],
    ) -> Invocation: ...

_API_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
_MAX_EVENT_PAYLOAD = 1024 * 1024  # async invocation payload limit (1 MB since 2025; was 256 KB)
_MAX_SYNC_PAYLOAD = 6 * 1024 * 1024


class ApiServer(ThreadingHTTPServer):
    """Serves the Invoke API of ``owner`` (set before ``serve_forever``)."""

    daemon_threads = True
    owner: InvokeTarget

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, ApiHandler)


class ApiHandler(BaseHTTPRequestHandler):
    server: ApiServer
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
        fn, problem = owner.lookup_api_name(function_name, qualifier)
        if fn is None:
            status, error_type, message = problem
            self._error(status, error_type, message)
            return
        if owner.authorize is not None:
            # IAM evaluates lambda:InvokeFunction on the function's ARN.
            denial = owner.authorize(self.headers.get("Authorization"), owner.arn(fn))
            if denial is not None:
                self._error(403, "AccessDeniedException", denial)
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
            invocation = owner.invoke_from_api(
                fn,
                event,
                invocation_type,  # type: ignore[arg-type]
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

