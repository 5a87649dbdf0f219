"""cloudfront-invalidate against the local CloudFront: what a person at a terminal sees.

Most tests call ``cli.main`` in process with a client for the local server; one runs the
installed console script as a subprocess, pointed at the server by AWS_ENDPOINT_URL only,
as it would be pointed at AWS by the usual variables.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import cloudfront_purge
from cloudfront_purge.cli import command as cli
from localcloud.cloudfront import LocalCloudFront
from tests.support.cli import CI_VARIABLES, rows, run

VENV_BIN = Path(sys.executable).parent


# --- purge ----------------------------------------------------------------------------------


def test_purge_waits_for_completed_and_prints_progress_and_result(
    cf: LocalCloudFront, dist: str
) -> None:
    result = run(
        cf, "purge", "-d", dist, "-p", "/index.html", "-p", "/img/*",
        "--source-hash", "abc123", "--run-id", "deploy-1",
    )  # fmt: skip

    assert result.code == 0, result.err
    (record,) = cf.invalidations(dist)
    # It returned only once CloudFront said Completed.
    assert record.status() == "Completed"
    assert sorted(record.paths) == ["/img/*", "/index.html"]
    assert rows(result.out) == [[dist, record.id, "Completed", record.caller_reference]]
    assert record.caller_reference.startswith("abc123-")
    progress = result.err.splitlines()
    assert progress[0].startswith("run id deploy-1 (re-run with --run-id deploy-1")
    assert "2 path(s) in 1 invalidation(s)" in progress[0]
    assert any(f"{dist} {record.id} submitted: InProgress" in line for line in progress)
    assert progress[-1].endswith(f"{dist} {record.id} completed: Completed")


def test_the_same_run_id_twice_makes_one_invalidation(cf: LocalCloudFront, dist: str) -> None:
    first = run(cf, "purge", "-d", dist, "--run-id", "pipeline-42")
    again = run(cf, "purge", "-d", dist, "--run-id", "pipeline-42")

    assert (first.code, again.code) == (0, 0)
    (record,) = cf.invalidations(dist)
    assert rows(first.out) == rows(again.out) == [
        [dist, record.id, "Completed", record.caller_reference]
    ]
    # A new run id is a new purge.
    assert run(cf, "purge", "-d", dist, "--run-id", "pipeline-43", "--no-wait").code == 0
    assert len(cf.invalidations(dist)) == 2


def test_ci_run_ids_do_not_stand_in_but_the_explicit_variable_does(
    cf: LocalCloudFront, dist: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two Jenkins jobs with the same build number, or two steps of one GitHub run, must each
    # purge: a shared CI id would make the second adopt the first's invalidation.
    monkeypatch.setenv("BUILD_ID", "42")
    monkeypatch.setenv("GITHUB_RUN_ID", "9001")
    assert run(cf, "purge", "-d", dist, "--no-wait").code == 0
    assert run(cf, "purge", "-d", dist, "--no-wait").code == 0
    assert len(cf.invalidations(dist)) == 2
    monkeypatch.setenv("CLOUDFRONT_INVALIDATE_RUN_ID", "release-7")
    first = run(cf, "purge", "-d", dist, "--no-wait")
    # The retried step, a minute later: it resumes the same invalidation and says so.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 60)
    rerun = run(cf, "purge", "-d", dist, "--no-wait")
    assert (first.code, rerun.code) == (0, 0)
    assert "run id release-7" in first.err
    assert len(cf.invalidations(dist)) == 3
    assert rows(rerun.out)[0][1] == rows(first.out)[0][1]
    assert "nothing new was purged" in rerun.err


def test_json_on_failure_is_still_json(cf: LocalCloudFront) -> None:
    result = run(cf, "purge", "-d", "ENOSUCHDIST0", "--json", "--run-id", "r")
    assert result.code == 1
    assert json.loads(result.out)["status"] == "Failed"


def test_no_wait_returns_while_in_progress(cf: LocalCloudFront, dist: str) -> None:
    cf.set_invalidation_seconds(60)
    result = run(cf, "purge", "-d", dist, "--no-wait", "--run-id", "r")
    assert result.code == 0
    (record,) = cf.invalidations(dist)
    assert rows(result.out) == [[dist, record.id, "InProgress", record.caller_reference]]


def test_json_result(cf: LocalCloudFront, dist: str) -> None:
    other = cf.create_distribution("other")
    result = run(cf, "purge", "-d", dist, "-d", other, "-p", "/a", "--run-id", "r", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["status"] == "Completed"
    by_dist = {i["distribution_id"]: i for i in summary["invalidations"]}
    assert set(by_dist) == {dist, other}
    for dist_id, item in by_dist.items():
        (record,) = cf.invalidations(dist_id)
        assert item == {
            "distribution_id": dist_id,
            "id": record.id,
            "caller_reference": record.caller_reference,
            "paths": 1,
            "status": "Completed",
        }


def test_paths_file_is_read_and_normalised(
    cf: LocalCloudFront, dist: str, tmp_path: Path
) -> None:
    listing = tmp_path / "paths.txt"
    listing.write_text("/index.html\n\n/img/*\n/img/logo.png\n/index.html\n/a b.html\n")
    result = run(cf, "purge", "-d", dist, "--paths-file", str(listing), "--no-wait")
    assert result.code == 0, result.err
    (record,) = cf.invalidations(dist)
    # Duplicates and paths the wildcard covers are dropped; unsafe characters encoded.
    assert record.paths == ("/img/*", "/index.html", "/a%20b.html")


# --- list, show -----------------------------------------------------------------------------


def test_list_pages_through_more_than_one_page(cf: LocalCloudFront, dist: str) -> None:
    cf.set_invalidation_seconds(0)
    client = cf.client()
    for i in range(120):
        client.create_invalidation(
            DistributionId=dist,
            InvalidationBatch={"Paths": {"Quantity": 1, "Items": [f"/p{i}"]}, "CallerReference": f"r{i}"},
        )
    newest_first = [r.id for r in reversed(cf.invalidations(dist))]

    for limit, pages in ((110, 2), (5, 1), (500, 2)):
        cf.reset_counters()
        result = run(cf, "list", "-d", dist, "--max", str(limit))
        assert result.code == 0, result.err
        listed = rows(result.out)
        assert [row[0] for row in listed] == newest_first[:limit]
        assert {row[1] for row in listed} == {"Completed"}
        assert cf.calls("ListInvalidations") == pages


def test_list_of_a_distribution_without_invalidations(cf: LocalCloudFront, dist: str) -> None:
    result = run(cf, "list", "-d", dist)
    assert (result.code, result.out) == (0, f"no invalidations on {dist}\n")


def test_show_prints_paths_and_caller_reference(cf: LocalCloudFront, dist: str) -> None:
    assert run(cf, "purge", "-d", dist, "-p", "/a.html", "-p", "/b/*", "--no-wait").code == 0
    (record,) = cf.invalidations(dist)
    result = run(cf, "show", "-d", dist, record.id)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert f"Id:              {record.id}" in lines
    assert f"CallerReference: {record.caller_reference}" in lines
    assert lines[-3] == "Paths (2):"
    assert sorted(lines[-2:]) == ["  /a.html", "  /b/*"]


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["purge", "-d", "{dist}", "-p", "index.html"], "--path: path 'index.html' must start with '/'"),
        (["purge", "-d", "{dist}", "-p", "/a/*/b"], "--path: path '/a/*/b' may contain '*' only as its last"),
        (["purge", "-d", "not-an-id"], "--distribution-id: 'not-an-id' is not a CloudFront distribution id"),
        (["purge", "-d", "{dist}", "--timeout", "99999"], "--timeout is 99999 seconds; it must be between 1 and 86400 (24 hours)"),
        (["purge", "-d", "{dist}", "--timeout", "soon"], "argument --timeout: invalid float value: 'soon'"),
        (["purge", "-d", "{dist}", "--source-hash", " "], "--source-hash is required"),
        (["purge", "-d", "{dist}", "--paths-file", "/no/such/file"], "--paths-file '/no/such/file' cannot be read"),
        (["purge", "-p", "/a"], "give at least one --distribution-id (-d) or --distribution-tenant-id"),
        (["list", "-d", "{dist}", "--max", "0"], "--max must be 1 or more, got 0"),
        (["show", "-d", "{dist}"], "the following arguments are required: invalidation_id"),
        ([], "the following arguments are required: command"),
    ],
)
def test_bad_input_exits_2_naming_the_input(
    cf: LocalCloudFront, dist: str, argv: list[str], message: str
) -> None:
    result = run(cf, *(a.replace("{dist}", dist) for a in argv))
    assert result.code == 2
    assert message in result.err
    assert result.out == ""
    assert cf.invalidations() == []


@pytest.mark.parametrize(
    ("argv", "operation"),
    [
        (["purge", "-d", "ENOSUCHDIST", "--run-id", "r"], "purge failed: distribution ENOSUCHDIST: CreateInvalidation"),
        (["list", "-d", "ENOSUCHDIST"], "distribution ENOSUCHDIST: ListInvalidations"),
        (["show", "-d", "ENOSUCHDIST", "I2J0I21PCUYOIK"], "distribution ENOSUCHDIST: GetInvalidation"),
    ],
)
def test_no_such_distribution_exits_1_with_a_clear_message(
    cf: LocalCloudFront, argv: list[str], operation: str
) -> None:
    result = run(cf, *argv)
    assert result.code == 1
    assert result.out == ""
    last = result.err.splitlines()[-1]
    assert last.startswith(f"cloudfront-invalidate: {operation} failed with NoSuchDistribution")
    assert "check the distribution id and that it is in this account" in last


def test_help_goes_to_out_and_exits_0(cf: LocalCloudFront) -> None:
    result = run(cf, "purge", "--help")
    assert result.code == 0
    assert "--run-id" in result.out and result.err == ""


def test_version_goes_to_out_and_exits_0_without_calling_cloudfront() -> None:
    out, err = io.StringIO(), io.StringIO()
    # No client and no endpoint: --version must answer before anything talks to AWS.
    assert cli.main(["--version"], out=out, err=err) == 0
    assert out.getvalue() == f"cloudfront-invalidate {cloudfront_purge.__version__}\n"
    assert err.getvalue() == ""


# --- the installed command ------------------------------------------------------------------


def test_installed_command_works_against_the_local_cloud(cf: LocalCloudFront, dist: str) -> None:
    command = VENV_BIN / "cloudfront-invalidate"
    assert command.exists(), "make setup installs the console script into .venv/bin"
    env: dict[str, Any] = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key not in CI_VARIABLES
    }
    env.update(cf.env())  # AWS_ENDPOINT_URL, region, dummy keys: nothing else differs from AWS
    purge = subprocess.run(
        [str(command), "purge", "-d", dist, "-p", "/index.html", "--run-id", "installed"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert purge.returncode == 0, purge.stderr
    (record,) = cf.invalidations(dist)
    assert record.status() == "Completed"
    assert rows(purge.stdout) == [[dist, record.id, "Completed", record.caller_reference]]
    shown = subprocess.run(
        [str(command), "show", "-d", dist, record.id],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "  /index.html" in shown.stdout.splitlines()


def test_list_sends_no_marker_on_its_first_page() -> None:
    """Stock moto (and so the fake) answers an empty Marker with 400 Bad Request."""
    from tests.support.fakes import FakeClock, FakeCloudFront

    fake = FakeCloudFront(FakeClock(), duration=lambda _d, _p: 0.0)
    for i in range(150):
        fake.create_invalidation(DistributionId="EDIST1", InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": [f"/p{i}"]}, "CallerReference": f"r{i}"})
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["list", "-d", "EDIST1", "--max", "120"], client=fake, out=out, err=err) == 0, err.getvalue()
    assert len(rows(out.getvalue())) == 120
    assert fake.markers[0] is None and len(fake.markers) == 2
