"""A provider that cannot start (a module missing, a syntax error) still answers: the real
staged asset, broken on purpose, run by the local Lambda through the local CloudFormation."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cloudfront_purge import __version__
from localcloud.cloudformation.lifecycle import LocalCloudFormation
from localcloud.cloudfront import LocalCloudFront
from localcloud.fault_matrix import ENGINE_MODULE

SERVICE_TIMEOUT = 120.0


def remove_engine(asset: Path) -> None:
    (asset / ENGINE_MODULE).unlink()


def remove_crhelper(asset: Path) -> None:
    shutil.rmtree(asset / "crhelper")


def break_engine_syntax(asset: Path) -> None:
    engine = asset / ENGINE_MODULE
    engine.write_text(engine.read_text() + "\ndef half_written(:\n    pass\n")


BREAKAGES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "engine/_purge.py removed": (
        remove_engine,
        # ImportError or ModuleNotFoundError, depending on how the handler imports it.
        ["Error: ", "engine", "cloudfront_purge/engine/__init__.py, line"],
    ),
    "crhelper removed": (remove_crhelper, ["ModuleNotFoundError", "No module named 'crhelper'"]),
    "syntax error in engine/_purge.py": (
        break_engine_syntax,
        ["SyntaxError", "cloudfront_purge/engine/_purge.py, line"],
    ),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_function_that_cannot_start_fails_the_create_and_its_delete_succeeds(
    assembly_copy: Path, breakage: str
) -> None:
    breaker, expected = BREAKAGES[breakage]
    with LocalCloudFront(invalidation_seconds=0.5) as cloud, LocalCloudFormation(
        assembly_copy, cloud=cloud, service_timeout=SERVICE_TIMEOUT
    ) as stack:
        (resource,) = stack.resources.values()
        asset = resource.function.asset_dir.resolve()
        assert assembly_copy.resolve() in asset.parents  # the copy, not the shared assembly
        breaker(asset)

        create, delete = stack.deploy("first deploy")
        urls = stack.responses.urls()
        status = stack.stack_status

    assert create.request_type == "Create" and create.status == "FAILED", create.reason
    assert create.reason.startswith("the provider function could not start")
    for text in expected:
        assert text in create.reason
    assert "deploy again" in create.reason  # what to do
    assert create.physical_id  # so the Delete that follows names something
    assert create.legs == 1  # answered and returned: no retry, no on-failure record
    assert create.invalidations == []
    # CloudFormation deletes what the failed Create answered; that Delete succeeds too.
    assert delete.request_type == "Delete" and delete.step.endswith("(rollback)")
    assert delete.status == "SUCCESS" and delete.physical_id == create.physical_id
    assert status == "ROLLBACK_COMPLETE"
    assert not create.violations and not delete.violations
    logs = create.logs + delete.logs
    # Lambda's JSON format (the function's LoggingConfig) carries the traceback as frames.
    failures = [
        record
        for record in map(json.loads, (line for line in logs.splitlines() if line[:1] == "{"))
        if "start_failed" in json.dumps(record.get("message"))
    ]
    assert failures and failures[0]["level"] == "ERROR", logs
    assert failures[0]["errorType"] and failures[0]["stackTrace"], failures[0]
    assert failures[0]["version"] == __version__  # which code could not start
    for url in urls:
        assert url.split("?")[0] not in logs
