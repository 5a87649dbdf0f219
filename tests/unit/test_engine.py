"""The purge engine on a virtual clock: waits, retries, capacity, failures, hand-off."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from cloudfront_purge import engine
from cloudfront_purge.model import rules
from cloudfront_purge.model.errors import PurgeFailed, PurgeTimeout
from tests.support.engine import run, spec
from tests.support.fakes import FakeClock, FakeCloudFront, client_error


def test_waits_until_completed_and_notices_within_a_poll() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 31.0)
    start = clock.now
    result = run(cf, clock, spec())
    assert result.finished and result.status == "Completed"
    job = result.jobs[0]
    assert job.completed_at is not None
    late = job.completed_at - (start + 31.0)
    assert 0 <= late <= 3.0  # the promise: SUCCESS within seconds of Completed, not 20 s
    # Far fewer status calls than one per second of waiting; far more often than every 20 s.
    assert 31 / 2.8 <= cf.calls["GetInvalidation"] <= 31 / 1.0 + 2


def test_not_waiting_finishes_once_accepted() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 300.0)
    result = run(cf, clock, spec(wait=False))
    assert result.finished and result.status == "InProgress"
    assert cf.calls.get("GetInvalidation", 0) == 0
    assert clock.now - 1_000_000.0 < 1


def test_same_request_twice_makes_one_invalidation_a_new_request_makes_another() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 5.0)
    first = run(cf, clock, spec(), request_id="req-A")
    again = run(cf, clock, spec(), request_id="req-A")
    other = run(cf, clock, spec(), request_id="req-B")
    assert first.invalidation_ids == again.invalidation_ids
    assert other.invalidation_ids != first.invalidation_ids
    assert len(cf.invalidations) == 2


def test_reused_reference_answered_with_invalid_argument_is_resumed_not_failed() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 5.0, reused_reference_error=True)
    first = run(cf, clock, spec(), request_id="req-A")
    events: list[str] = []
    again = run(cf, clock, spec(), request_id="req-A", events=events)
    assert again.invalidation_ids == first.invalidation_ids
    assert "resumed" in events
    assert len(cf.invalidations) == 1


def test_throttling_and_connection_errors_back_off_and_succeed() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 5.0)
    cf.faults["CreateInvalidation"] = [client_error("Throttling", "CreateInvalidation", 400, "Rate exceeded"),
                                       client_error("ServiceUnavailable", "CreateInvalidation", 503),
                                       EndpointConnectionError(endpoint_url="https://cloudfront")]
    cf.faults["GetInvalidation"] = [client_error("Throttling", "GetInvalidation")] * 3
    events: list[str] = []
    result = run(cf, clock, spec(), events=events)
    assert result.status == "Completed"
    assert len(cf.invalidations) == 1
    assert events.count("retry:Throttling") == 4
    assert "retry:ServiceUnavailable" in events and "retry:EndpointConnectionError" in events
    # Backoff grows: the sleeps after repeated throttles are not a fixed step.
    assert len(set(round(s, 3) for s in clock.sleeps)) > 3


@pytest.mark.parametrize(("code", "status"), [("NoSuchDistribution", 404),
                                              ("InconsistentQuantities", 400), ("BatchTooLarge", 413)])
def test_terminal_errors_fail_at_once_naming_distribution_call_and_error(code: str, status: int) -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock)
    cf.faults["CreateInvalidation"] = [client_error(code, "CreateInvalidation", status, "nope")]
    with pytest.raises(PurgeFailed) as info:
        run(cf, clock, spec())
    text = str(info.value)
    assert "EDIST1" in text and "CreateInvalidation" in text and code in text
    assert clock.now - 1_000_000.0 < 1


def test_one_failing_distribution_fails_the_purge_after_the_others_complete() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 30.0)
    with pytest.raises(PurgeFailed) as info:
        run(cf, clock, spec(dists=("EDIST1", "EGONE", "EDIST2")))
    err = info.value
    assert "EGONE" in str(err) and "NoSuchDistribution" in str(err)
    assert err.succeeded == ("EDIST1", "EDIST2")
    # The healthy two were waited on to Completed before the answer.
    assert clock.now >= 1_000_000.0 + 30.0
    assert len(cf.invalidations) == 2


def test_deadline_fails_naming_invalidation_and_status() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 10_000.0)
    with pytest.raises(PurgeTimeout) as info:
        run(cf, clock, spec(), timeout=60)
    assert "I0001 InProgress" in str(info.value) and "EDIST1" in str(info.value)
    assert 60 <= clock.now - 1_000_000.0 <= 61


def test_stop_at_returns_unfinished_and_known_ids_resume_without_a_new_invalidation() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 100.0)
    first = run(cf, clock, spec(), stop_at=clock.now + 20)
    assert not first.finished and first.known
    creates = cf.calls["CreateInvalidation"]
    second = run(cf, clock, spec(), known=first.known)
    assert second.finished and second.invalidation_ids == first.invalidation_ids
    assert cf.calls["CreateInvalidation"] == creates


def test_batches_over_the_in_progress_limit_wait_for_capacity_then_all_complete() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 60.0)
    paths = tuple(f"/file-{i}.html" for i in range(7500))
    events: list[str] = []
    result = run(cf, clock, spec(paths=paths), events=events, timeout=900)
    assert result.status == "Completed"
    assert len(cf.invalidations) == 3
    assert "blocked" in events
    # Never more than 3,000 files in progress at once: each batch started after the last ended.
    starts = sorted(i.created for i in cf.invalidations)
    assert starts[1] >= starts[0] + 60 and starts[2] >= starts[1] + 60
    # Ideal is 3 sequential waits of 60 s; capacity checks cost at most a few seconds each.
    assert clock.now - 1_000_000.0 <= 3 * 60 + 3 * 5 + 5


def test_someone_elses_invalidations_hold_capacity_until_they_finish() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 50.0, max_wildcards=15)
    cf.create_invalidation(DistributionId="EDIST1", InvalidationBatch={
        "Paths": {"Quantity": 15, "Items": [f"/other{i}/*" for i in range(15)]}, "CallerReference": "someone-else"})
    result = run(cf, clock, spec(paths=("/mine/*",)))
    assert result.status == "Completed"
    mine = cf.invalidations[1]
    assert mine.created >= cf.invalidations[0].done_at
    assert cf.calls["ListInvalidations"] >= 1


def test_a_redelivered_event_keeps_the_original_deadline() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 10_000.0)
    first = clock.now
    with pytest.raises(PurgeTimeout):
        run(cf, clock, spec(), request_id="req-A", timeout=100)
    # The Lambda crashed and the same event comes again 30 s later: it resumes the same
    # invalidation, and gives up 100 s after that invalidation began, not 100 s from now.
    clock.now = first + 130
    with pytest.raises(PurgeTimeout):
        run(cf, clock, spec(), request_id="req-A", timeout=100)
    assert clock.now - first < 135
    assert len(cf.invalidations) == 1


def test_timeout_reason_names_the_last_error_when_nothing_was_accepted() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock)
    cf.faults["CreateInvalidation"] = [client_error("ServiceUnavailable", "CreateInvalidation", 503, "Try later")
                                       for _ in range(10_000)]
    with pytest.raises(PurgeTimeout) as info:
        run(cf, clock, spec(), timeout=300)
    reason = str(info.value)
    assert "ServiceUnavailable: Try later" in reason and "(not accepted)" in reason
    assert "goes on" not in reason  # there is no invalidation to go on


def test_the_engine_stops_within_one_call_of_stop_at() -> None:
    """A hung call near the end of a leg leaves the hand-off its time: the engine stops
    within one call's worst time of stop_at."""
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 3600.0)

    class SlowGets:
        def __init__(self) -> None:
            self.create_invalidation = cf.create_invalidation
            self.list_invalidations = cf.list_invalidations

        def get_invalidation(self, **kwargs: object) -> object:
            clock.now += 13.0  # connect (3 s) + read (10 s) timeouts, the worst one call takes
            return cf.get_invalidation(**kwargs)  # type: ignore[arg-type]

    stop_at = clock.now + 100
    jobs = engine.plan_jobs(spec(dists=("EDIST1", "EDIST2")), request_id="r1")
    result = engine.purge(SlowGets(), jobs, deadline=clock.now + 3000, timeout_seconds=3000,
                          stop_at=stop_at, clock=clock)
    assert not result.finished
    assert clock.now - stop_at <= 13.0


