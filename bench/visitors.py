"""Section 8: what visitors see while a site is deployed, set-up beside set-up.

Each set-up of bench/visitor_apps.py deploys the same site through the local CloudFormation
(aws-cdk-lib's own BucketDeployment handler and AWS CLI layer, this project's provider)
in front of the local CloudFront's caching edge, while visitors load pages through four
POPs. Sites: a real MkDocs build (v2 changes the theme and one page: the old theme's
files are gone from v2) and a generated single-page app with hashed asset names and lazily
loaded chunks behind the 403/404 -> /index.html rule. Transitions, in order, under traffic:
v1 -> v2, v2 -> v1 (a revert), and a rollback (v2 deployed while another resource fails:
CloudFormation rolls back to v1). Timing: today's invalidations (seconds) and the legacy
ones (seconds to 15 minutes), both on a scaled clock; every figure is in clock seconds,
i.e. unscaled.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.changed import build_mkdocs
from bench.report import Row, Section, fmt
from bench.stats import Goal
from bench.visitor_apps import PEER, PURGE, SAFE, STACK
from localcloud.clock import ScaledClock
from localcloud.cloudformation.lifecycle import Outcome
from localcloud.cloudfront import LEGACY, TODAY, LocalCloudFront, TimingProfile
from localcloud.cloudfront.edge import s3_site_config
from localcloud.site_stack import SiteStack, success_at
from localcloud.traffic.sites import Site, mark_version, single_page_app
from localcloud.traffic.visitors import BROKEN, PageLoad, TrafficRunner, TrafficSummary, summarize

if TYPE_CHECKING:
    from bench.options import Options

__all__ = ["SETUP_NAMES", "VisitorPlan", "plan_for", "visitors_section"]

APPS = Path(__file__).resolve().with_name("visitor_apps.py")
SETUP_NAMES = {
    PEER: "1. BucketDeployment(distribution=)",
    PURGE: "2. BucketDeployment + CloudFrontInvalidation(/*)",
    SAFE: "3. SafeSiteDeployment",
}
MKDOCS = "MkDocs"
SPA = "SPA"
MISS_WINDOW_SECONDS = 60.0
#: Clock seconds of traffic before each deploy starts.
LEAD_SECONDS = 15.0
ZERO = Goal(0.0, "0", inclusive=True)


PROFILES: dict[str, TimingProfile] = {"today": TODAY, "legacy": LEGACY}


@dataclass(frozen=True)
class TimingPlan:
    """One timing profile (by name: a plan crosses to worker processes) and how it is run:
    the time factor and the visitors' pace."""

    name: str
    factor: float
    think_seconds: tuple[float, float]
    tab_seconds: tuple[float, float]

    @property
    def profile(self) -> TimingProfile:
        return PROFILES[self.name]


@dataclass(frozen=True)
class VisitorPlan:
    setups: tuple[str, ...]
    sites: tuple[str, ...]
    timings: tuple[TimingPlan, ...]
    transitions: tuple[str, ...]
    visitors: int
    pops: int
    open_tab_share: float
    zipf: float
    capacity: dict[str, int]
    spa_routes: int
    spa_chunks: int
    miss_window: float
    seed: int


TRANSITIONS = ("v1 → v2", "v2 → v1 (revert)", "rollback (v2 fails, back to v1)")


def plan_for(options: Options) -> VisitorPlan:
    """The run's shape. Factors: see the section's notes (real work against scaled time)."""
    setups = (PEER, PURGE, SAFE)
    # Visitors read a page for seconds to minutes: under one page load a second per POP
    # today, one every few seconds per POP on the legacy run (few visitors per POP: the
    # condition where a cached page outlives its assets). The legacy pace is slower in
    # clock time because its factor is smaller: the request rate in real time stays
    # what this machine serves without slowing the deploy it measures.
    today = TimingPlan("today", 0.5, (5.0, 25.0), (5.0, 15.0))
    legacy = TimingPlan("legacy", 0.1, (20.0, 90.0), (30.0, 90.0))
    if options.quick:
        return VisitorPlan(
            setups=setups,
            sites=(SPA,),
            timings=(today,),
            transitions=TRANSITIONS[:1],
            visitors=12,
            pops=4,
            open_tab_share=0.25,
            zipf=1.0,
            capacity={MKDOCS: 30, SPA: 12},
            spa_routes=8,
            spa_chunks=3,
            miss_window=20.0,
            seed=options.seed,
        )
    return VisitorPlan(
        setups=setups,
        sites=(MKDOCS, SPA),
        timings=(today, legacy),
        transitions=TRANSITIONS,
        visitors=52,
        pops=4,
        open_tab_share=0.2,
        zipf=1.0,
        capacity={MKDOCS: 30, SPA: 16},
        spa_routes=40,
        spa_chunks=6,
        miss_window=MISS_WINDOW_SECONDS,
        seed=options.seed,
    )


