"""localcloud.cloudfront: a local CloudFront whose invalidations behave like AWS's.

Every test talks to the running server over HTTP through boto3 (or raw HTTP where
boto3 refuses to send the request), and asserts what a user of the server would notice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.cloudfront import LocalCloudFront
from tests.support.localcloud_cloudfront import (
    SHORT,
    create,
    error_of,
    status_of,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]


# 1. InProgress for a while, then Completed ------------------------------------------


#: Long enough that the GET right after the create still sees InProgress on a loaded machine.
IN_PROGRESS_SECONDS = 2.0


def test_invalidation_is_in_progress_then_completed(cf, client, dist):
    cf.set_invalidation_seconds(IN_PROGRESS_SECONDS)
    created = create(client, dist, ["/index.html"], "ref-1")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    inv = created["Invalidation"]
    assert inv["Status"] == "InProgress"
    assert created["Location"].endswith(f"/distribution/{dist}/invalidation/{inv['Id']}")
    assert status_of(client, dist, inv["Id"]) == "InProgress"
    wait_until(lambda: status_of(client, dist, inv["Id"]) == "Completed")
    (record,) = cf.invalidations(dist)
    assert record.id == inv["Id"]
    assert record.caller_reference == "ref-1"
    assert record.paths == ("/index.html",)
    assert record.completes_at - record.create_time == pytest.approx(IN_PROGRESS_SECONDS)
    assert time.time() >= record.completes_at  # never Completed early
    assert abs(inv["CreateTime"].timestamp() - record.create_time) < 0.01


def test_botocore_waiter_succeeds(client, dist):
    # Against plain moto ("COMPLETED") this waiter never succeeds.
    inv = create(client, dist, ["/*"], "ref-w")["Invalidation"]
    client.get_waiter("invalidation_completed").wait(
        DistributionId=dist, Id=inv["Id"], WaiterConfig={"Delay": 0.1, "MaxAttempts": 300}
    )
    assert status_of(client, dist, inv["Id"]) == "Completed"


def test_duration_callable_and_setter(cf, client, dist):
    seen: list[tuple[str, tuple[str, ...]]] = []

    def duration(distribution_id: str, paths: Sequence[str]) -> float:
        seen.append((distribution_id, tuple(paths)))
        return 5.0 if len(paths) > 1 else 0.0

    cf.set_invalidation_seconds(duration)
    slow = create(client, dist, ["/a", "/b"], "slow")["Invalidation"]
    fast = create(client, dist, ["/c"], "fast")["Invalidation"]
    assert seen == [(dist, ("/a", "/b")), (dist, ("/c",))]
    assert slow["Status"] == "InProgress"
    assert fast["Status"] == "Completed"

    cf.set_invalidation_seconds(0)  # only invalidations created from now on
    assert status_of(client, dist, slow["Id"]) == "InProgress"
    assert create(client, dist, ["/d"], "now")["Invalidation"]["Status"] == "Completed"


# 2. CallerReference ---------------------------------------------------------------


def test_reused_reference_with_same_paths_returns_the_earlier_invalidation(cf, client, dist):
    first = create(client, dist, ["/a", "/b"], "deploy-42")
    again = create(client, dist, ["/a", "/b"], "deploy-42")
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert again["Invalidation"]["Id"] == first["Invalidation"]["Id"]
    assert again["Invalidation"]["CreateTime"] == first["Invalidation"]["CreateTime"]
    assert len(cf.invalidations(dist)) == 1


def test_reused_reference_with_other_paths_is_refused(cf, client, dist):
    create(client, dist, ["/a"], "deploy-42")
    code, _, status = error_of(lambda: create(client, dist, ["/b"], "deploy-42"))
    assert (code, status) == ("InvalidationBatchAlreadyExists", 409)
    assert len(cf.invalidations(dist)) == 1


def test_reference_is_scoped_to_the_distribution(cf, client, dist):
    other = cf.create_distribution("other")
    a = create(client, dist, ["/a"], "same-ref")["Invalidation"]
    b = create(client, other, ["/a"], "same-ref")["Invalidation"]
    assert a["Id"] != b["Id"]


def test_field_reported_reused_reference_error():
    with LocalCloudFront(invalidation_seconds=SHORT, reused_reference_error=True) as cf:
        client, dist = cf.client(max_attempts=1), cf.create_distribution()
        create(client, dist, ["/a"], "deploy-42")
        for paths in (["/a"], ["/b"]):
            code, message, status = error_of(lambda p=paths: create(client, dist, p, "deploy-42"))
            assert (code, status) == ("InvalidArgument", 400)
            assert "caller reference that was used for a previous invalidation batch" in message
        assert len(cf.invalidations(dist)) == 1


# 3. In-progress limits ----------------------------------------------------------------


def test_default_limits_3000_files_and_15_wildcards_counted_separately(cf, client, dist):
    cf.set_invalidation_seconds(60)  # nothing completes on its own during this test
    files = [f"/f/{i}.html" for i in range(3000)]
    create(client, dist, files, "files")
    create(client, dist, [f"/w{i}/*" for i in range(15)], "wildcards")  # independent of files

    code, message, status = error_of(lambda: create(client, dist, ["/one-more.html"], "f+1"))
    assert (code, status) == ("TooManyInvalidationsInProgress", 400)
    assert "in-progress invalidations" in message
    code, message, status = error_of(lambda: create(client, dist, ["/x/*"], "w+1"))
    assert (code, status) == ("TooManyInvalidationsInProgress", 400)
    assert "wildcard" in message

    # Another distribution has its own capacity.
    other = cf.create_distribution("other")
    create(client, other, ["/one-more.html", "/x/*"], "elsewhere")

    # Once the earlier ones are Completed, the capacity is back.
    assert cf.complete_now(distribution_id=dist) == 2
    create(client, dist, ["/one-more.html", "/x/*"], "after")
    assert cf.invalidations(dist)[-1].caller_reference == "after"


def test_capacity_returns_when_invalidations_complete_on_their_own():
    with LocalCloudFront(invalidation_seconds=SHORT, max_wildcards_in_progress=1) as cf:
        client, dist = cf.client(max_attempts=1), cf.create_distribution()
        create(client, dist, ["/*"], "first")
        assert error_of(lambda: create(client, dist, ["/*"], "second"))[0] == (
            "TooManyInvalidationsInProgress"
        )

        def accepted() -> bool:
            try:
                create(client, dist, ["/*"], "second")
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "TooManyInvalidationsInProgress"
                return False
            return True

        waited = wait_until(accepted, timeout=3, step=0.02)
        assert waited <= SHORT + 1


def test_complete_now_ends_one_invalidation(cf, client, dist):
    cf.set_invalidation_seconds(60)
    a = create(client, dist, ["/a"], "a")["Invalidation"]["Id"]
    b = create(client, dist, ["/b"], "b")["Invalidation"]["Id"]
    assert cf.complete_now(invalidation_id=a) == 1
    assert (status_of(client, dist, a), status_of(client, dist, b)) == ("Completed", "InProgress")
    assert create(client, dist, ["/a"], "a")["Invalidation"]["Status"] == "Completed"  # same one


def test_limits_are_constructor_options():
    with LocalCloudFront(
        invalidation_seconds=5, max_files_in_progress=3, max_wildcards_in_progress=1
    ) as cf:
        client, dist = cf.client(max_attempts=1), cf.create_distribution()
        create(client, dist, ["/a", "/b"], "r1")
        create(client, dist, ["/c", "/d*"], "r2")
        for paths, ref in ((["/e"], "r3"), (["/f*"], "r4")):
            code, _, _ = error_of(lambda p=paths, r=ref: create(client, dist, p, r))
            assert code == "TooManyInvalidationsInProgress"
        assert len(cf.invalidations(dist)) == 2


# 4. ListInvalidations, unknown ids -----------------------------------------------------


def test_list_is_newest_first_and_paginates(cf, client, dist):
    ids = [create(client, dist, [f"/p{i}"], f"r{i}")["Invalidation"]["Id"] for i in range(5)]
    newest_first = list(reversed(ids))

    everything = client.list_invalidations(DistributionId=dist)["InvalidationList"]
    assert everything["MaxItems"] == 100
    assert everything["IsTruncated"] is False
    assert "NextMarker" not in everything
    assert [item["Id"] for item in everything["Items"]] == newest_first
    assert all(set(item) == {"Id", "CreateTime", "Status"} for item in everything["Items"])

    seen: list[str] = []
    marker: dict[str, str] = {}  # the first page carries no Marker
    pages = 0
    while True:
        page = client.list_invalidations(DistributionId=dist, MaxItems="2", **marker)
        page = page["InvalidationList"]
        pages += 1
        assert page["Marker"] == marker.get("Marker", "")
        assert page["Quantity"] == len(page.get("Items", []))
        seen += [item["Id"] for item in page.get("Items", [])]
        if not page["IsTruncated"]:
            break
        assert page["NextMarker"] == seen[-1]
        marker = {"Marker": page["NextMarker"]}
    assert seen == newest_first
    assert pages == 3

    paginator = client.get_paginator("list_invalidations")
    pages_ids = [
        [item["Id"] for item in page["InvalidationList"].get("Items", [])]
        for page in paginator.paginate(DistributionId=dist, PaginationConfig={"PageSize": 2})
    ]
    assert [i for page_ids in pages_ids for i in page_ids] == newest_first

    for marker_text in ("INOTANID", ""):  # stock moto refuses an empty Marker too
        code, message, status = error_of(
            lambda m=marker_text: client.list_invalidations(DistributionId=dist, Marker=m)
        )
        assert (code, status) == ("InvalidArgument", 400)
        assert "Marker" in message


def test_list_of_a_distribution_without_invalidations_is_empty(client, dist):
    page = client.list_invalidations(DistributionId=dist)["InvalidationList"]
    assert page["Quantity"] == 0
    assert page.get("Items", []) == []


def test_unknown_distribution_and_invalidation(client, dist):
    for call in (
        lambda: create(client, "ENOSUCHDIST", ["/a"], "r"),
        lambda: client.get_invalidation(DistributionId="ENOSUCHDIST", Id="I123"),
        lambda: client.list_invalidations(DistributionId="ENOSUCHDIST"),
    ):
        code, _, status = error_of(call)
        assert (code, status) == ("NoSuchDistribution", 404)
    with pytest.raises(client.exceptions.NoSuchInvalidation) as info:
        client.get_invalidation(DistributionId=dist, Id="INOSUCHINVALIDATION")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


# 5. Path and batch validation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("index.html", "must start with '/'"),
        ("/images/*/a.png", "'*' is allowed only as the last character"),
        ("/" + "a" * 4000, "at most 4000 characters"),
        ("", "must start with '/'"),
    ],
)
def test_invalid_path_is_refused_with_a_message_naming_it(cf, client, dist, path, why):
    code, message, status = error_of(lambda: create(client, dist, ["/ok.html", path], "r"))
    assert (code, status) == ("InvalidArgument", 400)
    assert message.startswith("Your request contains one or more invalid invalidation paths.")
    assert repr(path[:200]) in message
    assert why in message
    assert cf.invalidations(dist) == []


def test_longest_and_wildcard_paths_are_accepted(client, dist):
    created = create(client, dist, ["/" + "a" * 3999, "/*", "/img/*"], "r")
    assert created["Invalidation"]["InvalidationBatch"]["Paths"]["Quantity"] == 3


def test_quantity_must_match_items(client, dist):
    code, _, status = error_of(lambda: create(client, dist, ["/a", "/b"], "r", quantity=3))
    assert (code, status) == ("InconsistentQuantities", 400)


def test_empty_batch_is_refused(client, dist):
    code, _, status = error_of(lambda: create(client, dist, [], "r"))
    assert (code, status) == ("InvalidArgument", 400)


def test_missing_body_over_raw_http(cf, dist):
    # boto3 never sends this request; curl or a hand-written client can.
    request = urllib.request.Request(
        f"{cf.endpoint_url}/2020-05-31/distribution/{dist}/invalidation", data=b"", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    with info.value:  # closed here, not by a finalizer (a ResourceWarning on 3.14)
        body = info.value.read().decode()
    assert info.value.code == 400
    assert "<Code>MissingBody</Code>" in body
    assert "<Type>Sender</Type>" in body
    assert "<RequestId>" in body


# 6. Fault injection ------------------------------------------------------------------------


def test_rate_faults_are_seeded_and_reproducible():
    def failures(seed: int) -> list[int]:
        with LocalCloudFront(invalidation_seconds=0, seed=seed) as cf:
            client, dist = cf.client(max_attempts=1), cf.create_distribution()
            cf.faults.rate("CreateInvalidation", "Throttling", 0.2)
            failed = []
            for i in range(60):
                try:
                    create(client, dist, [f"/{i}"], f"r{i}")
                except ClientError as exc:
                    assert exc.response["Error"]["Code"] == "Throttling"
                    assert exc.response["Error"]["Message"] == "Rate exceeded"
                    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
                    failed.append(i)
            assert len(cf.invalidations(dist)) == 60 - len(
                failed
            )  # a throttled call creates nothing
            return failed

    first = failures(seed=7)
    assert 3 <= len(first) <= 25  # about 20% of 60
    assert failures(seed=7) == first
    assert failures(seed=8) != first


@pytest.mark.parametrize(
    ("code", "status"),
    [("ServiceUnavailable", 503), ("InternalError", 500), ("AccessDenied", 403)],
)
def test_error_on_the_nth_call(cf, client, dist, code, status):
    cf.faults.on_call("CreateInvalidation", 2, code)
    create(client, dist, ["/a"], "r1")
    assert error_of(lambda: create(client, dist, ["/b"], "r2"))[::2] == (code, status)
    create(client, dist, ["/c"], "r3")  # only the 2nd call
    assert [r.caller_reference for r in cf.invalidations(dist)] == ["r1", "r3"]


def test_access_denied_on_the_first_create(cf, client, dist):
    cf.faults.on_call("CreateInvalidation", 1, "AccessDenied")
    assert error_of(lambda: create(client, dist, ["/a"], "r"))[::2] == ("AccessDenied", 403)
    assert cf.invalidations(dist) == []


def test_default_retries_absorb_one_throttle(cf, dist):
    cf.faults.on_call("CreateInvalidation", 1, "Throttling")
    created = create(cf.client(), dist, ["/a"], "r")  # botocore's own retry
    assert created["Invalidation"]["Status"] == "InProgress"
    assert cf.calls("CreateInvalidation") == 2


def test_fault_after_the_work_loses_the_response_but_not_the_invalidation(cf, client, dist):
    # CloudFront created it, the answer got lost: retrying with the same
    # CallerReference must give back the same invalidation, not a second one.
    cf.faults.on_call("CreateInvalidation", 1, "InternalError", after=True)
    assert error_of(lambda: create(client, dist, ["/a"], "deploy-1"))[0] == "InternalError"
    (record,) = cf.invalidations(dist)
    retried = create(client, dist, ["/a"], "deploy-1")["Invalidation"]
    assert retried["Id"] == record.id
    assert len(cf.invalidations(dist)) == 1


def test_get_and_list_faults(cf, client, dist):
    inv = create(client, dist, ["/a"], "r")["Invalidation"]
    cf.faults.on_call("GetInvalidation", 1, "Throttling")
    cf.faults.on_call("ListInvalidations", 1, "ServiceUnavailable")
    assert error_of(lambda: client.get_invalidation(DistributionId=dist, Id=inv["Id"]))[0] == (
        "Throttling"
    )
    assert error_of(lambda: client.list_invalidations(DistributionId=dist))[0] == (
        "ServiceUnavailable"
    )
    assert client.get_invalidation(DistributionId=dist, Id=inv["Id"])["Invalidation"]["Id"]
    assert client.list_invalidations(DistributionId=dist)["InvalidationList"]["Quantity"] == 1


def test_deny_a_distribution_then_allow_it(cf, client, dist):
    inv = create(client, dist, ["/a"], "r")["Invalidation"]
    other = cf.create_distribution("other")
    cf.faults.deny(dist)
    for call in (
        lambda: create(client, dist, ["/b"], "r2"),
        lambda: client.get_invalidation(DistributionId=dist, Id=inv["Id"]),
        lambda: client.list_invalidations(DistributionId=dist),
        lambda: client.get_distribution(Id=dist),  # passed on to moto otherwise
    ):
        code, message, status = error_of(call)
        assert (code, status) == ("AccessDenied", 403)
        assert f"distribution/{dist}" in message
    create(client, other, ["/b"], "r2")  # other distributions are unaffected
    cf.faults.allow(dist)
    create(client, dist, ["/b"], "r2")
    cf.faults.deny(dist)
    cf.faults.clear()
    assert client.get_distribution(Id=dist)["Distribution"]["Id"] == dist


def test_clear_removes_rules(cf, client, dist):
    cf.faults.rate("CreateInvalidation", "Throttling", 1.0)
    cf.faults.on_call("ListInvalidations", 1, "InternalError")
    cf.faults.clear()
    made = create(client, dist, ["/a"], "r")["Invalidation"]
    listed = client.list_invalidations(DistributionId=dist)["InvalidationList"]["Items"]
    assert [item["Id"] for item in listed] == [made["Id"]]


def test_fault_rules_are_checked(cf):
    with pytest.raises(ValueError, match="unknown operation"):
        cf.faults.rate("CreateInvalidations", "Throttling", 0.1)
    with pytest.raises(ValueError, match="probability"):
        cf.faults.rate("CreateInvalidation", "Throttling", 1.5)
    with pytest.raises(ValueError, match="1-based"):
        cf.faults.on_call("CreateInvalidation", 0, "Throttling")


# 7. Counters and thread safety ---------------------------------------------------------------


def test_counters_per_operation_and_per_invalidation(cf, client, dist):
    a = create(client, dist, ["/a"], "a")["Invalidation"]["Id"]
    b = create(client, dist, ["/b"], "b")["Invalidation"]["Id"]
    for _ in range(3):
        client.get_invalidation(DistributionId=dist, Id=a)
    client.get_invalidation(DistributionId=dist, Id=b)
    client.list_invalidations(DistributionId=dist)
    error_of(lambda: create(client, dist, ["bad"], "c"))  # refused calls count too
    assert cf.calls("CreateInvalidation") == 3
    assert cf.calls("GetInvalidation") == 4
    assert cf.calls("ListInvalidations") == 1
    assert (cf.get_calls(a), cf.get_calls(b)) == (3, 1)
    assert cf.call_counts() == {
        "CreateInvalidation": 3,
        "GetInvalidation": 4,
        "ListInvalidations": 1,
    }
    cf.reset_counters()
    assert cf.calls("GetInvalidation") == 0
    assert len(cf.invalidations()) == 2


def test_concurrent_clients(cf, dist):
    threads, per_thread = 8, 10
    ids: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            client = cf.client(max_attempts=1)
            for i in range(per_thread):
                inv = create(client, dist, [f"/t{n}/{i}"], f"t{n}-{i}")["Invalidation"]
                client.get_invalidation(DistributionId=dist, Id=inv["Id"])
                with lock:
                    ids.append(inv["Id"])
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert errors == []
    assert len(set(ids)) == threads * per_thread
    assert cf.calls("CreateInvalidation") == threads * per_thread
    assert cf.calls("GetInvalidation") == threads * per_thread
    create_times = [r.create_time for r in cf.invalidations(dist)]
    assert create_times == sorted(create_times)  # oldest first
    assert len(cf.invalidations(dist)) == threads * per_thread


# Reaching it: env(), the command line ----------------------------------------------------------


def test_env_points_plain_boto3_at_the_server(cf, dist, monkeypatch):
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in cf.env().items():
        monkeypatch.setenv(key, value)
    plain = boto3.client("cloudfront")  # no endpoint, region or keys in code
    inv = create(plain, dist, ["/a"], "via-env")["Invalidation"]
    assert inv["Status"] == "InProgress"
    assert cf.env()["AWS_EC2_METADATA_DISABLED"] == "true"


def start_command_line(*extra: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Run ``python -m localcloud.cloudfront``; return it and its lines up to "Ctrl-C"."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "localcloud.cloudfront", "--port", "0", *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C"):
            break
    return proc, lines


def client_from_exports(lines: Sequence[str]) -> Any:
    """A boto3 client for the endpoint the command line printed as an ``export`` line."""
    exports = dict(
        line.removeprefix("export ").strip().split("=", 1)
        for line in lines
        if line.startswith("export ")
    )
    return boto3.client(
        "cloudfront",
        endpoint_url=exports["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def stopped_by(proc: subprocess.Popen[str], signum: int) -> tuple[int, str]:
    """Send ``signum``; wait (generously) for the exit; return (returncode, rest of stdout)."""
    proc.send_signal(signum)
    try:
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out


def test_command_line_serves_until_interrupted():
    proc, lines = start_command_line("--create-distribution")
    dist = next(line.split(": ")[1].strip() for line in lines if "Distribution" in line)
    client = client_from_exports(lines)
    assert create(client, dist, ["/a"], "cli")["Invalidation"]["Status"] == "InProgress"
    returncode, out = stopped_by(proc, signal.SIGINT)
    assert (returncode, "Stopping (SIGINT)" in out) == (0, True)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_command_line_stops_on_a_signal_sent_the_moment_it_is_ready(signum):
    # The moment the old command line could lose Ctrl-C: right as it went to sleep.
    proc, _ = start_command_line()
    returncode, out = stopped_by(proc, signum)
    assert (returncode, f"Stopping ({signal.Signals(signum).name})" in out) == (0, True)


def test_command_line_creates_a_tenant_with_cache_tags():
    proc, lines = start_command_line(
        "--create-distribution-tenant", "shop.example.com", "--cache-tag-header", "x-tag"
    )
    try:
        tenant = next(line.split(": ")[1].strip() for line in lines if "tenant created" in line)
        client = client_from_exports(lines)
        created = client.create_invalidation_for_distribution_tenant(
            Id=tenant,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["#release:42"]},
                "CallerReference": "cli",
            },
        )
        assert created["Invalidation"]["Status"] == "InProgress"
    finally:
        assert stopped_by(proc, signal.SIGTERM)[0] == 0
