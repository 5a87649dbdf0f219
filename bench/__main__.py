"""``python -m bench``: the purge's measurements beside baselines, in sections numbered as
bench/RESULTS.md heads them and run in that order: 1 the signal overhead (1b throttled, 1c
crhelper-style polling, 1d the poll schedule's model), 2 cold start, 3 scale, 4 synth, 5 the
whole request on today's profile (5b throttled) and 6 concurrency, 7 changed-only paths,
8 visitors during deploys, 9 account scale.

    python -m bench                  # full run (about half an hour on 2 cores)
    python -m bench --quick          # smoke test, 1-2 min; numbers not meaningful
    python -m bench --factor 0.1     # time factor: every CloudFront duration and every
                                     # delay is multiplied by it; figures are reported
                                     # unscaled (divided by it)
    python -m bench --sections visitors --update-committed
                                     # one section, its table replaced in bench/RESULTS.md

Writes bench/results/results.md (also printed), bench/results/overhead.png and
bench/results/raw.json; a full run also writes bench/RESULTS.md (committed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.options import Options
from bench.process import environment as _environment
from bench.process import quiet_logs as _quiet_logs

HERE = Path(__file__).resolve().parent
SECTIONS = ("overhead", "coldstart", "scale", "synth", "request", "changed", "visitors", "account")


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: tiny sizes, 1-2 min")
    parser.add_argument(
        "--factor",
        type=float,
        default=None,
        # 0.1: the real costs that do not shrink with the factor (the GetInvalidation that
        # sees Completed and the PUT, about 15 ms together here) weigh 0.15 s once divided,
        # the order of a real round trip to CloudFront plus an S3 PUT. At 0.05 they weighed
        # 0.3 s, twice that; the rows "not scaled" show the figure with them left real.
        help="time factor for section 1's durations and delays (default 0.1; quick 0.01)",
    )
    parser.add_argument(
        "--scale-factor",
        type=float,
        default=None,
        # Section 3 waits 60 s per batch, 34 batches in a row for 100,000 paths. Its figures
        # are ratios to the ideal; a smaller factor only makes the real cost of each call
        # weigh more in them (section 3's notes give that cost).
        help="time factor for section 3's waits (default 0.025; quick 0.01)",
    )
    parser.add_argument("--count", type=int, default=None, help="invalidations per strategy")
    parser.add_argument("--concurrency", type=int, default=None, help="invalidations at once")
    parser.add_argument("--seed", type=int, default=5, help="seed for the durations")
    parser.add_argument("--cold-runs", type=int, default=None, help="cold starts of each kind")
    parser.add_argument("--synth-runs", type=int, default=None, help="synths of each size")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)}",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results directory")
    parser.add_argument(
        "--update-committed",
        action="store_true",
        help="replace only the sections run in bench/RESULTS.md, keeping the others "
        "(not with --quick)",
    )
    args = parser.parse_args(argv)
    sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    quick = bool(args.quick)
    if quick and args.update_committed:
        parser.error("--update-committed writes committed figures: not with --quick")
    factor = args.factor if args.factor is not None else (0.01 if quick else 0.1)
    scale_factor = args.scale_factor if args.scale_factor is not None else (
        0.01 if quick else 0.025
    )
    for name, value in (("--factor", factor), ("--scale-factor", scale_factor)):
        if not 0 < value <= 1:
            parser.error(f"{name} must be within (0, 1]")
    return Options(
        quick=quick,
        factor=factor,
        scale_factor=scale_factor,
        count=args.count if args.count is not None else (6 if quick else 80),
        # Quick: short waits only (5 s - 1 min); full: 5 s - 15 min, CloudFront's real spread.
        duration_high=60.0 if quick else 900.0,
        # 16 at factor 0.1 makes as many calls a second as 8 did at 0.05, on the one process
        # that holds the clients, LocalCloudFront and the ResponseURL server (20 made every
        # real cost slower, and those weigh 10x in the figures).
        concurrency=args.concurrency if args.concurrency is not None else (3 if quick else 16),
        seed=args.seed,
        cold_runs=args.cold_runs if args.cold_runs is not None else (2 if quick else 15),
        synth_runs=args.synth_runs if args.synth_runs is not None else (1 if quick else 3),
        synth_many=2 if quick else 100,
        scale_sizes=(1_000, 10_000) if quick else (1_000, 10_000, 100_000),
        scale_wait_sizes=(1_000,) if quick else (1_000, 10_000, 100_000),
        scale_duration=60.0,
        # 50 stacks at once: a pipeline's worth. 40 s per invalidation (today's P95 is under
        # 25 s): long enough that, on one distribution, the 15 wildcards in progress bind.
        account_stacks=8 if quick else 50,
        account_duration=10.0 if quick else 40.0,
        sections=sections,
        out=args.out,
        write_committed=not quick and sections == SECTIONS and args.out == HERE / "results",
        update_committed=bool(args.update_committed),
    )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    _environment()
    _quiet_logs()
    from bench import sections as run

    wall_started = time.monotonic()
    raw: dict[str, Any] = {"options": {**asdict(options), "out": str(options.out)}}
    results: list[run.Section] = []
    plot_series: list[run.Series] = []
    if "overhead" in options.sections:
        say(f"[sections 1-1d of 9] signal overhead: {options.count} invalidations x 3 runs ...")
        sections, series, data = run.overhead_sections(options)
        results += sections
        plot_series += series
        raw["overhead"] = data
    if "coldstart" in options.sections:
        say(f"[section 2 of 9] cold start: {options.cold_runs} runs of each, interleaved ...")
        section, data = run.coldstart_section(options)
        results.append(section)
        raw["coldstart"] = data
    if "scale" in options.sections:
        say(f"[section 3 of 9] scale: {', '.join(f'{n:,}' for n in options.scale_sizes)} paths ...")
        section, data = run.scale_section(options)
        results.append(section)
        raw["scale"] = data
    if "synth" in options.sections:
        say(f"[section 4 of 9] synth: 1 vs {options.synth_many} instances, "
            f"{options.synth_runs} each ...")
        section, data = run.synth_section(options)
        results.append(section)
        raw["synth"] = data
    if "request" in options.sections:
        say("[sections 5-6 of 9] today's profile, the whole request, and concurrency "
            "(real time) ...")
        request_sections, data = run.request_sections(options)
        results += request_sections
        raw["request"] = data
    if "changed" in options.sections:
        say("[section 7 of 9] changed-only: MkDocs deploys and generated trees, "
            "four strategies ...")
        from bench.changed import changed_section

        section, data = changed_section(options)
        results.append(section)
        raw["changed"] = data
    if "visitors" in options.sections:
        say("[section 8 of 9] visitors: deploys under traffic, set-up beside set-up ...")
        from bench.visitors import visitors_section

        section, data = visitors_section(options, say)
        results.append(section)
        raw["visitors"] = data
    if "account" in options.sections:
        say(f"[section 9 of 9] account scale: {options.account_stacks} stacks at once, "
            "twice (real time) ...")
        from bench.account import account_section

        section, data = account_section(options)
        results.append(section)
        raw["account"] = data
    wall = time.monotonic() - wall_started
    raw["wall_seconds"] = wall

    document = run.document(options, results, wall)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "results.md").write_text(document)
    (options.out / "raw.json").write_text(json.dumps(raw, indent=1, default=str))
    if plot_series:
        run.plot(options, plot_series)
    if options.write_committed:
        (HERE / "RESULTS.md").write_text(document)
    elif options.update_committed:
        from bench.report import splice_sections

        committed = HERE / "RESULTS.md"
        stamp = (
            f"This section alone was run by `python -m bench --sections "
            f"{','.join(options.sections)} --update-committed` on "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (wall {wall:.0f} s, load "
            f"average {', '.join(f'{v:.1f}' for v in os.getloadavg())}); the preamble above "
            "describes the last full run."
        )
        committed.write_text(splice_sections(committed.read_text(), results, stamp))
    print(document)
    say(f"wall time {wall:.0f} s; results in {options.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
