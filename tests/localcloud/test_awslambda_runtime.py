"""Handlers run as Lambda runs them: fresh process, boto3 only, timeouts, async re-invokes."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import crhelper
import pytest
from botocore.exceptions import ClientError

from localcloud.awslambda.runtime import RUNTIME_MODULES, AsyncConfig, LambdaFunction, LocalLambda
from localcloud.cloudformation.responses import ResponseServer

# Sends a CloudFormation response the way crhelper does, but retries a failed PUT.
PUT_HANDLER = """
import http.client, json, logging, ssl, urllib.parse

logger = logging.getLogger()
logger.setLevel(logging.INFO)

def handler(event, context):
    body = json.dumps({
        "Status": "SUCCESS",
        "PhysicalResourceId": "purge-" + event["RequestId"][:8],
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {"Leg": "1"},
    })
    url = urllib.parse.urlsplit(event["ResponseURL"])
    statuses = []
    for _ in range(5):
        conn = http.client.HTTPSConnection(url.netloc, context=ssl.create_default_context())
        conn.request("PUT", url.path + "?" + url.query, body=body,
                     headers={"content-type": "", "content-length": str(len(body))})
        statuses.append(conn.getresponse().status)
        logger.info("response PUT answered %s", statuses[-1])
        if statuses[-1] == 200:
            break
    return statuses
"""

SLEEPER = """
import time

def handler(event, context):
    print("remaining at start:", context.get_remaining_time_in_millis(), flush=True)
    time.sleep(60)
"""

REINVOKER = """
import json
import boto3

def handler(event, context):
    print("leg", event["leg"], "of", context.aws_request_id, flush=True)
    if event["leg"] >= 1:
        return {"leg": event["leg"]}
    client = boto3.client("lambda")
    answer = client.invoke(
        FunctionName=context.invoked_function_arn,
        InvocationType="Event",
        Payload=json.dumps({**event, "leg": event["leg"] + 1}),
    )
    return {"StatusCode": answer["StatusCode"], "endpoint": client.meta.endpoint_url}
"""

INSPECTOR = """
import importlib, os, sys

def handler(event, context):
    imports = {}
    for name in event["modules"]:
        try:
            importlib.import_module(name)
            imports[name] = "ok"
        except ImportError as exc:
            imports[name] = type(exc).__name__
    return {
        "imports": imports,
        "sys_path": sys.path,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
    }
"""

UNBUNDLED_IMPORT = """
import moto  # not in the asset, not in the Lambda runtime

def handler(event, context):
    return "unreachable"
"""

FAILER = """
def handler(event, context):
    raise ValueError("boom " + context.aws_request_id)
"""

CRHELPER_HANDLER = """
from crhelper import CfnResource

helper = CfnResource(log_level="INFO", sleep_on_delete=0)

@helper.create
def create(event, context):
    helper.Data["Answer"] = "42"
    return "phys-" + event["ResourceProperties"]["Name"]

def handler(event, context):
    helper(event, context)
