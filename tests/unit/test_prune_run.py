"""prune_run.run against an in-memory S3: batches of 1,000, time limits, per-key errors, and what
is left for the next deploy (with the stamps it had)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cloudfront_purge.model import prune
from cloudfront_purge.prune import plan as prune_plan
from cloudfront_purge.prune import run as prune_run

DAY = 86400.0
SPEC = prune.PruneSpec(bucket="site", key_prefix="www/", keep_seconds=int(DAY))
STATE_KEY = SPEC.state_key("stack|Purge")


class MemoryS3:
    """The six calls the prune makes, on a dict; ``fail_keys`` answer per-key errors,
    ``deny`` makes DeleteObjects and DeleteObject raise AccessDenied. Every object was
    last written on ``WRITTEN``."""

    WRITTEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = dict(objects)
        self.batches: list[int] = []
        self.fail_keys: set[str] = set()
        self.deny = False

    def list_objects_v2(self, *, Bucket: str, Prefix: str, MaxKeys: int) -> dict[str, Any]:
        keys = sorted(k for k in self.objects if k.startswith(Prefix))[:MaxKeys]
        return {"Contents": [{"Key": k, "LastModified": self.WRITTEN} for k in keys]}

    def delete_object(self, *, Bucket: str, Key: str) -> None:
        if self.deny:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}},
                              "DeleteObject")
        self.objects.pop(Key, None)

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
        **kwargs: Any) -> prune_run.PruneOutcome:
    return prune_run.run(s3, SPEC, state_key=STATE_KEY, old=old, new=new, now=now,  # type: ignore[arg-type]
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
    assert prune_run.mark_missed(s3, SPEC, state_key=STATE_KEY) == ""  # type: ignore[arg-type]
    assert s3.state().seen == prune_plan.SEEN_MISSED
    held = run(s3, {"b.js"}, {"b.js"}, now=10 * DAY)
    assert held.status == prune.STATUS_HELD and held.pruned == 0 and "www/a.js" in s3.objects
    assert s3.state().replaced == {"a.js": 10 * DAY}


def test_marking_with_no_state_writes_nothing_and_a_denied_mark_never_raises() -> None:
    s3 = MemoryS3(site({"a.js"}))
    assert prune_run.mark_missed(s3, SPEC, state_key=STATE_KEY) == ""  # type: ignore[arg-type]
    assert STATE_KEY not in s3.objects

    class Denied(MemoryS3):
        def list_objects_v2(self, **kwargs: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}},
                              "ListObjectsV2")

    problem = prune_run.mark_missed(Denied({}), SPEC, state_key=STATE_KEY)  # type: ignore[arg-type]
    assert "AccessDenied" in problem


def test_a_missed_deploy_that_served_the_very_keys_the_state_saw_needs_no_mark() -> None:
    s3 = MemoryS3(site({"a.js", "b.js"}))
    run(s3, {"a.js", "b.js"}, {"b.js"}, now=0.0)
    before = s3.state()
    assert prune_run.mark_missed(s3, SPEC, state_key=STATE_KEY, served={"b.js"}) == ""  # type: ignore[arg-type]
    assert s3.state() == before
    prune_run.mark_missed(s3, SPEC, state_key=STATE_KEY, served={"a.js", "b.js"})  # type: ignore[arg-type]
    assert s3.state().seen == prune_plan.SEEN_MISSED


B_KEY = SPEC.state_key("stack|OtherSite")
A_V1, A_V2, B_V1 = {"index.html", "shared.css"}, {"index.html"}, {"blog.html", "shared.css"}


def two_sites() -> MemoryS3:
    """A (this test's STATE_KEY) and B (B_KEY) serve from one folder; both link shared.css.
    A's v2 dropped it at 0."""
    s3 = MemoryS3(site(A_V1 | B_V1))
    prune_run.run(s3, SPEC, state_key=B_KEY, old=None, new=B_V1, now=0.0)  # type: ignore[arg-type]
    run(s3, A_V1, A_V2, now=0.0)
    return s3


def test_two_resources_pruning_one_folder_never_delete_each_others_live_files() -> None:
    s3 = two_sites()
    held = run(s3, A_V2, A_V2, now=10 * DAY)
    assert "www/shared.css" in s3.objects  # B's page still links it
    assert held.status == prune.STATUS_HELD and held.pruned == 0
    # A's schedule is kept, restamped: its retention runs again once the folder is A's.
    assert s3.state().replaced == {"shared.css": 10 * DAY}


def test_the_hold_names_the_other_state_and_what_a_person_can_do() -> None:
    s3 = two_sites()
    attributes = run(s3, A_V2, A_V2, now=10 * DAY).attributes()
    problem = attributes[prune.ATTR_PRUNE_PROBLEM]
    # The whole advice fits the attribute (PruneProblem is cut at 200 characters).
    assert len(problem) <= prune_run.MAX_PROBLEM_CHARS and not problem.endswith("…")
    assert B_KEY.removeprefix("www/.cloudfront-purge/") in problem
    assert "written 2026-11-02" in problem
    assert "own prefix" in problem and "delete that state if its resource is gone" in problem


def test_the_hold_is_a_warning_log_line_with_the_other_states_and_the_advice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s3 = two_sites()
    caplog.clear()
    run(s3, A_V2, A_V2, now=10 * DAY)
    (line,) = [r for r in caplog.records if r.getMessage() == "prune"]
    assert line.levelname == "WARNING" and line.other_states == [B_KEY]
    assert "aws s3 rm" in line.advice and "orphan" in line.advice


def test_an_orphan_state_deleted_by_hand_lets_the_next_deploys_prune_after_retention() -> None:
    s3 = two_sites()
    run(s3, A_V2, A_V2, now=10 * DAY)  # held, restamped
    del s3.objects[B_KEY]  # B's resource is gone: a person removes its state
    early = run(s3, A_V2, A_V2, now=10 * DAY + 1)
    assert early.status == prune.STATUS_PRUNED and "www/shared.css" in s3.objects
    later = run(s3, A_V2, A_V2, now=11 * DAY)
    assert later.pruned == 1 and "www/shared.css" not in s3.objects


def test_only_prune_state_objects_in_the_same_folder_hold_the_prune() -> None:
    s3 = MemoryS3(site({"a.js", "index.html"}) | {
        "www/.cloudfront-purge/notes.txt": b"x",  # not a state
        "www/.cloudfront-purge/prune-state-x/old.json": b"x",  # not in the folder itself
        "blog/.cloudfront-purge/prune-state-0123.json": b"x",  # another folder
    })
    run(s3, {"a.js", "index.html"}, {"index.html"}, now=0.0)
    outcome = run(s3, {"index.html"}, {"index.html"}, now=DAY)
    assert outcome.status == prune.STATUS_PRUNED and outcome.pruned == 1


def test_a_folder_that_cannot_be_listed_deletes_nothing_and_says_so() -> None:
    class NoFolderListing(MemoryS3):
        def list_objects_v2(self, *, Bucket: str, Prefix: str, MaxKeys: int) -> dict[str, Any]:
            if Prefix == STATE_KEY:
                return super().list_objects_v2(Bucket=Bucket, Prefix=Prefix, MaxKeys=MaxKeys)
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow"}}, "ListObjectsV2")

    s3 = NoFolderListing(site({"a.js", "index.html"}))
    run(s3, {"a.js", "index.html"}, {"index.html"}, now=0.0)
    outcome = run(s3, {"index.html"}, {"index.html"}, now=DAY)
    assert outcome.status == prune.STATUS_PARTIAL and outcome.pruned == 0
    assert "other prune states not listed" in outcome.problem and "SlowDown" in outcome.problem
    assert "www/a.js" in s3.objects


def test_a_delete_removes_its_own_state_and_no_site_file() -> None:
    s3 = MemoryS3(site({"a.js", "index.html"}))
    me = prune_plan.owner_digest("Purge-abc")
    run(s3, {"a.js", "index.html"}, {"index.html"}, now=0.0, owner=me)
    assert s3.state().owner == me
    assert prune_run.remove_state(s3, SPEC, state_key=STATE_KEY, owner=me) == ""  # type: ignore[arg-type]
    assert set(s3.objects) == {"www/a.js", "www/index.html"}
    # None left: nothing to do.
    assert prune_run.remove_state(s3, SPEC, state_key=STATE_KEY, owner=me) == ""  # type: ignore[arg-type]


def test_the_delete_of_a_replaced_resource_keeps_the_state_its_replacement_wrote() -> None:
    s3 = MemoryS3(site({"a.js", "index.html"}))
    run(s3, {"a.js", "index.html"}, {"index.html"}, now=0.0,
        owner=prune_plan.owner_digest("Purge-new"))
    old = prune_plan.owner_digest("Purge-old")
    assert prune_run.remove_state(s3, SPEC, state_key=STATE_KEY, owner=old) == ""  # type: ignore[arg-type]
    assert s3.state().replaced == {"a.js": 0.0}


@pytest.mark.parametrize("body", [b"{not json", prune_plan.dumps(prune_plan.PruneState(
    {"a.js": 0.0}, seen="x")).encode()], ids=["damaged", "written-before-owners"])
def test_a_delete_removes_a_state_of_its_key_that_names_no_owner(body: bytes) -> None:
    s3 = MemoryS3({STATE_KEY: body})
    assert prune_run.remove_state(s3, SPEC, state_key=STATE_KEY, owner="me") == ""  # type: ignore[arg-type]
    assert s3.objects == {}


def test_a_state_that_cannot_be_removed_is_a_problem_never_an_exception() -> None:
    s3 = MemoryS3(site({"a.js", "index.html"}))
    run(s3, {"a.js", "index.html"}, {"index.html"}, now=0.0, owner="me")
    s3.deny = True
    problem = prune_run.remove_state(s3, SPEC, state_key=STATE_KEY, owner="me")  # type: ignore[arg-type]
    assert "AccessDenied" in problem and STATE_KEY in s3.objects


def test_marking_a_missed_deploy_keeps_the_owner() -> None:
    s3 = MemoryS3(site({"a.js", "b.js"}))
    run(s3, {"a.js", "b.js"}, {"b.js"}, now=0.0, owner="me")
    prune_run.mark_missed(s3, SPEC, state_key=STATE_KEY)  # type: ignore[arg-type]
    assert s3.state().owner == "me" and s3.state().seen == prune_plan.SEEN_MISSED