# --- sites ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteBuild:
    """A site's two versions on disk (with version markers) and the pages visitors load."""

    name: str
    dirs: dict[str, Path]
    pages: tuple[str, ...]
    spa: bool


def _write(root: Path, files: dict[str, bytes]) -> None:
    for key, body in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def marked_versions(v1: Path, v2: Path, out: Path) -> tuple[dict[str, Path], tuple[str, ...]]:
    """Copies of two builds where every file that differs between them (or is in one only)
    carries its version marker; a file identical in both stays as built, so it can never
    count as "another version" (it is the same bytes either way).

    Pages: the HTML files both versions have (``/`` for the root index), but not 404.html.
    """
    import mimetypes

    def files(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }

    old, new = files(v1), files(v2)
    dirs: dict[str, Path] = {}
    for version, own, other in (("v1", old, new), ("v2", new, old)):
        marked: dict[str, bytes] = {}
        for key, body in own.items():
            if other.get(key) == body:
                marked[key] = body
                continue
            kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
            if key.endswith(".js"):
                kind = "application/javascript"
            marked[key] = mark_version(body, kind, version)
        dirs[version] = out / version
        _write(dirs[version], marked)
    pages = sorted(k for k in set(old) & set(new) if k.endswith(".html") and k != "404.html")
    urls = tuple("/" if k == "index.html" else "/" + k for k in pages)
    # "/" first: the long tail's most popular page is the home page.
    return dirs, tuple(sorted(urls, key=lambda u: (u != "/", u)))


def build_sites(plan: VisitorPlan, work: Path) -> dict[str, SiteBuild]:
    builds: dict[str, SiteBuild] = {}
    if MKDOCS in plan.sites:
        v1 = build_mkdocs(work / "mkdocs", "v1", plan.seed, theme="mkdocs")
        v2 = build_mkdocs(work / "mkdocs", "v2", plan.seed, theme="readthedocs", edit=True)
        dirs, pages = marked_versions(v1, v2, work / "mkdocs-marked")
        builds[MKDOCS] = SiteBuild(MKDOCS, dirs, pages, spa=False)
    if SPA in plan.sites:
        apps: dict[str, Site] = {
            version: single_page_app(version, routes=plan.spa_routes, lazy_chunks=plan.spa_chunks)
            for version in ("v1", "v2")
        }
        for version, app in apps.items():
            _write(work / "spa" / version, {k: f.body for k, f in app.files.items()})
        builds[SPA] = SiteBuild(
            SPA, {v: work / "spa" / v for v in apps}, apps["v1"].pages, spa=True
        )
    return builds


def synthesize(
    plan: VisitorPlan, builds: dict[str, SiteBuild], work: Path
) -> dict[tuple[str, str, str], Path]:
    """Every (set-up, site, version) assembly, from one process of bench/visitor_apps.py."""
    jobs: list[dict[str, Any]] = []
    outs: dict[tuple[str, str, str], Path] = {}
    for setup in plan.setups:
        for site in plan.sites:
            for version, site_dir in builds[site].dirs.items():
                out = work / "cdk.out" / f"{setup}-{site}-{version}"
                outs[(setup, site, version)] = out
                jobs.append(
                    {"setup": setup, "site_dir": str(site_dir), "spa": builds[site].spa,
                     "out": str(out)}
                )  # fmt: skip
    env = {
        **os.environ,
        "VISITOR_JOBS": json.dumps(jobs),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    subprocess.run(  # noqa: S603 - our own interpreter and app
        [sys.executable, str(APPS)], check=True, env=env, cwd=APPS.parent.parent
    )
    return outs


# --- one run -------------------------------------------------------------------------------


@dataclass
class StepDurations:
    """Invalidation durations drawn per (step, n-th invalidation of the step), so every
    set-up's first invalidation of a transition lasts as long as the peer's."""

    profile: TimingProfile
    seed: str
    step: str = "setup"
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, _target: str, _paths: Sequence[str]) -> float:
        with self._lock:
            n = self._counts.get(self.step, 0)
            self._counts[self.step] = n + 1
            return self.profile.duration(random.Random(f"{self.seed}-{self.step}-{n}"))


