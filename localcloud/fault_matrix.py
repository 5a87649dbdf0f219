"""Lifecycle event x fault, run through the local CloudFormation against the local CloudFront.

    python -m localcloud.fault_matrix        # prints the markdown table for docs/faults.md

tests/e2e/test_fault_matrix.py runs the same cells. For each it counts what matters to a
user: the answer CloudFormation got, purges lost (a SUCCESS whose content was not purged to
Completed) and duplicate invalidations (more than one invalidation for one request's batch).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.cloudfront import LocalCloudFront
from localcloud.lifecycle import REMOVE, LocalCloudFormation
from localcloud.scenarios import SOURCE_HASH, Story

EVENTS = ("Create", "Update", "Rollback")


@dataclass(frozen=True)
class Fault:
    name: str
    arm: Callable[[LocalCloudFormation], None] = lambda _s: None
    overrides: dict[str, Any] = field(default_factory=dict)
    kill_after: float | None = None
    response_failures: int = 0
    #: SUCCESS: survived (the purge still happened, once); FAILED: refused with a reason.
    expect: str = "SUCCESS"
    #: Words the FAILED Reason must contain.
    reason_has: tuple[str, ...] = ()


def _someone_else_holds_all_wildcards(stack: LocalCloudFormation) -> None:
    dist = next(iter(stack.distributions.values()))
    stack.cloud.client().create_invalidation(
        DistributionId=dist,
        InvalidationBatch={"Paths": {"Quantity": 15, "Items": [f"/other{i}/*" for i in range(15)]},
                           "CallerReference": f"other-deploy-{time.time()}"},
    )


def _rate(code: str, probability: float, *operations: str) -> Callable[[LocalCloudFormation], None]:
    def arm(stack: LocalCloudFormation) -> None:
        for operation in operations:
            stack.cloud.faults.rate(operation, code, probability)

    return arm


SURVIVABLE: tuple[Fault, ...] = (
    Fault("none"),
    Fault("Throttling on 30% of calls",
          _rate("Throttling", 0.3, "CreateInvalidation", "GetInvalidation", "ListInvalidations")),
    Fault("ServiceUnavailable on 20% of calls",
          _rate("ServiceUnavailable", 0.2, "CreateInvalidation", "GetInvalidation")),
    Fault("InternalError on the first CreateInvalidation",
          lambda s: s.cloud.faults.on_call("CreateInvalidation", 1, "InternalError")),
    Fault("CreateInvalidation done, but its answer lost (503 after)",
          lambda s: s.cloud.faults.on_call("CreateInvalidation", 1, "ServiceUnavailable",
                                           after=True)),
    Fault("TooManyInvalidationsInProgress (another deploy holds 15 wildcards)",
          _someone_else_holds_all_wildcards),
    Fault("Lambda killed mid-wait, event re-delivered", kill_after=0.8),
    Fault("ResponseURL PUT answered 500 twice", response_failures=2),
)

TERMINAL: tuple[Fault, ...] = (
    Fault("AccessDenied on CreateInvalidation",
          lambda s: s.cloud.faults.on_call("CreateInvalidation", 1, "AccessDenied"),
          expect="FAILED", reason_has=("AccessDenied", "CreateInvalidation")),
    Fault("NoSuchDistribution", overrides={"DistributionIds": ["ENOSUCHDIST0"]},
          expect="FAILED", reason_has=("ENOSUCHDIST0", "NoSuchDistribution")),
    Fault("InvalidArgument from CloudFront",
          lambda s: s.cloud.faults.on_call("CreateInvalidation", 1, "InvalidArgument"),
          expect="FAILED", reason_has=("InvalidArgument", "CreateInvalidation")),
    Fault("BatchTooLarge from CloudFront",
          lambda s: s.cloud.faults.on_call("CreateInvalidation", 1, "BatchTooLarge"),
          expect="FAILED", reason_has=("BatchTooLarge",)),
)

BAD_INPUT: tuple[Fault, ...] = (
    Fault("DistributionIds missing", overrides={"DistributionIds": REMOVE},
          expect="FAILED", reason_has=("DistributionIds", "required")),
    Fault("Paths empty", overrides={"Paths": []}, expect="FAILED",
          reason_has=("Paths must not be empty",)),
    Fault("Paths a string, not a list", overrides={"Paths": "/index.html"}, expect="FAILED",
          reason_has=("Paths must be a list",)),
    Fault("path without leading /", overrides={"Paths": ["index.html"]}, expect="FAILED",
          reason_has=("'index.html' must start with '/'",)),
    Fault("TimeoutSeconds not a number", overrides={"TimeoutSeconds": "soon"}, expect="FAILED",
          reason_has=("TimeoutSeconds must be a number",)),
    Fault("unknown property", overrides={"Pathz": ["/*"]}, expect="FAILED",
          reason_has=("unknown property Pathz",)),
    Fault("100,001 paths", overrides={"Paths": [f"/p{i}" for i in range(100_001)]},
          expect="FAILED", reason_has=("at most 100000",)),
    Fault("WaitForCompletion \"False\" (coerced to false)",
          overrides={"WaitForCompletion": "False"}),
    Fault("non-ASCII and unsafe paths (coerced: URL-encoded)",
          overrides={"Paths": ["/café/menü.html", "/a b.html"]}),
    Fault("duplicate distribution id (coerced: once)",
          overrides={"DistributionIds": "__DIST_TWICE__"}),
)


@dataclass
class Row:
    event: str
    fault: str
    expected: str
    answered: str
    reason: str
    invalidations: int
    lost: int
    duplicates: int
    seconds: float
    ok: bool


def run_cell(stack: LocalCloudFormation, story: Story, event: str, fault: Fault) -> Row:
    """One event under one fault, from a clean state; the faults are cleared after."""
    if event == "Create":
        if story.current_hash() is not None:
            stack.delete("reset")
    else:
        story.ensure_created()
    overrides = _overrides(stack, fault)
    overrides.setdefault(SOURCE_HASH, story.new_hash())
    fault.arm(stack)
    stack.response_failures = fault.response_failures
    started = time.time()
    try:
        outcomes = stack.deploy(f"{event}: {fault.name}", overrides=overrides,
                                fail_after=event == "Rollback",
                                kill_first_invocation_after=fault.kill_after)
    finally:
        stack.cloud.faults.clear()
        stack.response_failures = 0
        stack.cloud.complete_now()
    seconds = time.time() - started
    first = outcomes[0]
    lost = sum(1 for o in outcomes if o.lost)
    duplicates = sum(o.duplicates for o in outcomes)
    answered = ", ".join(o.status for o in outcomes)
    ok = (
        first.status == fault.expect
        and lost == 0
        and duplicates == 0
        and all(o.status != "TIMED_OUT" and not o.violations for o in outcomes)
        and all(word in first.reason for word in fault.reason_has)
        and (event != "Rollback" or fault.expect != "SUCCESS"
             or all(o.status == "SUCCESS" for o in outcomes))
    )
    return Row(event, fault.name, fault.expect, answered, first.reason,
               sum(len(o.invalidations) for o in outcomes), lost, duplicates, seconds, ok)


def _overrides(stack: LocalCloudFormation, fault: Fault) -> dict[str, Any]:
    overrides = dict(fault.overrides)
    if overrides.get("DistributionIds") == "__DIST_TWICE__":
        dist = next(iter(stack.distributions.values()))
        overrides["DistributionIds"] = [dist, dist]
    return overrides


def run_matrix(cdk_out: Path, *, invalidation_seconds: float = 0.6) -> list[Row]:
    rows: list[Row] = []
    with LocalCloudFront(invalidation_seconds=invalidation_seconds) as cloud, \
            LocalCloudFormation(cdk_out, cloud=cloud, service_timeout=60) as stack:
        story = Story(stack, invalidation_seconds=invalidation_seconds)
        for fault in SURVIVABLE:
            for event in EVENTS:
                rows.append(run_cell(stack, story, event, fault))
        for fault in TERMINAL:
            for event in ("Create", "Update"):
                rows.append(run_cell(stack, story, event, fault))
        for fault in BAD_INPUT:
            rows.append(run_cell(stack, story, "Create", fault))
    return rows


def markdown(rows: list[Row]) -> str:
    lines = ["| event | fault or input | expected | CloudFormation got | invalidations | "
             "lost | duplicates | seconds | reason (first request) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        reason = r.reason.replace("|", "\\|")[:110] or "-"
        lines.append(f"| {r.event} | {r.fault} | {r.expected} | {r.answered} | "
                     f"{r.invalidations} | {r.lost} | {r.duplicates} | {r.seconds:.1f} | "
                     f"{reason} |")
    survived = sum(1 for r in rows if r.ok and r.expected == "SUCCESS")
    refused = sum(1 for r in rows if r.ok and r.expected == "FAILED")
    lines.append("")
    lines.append(f"{len(rows)} cells: {survived} faults survived, {refused} refused with a "
                 f"reason, {sum(1 for r in rows if not r.ok)} not as expected; purges lost: "
                 f"{sum(r.lost for r in rows)}; duplicate invalidations: "
                 f"{sum(r.duplicates for r in rows)}.")
    return "\n".join(lines)


def main() -> int:
    import tempfile

    from localcloud.demo import synthesize

    out = synthesize(Path(__file__).resolve().parent.parent / "app.py",
                     Path(tempfile.mkdtemp(prefix="fault-matrix-")))
    rows = run_matrix(out)
    print(markdown(rows))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
