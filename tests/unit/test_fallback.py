"""Answers made without the handler: the start-up guard and the on-failure destination."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from cloudfront_purge.function import entry, fallback, on_failure
from cloudfront_purge.function.stack_status import stack_status

URL = "https://cloudformation-custom-resource-response.example/abc?X-Amz-Signature=secret"


def cfn_event(request_type: str = "Create", **extra: Any) -> dict[str, Any]:
    event = {
        "RequestType": request_type,
        "ResponseURL": URL,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/Site/1",
        "RequestId": "5d7f9c1e-1111-2222-3333-444455556666",
        "LogicalResourceId": "Purge",
        "ResourceType": "Custom::CloudFrontInvalidation",
        "ResourceProperties": {},
    }
    return {**event, **extra}


def record(event: object, condition: str = "RetriesExhausted") -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "version": "1.0",
        "timestamp": "2026-11-21T12:00:00.000Z",
        "requestContext": {
            "requestId": "inv-1",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:provider:$LATEST",
            "condition": condition,
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
    }
    if condition == "RetriesExhausted":
        shaped["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST",
                                     "functionError": "Unhandled"}  # fmt: skip
        shaped["responsePayload"] = {"errorType": "Runtime.ExitError",
                                     "errorMessage": "Runtime exited with signal 9"}  # fmt: skip
    return shaped


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    bodies: list[dict[str, Any]] = []

    def deliver(url: str, body: Mapping[str, Any]) -> bool:
        assert url == URL
        bodies.append(dict(body))
        return True

    monkeypatch.setattr(fallback.responder, "deliver", deliver)
    # No DescribeStacks from unit tests: a normal update unless a test says otherwise.
    monkeypatch.setattr(fallback, "stack_status", lambda _event: "UPDATE_IN_PROGRESS")
    yield bodies


def test_retries_exhausted_fails_a_create_with_the_last_error(sent: list[dict[str, Any]]) -> None:
    on_failure.handler(record(cfn_event("Create")), None)
    (body,) = sent
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == fallback.not_created_id(cfn_event("Create"))
    assert "RetriesExhausted after 3 attempts" in body["Reason"]
    assert "Runtime.ExitError: Runtime exited with signal 9" in body["Reason"]
    assert "inv-1" in body["Reason"] and "deploy again" in body["Reason"]


def test_an_event_too_old_fails_an_update_and_keeps_its_physical_id(
    sent: list[dict[str, Any]],
) -> None:
    on_failure.handler(record(cfn_event("Update", PhysicalResourceId="Purge-abc"),
                              "EventAgeExceeded"), None)  # fmt: skip
    (body,) = sent
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", "Purge-abc")
    assert "EventAgeExceeded" in body["Reason"] and "maximum event age" in body["Reason"]


@pytest.mark.parametrize("condition", ["RetriesExhausted", "EventAgeExceeded"])
def test_a_rollback_update_given_up_answers_success_with_the_purge_unconfirmed(
    sent: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, condition: str
) -> None:
    asked: list[str] = []

    def status(event: Mapping[str, Any]) -> str:
        asked.append(event["StackId"])
        return "UPDATE_ROLLBACK_IN_PROGRESS"

    monkeypatch.setattr(fallback, "stack_status", status)
    props = {"DistributionIds": ["E2QWRUHAPOMQZL"], "Paths": ["/a", "/b/*"], "SourceHash": "h"}
    event = cfn_event("Update", PhysicalResourceId="Purge-abc", ResourceProperties=props)
    on_failure.handler(record(event, condition), None)
    (body,) = sent
    assert asked == [event["StackId"]]
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "Purge-abc")
    data = body["Data"]
    assert data["PurgeConfirmed"] == "false" and data["Status"] == "Unconfirmed"
    assert condition in data["PurgeProblem"]
    assert data["DistributionIds"] == "E2QWRUHAPOMQZL" and data["PathCount"] == "2"
    assert data["InvalidationId"] == "" and data["InvalidationCount"] == "0"
    assert body["Reason"].startswith("rollback: answered SUCCESS")


def test_a_create_never_asks_the_stack_status(
    sent: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fallback, "stack_status", lambda _e: pytest.fail("asked"))
    on_failure.handler(record(cfn_event("Create")), None)
    assert sent[0]["Status"] == "FAILED"


def test_a_stack_status_that_cannot_be_read_is_unknown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import boto3

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError(f"no endpoint for {URL}")

    monkeypatch.setattr(boto3, "client", broken)
    with caplog.at_level("WARNING"):
        assert stack_status(cfn_event("Update")) is None
    assert "stack_status_unknown" in caplog.text
    assert URL.split("?")[0] not in caplog.text


def test_a_delete_is_let_go(sent: list[dict[str, Any]]) -> None:
    on_failure.handler(record(cfn_event("Delete", PhysicalResourceId="Purge-abc")), None)
    (body,) = sent
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "Purge-abc")


def test_a_record_that_is_not_a_cloudformation_request_is_dropped(
    sent: list[dict[str, Any]],
) -> None:
    on_failure.handler(record({"leg": 2}), None)
    on_failure.handler({"unexpected": True}, None)  # type: ignore[arg-type]
    assert sent == []


def test_an_answer_that_cannot_be_delivered_fails_the_invocation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fallback.responder, "deliver", lambda _url, _body: False)
    with pytest.raises(RuntimeError, match="could not deliver"):
        on_failure.handler(record(cfn_event("Create")), None)


def test_the_start_up_guard_and_the_on_failure_function_agree_on_a_failed_create(
    sent: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entry, "_handler", None)
    monkeypatch.setattr(entry, "_start_failure", "the provider function could not start: X")
    entry.handler(cfn_event("Create"), None)
    on_failure.handler(record(cfn_event("Create")), None)
    first, second = sent
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"]
    assert first["Status"] == second["Status"] == "FAILED"


def test_a_start_failure_reason_names_the_error_and_where(tmp_path: Any) -> None:
    broken = tmp_path / "cloudfront_purge" / "engine" / "_purge.py"
    broken.parent.mkdir(parents=True)
    broken.write_text("def half(:\n")
    with pytest.raises(SyntaxError) as caught:
        compile(broken.read_text(), str(broken), "exec")
    reason = entry.describe_start_failure(caught.value, task_root=str(tmp_path))
    assert reason.startswith("the provider function could not start: loading "
                             "cloudfront_purge.resource.handler raised SyntaxError: ")  # fmt: skip
    assert "(in cloudfront_purge/engine/_purge.py, line 1)" in reason
    assert "deploy again" in reason


#: Folders whose modules import only the standard library and each other: ``function/``
#: answers a broken function, and ``model/`` gives it attribute names and the Reason rule
#: (the construct imports it at synth too).
STANDARD_LIBRARY_ONLY = ("function", "model")
PACKAGE = Path(entry.__file__).parents[1]
GUARDED = sorted(
    str(path.relative_to(PACKAGE))
    for folder in STANDARD_LIBRARY_ONLY
    for path in (PACKAGE / folder).rglob("*.py")
)
#: The package's __init__ too: it loads before any of these, and they read its __version__.
GUARDED.append("__init__.py")


def test_the_standard_library_folders_hold_what_answers_a_broken_function() -> None:
    assert {"function/entry.py", "function/fallback.py", "function/on_failure.py",
            "function/responder.py", "function/stack_status.py",
            "model/rules.py"} <= set(GUARDED)  # fmt: skip


@pytest.mark.parametrize("module", GUARDED)
def test_what_answers_a_broken_function_needs_nothing_that_can_break(module: str) -> None:
    """Standard library, and each other, only: not the handler, the engine, crhelper or boto3."""
    import ast
    import sys

    source = PACKAGE / module
    tree = ast.parse(source.read_text())
    # An import inside a function's try block is guarded: its failure is handled there
    # (stack_status asks DescribeStacks through boto3; fallback answers FAILED without it).
    guarded = {
        id(inner)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for block in ast.walk(function)
        if isinstance(block, ast.Try)
        and any(
            isinstance(h.type, ast.Name) and h.type.id == "Exception" for h in block.handlers
        )
        for statement in block.body
        for inner in ast.walk(statement)
    }
    imported: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
            imported.update(names if node.module.startswith("cloudfront_purge") else [node.module])
    ours = {"cloudfront_purge." + m.removesuffix(".py").replace("/", ".") for m in GUARDED}
    ours |= {f"cloudfront_purge.{folder}" for folder in STANDARD_LIBRARY_ONLY}
    ours.add("cloudfront_purge.__version__")
    outside = {
        name
        for name in imported
        if name not in ours
        and name.rpartition(".")[0] not in ours
        and name.split(".")[0] not in sys.stdlib_module_names
    }
    assert outside == set()


def test_the_response_url_never_reaches_the_reason_or_the_log(
    sent: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    crashed = record(cfn_event("Create"))
    crashed["responsePayload"]["errorMessage"] = f"PUT {URL} failed: timed out"
    with caplog.at_level("INFO"):
        on_failure.handler(crashed, None)
    (body,) = sent
    assert "<ResponseURL>" in body["Reason"]
    for text in (body["Reason"], caplog.text):
        assert URL.split("?")[0] not in text and "X-Amz-Signature" not in text


def test_the_on_failure_function_logs_its_version_at_cold_start() -> None:
    """Its log group tells which release answered, as the provider's does (the module's
    top level is what a cold start runs; reloading it runs that again)."""
    import importlib

    from cloudfront_purge import __version__
    from tests.support.fakes import lambda_json_logs

    with lambda_json_logs() as logs:  # the formatter Lambda runs for LogFormat JSON
        importlib.reload(on_failure)
    (start,) = logs.events("cold_start")
    assert start["version"] == __version__
    assert start["level"] == "INFO" and start["logger"] == on_failure.__name__


def test_the_fallback_answer_has_the_same_shape_as_the_handlers(
    sent: list[dict[str, Any]],
) -> None:
    """One body builder (responder.response_body) for the handler, the start-up guard and
    the on-failure function: the same keys, whichever answers."""
    from cloudfront_purge.function import responder

    on_failure.handler(record(cfn_event("Delete", PhysicalResourceId="Purge-abc")), None)
    (body,) = sent
    handler_shaped = responder.response_body(
        cfn_event("Delete"), status="SUCCESS", physical_id="Purge-abc", reason="r", data={}
    )
    assert set(body) == set(handler_shaped)
    assert (body["Status"], body["PhysicalResourceId"], body["NoEcho"]) == (
        "SUCCESS",
        "Purge-abc",
        False,
    )
    assert {k: body[k] for k in ("StackId", "RequestId", "LogicalResourceId")} == {
        k: cfn_event("Delete")[k] for k in ("StackId", "RequestId", "LogicalResourceId")
    }