@dataclass(frozen=True)
class Result:
    """One set-up's figures for one transition (clock seconds: unscaled)."""

    setup: str
    site: str
    timing: str
    transition: str
    deployed: bool
    upload_to_success: float | None
    upload_to_all_new: float | None
    invalidations: int
    summary: TrafficSummary
    broken_examples: tuple[str, ...]


def serve_from_template(cloud: LocalCloudFront, site: SiteStack) -> str:
    """Point the stack's distribution at its bucket, with the template's default root
    object and custom error responses (the local CloudFormation creates a distribution
    with a minimal config: the edge needs the origin). Returns the edge's Host."""
    cfn = site.cloudformation
    logical_id, distribution_id = next(iter(cfn.distributions.items()))
    config = cfn.stack.resources[logical_id]["Properties"]["DistributionConfig"]
    errors = {
        int(item["ErrorCode"]): item for item in config.get("CustomErrorResponses") or []
    }
    spa = all(
        str(errors.get(code, {}).get("ResponsePagePath")) == "/index.html"
        and int(errors[code].get("ResponseCode", 0)) == 200
        for code in (403, 404)
    )
    client = cloud.client()
    current = client.get_distribution_config(Id=distribution_id)
    new_config = {
        "CallerReference": current["DistributionConfig"]["CallerReference"],
        "Comment": current["DistributionConfig"].get("Comment", ""),
        **s3_site_config(
            site.bucket,
            default_root_object=str(config.get("DefaultRootObject", "")),
            spa=spa,
        ),
    }
    client.update_distribution(
        Id=distribution_id, IfMatch=current["ETag"], DistributionConfig=new_config
    )
    return cloud.edge.host_of(distribution_id)


def _examples(loads: Sequence[PageLoad], limit: int = 3) -> tuple[str, ...]:
    from localcloud.traffic.visitors import classify

    out: list[str] = []
    for load in loads:
        if load.outcome == BROKEN and len(out) < limit:
            out.append(f"{load.kind} {load.page} (POP {load.pop}): {classify(load)[1][0]}")
    return tuple(out)


def run_setup(
    plan: VisitorPlan,
    timing: TimingPlan,
    setup: str,
    build: SiteBuild,
    outs: dict[tuple[str, str, str], Path],
    say: Callable[[str], None],
) -> list[Result]:
    """Deploy v1 quietly, warm the caches, then each transition under traffic."""
    clock = ScaledClock(timing.factor)
    durations = StepDurations(timing.profile, f"{plan.seed}-{build.name}-{timing.name}")
    results: list[Result] = []
    with LocalCloudFront(
        clock=clock,
        invalidation_seconds=durations,
        pops=plan.pops,
        edge_timing=timing.profile,
        edge_capacity=plan.capacity[build.name],
        seed=plan.seed,
    ) as cloud, SiteStack(
        outs[(setup, build.name, "v1")],
        cloud=cloud,
        stack_name=STACK,
        # The peer's waiter sleeps 20 s between polls: 20 clock seconds, like the
        # invalidation's life (docs/local-cloud.md, "Time: the waiter's 20 s").
        waiter_delay_scale=timing.factor,
    ) as site:
        host = serve_from_template(cloud, site)
        first = site.deploy("v1")
        if success_at(first) is None:
            raise RuntimeError(f"{setup}/{build.name}: the first deploy failed: {first}")
        steps = {
            TRANSITIONS[0]: ("v2", False, "v2"),
            TRANSITIONS[1]: ("v1", False, "v1"),
            TRANSITIONS[2]: ("v2", True, "v1"),
        }
        for transition in plan.transitions:
            version, fail_after, expected = steps[transition]
            results.append(
                _transition(
                    plan, timing, setup, build, site, cloud, clock, host, durations,
                    transition, outs[(setup, build.name, version)], fail_after, expected, say,
                )
            )  # fmt: skip
    return results


