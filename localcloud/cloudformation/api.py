"""A local CloudFormation API endpoint: ``DescribeStacks`` only, on 127.0.0.1.

The AWS query protocol, as botocore's ``cloudformation`` client sends it: a form-encoded
POST (``Action=DescribeStacks&Version=2010-05-15&StackName=...``), answered in XML. A
function finds it through ``AWS_ENDPOINT_URL_CLOUDFORMATION`` (botocore reads
``AWS_ENDPOINT_URL_<SERVICE>``). ``StackName`` may be the stack's name or its id (ARN), as
in a custom resource event's ``StackId``; an unknown stack answers 400 ValidationError
"Stack with id X does not exist", as CloudFormation does (AWS CloudFormation API
Reference, "DescribeStacks"). Without ``StackName`` every stack is listed.

Fault switch: :meth:`CloudFormationApi.fail_describe_stacks` makes the call answer
``AccessDenied`` (403) or ``Throttling`` (400).
"""

from __future__ import annotations

import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal, Self
from xml.sax.saxutils import escape

from localcloud._service import LocalService, serve_in_thread, stop_serving

__all__ = ["CloudFormationApi", "DescribeFault", "StackState"]

_NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
DescribeFault = Literal["AccessDenied", "Throttling"]
_FAULTS: dict[str, tuple[int, str]] = {
    "AccessDenied": (
        403,
        "User: arn:aws:sts::123456789012:assumed-role/provider/fn is not authorized to "
        "perform: cloudformation:DescribeStacks",
    ),
    "Throttling": (400, "Rate exceeded"),
}


@dataclass(frozen=True)
class StackState:
    """What DescribeStacks says of one stack."""

    stack_name: str
    stack_id: str
    status: str
    creation_time: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: CloudFormationApi


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def _reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str) -> None:
        self._reply(
            status,
            f'<ErrorResponse xmlns="{_NAMESPACE}"><Error><Type>Sender</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
        owner = self.server.owner
        owner._record(form)
        action = form.get("Action", "")
        if action != "DescribeStacks":
            self._error(400, "InvalidAction", f"Could not find operation {action}")
            return
        if form.get("Version") != "2010-05-15":
            self._error(400, "InvalidParameterValue", "Version must be 2010-05-15")
            return
        fault = owner.describe_fault
        if fault is not None:
            status, message = _FAULTS[fault]
            self._error(status, fault, message)
            return
        name = form.get("StackName")
        states = owner._states()
        if name:
            states = [s for s in states if name in (s.stack_name, s.stack_id)]
            if owner.authorize is not None:
                # IAM evaluates DescribeStacks on the stack's ARN (Service Authorization
                # Reference, AWS CloudFormation: resource type "stack").
                resource = states[0].stack_id if states else name
                denial = owner.authorize(self.headers.get("Authorization"), resource)
                if denial is not None:
                    self._error(403, "AccessDenied", denial)
                    return
            if not states:
                self._error(400, "ValidationError", f"Stack with id {name} does not exist")
                return
        members = "".join(_member(s) for s in states)
        self._reply(
            200,
            f'<DescribeStacksResponse xmlns="{_NAMESPACE}"><DescribeStacksResult><Stacks>'
            f"{members}</Stacks></DescribeStacksResult><ResponseMetadata><RequestId>"
            f"{uuid.uuid4()}</RequestId></ResponseMetadata></DescribeStacksResponse>",
        )

    def do_GET(self) -> None:
        self._error(400, "InvalidAction", "the query API takes POST requests")


def _member(state: StackState) -> str:
    created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(state.creation_time))
    return (
        f"<member><StackName>{escape(state.stack_name)}</StackName>"
        f"<StackId>{escape(state.stack_id)}</StackId>"
        f"<CreationTime>{created}.000Z</CreationTime>"
        f"<StackStatus>{escape(state.status)}</StackStatus>"
        "<DisableRollback>false</DisableRollback></member>"
    )


class CloudFormationApi(LocalService):
    """Serves DescribeStacks from ``states`` (called on every request, so always current)."""

    def __init__(self, states: Callable[[], list[StackState]]) -> None:
        self._states_fn = states
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        #: Fault switch: None, "AccessDenied" or "Throttling".
        self.describe_fault: DescribeFault | None = None
        #: Every request's form (Action, StackName, ...), in order.
        self.requests: list[dict[str, str]] = []
        #: IAM: (Authorization header, stack ARN) -> AccessDenied message, or None to allow
        #: (the fault switch above stays on top). None: nothing is evaluated.
        self.authorize: Callable[[str | None, str], str | None] | None = None

    def fail_describe_stacks(self, fault: DescribeFault | None) -> None:
        """Make DescribeStacks answer ``fault`` from now on (None: answer normally)."""
        if fault is not None and fault not in _FAULTS:
            raise ValueError(f"fault must be one of {sorted(_FAULTS)} or None, got {fault!r}")
        self.describe_fault = fault

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = serve_in_thread(httpd, "localcloud-cloudformation-api")
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        thread, self._thread = self._thread, None
        stop_serving(httpd, thread)

    @property
    def endpoint_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("CloudFormationApi is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def env(self) -> dict[str, str]:
        """What a function needs to reach this endpoint."""
        return {"AWS_ENDPOINT_URL_CLOUDFORMATION": self.endpoint_url}

    def _states(self) -> list[StackState]:
        return self._states_fn()

    def _record(self, form: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(form)
