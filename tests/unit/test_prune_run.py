"""prune.run against an in-memory S3: batches of 1,000, time limits, per-key errors, and what
is left for the next deploy (with the stamps it had)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cloudfront_purge.prune import plan as prune_plan
from cloudfront_purge.prune import run as prune

DAY = 86400.0
SPEC = prune.PruneSpec(bucket="site", key_prefix="www/", keep_seconds=int(DAY))
STATE_KEY = SPEC.state_key("stack|Purge")


class MemoryS3:
    """The five calls the prune makes, on a dict; ``fail_keys`` answer per-key errors,
    ``deny`` makes DeleteObjects raise AccessDenied."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = dict(objects)
        self.batches: list[int] = []
        self.fail_keys: set[str] = set()
        self.deny = False

    def list_objects_v2(self, *, Bucket: str, Prefix: str, MaxKeys: int) -> dict[str, Any]:
        keys = sorted(k for k in self.objects if k.startswith(Prefix))[:MaxKeys]
        return {"Contents": [{"Key": k} for k in keys]}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[Key])}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:
        self.objects[Key] = Body

    def delete_objects(self, *, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        keys = [o["Key"] for o in Delete["Objects"]]
        assert len(keys) <= 1000 and Delete["Quiet"] is True
        self.batches.append(len(keys))
        if self.deny:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}},
                              "DeleteObjects")
        errors = [{"Key": k, "Code": "InternalError", "Message": "try again"}
                  for k in keys if k in self.fail_keys]
        for key in keys:
            if key not in self.fail_keys:
                self.objects.pop(key, None)  # a vanished key counts as deleted, as on S3
        return {"Errors": errors} if errors else {}

    def state(self) -> prune_plan.PruneState:
        return prune_plan.loads(self.objects[STATE_KEY])


def site(keys: set[str]) -> dict[str, bytes]:
    return {f"www/{k}": b"x" for k in keys}


def run(s3: MemoryS3, old: set[str] | None, new: set[str], now: float,
        **kwargs: Any) -> prune.PruneOutcome:
    return prune.run(s3, SPEC, state_key=STATE_KEY, old=old, new=new, now=now,  # type: ignore[arg-type]
                     **kwargs)


def test_100000_replaced_files_go_in_100_calls_of_1000() -> None:
    old = {f"assets/{n}.v1.js" for n in range(100_000)}
    new = {f"assets/{n}.v2.js" for n in range(100_000)}
    s3 = MemoryS3(site(old | new) | {"www/foreign.txt": b"x"})
    first = run(s3, old, new, now=0.0)
    assert first.status == prune.STATUS_PRUNED and first.scheduled == 100_000
    assert s3.batches == []
    second = run(s3, new, new, now=DAY)
    assert second.pruned == 100_000 and second.left_behind == 0
    assert s3.batches == [1000] * 100
    assert set(s3.objects) == {*(f"www/{k}" for k in new), "www/foreign.txt", STATE_KEY}
    assert len(s3.state()) == 0


def test_no_time_left_leaves_the_rest_with_their_stamps_for_the_next_deploy() -> None:
    old = {f"{n}.js" for n in range(2500)}
    s3 = MemoryS3(site(old | {"index.html"}))
    run(s3, old | {"index.html"}, {"index.html"}, now=0.0)
    ticks = iter([DAY + 1, DAY + 100, DAY + 100])  # stop_at passes after one batch
    outcome = run(s3, {"index.html"}, {"index.html"}, now=DAY, stop_at=DAY + 50,
                  clock=lambda: next(ticks))
    assert outcome.status == prune.STATUS_PARTIAL and "no time left" in outcome.problem
    assert outcome.pruned == 1000 and outcome.left_behind == 1500
    assert set(s3.state().replaced.values()) == {0.0}  # the stamps they had
    later = run(s3, {"index.html"}, {"index.html"}, now=DAY + 60)
    assert later.pruned == 1500 and set(s3.objects) == {"www/index.html", STATE_KEY}


def test_keys_s3_could_not_delete_stay_scheduled_and_the_rest_goes() -> None:
    old = {"a.js", "b.js", "c.js"}
    s3 = MemoryS3(site(old | {"index.html"}))
    run(s3, old | {"index.html"}, {"index.html"}, now=0.0)
    s3.fail_keys = {"www/b.js"}
    outcome = run(s3, {"index.html"}, {"index.html"}, now=DAY)
    assert (outcome.pruned, outcome.left_behind) == (2, 1)
    assert "InternalError" in outcome.problem and s3.state().replaced == {"b.js": 0.0}