"""


def make_fn(root: Path, name: str, source: str, timeout: float = 10.0, **kw: Any) -> LambdaFunction:
    asset = root / name
    asset.mkdir()
    (asset / "index.py").write_text(textwrap.dedent(source))
    return LambdaFunction(
        name=name, asset_dir=asset, handler="index.handler", timeout_seconds=timeout, **kw
    )


def cfn_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": "Create",
        "RequestId": str(uuid.uuid4()),
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/1111",
        "LogicalResourceId": "Purge",
        "ResourceType": "Custom::CloudFrontInvalidation",
        "ResourceProperties": {"Name": "site"},
    }
    event.update(overrides)
    return event


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("assets")


@pytest.fixture(scope="module")
def responses() -> Iterator[ResponseServer]:
    with ResponseServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def lam() -> Iterator[LocalLambda]:
    with LocalLambda() as runtime:
        yield runtime


def test_handler_puts_its_response_over_https(
    lam: LocalLambda, responses: ResponseServer, assets: Path
) -> None:
    fn = make_fn(assets, "putter", PUT_HANDLER)
    event = cfn_event()
    event["ResponseURL"] = responses.new_url(event, fail_first=2, fail_status=500)

    inv = lam.invoke(fn, event, env=responses.env())

    resp = responses.wait(event["RequestId"], timeout=15)
    assert resp is not None, inv.logs
    assert resp.ok, resp.violations
    assert resp.status == "SUCCESS"
    assert resp.physical_resource_id == "purge-" + event["RequestId"][:8]
    assert resp.put_count == 3  # two injected 500s, retried by the handler
    assert inv.wait(10)
    assert inv.succeeded
    assert inv.result == [500, 500, 200]
    assert inv.started_at <= resp.arrived_at <= (inv.ended_at or 0)
    logs = inv.logs
    assert logs.startswith(f"START RequestId: {inv.request_id} Version: $LATEST")
    assert "[INFO]\t" in logs and f"\t{inv.request_id}\tresponse PUT answered 200" in logs
    assert f"END RequestId: {inv.request_id}" in logs and "REPORT RequestId" in logs


def test_only_the_asset_and_boto3_are_importable(lam: LocalLambda, assets: Path) -> None:
    fn = make_fn(assets, "inspector", INSPECTOR, memory_mb=256)
    modules = ["boto3", "botocore", "index", "moto", "pytest", "crhelper", "cryptography"]
    inv = lam.invoke(fn, {"modules": modules})
    assert inv.wait(15), inv.logs
    assert inv.succeeded, inv.logs
    result = inv.result
    assert result["imports"] == {
        "boto3": "ok",
        "botocore": "ok",
        "index": "ok",
        "moto": "ModuleNotFoundError",
        "pytest": "ModuleNotFoundError",
        "crhelper": "ModuleNotFoundError",
        "cryptography": "ModuleNotFoundError",
    }
    sys_path = result["sys_path"]
    assert sys_path[0] == str(fn.asset_dir.resolve())
    assert sys_path[1] == str(lam.runtime_dir)
    assert not any("site-packages" in p for p in sys_path)
    # The runtime dir holds boto3, awslambdaric and their dependencies (and metadata), nothing
    # else, as /var/runtime.
    shipped = {
        p.name.removesuffix(".py")
        for p in lam.runtime_dir.iterdir()
        if not p.name.endswith(".dist-info") and p.name not in ("__pycache__", ".complete")
    }
    assert shipped == set(RUNTIME_MODULES)
    assert result["cwd"] == str(fn.asset_dir)


def test_context_and_environment_look_like_lambdas(
    lam: LocalLambda, assets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALCLOUD_PARENT_ONLY", "must-not-leak")
    fn = make_fn(
        assets, "ctx", INSPECTOR, timeout=7.0, memory_mb=512, environment={"LOG_LEVEL": "INFO"}
    )
    inv = lam.invoke(fn, {"modules": []}, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"})
    assert inv.wait(15) and inv.succeeded, inv.logs
    ctx, env = inv.result["context"], inv.result["env"]
    assert ctx["function_name"] == "ctx"
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:ctx"
    assert ctx["memory_limit_in_mb"] == "512"  # a string, as in the real Python runtime
    assert ctx["aws_request_id"] == inv.request_id
    assert str(uuid.UUID(inv.request_id)) == inv.request_id
    assert ctx["log_group_name"] == "/aws/lambda/ctx"
    assert "[$LATEST]" in ctx["log_stream_name"]
    assert 0 < ctx["remaining"] <= 7000
    assert "LOCALCLOUD_PARENT_ONLY" not in env
    assert not any(k.startswith("PYTEST") or k.startswith("VIRTUAL_ENV") for k in env)
    assert not any(k.startswith("_LOCALCLOUD") for k in env)
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "ctx"
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "7"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == lam.endpoint_url
    assert env["LOG_LEVEL"] == "INFO"


def test_reserved_environment_keys_are_refused(lam: LocalLambda, assets: Path) -> None:
    fn = make_fn(assets, "reserved", FAILER, environment={"AWS_REGION": "eu-west-1"})
    with pytest.raises(ValueError, match="reserved"):
        lam.register(fn)


def test_a_handler_past_its_timeout_is_killed(lam: LocalLambda, assets: Path) -> None:
    # 4 s: the handler must be running (its process started, under load) before time is up.
    fn = make_fn(assets, "sleeper", SLEEPER, timeout=4.0)
    inv = lam.invoke(fn, {})
    assert inv.wait(15)
    assert inv.timed_out
    assert not inv.succeeded
    assert inv.returncode is not None and inv.returncode < 0  # killed
    assert inv.duration is not None and 4.0 <= inv.duration < 4.0 + lam.grace_seconds + 3.0
    logs = inv.logs
    assert "Task timed out after 4.00 seconds" in logs
    assert "Status: timeout" in logs
    remaining = int(logs.split("remaining at start:")[1].split()[0])
    assert 0 < remaining <= 4000
    assert inv.error is not None and inv.error["errorType"] == "Sandbox.Timedout"


def test_a_handler_reinvokes_itself_through_the_local_invoke_api(
    lam: LocalLambda, assets: Path
) -> None:
    fn = make_fn(assets, "reinvoker", REINVOKER)
    before = len(lam.invocations)
    # AWS_ENDPOINT_URL (e.g. moto for CloudFront) must not capture the Lambda client:
    # botocore prefers the service-specific AWS_ENDPOINT_URL_LAMBDA.
    first = lam.invoke(
        fn, {"leg": 0, "ResponseURL": "kept"}, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
    )
    assert first.wait(15) and first.succeeded, first.logs
    assert first.result == {"StatusCode": 202, "endpoint": lam.endpoint_url}
    assert lam.wait_idle(15)
    legs = [i for i in lam.invocations[before:] if i.function.name == "reinvoker"]
    assert [i.event["leg"] for i in legs] == [0, 1]
    assert [i.source for i in legs] == ["direct", "api"]
    second = legs[1]
    assert second.succeeded, second.logs
    assert second.event == {"leg": 1, "ResponseURL": "kept"}
    assert second.request_id != first.request_id
    assert second.result == {"leg": 1}
    assert second.started_at >= first.started_at


def test_the_invoke_api_refuses_unknown_functions_and_paths(lam: LocalLambda, assets: Path) -> None:
    client = boto3.client(
        "lambda",
        endpoint_url=lam.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    with pytest.raises(ClientError) as denied:
        client.invoke(FunctionName="nobody", InvocationType="Event", Payload=b"{}")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    other_account = "arn:aws:lambda:us-east-1:999999999999:function:reinvoker"
    with pytest.raises(ClientError, match="AccessDenied"):
        client.invoke(FunctionName=other_account, InvocationType="Event", Payload=b"{}")

    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{lam.endpoint_url}/2015-03-31/functions", timeout=5)
    assert missing.value.code == 404
    with missing.value:  # closed here, not by a finalizer (a ResourceWarning on 3.14)
        assert "message" in json.loads(missing.value.read())

    # A synchronous invoke answers with the handler's result.
    fn = make_fn(assets, "sync", INSPECTOR)
    lam.register(fn)
    answer = client.invoke(FunctionName="sync", Payload=json.dumps({"modules": ["boto3"]}))
    assert answer["StatusCode"] == 200
    assert json.loads(answer["Payload"].read())["imports"] == {"boto3": "ok"}


def test_import_errors_and_exceptions_are_reported_like_lambda(
    lam: LocalLambda, assets: Path
) -> None:
    unbundled = lam.invoke(make_fn(assets, "unbundled", UNBUNDLED_IMPORT), {})
    failing = lam.invoke(make_fn(assets, "failing", FAILER), {})
    assert unbundled.wait(15) and failing.wait(15)
    assert unbundled.returncode == 1 and not unbundled.succeeded
    assert unbundled.error is not None
    assert unbundled.error["errorType"] == "Runtime.ImportModuleError"
    assert "[ERROR] Runtime.ImportModuleError: Unable to import module 'index': " in unbundled.logs
    assert "No module named 'moto'" in unbundled.logs
    assert failing.error is not None and failing.error["errorType"] == "ValueError"
    assert f"[ERROR] ValueError: boom {failing.request_id}" in failing.logs
    assert 'index.py", line 3, in handler' in failing.logs


def test_failed_event_invocations_are_retried_with_the_same_request_id(assets: Path) -> None:
    fn = make_fn(assets, "retried", FAILER)
    with LocalLambda(max_event_retries=2) as runtime:
        runtime.invoke(fn, {})
        assert runtime.wait_idle(30)
        legs = runtime.invocations
    assert [i.attempt for i in legs] == [1, 2, 3]
    assert [i.source for i in legs] == ["direct", "retry", "retry"]
    assert len({i.request_id for i in legs}) == 1
    assert all(i.error is not None for i in legs)


RECORDER = """
import json