def _transition(
    plan: VisitorPlan,
    timing: TimingPlan,
    setup: str,
    build: SiteBuild,
    site: SiteStack,
    cloud: LocalCloudFront,
    clock: ScaledClock,
    host: str,
    durations: StepDurations,
    transition: str,
    cdk_out: Path,
    fail_after: bool,
    expected: str,
    say: Callable[[str], None],
) -> Result:
    runner = TrafficRunner(
        cloud.endpoint_url,
        host,
        build.pages,
        visitors=plan.visitors,
        pops=plan.pops,
        clock=clock,
        think_seconds=timing.think_seconds,
        open_tab_share=plan.open_tab_share if build.spa else 0.0,
        tab_seconds=timing.tab_seconds,
        zipf=plan.zipf,
        max_seconds=7_200.0,
        max_real_seconds=600.0,
        seed=plan.seed,
    )
    runner.start()
    # The first loads are spread over one think time; most visitors (and most open tabs)
    # have a page before the deploy starts, the rest arrive during it.
    clock.sleep(min(timing.think_seconds[1], LEAD_SECONDS))
    durations.step = transition
    started = clock()
    outcomes: list[Outcome] = site.deploy(transition, cdk_out, fail_after=fail_after)
    success = success_at(outcomes)
    upload = min((o.sent_at for o in outcomes), default=started)
    end = (success if success is not None else clock()) + plan.miss_window
    while clock() < end:
        clock.sleep(min(5.0, end - clock()))
    loads = runner.stop()
    summary = summarize(
        loads,
        success_at=success,
        expected_version=expected,
        miss_window=plan.miss_window,
        since=upload,
    )
    result = Result(
        setup=setup,
        site=build.name,
        timing=timing.name,
        transition=transition,
        deployed=success is not None,
        upload_to_success=None if success is None else success - upload,
        upload_to_all_new=(
            None if summary.all_pops_new_at is None else summary.all_pops_new_at - upload
        ),
        invalidations=sum(len(o.invalidations) for o in outcomes),
        summary=summary,
        broken_examples=_examples(loads),
    )
    say(
        f"    {setup:<5} {build.name:<6} {timing.name:<6} {transition}: "
        f"{summary.page_loads} loads, {summary.broken} broken, open tabs "
        f"{summary.open_tab_broken}/{summary.open_tab_loads} broken, "
        f"{summary.stale_after_success} stale after SUCCESS; SUCCESS after "
        f"{fmt(result.upload_to_success, 's')}; every POP new after "
        f"{fmt(result.upload_to_all_new, 's')}"
    )
    return result


def _run_in_worker(
    plan: VisitorPlan,
    timing: TimingPlan,
    setup: str,
    build: SiteBuild,
    outs: dict[tuple[str, str, str], Path],
) -> list[Result]:
    from bench.process import environment, quiet_logs

    environment()
    quiet_logs()
    return run_setup(
        plan, timing, setup, build, outs, lambda m: print(m, file=sys.stderr, flush=True)
    )


# --- the section ---------------------------------------------------------------------------


def visitors_section(
    options: Options, say: Callable[[str], None] | None = None
) -> tuple[Section, dict[str, Any]]:
    tell = say or (lambda message: print(message, file=sys.stderr, flush=True))
    plan = plan_for(options)
    wall = time.monotonic()
    results: list[Result] = []
    work = Path(tempfile.mkdtemp(prefix="bench-visitors-"))
    try:
        builds = build_sites(plan, work)
        synth_started = time.monotonic()
        outs = synthesize(plan, builds, work)
        tell(f"    synthesized {len(outs)} assemblies in {time.monotonic() - synth_started:.0f} s")
        # The set-ups of one site and timing run at once, one process each (their own
        # local cloud, clock and visitors): side by side under the same machine load, and
        # the section's wall time is that of the slowest set-up, not the sum.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=len(plan.setups), mp_context=context) as pool:
            for timing in plan.timings:
                for site in plan.sites:
                    futures = [
                        pool.submit(_run_in_worker, plan, timing, setup, builds[site], outs)
                        for setup in plan.setups
                    ]
                    for future in futures:
                        results += future.result()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    wall = time.monotonic() - wall
    section = render(plan, results, wall)
    return section, {
        "plan": asdict(plan),
        "results": [asdict(r) for r in results],
        "wall_seconds": wall,
    }  # fmt: skip


def _total(results: Sequence[Result], pick: Callable[[TrafficSummary], int]) -> int:
    return sum(pick(r.summary) for r in results)


