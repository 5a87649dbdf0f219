"""What resource/_crhelper.py relies on in the pinned crhelper, and that nothing else uses it.

The adapter replaces or reads crhelper members its type stubs do not list (``_send``,
``_timeout``, ``_wrap_function``, ``_response_url``, ``_sam_local``, the ``AWS_SAM_LOCAL``
switch). Each test here pins one of them against the installed crhelper, so an upgrade that
renames or reorders one fails here, loudly, instead of answering CloudFormation wrongly.
"""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from crhelper import CfnResource

from cloudfront_purge.resource import _crhelper
from tests.support.fakes import lambda_json_logs
from tests.support.handler import LambdaContext

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lambda" / "cloudfront_purge"
URL = "https://cfn-responses.example/r?X-Amz-Signature=sig"


def cfn_event(request_type: str = "Create", **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": URL,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/x",
        "RequestId": "req-1",
        "LogicalResourceId": "Purge",
        "ResourceType": "Custom::CloudFrontInvalidation",
        "ResourceProperties": {},
        **extra,
    }


@dataclass
class Request:
    physical_id: str = ""
    data: dict[str, str] = field(default_factory=dict)
    reason: str = ""


@pytest.fixture
def no_clients(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """boto3.client, recording which services were asked for (and building none)."""
    built: list[str] = []

    def client(service: str, *_args: object, **_kwargs: object) -> object:
        built.append(service)
        return object()

    monkeypatch.setattr(boto3, "client", client)
    return built


# --- the pinned crhelper ---------------------------------------------------------------


def test_the_installed_crhelper_is_the_pinned_one() -> None:
    pinned = re.search(r'"crhelper==([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned is not None, "pyproject.toml no longer pins crhelper exactly"
    assert importlib.metadata.version("crhelper") == pinned.group(1) == "2.0.12"


def test_the_private_methods_the_adapter_replaces_keep_their_signatures() -> None:
    def params(name: str) -> list[str]:
        return list(inspect.signature(getattr(CfnResource, name)).parameters)

    assert params("_send") == ["self", "status", "reason", "send_response"]
    assert params("_timeout") == ["self"]
    assert params("_wrap_function") == ["self", "func"]
    assert params("__call__") == ["self", "event", "context"]
    send = inspect.signature(CfnResource._send)  # type: ignore[attr-defined]
    assert send.parameters["status"].default is None


def test_aws_sam_local_at_construction_is_what_skips_the_polling_clients(
    no_clients: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    CfnResource(log_level="INFO", sleep_on_delete=0)
    assert sorted(no_clients) == ["events", "lambda", "logs"]
    no_clients.clear()
    monkeypatch.setenv("AWS_SAM_LOCAL", "true")
    resource = CfnResource(log_level="INFO", sleep_on_delete=0)
    assert no_clients == []
    # Read later too (polling is skipped while it is set): the adapter clears it.
    assert resource._sam_local == "true"  # type: ignore[attr-defined]


class Recording(CfnResource):
    """crhelper's own flow, with its private hooks recorded instead of answering."""

    def __init__(self) -> None:
        super().__init__(log_level="INFO", sleep_on_delete=0)
        self.sent: list[tuple[str | None, str, str, str, str]] = []
        self.wrapped: list[object] = []
        self.timer: threading.Timer | None = None
        self.context: object = None

    def _wrap_function(self, func: Any) -> None:
        self.wrapped.append(func)
        self.timer = self._timer  # type: ignore[attr-defined]
        self.context = self._context  # type: ignore[attr-defined]
        super()._wrap_function(func)  # type: ignore[misc]

    def _send(self, status: str | None = None, reason: str = "", send_response: object = None) -> None:
        self.sent.append(
            (status, reason, self.Status, str(self.Reason), self._response_url)  # type: ignore[attr-defined]
        )


def test_a_request_runs_the_registered_function_then_sends_once_without_a_status(
    no_clients: list[str],
) -> None:
    resource = Recording()

    def create(event: Any, context: Any) -> str:
        return "id-1"

    resource.create(create)
    context = LambdaContext()
    resource(cfn_event(), context)
    assert resource.wrapped == [create] and resource.context is context
    # ``_send()`` with no status: the body's Status and Reason are the attributes.
    assert resource.sent == [(None, "", "SUCCESS", "", URL)]
    assert resource.PhysicalResourceId == "id-1"


def test_the_timer_calls_timeout_half_a_second_before_the_end_and_is_cancelled(
    no_clients: list[str],
) -> None:
    resource = Recording()
    resource.create(lambda event, context: "id-1")
    resource(cfn_event(), LambdaContext())
    timer = resource.timer
    assert timer is not None
    assert timer.function == resource._timeout  # type: ignore[attr-defined]
    assert timer.interval == pytest.approx(60.0 - 0.5, abs=0.05)  # the context counts down
    assert timer.finished.is_set(), "crhelper no longer cancels its timer after the request"


def test_an_empty_id_is_filled_from_the_event_and_state_resets_per_request(
    no_clients: list[str],
) -> None:
    resource = Recording()

    def fail(event: Any, context: Any) -> str:
        raise RuntimeError("boom")

    resource.update(fail)
    resource.delete(lambda event, context: "")
    resource(cfn_event("Update", PhysicalResourceId="P-1"), LambdaContext())
    assert resource.sent[-1][2:4] == ("FAILED", "boom")
    assert resource.PhysicalResourceId == "P-1"
    # The next request starts from SUCCESS: nothing of the failed one leaks.
    resource(cfn_event("Delete", PhysicalResourceId="P-2"), LambdaContext())
    assert resource.sent[-1][2:4] == ("SUCCESS", "")
    assert resource.PhysicalResourceId == "P-2"


# --- the adapter over it ---------------------------------------------------------------


def lifecycle() -> tuple[_crhelper.Lifecycle[Request], list[Mapping[str, Any]]]:
    answers: list[Mapping[str, Any]] = []

    def send(url: str, body: Mapping[str, Any]) -> bool:
        assert url == URL
        answers.append(body)
        return True

    return _crhelper.Lifecycle(send), answers


def test_the_adapter_builds_no_polling_client_and_restores_the_environment(
    no_clients: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SAM_LOCAL", "mine")
    life, _ = lifecycle()
    assert no_clients == []
    assert os.environ["AWS_SAM_LOCAL"] == "mine"
    # Polling stays possible for crhelper to skip only if this is cleared again.
    assert life.resource._sam_local is None


def test_a_success_answers_the_requests_id_data_and_reason(no_clients: list[str]) -> None:
    life, answers = lifecycle()

    @life.create
    def create(event: dict[str, Any], context: Any, request: Request) -> str:
        request.data["Status"] = "Completed"
        request.reason = "why"
        return "Purge-1"

    life(cfn_event(), LambdaContext(), Request())
    assert answers == [
        {
            "Status": "SUCCESS",
            "PhysicalResourceId": "Purge-1",
            "StackId": cfn_event()["StackId"],
            "RequestId": "req-1",
            "LogicalResourceId": "Purge",
            "Reason": "why",
            "Data": {"Status": "Completed"},
            "NoEcho": False,
        }
    ]


def test_a_failure_answers_failed_and_logs_the_event_name_with_fields(
    no_clients: list[str],
) -> None:
    life, answers = lifecycle()

    @life.update
    def update(event: dict[str, Any], context: Any, request: Request) -> str:
        request.physical_id = event["PhysicalResourceId"]
        raise ValueError("the distribution E1 is gone")

    with lambda_json_logs() as logs:
        life(cfn_event("Update", PhysicalResourceId="P-old"), LambdaContext(), Request())
    assert [(a["Status"], a["PhysicalResourceId"]) for a in answers] == [("FAILED", "P-old")]
    assert answers[0]["Reason"] == "the distribution E1 is gone"
    (failed,) = logs.events("request_failed")
    assert failed["level"] == "ERROR"
    assert (failed["request_type"], failed["error"]) == ("Update", "ValueError")
    assert failed["error_message"] == "the distribution E1 is gone"
    # The message is the event name, never the exception text (docs/troubleshooting.md).
    assert not [r for r in logs.records if r.get("message") == "the distribution E1 is gone"]
    assert URL not in "".join(logs.lines)


def test_the_timer_before_a_hand_off_answers_and_the_hand_off_is_refused(
    no_clients: list[str],
) -> None:
    life, answers = lifecycle()
    claimed: list[bool] = []

    @life.on_timeout
    def decide(request: Request, problem: str) -> tuple[str, str]:
        request.data["PurgeProblem"] = problem
        return "SUCCESS", "settled"

    @life.create
    def create(event: dict[str, Any], context: Any, request: Request) -> str:
        request.physical_id = "Purge-1"
        life.resource._timeout()  # what crhelper's timer thread calls
        claimed.append(life.begin_hand_off())
        return "Purge-1"

    life(cfn_event(), LambdaContext(), Request())
    assert claimed == [False]
    ((status, reason, data),) = [(a["Status"], a["Reason"], a["Data"]) for a in answers]
    assert (status, reason) == ("SUCCESS", "settled")
    assert "ran out of time" in data["PurgeProblem"]


def test_after_a_hand_off_neither_the_timer_nor_the_end_answers(no_clients: list[str]) -> None:
    life, answers = lifecycle()
    hand_off = [True, False]

    @life.create
    def create(event: dict[str, Any], context: Any, request: Request) -> str:
        if hand_off.pop(0):
            assert life.begin_hand_off()
            life.resource._timeout()
            life.end_hand_off(succeeded=True)
        return "Purge-1"

    life(cfn_event(), LambdaContext(), Request())
    assert answers == []
    # The next request answers again.
    life(cfn_event(), LambdaContext(), Request())
    assert [a["Status"] for a in answers] == ["SUCCESS"]


# --- confinement -----------------------------------------------------------------------


def test_only_the_adapter_imports_crhelper() -> None:
    importers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "crhelper" for name in names):
                importers.append(path.relative_to(PACKAGE).as_posix())
    assert importers == ["resource/_crhelper.py"]


def test_crhelper_logs_nothing_below_info_once_the_adapter_is_built(
    no_clients: list[str],
) -> None:
    # crhelper's DEBUG level would log the whole event, ResponseURL included.
    lifecycle()
    assert logging.getLogger().getEffectiveLevel() == logging.INFO


def test_crhelpers_own_log_lines_follow_the_convention(no_clients: list[str]) -> None:
    """crhelper logs a sentence when it makes up an id, and the exception object itself
    when it cannot run a request at all: both become an event name with fields."""
    life, answers = lifecycle()

    @life.create
    def create(event: dict[str, Any], context: Any, request: Request) -> str:
        raise ValueError("bad properties")

    class NoClock:
        aws_request_id = "a2"  # no get_remaining_time_in_millis: crhelper's timer fails

    with lambda_json_logs() as logs:
        life(cfn_event(), LambdaContext(), Request())
        life(cfn_event(), NoClock(), Request())
    # A Create that failed before choosing an id: crhelper makes one up, and says so.
    assert re.fullmatch(r"s_Purge_[A-Z0-9]{8}", answers[0]["PhysicalResourceId"])
    (note,) = logs.events("crhelper_note")
    assert note["note"] == "No physical resource id returned, generating one..."
    failures = logs.events("request_failed")
    assert [(f["error"], f["error_message"]) for f in failures] == [
        ("ValueError", "bad properties"),
        ("AttributeError", "'NoClock' object has no attribute 'get_remaining_time_in_millis'"),
    ]
    assert [a["Status"] for a in answers] == ["FAILED", "FAILED"]
    assert answers[1]["Reason"] == failures[1]["error_message"]
    # No record's message is a sentence or an exception's text.
    assert all(str(r.get("message", "")).isidentifier() for r in logs.records), logs.records
