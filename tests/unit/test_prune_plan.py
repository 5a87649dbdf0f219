"""What a prune deletes and keeps, given the manifests, the state, the time and retention."""

from __future__ import annotations

import pytest

from cloudfront_purge.model import prune
from cloudfront_purge.prune import plan as prune_plan
from cloudfront_purge.prune import run as prune_run
from cloudfront_purge.prune.plan import PruneState, plan_prune

DAY = 86400.0
V1 = {"index.html", "a.1111.js", "style.1111.css", "logo.png"}
V2 = {"index.html", "a.2222.js", "style.1111.css", "logo.png"}
V3 = {"index.html", "a.3333.js", "style.3333.css", "logo.png"}


def deploy(state: PruneState, old: set[str] | None, new: set[str], now: float,
           keep: float = DAY, **kw: object) -> prune_plan.PrunePlan:
    return plan_prune(state, old=old, new=new, now=now, keep_seconds=keep, **kw)  # type: ignore[arg-type]


def test_a_replaced_file_is_kept_for_its_retention_then_deleted_at_a_later_deploy() -> None:
    first = deploy(PruneState(), V1, V2, now=1000.0)
    assert first.delete == () and first.state.replaced == {"a.1111.js": 1000.0}
    # A deploy before the retention ends keeps it (and schedules what it replaces).
    early = deploy(first.state, V2, V3, now=1000.0 + DAY - 1)
    assert early.delete == ()
    assert set(early.state.replaced) == {"a.1111.js", "a.2222.js", "style.1111.css"}
    # Once it ended, the next deploy deletes it; the ones just replaced stay.
    late = deploy(early.state, V3, V3, now=1000.0 + DAY)
    assert late.delete == ("a.1111.js",)
    assert set(late.state.replaced) == {"a.2222.js", "style.1111.css"}


def test_a_file_of_the_current_version_is_never_deleted_whatever_the_state_says() -> None:
    stale = PruneState({"index.html": 0.0, "logo.png": 0.0, "gone.js": 0.0})
    plan = deploy(stale, V1, V1, now=10 * DAY)
    assert plan.delete == ("gone.js",)
    assert "index.html" not in plan.state.replaced and "logo.png" not in plan.state.replaced


def test_a_file_the_previous_version_served_is_never_deleted_by_this_deploy() -> None:
    # Even with no retention at all, old pages still cached need their files until the
    # next deploy: the previous version's keys wait one deploy at least.
    stale = PruneState({"a.1111.js": 0.0})
    plan = deploy(stale, V1, V2, now=10 * DAY, keep=0)
    assert plan.delete == ()
    assert plan.state.replaced == {"a.1111.js": 10 * DAY}
    assert deploy(plan.state, V2, V2, now=10 * DAY, keep=0).delete == ("a.1111.js",)


def test_a_revert_cancels_the_deletion_of_every_file_it_brings_back() -> None:
    v2 = deploy(PruneState(), V1, V2, now=0.0)  # a.1111.js scheduled
    back = deploy(v2.state, V2, V1, now=DAY / 2)  # v1 again: a.1111.js is live
    assert "a.1111.js" not in back.state.replaced
    assert back.state.replaced == {"a.2222.js": DAY / 2}
    # Long after, with v1 still live, nothing of v1 is ever deleted.
    later = deploy(back.state, V1, V1, now=30 * DAY)
    assert later.delete == ("a.2222.js",) and not set(later.delete) & V1


def test_a_stale_stamp_never_shortens_the_retention_of_a_file_replaced_again() -> None:
    # a.1111.js was scheduled long ago, came back live (the state write failed), and is
    # replaced again now: its retention counts from now.
    stale = PruneState({"a.1111.js": 0.0})
    plan = deploy(stale, V1, V2, now=100 * DAY)
    assert plan.state.replaced["a.1111.js"] == 100 * DAY and plan.delete == ()


def test_a_rollback_deletes_nothing_and_reschedules() -> None:
    v2 = deploy(PruneState({"old.js": 0.0}), V1, V2, now=10 * DAY)
    assert v2.delete == ("old.js",)
    # The update to v2 failed later: CloudFormation sends v2 -> v1.
    rollback = deploy(v2.state, V2, V1, now=10 * DAY + 60, may_delete=False,
                      hold_reason="rollback")
    assert rollback.delete == () and rollback.hold_reason == "rollback"
    assert rollback.state.replaced == {"a.2222.js": 10 * DAY + 60}


def test_nothing_is_deleted_when_the_previous_manifest_is_unknown() -> None:
    plan = deploy(PruneState({"old.js": 0.0}), None, V1, now=10 * DAY)
    assert plan.delete == () and "not known" in plan.hold_reason
    # Restamped: whatever served it since 0.0 is not known either.
    assert plan.state.replaced == {"old.js": 10 * DAY}


def test_only_keys_a_manifest_named_are_ever_planned_and_never_the_state_folder() -> None:
    state = PruneState({f"{prune.STATE_FOLDER}x.json": 0.0, "old.js": 0.0})
    plan = deploy(state, V1, V1, now=10 * DAY)
    assert plan.delete == ("old.js",)


def test_a_site_of_100000_files_is_planned_in_batches_of_1000() -> None:
    old = {f"assets/{n}.v1.js" for n in range(100_000)}
    new = {f"assets/{n}.v2.js" for n in range(100_000)}
    first = deploy(PruneState(), old, new, now=0.0)
    second = deploy(first.state, new, new, now=DAY)
    assert len(second.delete) == 100_000 and second.state.replaced == {}
    sizes = [len(b) for b in prune_plan.batches(second.delete, prune_run.DELETE_BATCH)]
    assert sizes == [1000] * 100