def handler(event, context):
    print("RECORD " + json.dumps(event), flush=True)
"""


def test_retries_exhausted_send_the_documented_record_to_the_destination(assets: Path) -> None:
    failing = make_fn(assets, "always-fails", FAILER)
    destination = make_fn(assets, "destination", RECORDER)
    with LocalLambda(async_time_scale=0.005) as runtime:
        runtime.register(destination)
        runtime.register(failing)
        runtime.configure_async(failing.name, AsyncConfig(on_failure=destination.name))
        first = runtime.invoke(failing, {"n": 1})
        assert runtime.wait_idle(60)
        legs = runtime.invocations
    assert [(i.function.name, i.attempt, i.source) for i in legs] == [
        ("always-fails", 1, "direct"),
        ("always-fails", 2, "retry"),
        ("always-fails", 3, "retry"),
        ("destination", 1, "destination"),
    ]
    record = json.loads(legs[3].logs.split("RECORD ", 1)[1].splitlines()[0])
    assert set(record) == {
        "version", "timestamp", "requestContext", "requestPayload", "responseContext",
        "responsePayload",
    }  # fmt: skip
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": first.request_id,
        "functionArn": runtime.arn(failing) + ":$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"n": 1}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == f"boom {first.request_id}"


def test_an_event_older_than_its_maximum_age_goes_to_the_destination(assets: Path) -> None:
    failing = make_fn(assets, "fails-ages", FAILER)
    destination = make_fn(assets, "age-destination", RECORDER)
    # 110 s of age: the retry after 1 minute runs, the one 2 minutes later is too old.
    config = AsyncConfig(max_event_age_seconds=110, on_failure=destination.name)
    with LocalLambda(async_time_scale=0.05) as runtime:
        runtime.register(destination)
        runtime.configure_async(failing.name, config)
        runtime.invoke(failing, {"n": 2})
        assert runtime.wait_idle(60)
        legs = runtime.invocations
        (record,) = runtime.destination_records
    assert [(i.function.name, i.attempt) for i in legs] == [
        ("fails-ages", 1), ("fails-ages", 2), ("age-destination", 1)
    ]  # fmt: skip
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert "responsePayload" not in record


def test_dropped_and_duplicated_attempts(assets: Path) -> None:
    recorder = make_fn(assets, "recorder", RECORDER)
    with LocalLambda(async_time_scale=0.005) as runtime:
        runtime.configure_async(recorder.name, AsyncConfig(retry_attempts=1))
        runtime.drop_invocations(runtime.async_attempts + 1)
        runtime.duplicate_invocations(runtime.async_attempts + 3)
        lost = runtime.invoke(recorder, {"n": "lost once"})
        assert runtime.wait_idle(60)
        twice = runtime.invoke(recorder, {"n": "twice"})
        assert runtime.wait_idle(60)
        legs = runtime.invocations
    assert [(i.request_id, i.attempt, i.dropped, i.ran) for i in legs[:2]] == [
        (lost.request_id, 1, True, False), (lost.request_id, 2, False, True)
    ]  # fmt: skip
    copies = runtime.invocations_of(twice.request_id)
    assert [i.source for i in copies] == ["direct", "duplicate"]
    assert all(i.succeeded and 'RECORD {"n": "twice"}' in i.logs for i in copies)


def test_async_config_takes_only_what_lambda_accepts() -> None:
    with pytest.raises(ValueError, match="MaximumRetryAttempts must be between 0 and 2"):
        AsyncConfig(retry_attempts=3)
    with pytest.raises(ValueError, match="MaximumEventAgeInSeconds must be between 60"):
        AsyncConfig(max_event_age_seconds=59)


def test_stop_kills_running_handlers(assets: Path) -> None:
    fn = make_fn(assets, "long-sleeper", SLEEPER, timeout=120.0)
    runtime = LocalLambda().start()
    inv = runtime.invoke(fn, {})
    assert inv.wait_for_log("remaining at start:", timeout=15), inv.logs
    assert inv.pid is not None
    started = time.monotonic()
    runtime.stop()
    assert time.monotonic() - started < 10
    assert inv.done and inv.returncode is not None and inv.returncode < 0
    with pytest.raises(ProcessLookupError):
        os.kill(inv.pid, 0)
    with pytest.raises(RuntimeError):
        runtime.invoke(fn, {})


@pytest.fixture(scope="module")
def crhelper_fn(assets: Path) -> LambdaFunction:
    fn = make_fn(assets, "crhelper-fn", CRHELPER_HANDLER)
    shutil.copytree(Path(crhelper.__file__).parent, fn.asset_dir / "crhelper")
    return fn


def test_real_crhelper_answers_and_keeps_the_url_out_of_its_logs(
    lam: LocalLambda, responses: ResponseServer, crhelper_fn: LambdaFunction
) -> None:
    event = cfn_event()
    event["ResponseURL"] = url = responses.new_url(event)
    inv = lam.invoke(crhelper_fn, event, env=responses.env())
    resp = responses.wait(url, timeout=20)
    assert resp is not None, inv.logs
    assert resp.ok, resp.violations
    assert (resp.status, resp.physical_resource_id) == ("SUCCESS", "phys-site")
    assert resp.data == {"Answer": "42"}
    assert inv.wait(10) and inv.succeeded, inv.logs
    token = url.split("/cfn-response/")[1].split("?")[0]
    assert token not in inv.logs
    assert "CloudFormation returned status code: OK" in inv.logs


def test_crhelper_loses_its_response_when_the_put_fails(
    lam: LocalLambda, responses: ResponseServer, crhelper_fn: LambdaFunction
) -> None:
    # crhelper takes any HTTP status as delivered: a 500 from S3 is never retried,
    # so CloudFormation would wait for ServiceTimeout. The product's handler must not.
    event = cfn_event()
    event["ResponseURL"] = url = responses.new_url(event, fail_first=1, fail_status=500)
    inv = lam.invoke(crhelper_fn, event, env=responses.env())
    assert inv.wait(20) and inv.succeeded, inv.logs
    assert responses.put_count(url) == 1
    assert responses.response(url) is None
    assert "CloudFormation returned status code: Internal Server Error" in inv.logs
