"""``make demo``: deploy app.py through a local CloudFormation and CloudFront, and show it.

    python -m localcloud.demo                              # every scenario, 3 s invalidations
    python -m localcloud.demo --scenario revert --invalidation-seconds 8
    python -m localcloud.demo --invalidation-spread 2:10   # durations drawn from a range
    python -m localcloud.demo --scenario tenants           # only the tags-and-tenants step

It synthesizes app.py, starts the local cloud (moto + CloudFront's invalidation behaviour),
registers the provider Lambda from its synthesized asset, and sends the custom resource the
events CloudFormation would. The handler runs in a fresh Python process with only its asset
and boto3 importable and answers over HTTPS, as in AWS. It is not AWS: see README. The last
step, ``tenants``, does the same for examples/tags_and_tenants_app.py: a distribution purged
by cache tag, and a distribution tenant of a multi-tenant distribution.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from localcloud.cdk_app import synthesize
from localcloud.cloudformation.lifecycle import LocalCloudFormation, Outcome, Progress
from localcloud.cloudfront import LocalCloudFront
from localcloud.scenarios import SCENARIOS, Story

ROOT = Path(__file__).resolve().parent.parent
#: The demo step beyond SCENARIOS: examples/tags_and_tenants_app.py's two stacks.
TENANTS_STEP = "tenants"
TENANTS_APP = ROOT / "examples" / "tags_and_tenants_app.py"
TENANTS_STACKS = ("TaggedSite", "TenantSite")
#: The step that deploys examples/changed_only_app.py at two content versions.
CHANGED_ONLY = "changed-only"
#: Steps that deploy an app of their own, not app.py.
OWN_APP_STEPS = (CHANGED_ONLY, TENANTS_STEP)


class LiveDisplay:
    """One line per change of state (plus a heartbeat), or an updating line on a terminal."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last_state: tuple[object, ...] = ()
        self.last_print = 0.0

    def __call__(self, progress: Progress) -> None:
        waiting = ", ".join(
            f"{inv} {status}" + (f" (~{left:.1f} s left)" if status != "Completed" else "")
            for inv, status, left in progress.waiting_on
        )
        if waiting:
            waiting = f"waiting on {waiting}"
        elif progress.request_type == "Delete":
            waiting = "waiting for the answer (a Delete purges nothing)"
        else:
            waiting = "waiting for an invalidation or the answer"
        line = (f"  [{progress.elapsed:6.1f}s] {progress.request_type:<6} {progress.step}: "
                f"{waiting}; Lambda legs: {progress.legs}")
        state = (progress.step, tuple((i, s) for i, s, _ in progress.waiting_on), progress.legs)
        now = time.monotonic()
        if self.tty:
            # Fitted to the terminal: a wrapped line could not be rewritten in place.
            width = shutil.get_terminal_size((160, 24)).columns - 1
            self.out.write("\r" + line[:width].ljust(width))
            self.out.flush()
        elif state != self.last_state or now - self.last_print > 2.0:
            print(line, file=self.out, flush=True)
            self.last_print = now
        self.last_state = state

    def end(self) -> None:
        if self.tty:
            self.out.write("\n")


