"""Section 9: load at the scale of an account.

CloudFront limits request rates per account (localcloud/cloudfront/rates.py: CreateInvalidation
0.5 a second, aws-sdk-js issue 3983; GetInvalidation and ListInvalidations chosen, nothing
published). A pipeline deploying many stacks at once, each with a purge, meets those limits
together. app.py is synthesized once and deployed ``stacks`` times at the same moment through
the local CloudFormation (localcloud/account_scale.py), each stack its own provider function
in fresh Lambda-like processes: first with a distribution each, then all on one distribution
(where CloudFront's 15 wildcard invalidations in progress bind too).

Not scaled: the synthesized handler runs with its own engine.Timing in real time, so the
account's rates, the invalidation duration and the ServiceTimeout are real ones as well.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report import Row, Section
from bench.stats import Goal
from localcloud.account_scale import AccountRun, deploy_at_once
from localcloud.cdk_app import synthesize
from localcloud.cloudfront.faults import CREATE, GET, LIST
from localcloud.cloudfront.rates import AWS_DEFAULTS
from localcloud.fault_matrix import BUILD_UMASK

if TYPE_CHECKING:
    from bench.options import Options

ROOT = Path(__file__).resolve().parent.parent
#: How far above the ideal the last SUCCESS may come: the ideal answers at the very instant
#: the last invalidation completes; a waiting function sees Completed on its next status
#: call, which the account's GetInvalidation rate shares among every waiting function.
LAST_SUCCESS_GOAL_RATIO = 1.2
#: ServiceTimeout of every stack: far above the ideal, so a stack that waits for it is one
#: whose answer got lost, not one that was slow.
SERVICE_TIMEOUT_SECONDS = 900.0


def account_section(options: Options) -> tuple[Section, dict[str, Any]]:
    stacks, duration = options.account_stacks, options.account_duration
    runs: list[AccountRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-account-") as scratch:
        assembly = synthesize(ROOT / "app.py", Path(scratch) / "cdk.out", umask=BUILD_UMASK)
        for shared in (False, True):
            runs.append(deploy_at_once(
                assembly, stacks=stacks, shared_distribution=shared,
                invalidation_seconds=duration, service_timeout=SERVICE_TIMEOUT_SECONDS))
    create, get, lst = AWS_DEFAULTS[CREATE], AWS_DEFAULTS[GET], AWS_DEFAULTS[LIST]
    section = Section(
        f"9. Account scale: {stacks} stacks deployed at once, each purging `/*` "
        f"({duration:g} s per invalidation; real time; baseline = ideal)"
    )
    none = Goal(0, "0", inclusive=True)
    for run in runs:
        where = "one distribution" if run.shared_distribution else f"{stacks} distributions"
        limit = run.ideal * LAST_SUCCESS_GOAL_RATIO
        section.rows += [
            Row(f"{where}: answers FAILED", run.failed, None, goal=none),
            Row(f"{where}: stacks left waiting for the ServiceTimeout", run.timed_out, None,
                goal=none),
            Row(f"{where}: duplicate invalidations", run.duplicates, None, goal=none),
            Row(f"{where}: purges lost", run.lost, None, goal=none),
            Row(
                f"{where}: deploy → last SUCCESS (ideal: creates at the account's rate"
                + (", at most 15 wildcards in progress" if run.shared_distribution else "")
                + ", SUCCESS at Completed)",
                run.last_success, run.ideal, "s",
                goal=Goal(limit, f"< {LAST_SUCCESS_GOAL_RATIO:g}x ideal ({limit:.0f} s)"),
            ),
            Row(f"{where}: last CreateInvalidation accepted (ideal: at the account's rate)",
                run.last_create, run.ideal - run.invalidation_seconds, "s"),
            Row(f"{where}: SUCCESS after its invalidation Completed, median",
                _median(run.success_lags), None, "s"),
            Row(f"{where}: SUCCESS after its invalidation Completed, largest",
                max(run.success_lags, default=None), None, "s"),
            Row(
                f"{where}: status calls a second across the account (GetInvalidation, "
                "throttled ones included)",
                run.status_calls_per_second, None, "/s",
                goal=Goal(get.per_second, f"≤ {get.per_second:g} /s (the account's rate)",
                          inclusive=True),
            ),
            Row(f"{where}: peak status calls in one second", run.peak_status_calls_per_second,
                None, "/s"),
            Row(
                f"{where}: calls Create · Get · List (throttled)",
                None, None,
                ours_text=" · ".join(
                    f"{run.calls.get(op, 0):,} ({run.throttled.get(op, 0):,})"
                    for op in (CREATE, GET, LIST)),
                baseline_text=f"{stacks} · — · —",
            ),
        ]
    section.notes += [
        f"The account's limits (localcloud/cloudfront/rates.py): CreateInvalidation "
        f"{create.per_second:g}/s, burst {create.burst:g} (aws-sdk-js issue 3983); "
        f"GetInvalidation {get.per_second:g}/s, burst {get.burst:g}, and ListInvalidations "
        f"{lst.per_second:g}/s, burst {lst.burst:g} (no figure published: chosen low). A call "
        "over the rate answers Throttling (400, Rate exceeded, no Retry-After) and does nothing.",
        "Every stack is app.py's, synthesized once; each has its own provider function, "
        "ResponseURL server and DescribeStacks endpoint; all share one local CloudFront and "
        "its account. The handler runs unscaled in fresh processes (one per invocation), so "
        "start-up of many processes on this machine's cores is in the figures.",
        "Ideal: the k-th CreateInvalidation can pass at the earliest when the account's bucket "
        "holds a token (and, on one distribution, when fewer than 15 wildcard invalidations "
        "are in progress); each then takes the invalidation's duration; SUCCESS arrives at "
        "Completed.",
    ]
    for run in runs:
        if run.reasons:
            section.notes.append(
                f"Answers other than SUCCESS ({'shared' if run.shared_distribution else 'own'} "
                f"distribution): {'; '.join(sorted(set(run.reasons)))[:600]}")
    return section, {"runs": [asdict(r) for r in runs]}


def _median(values: tuple[float, ...]) -> float | None:
    return statistics.median(values) if values else None