def test_the_state_round_trips_and_a_bad_one_is_refused() -> None:
    state = PruneState({"b.js": 2.0, "a.js": 1.5})
    assert prune_plan.loads(prune_plan.dumps(state)) == state
    assert prune_plan.dumps(state) == prune_plan.dumps(prune_plan.loads(prune_plan.dumps(state)))
    for bad in (b"nope", b"{}", b'{"format":"cloudfront-purge-prune-state","version":9}',
                b'{"format":"cloudfront-purge-prune-state","version":1,"replaced":{"a":"x"}}'):
        with pytest.raises(prune_plan.PruneStateError):
            prune_plan.loads(bad)


def test_a_state_that_missed_a_deploy_deletes_nothing_until_it_has_caught_up() -> None:
    # v1 -> v2 scheduled a.1111.js; v2 -> v3 ran without updating the state (the prune was
    # off, or its write failed). The state cannot know what served what in between (a
    # revert to v1 among them served a.1111.js until just now): it holds and restamps, and
    # a deploy after a full retention from then deletes.
    first = deploy(PruneState(), V1, V2, now=0.0)
    missed = deploy(first.state, V3, V3, now=30 * DAY)
    assert missed.delete == () and "missed a deploy" in missed.hold_reason
    assert missed.state.replaced == {"a.1111.js": 30 * DAY}
    too_soon = deploy(missed.state, V3, V3, now=30 * DAY + 1)
    assert too_soon.delete == () and too_soon.hold_reason == ""
    caught_up = deploy(too_soon.state, V3, V3, now=31 * DAY)
    assert caught_up.delete == ("a.1111.js",)


def test_the_state_records_which_version_it_last_saw() -> None:
    plan = deploy(PruneState(), V1, V2, now=0.0)
    assert plan.state.seen == prune_plan.key_set_digest(V2)
    assert prune_plan.loads(prune_plan.dumps(plan.state)).seen == plan.state.seen
    assert prune_plan.key_set_digest(["b", "a", "a"]) == prune_plan.key_set_digest(["a", "b"])


def test_a_stale_retried_leg_of_an_old_deploy_never_gets_a_live_file_deleted() -> None:
    # v1 -> v2 -> v1 (revert) ran normally; then a retried invocation of v1 -> v2's last
    # leg (Lambda's asynchronous retry) prunes with that old event, after the revert.
    v2 = deploy(PruneState(), V1, V2, now=0.0)
    revert = deploy(v2.state, V2, V1, now=DAY)
    stale = deploy(revert.state, V1, V2, now=2 * DAY)
    assert stale.delete == ()  # v1's files were its "old": needed
    # v1 is what is served; every deploy after it, whatever the retention, keeps v1's files.
    state, served = stale.state, V1
    for n, new in enumerate((V1, V3, V3), start=3):
        plan = deploy(state, served, new, now=n * 10 * DAY, keep=0)
        assert not set(plan.delete) & (served | new)
        state, served = plan.state, new


def test_another_writers_state_in_the_folder_holds_every_deploy_and_restamps() -> None:
    scheduled = deploy(PruneState(), V1, V2, now=0.0).state  # a.1111.js at 0
    other = [("www/.cloudfront-purge/prune-state-0123456789abcdef0123.json", "2026-11-02")]
    held = deploy(scheduled, V2, V2, now=30 * DAY, sharing=other)
    assert held.delete == () and held.state.replaced == {"a.1111.js": 30 * DAY}
    assert "prune-state-0123456789abcdef0123.json, written 2026-11-02" in held.hold_reason
    # Its reason wins over the one-off ones: it lasts until a person acts.
    create = deploy(PruneState(), None, V1, now=0.0, sharing=other)
    assert "another prune state shares this folder" in create.hold_reason
    # Gone (deleted by hand, or by its resource's Delete): a retention after the hold.
    assert deploy(held.state, V2, V2, now=30 * DAY + 1).delete == ()
    assert deploy(held.state, V2, V2, now=31 * DAY).delete == ("a.1111.js",)


def test_the_shared_folder_reason_fits_prune_problem_whatever_the_prefix() -> None:
    long_prefix = "x" * 200 + "/"
    spec = prune.PruneSpec("site", long_prefix, 0)
    others = [(spec.state_key(f"stack|Site{n}"), "2026-11-02") for n in range(1000)]
    reason = prune_plan.shared_folder_reason(others)
    assert len(reason) <= prune_run.MAX_PROBLEM_CHARS and ", +999 more" in reason
    assert others[0][0].removeprefix(spec.state_folder) in reason
    assert "written" not in prune_plan.shared_folder_reason([(others[0][0], "")])


def test_a_state_records_its_owner_and_reads_one_written_before_owners_existed() -> None:
    owned = PruneState({"a.js": 1.0}, seen="s", owner=prune_plan.owner_digest("Purge-1"))
    assert prune_plan.loads(prune_plan.dumps(owned)) == owned
    assert len(owned.owner) == 20 and "Purge" not in prune_plan.dumps(owned)
    before = '{"format":"cloudfront-purge-prune-state","replaced":{},"seen":"s","version":1}'
    assert prune_plan.loads(before).owner == "" and prune_plan.dumps(PruneState(seen="s")) == before
    with pytest.raises(prune_plan.PruneStateError, match='"owner" must be a string'):
        prune_plan.loads(before.replace('"seen"', '"owner":1,"seen"'))