def goal_rows(plan: VisitorPlan, results: Sequence[Result]) -> list[Row]:
    """Ours (set-up 3) against the peer, summed over the transitions; no figure where a
    set-up has no result."""
    rows: list[Row] = []
    for timing in plan.timings:
        for site in plan.sites:
            mine = [r for r in results if r.setup == SAFE and r.site == site
                    and r.timing == timing.name]  # fmt: skip
            peer = [r for r in results if r.setup == PEER and r.site == site
                    and r.timing == timing.name]  # fmt: skip
            where = f"{site}, {timing.name} timing, {len(plan.transitions)} transitions"
            for label, pick in (
                ("broken page loads", lambda s: s.broken),
                ("open-tab loads broken", lambda s: s.open_tab_broken),
                ("stale page loads after SUCCESS", lambda s: s.stale_after_success),
            ):
                if label.startswith("open-tab") and site != SPA:
                    continue
                rows.append(
                    Row(
                        f"{label} ({where})",
                        float(_total(mine, pick)) if mine else None,
                        float(_total(peer, pick)) if peer else None,
                        goal=ZERO,
                    )
                )
    return rows


def _cell(value: float | None, unit: str = "") -> str:
    return fmt(value, unit) if value is not None else "—"


def detail_table(results: Sequence[Result], miss_window: float = MISS_WINDOW_SECONDS) -> list[str]:
    header = (
        "| Site | Timing | Transition | Set-up | Page loads | Broken (share) | "
        "Open-tab broken / loads | Longest broken run | Stale after SUCCESS | "
        f"Misses {miss_window:g} s after SUCCESS | Upload → SUCCESS | Upload → every POP new |"
    )
    lines = [header, "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        s = r.summary
        tabs = f"{s.open_tab_broken} / {s.open_tab_loads}" if s.open_tab_loads else "—"
        lines.append(
            f"| {r.site} | {r.timing} | {r.transition} | {SETUP_NAMES[r.setup]} | "
            f"{s.page_loads:,} | {s.broken:,} ({s.broken_share:.2%}) | {tabs} | "
            f"{_cell(s.longest_broken_run_seconds, 's')} | {s.stale_after_success:,} | "
            f"{s.misses_after_success:,} | {_cell(r.upload_to_success, 's')} | "
            f"{_cell(r.upload_to_all_new, 's')} |"
        )
    return lines


def summary_table(plan: VisitorPlan, results: Sequence[Result]) -> list[str]:
    """Per site, timing and set-up, the transitions added up (the longest run and the
    slowest time to every POP new: their maximum)."""
    lines = [
        "| Site | Timing | Set-up | Page loads | Broken | Open-tab broken / loads | "
        "Longest broken run | Stale after SUCCESS | "
        f"Misses {plan.miss_window:g} s after SUCCESS | Upload → every POP new, slowest |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for timing in plan.timings:
        for site in plan.sites:
            for setup in plan.setups:
                own = [r for r in results
                       if (r.setup, r.site, r.timing) == (setup, site, timing.name)]  # fmt: skip
                if not own:
                    continue
                loads = sum(r.summary.page_loads for r in own)
                broken = sum(r.summary.broken for r in own)
                tabs = sum(r.summary.open_tab_loads for r in own)
                tabs_broken = sum(r.summary.open_tab_broken for r in own)
                new = [r.upload_to_all_new for r in own]
                slowest = (
                    "— (a POP never did)" if any(n is None for n in new)
                    else fmt(max(n for n in new if n is not None), "s")
                )
                lines.append(
                    f"| {site} | {timing.name} | {SETUP_NAMES[setup]} | {loads:,} | "
                    f"{broken:,} ({broken / loads if loads else 0:.2%}) | "
                    + (f"{tabs_broken} / {tabs}" if tabs else "—")
                    + f" | {fmt(max(r.summary.longest_broken_run_seconds for r in own), 's')} | "
                    f"{sum(r.summary.stale_after_success for r in own):,} | "
                    f"{sum(r.summary.misses_after_success for r in own):,} | {slowest} |"
                )
    return lines


def render(plan: VisitorPlan, results: Sequence[Result], wall: float) -> Section:
    timings = "; ".join(
        f"{t.name}: factor {t.factor:g}, think {t.think_seconds[0]:g}-{t.think_seconds[1]:g} s, "
        f"open tabs fetch a chunk every {t.tab_seconds[0]:g}-{t.tab_seconds[1]:g} s"
        for t in plan.timings
    )
    notes = [
        "Every set-up deploys the same site versions through the local CloudFormation: "
        "aws-cdk-lib's own BucketDeployment handler with its AWS CLI layer (prune as the "
        "set-up has it), this project's provider for CloudFrontInvalidation, in front of "
        "the local CloudFront's caching edge (docs/local-cloud.md). Set-ups 1 and 2 purge "
        "`/*`; set-up 3 purges only what changed.",
        f"Traffic: {plan.visitors} visitors over {plan.pops} POPs (each sticks to one), "
        f"pages drawn with a long tail (zipf {plan.zipf:g}); each POP's cache holds "
        f"{plan.capacity.get(MKDOCS, 0)} (MkDocs) / {plan.capacity.get(SPA, 0)} (SPA) "
        f"entries, least recently used leave. {plan.open_tab_share:.0%} of the SPA's "
        "visitors keep their first page open and fetch its lazy chunks later (open tabs, "
        "loaded before the deploy starts). A fresh set of visitors per transition; "
        "caches stay warm from the one before.",
        f"Timing: {timings}. Why these factors: the real work of a deploy (the Lambda "
        "processes, the AWS CLI's sync against moto, the visitors' requests) does not "
        "shrink with the factor, so in clock seconds it weighs 1/factor more. Today's "
        "invalidations take effect in under 5 s, so a small factor would turn a few real "
        "seconds of upload into the longest part of the deploy: 0.5 keeps it at 2x. The "
        "legacy profile's invalidations last 5 s to 15 min (median about 1 min): 0.1 "
        "keeps the run within minutes while the upload (10x) stays short beside them. "
        "Both overstate every set-up's upload alike, and with it the peer's window between "
        "its prune and the moment a POP drops the old pages. Traffic starts "
        f"{LEAD_SECONDS:g} s before each deploy.",
        "Each invalidation's duration is drawn from the profile per transition and "
        "order within it, so every set-up's first invalidation of a transition lasts as "
        "long as the peer's; each POP drops the entries at its own moment within it.",
        f"Stale after SUCCESS: page loads started after CloudFormation had the deploy's "
        "last answer that still got a file of the old version. Misses: page and asset "
        f"answers not from the cache in the {plan.miss_window:g} s after SUCCESS (a `/*` "
        "purge empties the caches; only-changed leaves unchanged files cached, and here little "
        "is unchanged: v2's theme rewrites every MkDocs page and every hashed file of the "
        "app has a new name, and the small caches miss often anyway). Upload → "
        "every POP new: from the first BucketDeployment request until every POP's loads "
        "are all ok and all the expected version; '—' when some POP never got there "
        "within the run.",
        "A rollback's SUCCESS is the moment the stack's rollback finished (every "
        "resource back at v1's properties); v1 is then the expected version. The local "
        "CloudFormation rolls back dependents first (the reverse of the update): a purge "
        "that depends on the upload is rolled back, and waits for its invalidation, before "
        "the BucketDeployment puts v1's files back, so a POP that fetched a page in "
        "between keeps v2's page (stale after SUCCESS, until its TTL): set-up 2. The peer "
        "purges inside its own upload and does not have that order problem; set-up 3 adds "
        "a rollback-only purge that its uploads depend on (OnlyInRollback), which runs "
        "last in a rollback, after v1's files are back (docs/retention.md, 'Rollbacks').",
        "Open tabs and retention: set-up 3 keeps replaced files 7 days (its default); "
        "every open tab here is far younger, so none may break. Sites carry no "
        "Cache-Control (BucketDeployment's default): CloudFront's default TTL, 1 day.",
        "Ours is set-up 3; the Baseline column is the peer (set-up 1) from the same run. "
        "Set-up 2 (this construct's `/*` purge after a pruning BucketDeployment) is in "
        "the table below.",
        f"Section wall time {wall:.0f} s.",
    ]
    broken = [
        f"{SETUP_NAMES[r.setup]}, {r.site}, {r.timing}, {r.transition}: {e}"
        for r in results
        for e in r.broken_examples[:1]
    ]
    extra = [
        f"Each set-up over its {len(plan.transitions)} transitions (seconds are clock "
        "seconds, i.e. unscaled):",
        "",
        *summary_table(plan, results),
        "",
        "Every set-up, every transition:",
        "",
        *detail_table(results, plan.miss_window),
    ]
    if broken:
        extra += ["", "A broken load of each run that had one:", "",
                  *(f"- {line}" for line in broken)]  # fmt: skip
    return Section(
        title="8. Visitors: deploys under traffic, side by side",
        rows=goal_rows(plan, results),
        notes=notes,
        extra=extra,
    )