def test_access_denied_stops_after_the_first_batch_and_keeps_everything_scheduled() -> None:
    old = {f"{n}.js" for n in range(3000)}
    s3 = MemoryS3(site(old))
    run(s3, old, set(), now=0.0)
    s3.deny = True
    outcome = run(s3, set(), set(), now=DAY)
    assert s3.batches == [1000] and outcome.left_behind == 3000 and outcome.pruned == 0
    assert len(s3.state()) == 3000


def test_a_damaged_state_is_replaced_and_nothing_it_listed_is_deleted() -> None:
    s3 = MemoryS3(site({"old.js", "index.html"}) | {STATE_KEY: b"{not json"})
    outcome = run(s3, {"index.html"}, {"index.html"}, now=DAY)
    assert outcome.status == prune.STATUS_PARTIAL and "started afresh" in outcome.problem
    assert "www/old.js" in s3.objects and len(s3.state()) == 0


def test_a_deploy_marked_missed_makes_the_next_one_hold_and_restamp() -> None:
    s3 = MemoryS3(site({"a.js", "b.js"}))
    run(s3, {"a.js", "b.js"}, {"b.js"}, now=0.0)  # a.js scheduled at 0
    assert prune.mark_missed(s3, SPEC, state_key=STATE_KEY) == ""  # type: ignore[arg-type]
    assert s3.state().seen == prune_plan.SEEN_MISSED
    held = run(s3, {"b.js"}, {"b.js"}, now=10 * DAY)
    assert held.status == prune.STATUS_HELD and held.pruned == 0 and "www/a.js" in s3.objects
    assert s3.state().replaced == {"a.js": 10 * DAY}


def test_marking_with_no_state_writes_nothing_and_a_denied_mark_never_raises() -> None:
    s3 = MemoryS3(site({"a.js"}))
    assert prune.mark_missed(s3, SPEC, state_key=STATE_KEY) == ""  # type: ignore[arg-type]
    assert STATE_KEY not in s3.objects

    class Denied(MemoryS3):
        def list_objects_v2(self, **kwargs: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}},
                              "ListObjectsV2")

    problem = prune.mark_missed(Denied({}), SPEC, state_key=STATE_KEY)  # type: ignore[arg-type]
    assert "AccessDenied" in problem


def test_a_missed_deploy_that_served_the_very_keys_the_state_saw_needs_no_mark() -> None:
    s3 = MemoryS3(site({"a.js", "b.js"}))
    run(s3, {"a.js", "b.js"}, {"b.js"}, now=0.0)
    before = s3.state()
    assert prune.mark_missed(s3, SPEC, state_key=STATE_KEY, served={"b.js"}) == ""  # type: ignore[arg-type]
    assert s3.state() == before
    prune.mark_missed(s3, SPEC, state_key=STATE_KEY, served={"a.js", "b.js"})  # type: ignore[arg-type]
    assert s3.state().seen == prune_plan.SEEN_MISSED


@pytest.mark.xfail(strict=True, reason="not fixed: two resources of raw templates (or two apps, "
                   "or a pipeline and a stack) pruning one folder are refused only at synth within "
                   "one app; at run time A deletes a file it replaced that B still serves. A fix: "
                   "hold when another prune-state object exists in the folder (needs an escape "
                   "for an orphan state left by a renamed resource)")
def test_two_resources_pruning_one_folder_never_delete_each_others_live_files() -> None:
    a_v1, a_v2, b_v1 = {"index.html", "shared.css"}, {"index.html"}, {"blog.html", "shared.css"}
    s3 = MemoryS3(site(a_v1 | b_v1))
    b_key = SPEC.state_key("stack|OtherSite")
    prune.run(s3, SPEC, state_key=b_key, old=None, new=b_v1, now=0.0)  # type: ignore[arg-type]
    run(s3, a_v1, a_v2, now=0.0)
    run(s3, a_v2, a_v2, now=10 * DAY)
    assert "www/shared.css" in s3.objects  # B's page still links it