# --- ListInvalidations paging (one function: engine and CLI) ---------------------------------


def _fill(cf: FakeCloudFront, n: int, dist: str = "EDIST1", files: int = 1) -> None:
    for i in range(n):
        paths = [f"/old{i}/{k}" for k in range(files)]
        cf.create_invalidation(DistributionId=dist, InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": f"other-{i}"})


def test_listing_sends_no_marker_first_then_the_next_marker_cloudfront_gave() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 0.0)
    _fill(cf, 250)
    listed = [item["Id"] for item in engine.list_invalidations(cf, "EDIST1")]
    assert listed == [i.id for i in reversed(cf.invalidations)]
    # Stock moto answers an empty Marker with 400: the first page must carry none at all.
    assert cf.markers == [None, listed[99], listed[199]]


def test_listing_stops_at_max_items_without_asking_for_more_pages() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 0.0)
    _fill(cf, 250)
    assert len(list(engine.list_invalidations(cf, "EDIST1", max_items=120))) == 120
    assert cf.calls["ListInvalidations"] == 2
    cf.calls.clear()
    assert len(list(engine.list_invalidations(cf, "EDIST1", max_items=7))) == 7
    assert cf.calls["ListInvalidations"] == 1


def test_capacity_wait_reads_past_the_first_page_of_someone_elses_invalidations() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 40.0)
    _fill(cf, 150, files=20)  # 3,000 files in progress, listed over two pages
    events: list[str] = []
    result = run(cf, clock, spec(paths=tuple(f"/mine{i}" for i in range(100))), events=events)
    assert result.status == "Completed"
    assert "blocked" in events and "waiting_for_capacity" in events
    # Each capacity check read both pages, the first without a Marker.
    assert cf.markers[0] is None and len(cf.markers) >= 2 and "" not in cf.markers
    mine = cf.invalidations[-1]
    assert mine.created >= cf.invalidations[0].done_at


