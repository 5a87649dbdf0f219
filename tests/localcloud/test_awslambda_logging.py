"""The local Lambda logs as Lambda does for the function's LoggingConfig (JSON or Text)."""

from __future__ import annotations

import json
import re
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from localcloud.awslambda.runtime import Invocation, LambdaFunction, LocalLambda

LOGGER = """
import logging

logger = logging.getLogger("purge.app")

def handler(event, context):
    logger.debug("detail", extra={"step": 0})
    logger.info("purged", extra={"distribution": "E1", "paths": 2, "ids": ["I1", "I2"]})
    logger.warning("slow", extra={"waited_s": 1.5})
    print("plain line", flush=True)
    return "ok"
"""

FAILER = """
def handler(event, context):
    raise ValueError("boom " + context.aws_request_id)
"""

#: Lambda's text line: [LEVEL]<tab>ISO-8601 UTC with milliseconds<tab>request id<tab>message.
TEXT_LINE = re.compile(r"^\[(\w+)\]\t(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\t([\w-]*)\t(.*)$")


@pytest.fixture(scope="module")
def lam() -> Iterator[LocalLambda]:
    with LocalLambda() as runtime:
        yield runtime


def make_fn(root: Path, name: str, source: str, **logging_config: str) -> LambdaFunction:
    asset = root / name
    asset.mkdir()
    (asset / "index.py").write_text(textwrap.dedent(source))
    return LambdaFunction(
        name=name, asset_dir=asset, handler="index.handler", timeout_seconds=15, **logging_config
    )


def run(lam: LocalLambda, fn: LambdaFunction) -> Invocation:
    inv = lam.invoke(fn, {})
    assert inv.wait(30), inv.logs
    return inv


def json_records(inv: Invocation) -> list[dict[str, Any]]:
    return [json.loads(line) for line in inv.logs.splitlines() if line.startswith("{")]


def by_message(inv: Invocation) -> dict[str, dict[str, Any]]:
    return {r["message"]: r for r in json_records(inv) if "message" in r}


def test_json_format_writes_lambdas_records_with_the_extra_fields(
    lam: LocalLambda, tmp_path: Path
) -> None:
    inv = run(lam, make_fn(tmp_path, "json", LOGGER, log_format="JSON"))
    assert inv.succeeded, inv.logs
    records = by_message(inv)
    purged = records["purged"]
    assert purged["level"] == "INFO"
    assert purged["logger"] == "purge.app"
    assert purged["requestId"] == inv.request_id
    assert (purged["distribution"], purged["paths"], purged["ids"]) == ("E1", 2, ["I1", "I2"])
    # ISO-8601 UTC to the second, as Lambda's Python runtime writes it.
    stamp = datetime.strptime(purged["timestamp"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
    assert int(inv.started_at) <= stamp <= (inv.ended_at or 0)
    assert records["slow"]["level"] == "WARNING"
    assert records["slow"]["waited_s"] == 1.5
    assert "detail" not in records  # ApplicationLogLevel defaults to INFO
    # print() is not a log record: it stays a plain line.
    assert "plain line" in inv.logs.splitlines()
    # System records are JSON too (SystemLogLevel defaults to INFO), and text lines are gone.
    platform = [r for r in json_records(inv) if "type" in r]
    assert [r["type"] for r in platform] == ["platform.start", "platform.report"]
    assert all(r["record"]["requestId"] == inv.request_id for r in platform)
    assert platform[1]["record"]["status"] == "success"
    assert "START RequestId" not in inv.logs and "REPORT RequestId" not in inv.logs


def test_each_log_line_has_the_time_it_arrived(lam: LocalLambda, tmp_path: Path) -> None:
    fn = make_fn(tmp_path, "stamped", LOGGER, log_format="JSON")
    before = time.time()
    inv = run(lam, fn)
    events = inv.log_events
    assert [line for _, line in events] == inv.logs.splitlines()
    times = [at for at, _ in events]
    assert times == sorted(times)
    assert before <= times[0] and times[-1] <= time.time()
    # Finer than the record's own timestamp, which has whole seconds.
    purged = next(at for at, line in events if '"purged"' in line)
    assert inv.started_at <= purged <= (inv.ended_at or 0)


@pytest.mark.parametrize(
    ("level", "seen"),
    [("DEBUG", {"detail", "purged", "slow"}), ("WARN", {"slow"}), ("ERROR", set())],
)
def test_application_log_level_filters_records(
    lam: LocalLambda, tmp_path: Path, level: str, seen: set[str]
) -> None:
    fn = make_fn(tmp_path, f"level-{level}", LOGGER, log_format="JSON", application_log_level=level)
    inv = run(lam, fn)
    assert inv.succeeded, inv.logs
    assert set(by_message(inv)) == seen


def test_system_log_level_warn_hides_platform_records(lam: LocalLambda, tmp_path: Path) -> None:
    fn = make_fn(tmp_path, "quiet", LOGGER, log_format="JSON", system_log_level="WARN")
    inv = run(lam, fn)
    assert inv.succeeded, inv.logs
    assert not [r for r in json_records(inv) if "type" in r]
    assert "purged" in by_message(inv)


def test_text_format_writes_lambdas_text_lines(lam: LocalLambda, tmp_path: Path) -> None:
    inv = run(lam, make_fn(tmp_path, "text", LOGGER))
    assert inv.succeeded, inv.logs
    lines = inv.logs.splitlines()
    assert lines[0] == f"START RequestId: {inv.request_id} Version: $LATEST"
    parsed = [m.groups() for m in map(TEXT_LINE.match, lines) if m]
    # Text sets no level: the root logger keeps Python's WARNING, as in Lambda.
    assert [(level, rid, msg) for level, _, rid, msg in parsed] == [
        ("WARNING", inv.request_id, "slow")
    ]
    assert not json_records(inv)  # no JSON, and the extra fields are not printed
    assert f"END RequestId: {inv.request_id}" in lines
    assert lines[-1].startswith(f"REPORT RequestId: {inv.request_id}\tDuration: ")


def test_json_format_logs_an_unhandled_error_as_a_record(
    lam: LocalLambda, tmp_path: Path
) -> None:
    inv = run(lam, make_fn(tmp_path, "json-failer", FAILER, log_format="JSON"))
    assert not inv.succeeded
    assert inv.error is not None and inv.error["errorType"] == "ValueError"
    errors = [r for r in json_records(inv) if r.get("level") == "ERROR"]
    assert len(errors) == 1, inv.logs
    error = errors[0]
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == f"boom {inv.request_id}"
    assert error["requestId"] == inv.request_id
    assert any('index.py", line 3, in handler' in frame for frame in error["stackTrace"])
    report = [r for r in json_records(inv) if r.get("type") == "platform.report"]
    assert report[0]["record"]["status"] == "error"
    assert report[0]["record"]["errorType"] == "ValueError"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"log_format": "json"}, "LogFormat 'json' must be one of Text, JSON"),
        ({"application_log_level": "INFO"}, "ApplicationLogLevel needs LogFormat JSON"),
        ({"log_format": "JSON", "system_log_level": "ERROR"}, "SystemLogLevel 'ERROR' must be"),
        ({"log_format": "JSON", "application_log_level": "WARNING"}, "ApplicationLogLevel 'WARN"),
    ],
)
def test_logging_config_lambda_refuses_is_refused(
    tmp_path: Path, config: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        LambdaFunction(name="bad", asset_dir=tmp_path, handler="index.handler", **config)
