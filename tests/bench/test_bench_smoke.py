"""Smoke test of bench/: the pure parts of `python -m bench --quick`, on known data.

Asserts properties (batch counts, percentiles, table cells), never timings.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from bench import overhead, request, scale
from bench.__main__ import HERE, parse_args
from bench.report import Row, Section, fmt, fmt_ratio, render_document, render_row, render_section
from bench.stats import (
    BUCKET_DEPLOYMENT_MAX_ATTEMPTS,
    WAITER_DELAY_SECONDS,
    WAITER_MAX_ATTEMPTS,
    Goal,
    calls_per_two_seconds,
    fixed_interval_calls,
    fixed_interval_overhead,
    log_uniform_durations,
    percentile,
    poll_schedule,
    summarize,
    today_durations,
    would_fail,
)
from cloudfront_purge import engine
from localcloud.cloudfront import InvalidationRecord


def test_percentile_matches_linear_interpolation() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 0) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 100) == 4.0
    hundred = [float(i) for i in range(1, 101)]
    assert percentile(hundred, 95) == pytest.approx(95.05)
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarize() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert (s.count, s.median, s.max, s.mean) == (5, 3.0, 100.0, 22.0)
    assert 4.0 < s.p95 < 100.0


def test_durations_are_seeded_and_within_bounds() -> None:
    first = log_uniform_durations(80, seed=5)
    assert first == log_uniform_durations(80, seed=5)
    assert first != log_uniform_durations(80, seed=6)
    assert len(first) == 80
    assert all(5.0 <= d <= 900.0 for d in first)
    # Log-uniform: about as many below the geometric middle (~67 s) as above it.
    middle = math.sqrt(5.0 * 900.0)
    below = sum(d < middle for d in first)
    assert 25 <= below <= 55


def test_waiter_and_crhelper_models() -> None:
    # The waiter polls at once, then every 20 s.
    assert fixed_interval_overhead(5.0, WAITER_DELAY_SECONDS, first=0.0) == 15.0
    assert fixed_interval_overhead(20.0, WAITER_DELAY_SECONDS, first=0.0) == 0.0
    assert fixed_interval_overhead(21.0, WAITER_DELAY_SECONDS, first=0.0) == 19.0
    assert fixed_interval_calls(5.0, WAITER_DELAY_SECONDS, first=0.0) == 2
    # crhelper: first check one minute in, then every minute.
    assert fixed_interval_overhead(5.0, 60.0) == 55.0
    assert fixed_interval_overhead(60.0, 60.0) == 0.0
    assert fixed_interval_overhead(61.0, 60.0) == 59.0
    assert fixed_interval_calls(5.0, 60.0) == 1
    assert fixed_interval_calls(61.0, 60.0) == 2
    sim = overhead.simulate_crhelper([5.0, 61.0, 120.0])
    assert sim.overheads == [55.0, 59.0, 0.0]
    assert sim.calls == [1, 2, 2]


def test_poll_schedule_follows_the_engines_timing() -> None:
    # First look at 2 s, then every 1 s to 40 s, every 2 s to 120 s, then every 2.8 s.
    timing = engine.Timing()
    assert poll_schedule(0.5, timing.poll_delay) == (1.5, 1)
    assert poll_schedule(2.0, timing.poll_delay) == (0.0, 1)
    assert poll_schedule(40.0, timing.poll_delay) == (0.0, 39)
    lag, calls = poll_schedule(41.0, timing.poll_delay)
    assert (round(lag, 6), calls) == (1.0, 40)
    lag, calls = poll_schedule(121.0, timing.poll_delay)
    assert (round(lag, 6), calls) == (1.8, 80)
    lag, calls = poll_schedule(100.0, lambda _t: 20.0)  # the waiter, without its poll at 0
    assert (lag, calls) == (0.0, 5)


def test_waiter_give_ups() -> None:
    # BucketDeployment: 39 polls, the last at 760 s; the CLI: 30 polls, the last at 580 s.
    assert BUCKET_DEPLOYMENT_MAX_ATTEMPTS == 39
    assert not would_fail(760.0, WAITER_DELAY_SECONDS, BUCKET_DEPLOYMENT_MAX_ATTEMPTS)
    assert would_fail(761.0, WAITER_DELAY_SECONDS, BUCKET_DEPLOYMENT_MAX_ATTEMPTS)
    assert would_fail(600.0, WAITER_DELAY_SECONDS, WAITER_MAX_ATTEMPTS)
    assert overhead.waiter_give_ups([100.0, 700.0, 900.0]) == (1, 2)


def test_call_rate_and_goals() -> None:
    assert calls_per_two_seconds(10, 20.0) == 1.0
    assert calls_per_two_seconds(5, 20.0) == 0.5
    strict = Goal(1.0, "< 1 s")
    assert strict.met(0.99) and not strict.met(1.0)
    inclusive = Goal(1.0, "≤ 1", inclusive=True)
    assert inclusive.met(1.0) and not inclusive.met(1.01)
    assert strict.ratio(2.5) == 2.5
    none = Goal(0.0, "none", inclusive=True)
    assert none.met(0) and not none.met(1)
    assert none.ratio(0) == 0.0 and none.ratio(1) == math.inf


def test_sample_overheads_split_scaled_and_fixed_parts() -> None:
    sample = overhead.Sample(
        strategy="ours",
        index=0,
        duration=100.0,
        completes_at=1000.0,
        last_poll_at=1000.01,  # Completed sat unread 10 ms (scaled)
        arrived_at=1000.015,  # then 5 ms of round trip and PUT (real)
    )
    assert sample.overhead(0.01) == pytest.approx(1.5)
    assert sample.overhead_fixed_unscaled(0.01) == pytest.approx(1.0 + 0.005)
    # Completed while the detecting call was in flight: nothing was unread.
    in_flight = overhead.Sample(
        strategy="ours",
        index=0,
        duration=1.0,
        completes_at=10.0,
        last_poll_at=9.99,
        arrived_at=10.02,
    )
    assert in_flight.overhead_fixed_unscaled(0.01) == pytest.approx(0.02)


def test_duration_rule_maps_path_index_to_scaled_duration() -> None:
    rule = overhead.duration_rule([10.0, 300.0], 0.02)
    assert rule(["/bench/ours/1/index.html"]) == pytest.approx(6.0)
    assert rule(["/bench/baseline/0/index.html"]) == pytest.approx(0.2)
    assert rule(["/elsewhere"]) == 0.0


def test_table_formatting() -> None:
    assert fmt(None) == "—"
    assert fmt(0.4567, "s") == "0.457 s"
    assert fmt(2.0, "s") == "2.00 s"
    assert fmt(12.34, "s") == "12.3 s"
    assert fmt(2040.0, "s") == "2,040 s"
    assert fmt(34.0) == "34"
    assert fmt(0.0042, "s") == "0.0042 s"
    assert fmt_ratio(None) == "—"
    assert fmt_ratio(0.0512) == "0.05x"
    assert fmt_ratio(18.04) == "18.0x"
    assert fmt_ratio(0.00112) == "0.0011x"
    row = Row("Overhead, median", 0.62, 10.0, "s", Goal(1.0, "< 1 s"))
    assert row.verdict == "PASS"
    assert (
        render_row(row) == "| Overhead, median | 0.620 s | 10.0 s | 0.06x | < 1 s | 0.62x | PASS |"
    )
    failing = Row("Overhead, p95", 3.3, 19.0, "s", Goal(3.0, "< 3 s"))
    assert failing.verdict == "FAIL"
    assert render_row(failing).endswith("| < 3 s | 1.10x | FAIL |")
    plain = Row("Calls", 7.0, None, ours_text="1 · 2 | 3")
    assert render_row(plain) == "| Calls | 1 · 2 \\| 3 | — | — |  |  |  |"


def test_section_and_document_rendering() -> None:
    section = Section(
        "1. Signal overhead: details",
        rows=[Row("Overhead, median", 1.4, 10.0, "s", Goal(1.0, "< 1 s"))],
        notes=["a note"],
    )
    text = render_section(section)
    lines = text.splitlines()
    assert lines[0] == "## 1. Signal overhead: details"
    assert lines[2].startswith("| Metric | Ours | Baseline |")
    assert lines[-1] == "- a note"
    doc = render_document(title="T", sections=[section], preamble=["pre"], epilogue=["post"])
    assert doc.startswith("# T\n\npre\n")
    assert "- FAIL: 1. Signal overhead / Overhead, median: 1.40 s vs goal < 1 s (1.40x" in doc
    assert doc.rstrip().endswith("post")
    free = render_section(Section("Model", extra=["| a | b |", "|---|---|", "| 1 | 2 |"]))
    assert free.splitlines()[2:] == ["| a | b |", "|---|---|", "| 1 | 2 |"]


def test_scale_step_at_1000_paths() -> None:
    plan = scale.plan(1_000)
    assert plan.paths == plan.normalized == 1_000
    assert plan.batches == scale.ideal_batches(1_000) == 1
    assert plan.batch_sizes == (1_000,)
    assert len(set(scale.make_paths(1_000))) == 1_000


def test_batch_counts_follow_the_3000_file_limit() -> None:
    assert [scale.ideal_batches(n) for n in (1, 3_000, 3_001, 10_000, 100_000)] == [1, 1, 2, 4, 34]
    plan = scale.plan(10_000)
    assert plan.batches == 4
    assert plan.batch_sizes == (3_000, 3_000, 3_000, 1_000)
    assert scale.sizes_text(list(plan.batch_sizes)) == "3x3,000 + 1x1,000"


def test_quick_options() -> None:
    quick = parse_args(["--quick"])
    assert quick.quick and quick.factor == 0.01 and quick.scale_factor == 0.01
    assert quick.count < 10 and quick.scale_wait_sizes == (1_000,)
    assert not quick.write_committed
    full = parse_args([])
    assert full.factor == 0.1 and full.scale_factor == 0.025 and full.count >= 60
    assert full.scale_sizes == (1_000, 10_000, 100_000)
    assert full.write_committed
    assert parse_args(["--sections", "scale"]).write_committed is False
    assert HERE == Path(__file__).resolve().parents[2] / "bench"
    with pytest.raises(SystemExit):
        parse_args(["--sections", "nope"])


def test_today_profile_has_the_published_p95() -> None:
    durations = today_durations(400, seed=5)
    assert durations == today_durations(400, seed=5)
    assert durations != today_durations(400, seed=6)
    assert abs(percentile(durations, 95) - 25.0) < 1.0  # AWS: Completed < 25 s at P95
    assert abs(percentile(durations, 50) - 10.0) < 0.5
    assert min(durations) > 0
    with pytest.raises(ValueError, match="median < p95"):
        today_durations(3, median=30.0, p95=25.0)


def test_log_events_reads_lambdas_json_records_and_the_baselines() -> None:
    import logging

    from tests.support.fakes import lambda_json_logs

    logger = logging.getLogger("cloudfront_purge.resource.handler")
    with lambda_json_logs() as sink:  # the formatter Lambda runs for LogFormat JSON
        logger.info("purge", extra={"leg": 1, "paths": 2})
        logger.info("completed", extra={"invalidation": "I1", "waited_s": 12.0})
        logger.error({"event": "fallback_answer", "status": "FAILED"})
    ours = [line.rstrip("\n") for line in sink.lines]
    assert [json.loads(line)["message"] for line in ours][:2] == ["purge", "completed"]
    stamps = [request._log_time(json.loads(line)) for line in ours]
    assert all(s is not None and abs(s - time.time()) < 120 for s in stamps)

    baseline = '{"event": "completed", "at": 1800000012.5, "invalidation": "I1"}'
    platform = '{"time": "2027-01-15T08:00:00.000Z", "type": "platform.start", "record": {}}'
    text = "\n".join(["START RequestId: x", ours[0], "not json {", platform, baseline])
    # From text, a JSON record's time is its own timestamp (ISO-8601 UTC, whole seconds).
    assert request.log_events(text) == [
        ("purge", stamps[0]),
        ("completed", 1800000012.5),
    ]
    # From the local Lambda's log events, a record's time is when it arrived (as CloudWatch
    # stamps it); the baseline keeps its own ``at``.
    arrived = [(10.0, "START RequestId: x"), (10.25, ours[0]), (11.5, ours[1]), (12.0, baseline)]
    assert request.log_events(arrived) == [
        ("purge", 10.25),
        ("completed", 11.5),
        ("completed", 1800000012.5),
    ]
    # A record whose message is a dict names its event inside it.
    assert request.log_events([(13.0, ours[2])]) == [("fallback_answer", 13.0)]


def test_log_time_reads_lambdas_utc_timestamps() -> None:
    assert request._log_time({"timestamp": "2027-01-15T08:00:00Z"}) == 1800000000.0
    assert request._log_time({"timestamp": "2027-01-15T08:00:00.250Z"}) == 1800000000.25
    assert request._log_time({"timestamp": "15/01/2027"}) is None
    assert request._log_time({"level": "INFO"}) is None


def _record(
    distribution: str, reference: str, created: float, completes: float
) -> InvalidationRecord:
    return InvalidationRecord(
        id=f"I{reference}",
        distribution_id=distribution,
        caller_reference=reference,
        paths=("/a",),
        create_time=created,
        completes_at=completes,
    )


def test_timeline_phases_add_up_to_the_whole_request() -> None:
    t = request.Timeline(
        "ours",
        "Purge00",
        "r1",
        status="SUCCESS",
        sent=100.0,
        ready=100.4,
        accepted=100.5,
        completes=110.5,
        seen=111.0,
        answered=111.1,
    )
    phases = t.phases()
    parts = ("start-up", "first call", "wait", "lag", "answer")
    assert math.isclose(sum(phases[p] for p in parts), phases["total"])
    assert math.isclose(phases["total"], 11.1)
    assert math.isclose(phases["ours"], 1.1)  # everything but CloudFront's 10 s
    assert not request.Timeline("ours", "Purge00", "r2").complete


def test_burst_counts_failures_duplicates_and_early_answers() -> None:
    a = _record("D1", "ref-a", 1.0, 5.0)
    a_again = _record("D1", "ref-a", 1.1, 5.1)  # same reference twice: a duplicate
    b = _record("D2", "ref-a", 1.0, 9.0)  # same reference, other distribution: not one
    ok = request.Timeline("ours", "P0", "r1", status="SUCCESS", sent=0.5, answered=9.5)
    ok.invalidations = [a, b]
    early = request.Timeline("ours", "P1", "r2", status="SUCCESS", sent=0.5, answered=4.0)
    early.invalidations = [a_again]
    failed = request.Timeline("ours", "P2", "r3", status="FAILED", sent=0.6, answered=2.0)
    records: list[InvalidationRecord] = [a, a_again, b]
    burst = request.Burst("b", [ok, early, failed], {}, records)
    assert (burst.failed, burst.duplicates, burst.early) == (1, 1, 1)
    assert burst.first_sent == 0.5 and burst.last_answer == 9.5
    assert burst.slowest_completed == 9.0


def test_duration_rules_for_the_request_runs() -> None:
    rule = request.path_duration([3.0, 7.0], request.REQUEST_PATH.format(strategy="ours"))
    assert rule(["/ours/1/*"]) == 7.0 and rule(["/baseline/1/*"]) == 0.0
    assert request.path_duration([3.0, 7.0], request.SECTION_PATH)(["/section-0/*"]) == 3.0
    assert request.fixed_duration(4.5)(["/anything"]) == 4.5


def test_a_burst_that_created_nothing_misses_its_goal() -> None:
    from bench.sections import BURST_GAP_GOAL

    failed = request.Timeline("ours", "P0", "r1", status="FAILED", sent=0.5, answered=1.0)
    burst = request.Burst("b", [failed], {}, [])
    assert math.isnan(burst.slowest_completed)
    assert not BURST_GAP_GOAL.met((burst.last_answer or 0.0) - burst.slowest_completed)


# --- section 7: purge only what changed ------------------------------------------------------


def test_s3deploy_fold_follows_its_documented_rules() -> None:
    from bench.changed import s3deploy_fold

    # x/index.html becomes /x/ (and only that); few enough paths stay as they are.
    assert s3deploy_fold(["index.html"]) == ["/"]
    assert s3deploy_fold(["docs/index.html", "a.css"], threshold=5) == ["/a.css", "/docs/"]
    # Past the threshold, the deepest paths fold first, into a wildcard two levels up.
    assert s3deploy_fold(["a/b1/x.css", "a/b2/y.css"], threshold=1) == ["/a/*"]
    many = ["index.html", "site.css", *(f"css/f{i}.css" for i in range(20))]
    assert s3deploy_fold(many, threshold=5) == ["/", "/css/*", "/site.css"]
    # Still too many after folding every level: everything.
    spread = [f"top-{i}/f.css" for i in range(20)]
    assert s3deploy_fold(spread, threshold=5) == ["/*"]


def test_judge_counts_stale_and_evicted_urls() -> None:
    from bench.changed import judge

    changed = {"/a/x.html", "/a/", "/b c.html"}
    unchanged = {"/a/y.html", "/z.html"}
    assert judge(["/*"], changed, unchanged) == (0, 2)
    assert judge(["/a/*", "/b%20c.html"], changed, unchanged) == (0, 1)
    assert judge(["/a/x.html"], changed, unchanged) == (2, 0)


def test_changed_only_outcomes_on_a_generated_release() -> None:
    from bench.changed import generated_deploys, goals, outcomes, render

    (deploy,) = generated_deploys([1_000], seed=5)
    assert generated_deploys([1_000], seed=5) == [deploy]  # seeded
    results = outcomes(deploy, repeat=1)
    by_name = {o.strategy: o for o in results}
    assert by_name["/*"].paths == 1 and by_name["/*"].stale == 0
    assert by_name["ours, 8 paths"].stale == 0 and by_name["ours, 8 paths"].paths <= 8
    assert by_name["ours, 8 paths"].evicted <= by_name["s3deploy fold (8)"].evicted
    assert by_name["every changed file"].evicted == 0
    assert all(ok for ok, _ in goals(results)[:3])
    section = render([deploy], results, [], 1_000, 0.1)
    assert section.title.startswith("7. Purge only what changed")
    assert any(line.startswith("| generated, 1,000 files | ours, 8 paths | 0 |") for line in section.extra)
    assert section.notes[0].startswith("PASS: zero stale URLs")


def test_balanced_lanes_hold_every_index_once_and_even_out_the_totals() -> None:
    from bench.overhead import balanced_lanes

    durations = [900.0, 5.0, 300.0, 290.0, 20.0, 600.0, 10.0, 310.0]
    lanes = balanced_lanes(durations, 3, seed=1)
    assert sorted(i for lane in lanes for i in lane) == list(range(len(durations)))
    totals = sorted(sum(durations[i] for i in lane) for lane in lanes)
    assert totals == [645.0, 890.0, 900.0]  # never 900 + 600 in one lane, as a queue could
    assert balanced_lanes(durations, 3, seed=1) == lanes  # seeded
    assert len(balanced_lanes(durations[:2], 5, seed=1)) == 2