def test_reused_reference_is_found_on_a_later_page() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 5.0, reused_reference_error=True)
    first = run(cf, clock, spec(), request_id="req-A")
    _fill(cf, 130)  # newer invalidations push ours to the second page
    again = run(cf, clock, spec(), request_id="req-A")
    assert again.invalidation_ids == first.invalidation_ids
    assert cf.markers[0] is None and len(cf.markers) >= 2


# --- AccessDenied while IAM propagates ---------------------------------------------------------


def test_access_denied_while_a_grant_propagates_is_waited_out() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 5.0)
    cf.denied_until["EDIST1"] = clock.now + 20
    events: list[str] = []
    result = run(cf, clock, spec(), events=events)
    assert result.status == "Completed"
    assert len(cf.invalidations) == 1
    assert "waiting_for_iam" in events
    # Noticed within the retry cap once the grant applied, not at the window's end.
    assert cf.invalidations[0].created - (1_000_000.0 + 20) <= engine.IAM_RETRY_CAP_SECONDS


def test_access_denied_past_the_window_fails_with_the_advice() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock)
    cf.denied_until["EDIST1"] = float("inf")
    with pytest.raises(PurgeFailed) as info:
        run(cf, clock, spec())
    reason = str(info.value)
    assert "EDIST1: CreateInvalidation failed with AccessDenied" in reason
    assert "grant cloudfront:CreateInvalidation" in reason and "denied for 60 s" in reason
    waited = clock.now - 1_000_000.0
    assert engine.IAM_PROPAGATION_WINDOW_SECONDS <= waited <= engine.IAM_PROPAGATION_WINDOW_SECONDS + 1


