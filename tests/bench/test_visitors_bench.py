"""Section 8 (visitors) of the bench: its pure parts on known data, and a tiny real run.

The tiny run deploys a single-page app v1 -> v2 under a dozen visitors with each set-up of
bench/visitor_apps.py, side by side (about 30-40 s): the peer's prune must break the open
tabs' lazy chunks, and no set-up that waits for Completed may serve a stale page after
SUCCESS.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import visitors
from bench.__main__ import _environment, parse_args
from bench.report import Row, Section, splice_sections
from bench.stats import Goal
from bench.visitor_apps import PEER, PURGE, SAFE
from localcloud.cloudfront import LEGACY
from localcloud.traffic.visitors import version_of


def test_marked_versions_mark_only_what_differs(tmp_path: Path) -> None:
    v1, v2 = tmp_path / "a", tmp_path / "b"
    for root, css, extra in ((v1, "body{}", "old.js"), (v2, "p{}", "new.js")):
        (root / "docs").mkdir(parents=True)
        (root / "index.html").write_text("<html><head></head><body>same</body></html>")
        (root / "docs" / "index.html").write_text(f"<html><head></head>{css}</html>")
        (root / "site.css").write_text(css)
        (root / "shared.js").write_text("console.log(1)")
        (root / extra).write_text("x")
        (root / "404.html").write_text(f"<html><head></head>{extra}</html>")
    dirs, pages = visitors.marked_versions(v1, v2, tmp_path / "out")
    out1, out2 = dirs["v1"], dirs["v2"]
    # Same bytes in both: left as built, so it is never "another version".
    assert (out1 / "shared.js").read_bytes() == b"console.log(1)"
    assert (out1 / "index.html").read_bytes() == (out2 / "index.html").read_bytes()
    assert version_of((out1 / "site.css").read_bytes(), "text/css") == "v1"
    assert version_of((out2 / "site.css").read_bytes(), "text/css") == "v2"
    assert version_of((out2 / "docs/index.html").read_bytes(), "text/html") == "v2"
    assert version_of((out1 / "old.js").read_bytes(), "application/javascript") == "v1"
    assert not (out1 / "new.js").exists()
    # Pages both versions have, home first, never the error page.
    assert pages == ("/", "/docs/index.html")


def test_step_durations_depend_on_the_step_not_on_earlier_draws() -> None:
    one = visitors.StepDurations(LEGACY, "seed")
    other = visitors.StepDurations(LEGACY, "seed")
    one.step = "setup"
    one("d", ["/*"])  # an extra invalidation before the transition: draws must not shift
    one.step = other.step = "v1 → v2"
    first, second = one("d", ["/*"]), one("d", ["/*"])
    assert other("d", ["/a"]) == first != second
    assert 5.0 <= first <= 900.0


def test_splice_replaces_one_section_and_its_goal_lines() -> None:
    doc = (
        "# Bench\n\npre\n\n**Goals**\n\n- PASS: 1. A / x: 1 vs goal < 2 (0.50x of the limit)\n"
        "- FAIL: 8. Visitors / old: 3 vs goal 0 (infx of the limit)\n\n"
        "## 1. A\n\nbody of A\n\n## 8. Visitors: old title\n\nold body\n\n"
        "## What is faithful and what is simulated\n\n- epilogue\n"
    )
    section = Section(
        "8. Visitors: deploys under traffic",
        rows=[Row("broken", 0.0, 12.0, goal=Goal(0.0, "0", inclusive=True))],
        notes=["a note"],
    )
    out = splice_sections(doc, [section], stamp="run alone")
    assert "old body" not in out and "- FAIL: 8. Visitors / old" not in out
    assert "body of A" in out and "- PASS: 1. A / x" in out and out.endswith("- epilogue\n")
    assert "- PASS: 8. Visitors / broken: 0 vs goal 0" in out
    assert out.index("- PASS: 8. Visitors") < out.index("## 1. A")
    assert out.index("## 8. Visitors: deploys") < out.index("## What is faithful")
    assert "- run alone" in out
    # Absent: added before the epilogue; nothing else moves.
    added = splice_sections(doc.replace("## 8. Visitors: old title\n\nold body\n\n", ""), [section])
    assert added.index("## 1. A") < added.index("## 8. Visitors") < added.index("## What is")


def test_quick_plan_is_small_and_full_plan_is_the_documented_one() -> None:
    quick = visitors.plan_for(parse_args(["--quick", "--sections", "visitors"]))
    assert quick.sites == (visitors.SPA,) and len(quick.transitions) == 1
    full = visitors.plan_for(parse_args(["--sections", "visitors"]))
    assert full.visitors >= 50 and full.pops == 4 and full.open_tab_share > 0
    assert {t.name for t in full.timings} == {"today", "legacy"}
    assert full.sites == (visitors.MKDOCS, visitors.SPA) and len(full.transitions) == 3
    assert full.miss_window == 60.0


def test_update_committed_is_not_for_quick_runs() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--quick", "--update-committed"])
    assert parse_args(["--sections", "visitors", "--update-committed"]).update_committed


def test_tiny_visitors_run() -> None:
    _environment()
    options = parse_args(["--quick", "--sections", "visitors"])
    said: list[str] = []
    section, data = visitors.visitors_section(options, said.append)
    results = data["results"]
    setups = {r["setup"] for r in results}
    assert setups == {PEER, PURGE, SAFE}
    by_setup = {r["setup"]: r for r in results}
    for result in results:
        summary = result["summary"]
        assert result["deployed"], result
        assert summary["page_loads"] > 0 and summary["open_tab_loads"] > 0, result
        # Every set-up waits for Completed before SUCCESS.
        assert summary["stale_after_success"] == 0, result
    # The peer prunes v1's chunks while v1 tabs are open: their next chunk is gone.
    assert by_setup[PEER]["summary"]["open_tab_broken"] > 0
    ours = by_setup[SAFE]["summary"]
    assert ours["broken"] == 0 and ours["open_tab_broken"] == 0
    table = "\n".join(section.extra)
    assert table.count("| SPA | today | v1 → v2 |") == len(setups)


def _result(setup: str, transition: str, broken: int, new: float | None) -> visitors.Result:
    from localcloud.traffic.visitors import TrafficSummary

    summary = TrafficSummary(
        page_loads=100, broken=broken, broken_share=broken / 100, open_tab_loads=10,
        open_tab_broken=broken // 2, longest_broken_run_seconds=float(broken),
        stale_after_success=0, misses_after_success=7, all_pops_new_at=None,
    )  # fmt: skip
    return visitors.Result(
        setup, visitors.SPA, "today", transition, True, 20.0, new, 1, summary, ()
    )


def test_tables_add_up_transitions_and_name_a_pop_that_never_got_there() -> None:
    plan = visitors.plan_for(parse_args(["--quick", "--sections", "visitors"]))
    results = [
        _result(PEER, "v1 → v2", 4, 12.0),
        _result(PEER, "v2 → v1 (revert)", 2, 30.0),
        _result(PURGE, "v1 → v2", 0, None),
    ]
    plan = visitors.VisitorPlan(**{**plan.__dict__, "setups": (PEER, PURGE)})
    lines = visitors.summary_table(plan, results)
    peer = next(x for x in lines if visitors.SETUP_NAMES[PEER] in x)
    assert "| 200 | 6 (3.00%) | 3 / 20 | 4.00 s | 0 | 14 | 30.0 s |" in peer
    purge = next(x for x in lines if visitors.SETUP_NAMES[PURGE] in x)
    assert "— (a POP never did)" in purge
    detail = visitors.detail_table(results)
    assert len(detail) == 2 + len(results) and "12.0 s |" in detail[2]
    rows = visitors.goal_rows(plan, results)
    assert [r.baseline for r in rows] == [6.0, 3.0, 0.0] and all(r.ours is None for r in rows)