def summary_table(outcomes: Sequence[Outcome], stacks: Sequence[str] | None = None) -> str:
    """One row per request; ``stacks`` (one per outcome) adds a first column naming the
    stack, so rows of several stacks with the same step tell apart."""
    header = ["step", "event", "result", "invalidation ids", "CallerReference",
              "to Completed", "to SUCCESS", "legs"]
    if stacks is not None:
        header.insert(0, "stack")
    rows = [header]
    for index, o in enumerate(outcomes):
        ids = ",".join(r.id for r in o.invalidations) or "-"
        refs = ",".join(sorted({r.caller_reference for r in o.invalidations})) or "-"
        rows.append([
            *([stacks[index]] if stacks is not None else []),
            o.step, o.request_type, o.status if o.status != "FAILED" else f"FAILED: {o.reason}",
            ids, refs,
            _secs(o.seconds_to_completed), _secs(o.seconds_to_answer), str(o.legs),
        ])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def check(outcomes: Sequence[Outcome]) -> list[str]:
    """What would make a person distrust the run: lost purges, duplicates, bad answers."""
    problems = []
    for o in outcomes:
        if o.status != "SUCCESS":
            problems.append(f"{o.step}: {o.request_type} answered {o.status}: {o.reason}")
        if o.violations:
            problems.append(f"{o.step}: response broke CloudFormation's rules: {o.violations}")
        if o.lost:
            problems.append(f"{o.step}: SUCCESS, but the purge was lost (no invalidation "
                            "Completed by the answer)")
        if o.duplicates:
            problems.append(f"{o.step}: {o.duplicates} duplicate invalidation(s)")
        if o.request_type == "Delete" and o.invalidations:
            problems.append(f"{o.step}: Delete created invalidations")
    return problems


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localcloud.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append",
                        choices=[*sorted(SCENARIOS), *OWN_APP_STEPS],
                        help="run only these (repeatable); default: all, in story order, then "
                        f"{CHANGED_ONLY!r} (purge only what changed) and {TENANTS_STEP!r} "
                        "(cache tags and a distribution tenant)")
    parser.add_argument("--invalidation-seconds", type=float, default=3.0,
                        help="how long an invalidation stays InProgress (default: %(default)s)")
    parser.add_argument("--invalidation-spread", metavar="MIN:MAX",
                        help="draw each invalidation's duration uniformly from MIN..MAX seconds")
    parser.add_argument("--long-wait-seconds", type=float, default=Story.long_invalidation_seconds,
                        help="invalidation duration in the long-wait scenario "
                        "(default: %(default)s)")
    parser.add_argument("--long-wait-function-timeout", type=float,
                        default=Story.long_wait_function_timeout,
                        help="function timeout the long wait must outlast (default: %(default)s)")
    parser.add_argument("--service-timeout", type=float, default=None,
                        help="override the template's ServiceTimeout (seconds)")
    parser.add_argument("--app", type=Path, default=ROOT / "app.py",
                        help="the CDK app to synthesize and deploy locally; its first stack "
                        "with a Custom::CloudFrontInvalidation is used (default: %(default)s)")
    parser.add_argument("--tenants-app", type=Path, default=TENANTS_APP,
                        help=f"the app of the {TENANTS_STEP!r} step (default: %(default)s)")
    parser.add_argument("--cdk-out", type=Path, default=None,
                        help="deploy this synthesized assembly (a cdk.out folder, e.g. from "
                        "`npx cdk synth -o DIR` of your own app) instead of synthesizing --app")
    parser.add_argument("--seed", type=int, default=7,
                        help="random seed of --invalidation-spread, to repeat a run "
                        "(default: %(default)s)")
    parser.add_argument("--no-visitors", dest="visitors", action="store_false",
                        help="no light traffic around app.py's deploy steps (by default a "
                        "visitors line follows each: page loads, broken, stale after SUCCESS)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = parse_args(argv)
    # Every synthesized assembly and site lives here, removed at the end (about 90 MB).
    with tempfile.TemporaryDirectory(prefix="demo-") as scratch:
        return _run(args, Path(scratch), out)


def _run(args: argparse.Namespace, scratch: Path, out: TextIO) -> int:
    names = args.scenario or [*SCENARIOS, *OWN_APP_STEPS]
    cdk_out = args.cdk_out
    if cdk_out is None and set(names) - set(OWN_APP_STEPS):
        cdk_out = scratch / "cdk.out"
        print(f"Synthesizing {args.app} -> {cdk_out}", file=out, flush=True)
        started = time.monotonic()
        synthesize(args.app, cdk_out)
        print(f"  synthesized in {time.monotonic() - started:.1f} s", file=out, flush=True)
    duration: float | object = args.invalidation_seconds
    if args.invalidation_spread:
        low, high = (float(x) for x in args.invalidation_spread.split(":"))
        rng = random.Random(args.seed)
        duration = lambda _dist, _paths: rng.uniform(low, high)  # noqa: E731
    display = LiveDisplay(out)
    outcomes: list[Outcome] = []
    #: The stack of each outcome, for the summary.
    stacks: list[str] = []
    with LocalCloudFront(invalidation_seconds=duration) as cloud:  # type: ignore[arg-type]
        if cdk_out is not None:
            with LocalCloudFormation(cdk_out, cloud=cloud, on_progress=display,
                                     service_timeout=args.service_timeout) as stack:
                print(f"Local cloud at {cloud.endpoint_url}\n  stack: {stack.stack.name}\n"
                      f"  distributions: {_named(stack.distributions)}\n  provider asset: "
                      f"{next(iter(stack.resources.values())).function.asset_dir}", file=out)
                if args.visitors:
                    # Each deploy step gets its content upload and light traffic around it
                    # (localcloud/demo_visitors.py); the scenarios call stack.deploy.
                    from localcloud.demo_visitors import DemoVisitors

                    visitors = DemoVisitors(cloud, stack, out)
                    setattr(stack, "deploy", visitors.around(stack.deploy))  # noqa: B010
                story = Story(stack, invalidation_seconds=args.invalidation_seconds,
                              long_invalidation_seconds=args.long_wait_seconds,
                              long_wait_function_timeout=args.long_wait_function_timeout)
                for name in names:
                    if name in OWN_APP_STEPS:
                        continue
                    print(f"\n== {name}", file=out, flush=True)
                    outcomes += SCENARIOS[name](story)
                    stacks += [stack.stack.name] * (len(outcomes) - len(stacks))
                    display.end()
        if CHANGED_ONLY in names:
            # Imported here: that module synthesizes with this one's synthesize().
            from localcloud import changed_only

            print(f"\n== {CHANGED_ONLY}: purge only what changed "
                  f"({changed_only.APP.relative_to(ROOT)}, two site versions)", file=out,
                  flush=True)
            workdir = scratch / "changed-only"
            outcomes += changed_only.run(cloud, workdir, on_progress=display, out=out)
            stacks += [changed_only.STACK_NAME] * (len(outcomes) - len(stacks))
            display.end()
        if TENANTS_STEP in names:
            for stack_name, stack_outcomes in tenants_step(args, cloud, display, out, scratch):
                outcomes += stack_outcomes
                stacks += [stack_name] * len(stack_outcomes)
    print("\n" + summary_table(outcomes, stacks), file=out)
    problems = check(outcomes)
    print(f"\n{len(outcomes)} CloudFormation requests; "
          f"{sum(len(o.invalidations) for o in outcomes)} invalidations; "
          f"problems: {len(problems)}", file=out)
    for problem in problems:
        print(f"  ! {problem}", file=out)
    return 1 if problems else 0


def _named(items: Mapping[str, object]) -> str:
    """``{"Distribution": "E1..."}`` as ``Distribution E1...``, for people to read."""
    return ", ".join(
        f"{name} {', '.join(map(str, value)) if isinstance(value, list | tuple) else value}"
        for name, value in items.items()
    ) or "none"


def tenants_step(
    args: argparse.Namespace, cloud: LocalCloudFront, display: LiveDisplay, out: TextIO,
    scratch: Path,
) -> list[tuple[str, list[Outcome]]]:
    """Deploy, then change, each stack of the tags-and-tenants app: one purges a cache tag on
    a distribution with a CacheTagConfig, the other purges a distribution tenant. The
    outcomes of each stack, by stack name."""
    tenants_out = scratch / "tenants-cdk.out"
    print(f"\nSynthesizing {args.tenants_app} -> {tenants_out}", file=out, flush=True)
    synthesize(args.tenants_app.resolve(), tenants_out)
    outcomes: list[tuple[str, list[Outcome]]] = []
    for stack_name in TENANTS_STACKS:
        with LocalCloudFormation(tenants_out, cloud=cloud, stack_name=stack_name,
                                 on_progress=display,
                                 service_timeout=args.service_timeout) as stack:
            paths = {lid: stack.template_properties(lid).get("Paths")
                     for lid in stack.resources}
            print(f"\n== {TENANTS_STEP}: stack {stack_name}\n"
                  f"  distributions: {_named(stack.distributions)}\n"
                  f"  distribution tenants: {_named(stack.distribution_tenants)}\n"
                  f"  paths: {_named(paths)}", file=out, flush=True)
            story = Story(stack, invalidation_seconds=args.invalidation_seconds)
            outcomes.append((stack_name, SCENARIOS["first-deploy"](story)
                             + SCENARIOS["content-change"](story)))
            display.end()
    return outcomes


if __name__ == "__main__":
    raise SystemExit(main())