def test_no_such_distribution_is_not_waited_for() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock)
    with pytest.raises(PurgeFailed, match="ENOPE: CreateInvalidation failed with NoSuchDistribution"):
        run(cf, clock, spec(dists=("ENOPE",)))
    assert clock.now - 1_000_000.0 < 1
    assert cf.calls["CreateInvalidation"] == 1


def test_the_iam_window_counts_from_the_first_call_even_across_a_hand_off() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock)
    cf.denied_until["EDIST1"] = float("inf")
    start = clock.now
    first = run(cf, clock, spec(), stop_at=clock.now + 40)
    assert not first.finished and first.first_calls == {"EDIST1": start}
    with pytest.raises(PurgeFailed, match="AccessDenied"):
        run(cf, clock, spec(), first_calls=first.first_calls)
    assert clock.now - start <= engine.IAM_PROPAGATION_WINDOW_SECONDS + 1


def test_a_shorter_iam_window_is_honoured() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock)
    cf.denied_until["EDIST1"] = float("inf")
    jobs = engine.plan_jobs(spec(), request_id="r")
    with pytest.raises(PurgeFailed, match="AccessDenied"):
        engine.purge(cf, jobs, deadline=clock.now + 600, timeout_seconds=600, clock=clock,
                     timing=engine.Timing(iam_wait=5.0))
    assert clock.now - 1_000_000.0 <= 5.5


# --- NoSuchInvalidation right after CreateInvalidation ----------------------------------------


def test_an_invalidation_not_visible_yet_is_polled_again() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 12.0, invisible_for=6.0)
    events: list[str] = []
    result = run(cf, clock, spec(), events=events)
    assert result.status == "Completed"
    assert "not_visible_yet" in events and len(cf.invalidations) == 1


def test_an_invalidation_that_never_appears_fails_with_advice_after_the_window() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 12.0, invisible_for=10_000.0)
    with pytest.raises(PurgeFailed) as info:
        run(cf, clock, spec())
    reason = str(info.value)
    assert "GetInvalidation failed with NoSuchInvalidation" in reason and "I0001" not in reason.split(":")[0]
    assert "cloudfront-invalidate list/show" in reason
    waited = clock.now - 1_000_000.0
    window = engine.NEW_INVALIDATION_VISIBILITY_SECONDS
    assert window <= waited <= window + 2 * engine.Timing().backoff_cap


def test_no_such_invalidation_for_an_id_we_never_made_is_terminal_at_once() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock)
    first = run(cf, clock, spec(), stop_at=clock.now + 0.5)
    # A continuation naming an id CloudFront does not know, from a leg long ago.
    clock.now += 3600
    known = {ref: "IGONE" for ref in first.known}
    with pytest.raises(PurgeFailed, match="NoSuchInvalidation"):
        run(cf, clock, spec(), known=known, first_calls=first.first_calls)
    assert clock.now - (1_000_000.0 + 3600) < 1


def test_plan_jobs_covers_distributions_then_tenants_each_with_its_own_reference() -> None:
    spec = rules.parse_properties({
        "DistributionIds": ["E1"], "DistributionTenantIds": ["dt_a1", "dt_b2"],
        "Paths": ["/*", "#release"], "SourceHash": "h1",
    })  # fmt: skip
    jobs = engine.plan_jobs(spec, request_id="req")
    assert [(j.distribution_id, j.tenant) for j in jobs] == [("E1", False), ("dt_a1", True), ("dt_b2", True)]
    assert [j.target for j in jobs] == ["distribution E1", "distribution tenant dt_a1", "distribution tenant dt_b2"]
    assert len({j.caller_reference for j in jobs}) == 3
    assert jobs[1].caller_reference == engine.plan_jobs(spec, request_id="req")[1].caller_reference
