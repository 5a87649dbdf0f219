"""Lifecycle event x fault, run through the local CloudFormation against the local CloudFront.

    python -m localcloud.fault_matrix > docs/faults.md   # cell times go to stderr
    python -m localcloud.fault_matrix --prune            # the prune's cells only

tests/e2e/test_fault_matrix.py runs the same cells. For each it counts what matters to a
user: the answers CloudFormation got and the stack status they leave, purges lost (a
SUCCESS whose content was not purged to Completed and that does not say so), duplicate
invalidations (more than one for one request's batch), answers that contradict each other
(one request answered twice, differently), and the time to the answer that decides the cell.

Events: ``Create`` (a first deploy; a FAILED one is followed by CloudFormation's Delete),
``Update`` (a content change; a FAILED one is rolled back by a second Update with the
properties swapped), ``Rollback`` (a content change that succeeds, then another resource
fails, so the resource's Update is rolled back). The cell's answer is the first request's,
except in a ``Rollback`` cell, where it is the rollback's Update.
"""

from __future__ import annotations

import shutil
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from localcloud.account_scale import AccountRun, deploy_at_once
from localcloud.account_scale import markdown as account_markdown
from localcloud.cloudformation.api import DescribeFault
from localcloud.cloudformation.assembly import PSEUDO_PARAMETERS
from localcloud.cloudformation.lifecycle import REMOVE, LocalCloudFormation, Outcome
from localcloud.cloudformation.responses import answer_key
from localcloud.cloudfront import LocalCloudFront
from localcloud.log_lines import logged
from localcloud.scenarios import SOURCE_HASH, Story

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ("Create", "Update", "Rollback")
ROLLBACK_STEP = "(rollback)"
#: The provider's environment settings for its eventual-consistency windows
#: (docs/troubleshooting.md); cells that must outlast a window set it short.
IAM_WAIT = "CLOUDFRONT_PURGE_IAM_WAIT_SECONDS"
NOT_FOUND_WAIT = "CLOUDFRONT_PURGE_NOT_FOUND_WAIT_SECONDS"
#: The attribute a rollback's SUCCESS sets to "false" when its purge is unconfirmed.
PURGE_CONFIRMED = "PurgeConfirmed"

#: Files of the provider's synthesized asset that two cells break, as a bad build would (a
#: module left out, a handler that dies): a judge names product files only here, and only to
#: break the asset it was given.
ENGINE_MODULE = Path("cloudfront_purge", "engine", "_purge.py")
HANDLER_FILE = Path("cloudfront_purge", "resource", "handler.py")

#: Sets the fault up, given the story (its stack, and the timings it restores).
Arm = Callable[[Story], None]
#: Changes a private copy of the provider's asset (as a deploy of changed code would).
AssetChange = Callable[[Path], Path]


def _nothing(_story: Story) -> None:
    return None


def _distribution(stack: LocalCloudFormation) -> str:
    return next(iter(stack.distributions.values()))


@dataclass(frozen=True)
class Fault:
    name: str
    arm: Arm = _nothing
    overrides: dict[str, Any] = field(default_factory=dict)
    kill_after: float | None = None
    response_failures: int = 0
    #: SUCCESS: survived (the purge still happened, once); FAILED: refused with a reason.
    #: Judged on the cell's answer: the first request's, or a Rollback cell's rollback.
    expect: str = "SUCCESS"
    #: Words the cell's answer's Reason must contain.
    reason_has: tuple[str, ...] = ()
    #: The events this fault runs under (None: the group's).
    events: tuple[str, ...] | None = None
    #: The provider function's environment for this cell (a redeploy with these settings).
    environment: dict[str, str] = field(default_factory=dict)
    #: The provider's code for this cell: its asset copied and changed (a broken deploy).
    asset_change: AssetChange | None = None
    #: A rollback's Update answers SUCCESS with PurgeConfirmed "false" (its purge failed).
    rollback_unconfirmed: bool = False
    #: DescribeStacks fails for the cell (None: it answers).
    describe_stacks_fault: DescribeFault | None = None
    #: The stack status the cell must end in (None: what its answers imply).
    stack_status: str | None = None
    #: (log event, fields): a JSON log line with that message and those keys must appear
    #: (``key=value``: with that value).
    log_has: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Bounds on the time to the cell's answer: a window waited out (at least), or not
    #: waited at all (at most: far below the window it must not wait).
    answer_after: float | None = None
    answer_within: float | None = None
    #: Delete the resource after the cell: the cell leaves properties others must not reuse.
    fresh_after: bool = False


def _someone_else_holds_all_wildcards(story: Story) -> None:
    dist = _distribution(story.stack)
    story.stack.cloud.client().create_invalidation(
        DistributionId=dist,
        InvalidationBatch={"Paths": {"Quantity": 15, "Items": [f"/other{i}/*" for i in range(15)]},
                           "CallerReference": f"other-deploy-{time.time()}"},
    )


#: Another deploy's in-progress invalidations, behind this many newer Completed ones: the
#: second ListInvalidations page of 100 is where the capacity they hold shows.
_NEWER_COMPLETED = 120
_LIST = "ListInvalidations"


def _another_deploy_across_pages(story: Story) -> None:
    """15 one-wildcard invalidations in progress (all the wildcard capacity), then 120 newer
    ones already Completed, on a server that refuses an empty Marker. The other deploy's
    invalidations complete once the provider's capacity check has read two pages, so it
    must have counted them from page 2 (its log says wildcards_in_progress 15)."""
    dist = _distribution(story.stack)
    cloud = story.stack.cloud
    cloud.set_invalidation_seconds(lambda _target, paths: 600.0 if paths[0].endswith("*") else 0.0)
    client = cloud.client()
    held = [
        client.create_invalidation(
            DistributionId=dist,
            InvalidationBatch={"Paths": {"Quantity": 1, "Items": [f"/other{i}/*"]},
                               "CallerReference": f"other-wild-{i}-{time.time()}"},
        )["Invalidation"]["Id"]
        for i in range(15)
    ]
    for i in range(_NEWER_COMPLETED):
        client.create_invalidation(
            DistributionId=dist,
            InvalidationBatch={"Paths": {"Quantity": 1, "Items": [f"/other/{i}.html"]},
                               "CallerReference": f"other-file-{i}-{time.time()}"},
        )
    cloud.set_invalidation_seconds(story.invalidation_seconds)
    listed_before = cloud.calls(_LIST)

    def other_deploy_done() -> None:
        deadline = time.monotonic() + 120  # far beyond a capacity check; never hangs a run
        while cloud.calls(_LIST) < listed_before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        for invalidation_id in held:
            cloud.complete_now(distribution_id=dist, invalidation_id=invalidation_id)

    threading.Thread(target=other_deploy_done, daemon=True).start()


def _rate(code: str, probability: float, *operations: str) -> Arm:
    def arm(story: Story) -> None:
        for operation in operations:
            story.stack.cloud.faults.rate(operation, code, probability)

    return arm


def _deny_distribution(story: Story) -> None:
    story.stack.cloud.faults.deny(_distribution(story.stack))


def _revoke(action: str) -> Arm:
    """The deployed template's grants without ``action`` (a construct that forgot it)."""

    def drop(statement: dict[str, Any]) -> dict[str, Any] | None:
        actions = statement.get("Action")
        listed = [actions] if isinstance(actions, str) else list(actions or [])
        if action not in listed:
            return statement
        rest = [a for a in listed if a != action]
        return {**statement, "Action": rest} if rest else None

    def arm(story: Story) -> None:
        story.stack.change_role_policies(drop)

    return arm


def _grant_distribution(distribution_id: str) -> Arm:
    """The invalidation grants name ``distribution_id`` too (grant_distribution_ids)."""

    def widen(statement: dict[str, Any]) -> dict[str, Any]:
        actions = statement.get("Action")
        listed_actions = [actions] if isinstance(actions, str) else list(actions or [])
        if "cloudfront:CreateInvalidation" not in listed_actions:
            return statement
        resources = statement["Resource"]
        listed = resources if isinstance(resources, list) else [resources]
        arn = f"arn:aws:cloudfront::{PSEUDO_PARAMETERS['AWS::AccountId']}:distribution/"
        return {**statement, "Resource": [*listed, arn + distribution_id]}

    def arm(story: Story) -> None:
        story.stack.change_role_policies(widen)

    return arm


def _iam_lag(seconds: float) -> Arm:
    def arm(story: Story) -> None:
        story.stack.cloud.faults.iam_lag(_distribution(story.stack), seconds)

    return arm


def _read_lag(seconds: float) -> Arm:
    def arm(story: Story) -> None:
        story.stack.cloud.faults.read_lag(seconds)

    return arm


def _rollback_create_fails(code: str) -> Arm:
    """The forward Update's CreateInvalidation (the first call) passes; the rollback's fails."""
    def arm(story: Story) -> None:
        story.stack.cloud.faults.on_call("CreateInvalidation", 2, code)

    return arm


#: Above the engine's first look at an invalidation (2 s) with room for a loaded machine's
#: process start and DescribeStacks, so the set-up deploy completes.
_ROLLBACK_TIMEOUT_SECONDS = "5"


def _rollback_purge_never_completes(story: Story) -> None:
    """The deployed properties wait 5 s (TimeoutSeconds); the forward Update purges other
    paths; the rollback's purge of the deployed paths stays InProgress past its 5 s."""
    stack = story.stack
    (resource,) = stack.resources.values()
    props = dict(resource.properties or {})
    (prepared,) = stack.deploy("set up: a short TimeoutSeconds deployed",
                               overrides={"TimeoutSeconds": _ROLLBACK_TIMEOUT_SECONDS,
                                          SOURCE_HASH: f"short-timeout-{time.time()}"})
    if prepared.status != "SUCCESS":
        raise RuntimeError(f"the set-up deploy answered {prepared.status}: {prepared.reason}")
    deployed = tuple(str(p) for p in props.get("Paths", ["/*"]))
    stack.cloud.set_invalidation_seconds(
        lambda _target, paths: 60.0 if tuple(paths) == deployed
        else story.invalidation_seconds)


def _drop_first_attempt(story: Story) -> None:
    runtime = story.stack.lambda_
    runtime.drop_invocations(runtime.async_attempts + 1)


def _duplicate_first_attempt(story: Story) -> None:
    runtime = story.stack.lambda_
    runtime.duplicate_invocations(runtime.async_attempts + 1)


def _remove_engine(asset: Path) -> Path:
    (asset / ENGINE_MODULE).unlink()
    return asset


_CRASH_EVERY_TIME = """

def handler(event, context):  # appended by the fault matrix: dies on every attempt
    import os, signal
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _crash_every_time(asset: Path) -> Path:
    with (asset / HANDLER_FILE).open("a") as handler:
        handler.write(_CRASH_EVERY_TIME)
    return asset


#: The matrix synthesizes ``app.py`` under this umask (a locked-down build host's); so does
#: the end-to-end tier (tests/e2e/conftest.py).
BUILD_UMASK = 0o077


def _read_as_lambda_does(asset: Path) -> Path:
    """The provider's asset, as staged under BUILD_UMASK, read as Lambda's runtime user."""
    return as_lambda_reads_it(asset, asset.parent / "as-lambda-reads-it")


def as_lambda_reads_it(asset: Path, into: Path) -> Path:
    """A copy of ``asset`` as Lambda's runtime user sees it: it does not own the files, so
    a file without read permission for others cannot be opened (AWS Lambda Developer Guide,
    "Deploying Python Lambda functions with .zip file archives": files need 644). Such a
    Python file becomes one that raises the PermissionError Python would; any other such
    file is left out."""
    shutil.copytree(asset, into, symlinks=False)
    for path in sorted(asset.rglob("*")):
        if not path.is_file() or stat.S_IMODE(path.stat().st_mode) & stat.S_IROTH:
            continue
        copy = into / path.relative_to(asset)
        if path.suffix == ".py":
            copy.write_text(f"raise PermissionError(13, 'Permission denied', {str(copy)!r})\n")
        else:
            copy.unlink()
    return into


SURVIVABLE: tuple[Fault, ...] = (
    Fault("none"),
    Fault("Throttling on 30% of calls",
          _rate("Throttling", 0.3, "CreateInvalidation", "GetInvalidation", "ListInvalidations")),
    Fault("ServiceUnavailable on 20% of calls",
          _rate("ServiceUnavailable", 0.2, "CreateInvalidation", "GetInvalidation")),
    Fault("InternalError on the first CreateInvalidation",
          lambda s: s.stack.cloud.faults.on_call("CreateInvalidation", 1, "InternalError")),
    Fault("CreateInvalidation done, but its answer lost (503 after)",
          lambda s: s.stack.cloud.faults.on_call("CreateInvalidation", 1, "ServiceUnavailable",
                                                 after=True)),
    Fault("AccessDenied on the first CreateInvalidation (IAM wait)",
          lambda s: s.stack.cloud.faults.on_call("CreateInvalidation", 1, "AccessDenied"),
          log_has=(("waiting_for_iam", ("distribution", "problem", "next_check_in_s")),)),
    Fault("TooManyInvalidationsInProgress (another deploy holds 15 wildcards)",
          _someone_else_holds_all_wildcards),
    Fault("Lambda killed mid-wait, event re-delivered", kill_after=0.8),
    Fault("ResponseURL PUT answered 500 twice", response_failures=2),
)

TERMINAL: tuple[Fault, ...] = (
    # IAM is evaluated before the distribution is looked up: a wrong id answers
    # NoSuchDistribution only when the grant names it too (else AccessDenied: next row).
    Fault("NoSuchDistribution (wrong distribution id, granted)",
          _grant_distribution("ENOSUCHDIST0"),
          overrides={"DistributionIds": ["ENOSUCHDIST0"]},
          expect="FAILED", reason_has=("ENOSUCHDIST0", "NoSuchDistribution"),
          # Not the 60 s IAM window: a wrong id fails in seconds.
          answer_within=30.0),
    Fault("InvalidArgument from CloudFront",
          lambda s: s.stack.cloud.faults.on_call("CreateInvalidation", 1, "InvalidArgument"),
          expect="FAILED", reason_has=("InvalidArgument", "CreateInvalidation")),
    Fault("BatchTooLarge from CloudFront",
          lambda s: s.stack.cloud.faults.on_call("CreateInvalidation", 1, "BatchTooLarge"),
          expect="FAILED", reason_has=("BatchTooLarge",)),
)

#: The failures AWS has that a kinder emulator would not.
PRODUCTION: tuple[Fault, ...] = (
    Fault("capacity wait: another deploy's invalidations over 2 ListInvalidations pages "
          "(strict server: no empty Marker)",
          _another_deploy_across_pages, events=("Update",),
          log_has=(("waiting_for_capacity",
                    ("distribution", "wildcards_in_progress=15", "next_check_in_s")),)),
    Fault("IAM grant still propagating (AccessDenied for 2 s)", _iam_lag(2.0),
          events=("Create", "Update"),
          log_has=(("waiting_for_iam", ("distribution", "problem", "next_check_in_s")),),
          answer_after=2.0),
    Fault("IAM grant missing (AccessDenied for good; IAM window 3 s)", _deny_distribution,
          events=("Create", "Update"), environment={IAM_WAIT: "3"},
          expect="FAILED", reason_has=("AccessDenied", "CreateInvalidation", "denied for 3 s"),
          rollback_unconfirmed=True, answer_after=3.0,
          log_has=(("waiting_for_iam", ("distribution", "problem")),)),
    # Longer than the engine's first look (2 s after CreateInvalidation).
    # Computed IAM (localcloud.iam): the template's policies, evaluated, decide.
    Fault("wrong distribution id, not granted (computed IAM; IAM window 3 s)",
          overrides={"DistributionIds": ["ENOSUCHDIST0"]}, events=("Create", "Update"),
          environment={IAM_WAIT: "3"}, expect="FAILED",
          reason_has=("AccessDenied", "CreateInvalidation", "ENOSUCHDIST0"),
          # The rollback purges the previous, granted distribution: confirmed.
          answer_after=3.0,
          log_has=(("waiting_for_iam", ("distribution", "problem")),)),
    Fault("CreateInvalidation missing from the template's grants (computed IAM; window 3 s)",
          _revoke("cloudfront:CreateInvalidation"),
          events=("Create", "Update"), environment={IAM_WAIT: "3"},
          expect="FAILED", reason_has=("AccessDenied", "CreateInvalidation", "denied for 3 s"),
          rollback_unconfirmed=True, answer_after=3.0,
          log_has=(("waiting_for_iam", ("distribution", "problem")),)),
    Fault("NoSuchInvalidation for 3 s after CreateInvalidation", _read_lag(3.0),
          events=("Create", "Update"),
          log_has=(("not_visible_yet", ("distribution", "invalidation", "problem")),)),
    Fault("NoSuchInvalidation for good (visibility window 2 s)", _read_lag(600.0),
          events=("Update",), environment={NOT_FOUND_WAIT: "2"},
          expect="FAILED", reason_has=("NoSuchInvalidation",), rollback_unconfirmed=True,
          answer_after=2.0),
    Fault("rollback's purge refused (InvalidArgument on its CreateInvalidation)",
          _rollback_create_fails("InvalidArgument"), events=("Rollback",),
          rollback_unconfirmed=True,
          log_has=(("rollback_purge_unconfirmed",
                    ("problem", "submitted", "distributions", "advice")),)),
    Fault(f"rollback's purge never completes (TimeoutSeconds {_ROLLBACK_TIMEOUT_SECONDS})",
          _rollback_purge_never_completes, events=("Rollback",),
          overrides={"Paths": ["/index.html"]}, rollback_unconfirmed=True, fresh_after=True,
          log_has=(("rollback_purge_unconfirmed", ("problem", "invalidations", "advice")),)),
    Fault("DescribeStacks AccessDenied (a rollback is a normal update)",
          describe_stacks_fault="AccessDenied", events=("Rollback",),
          log_has=(("stack_status_unknown", ("problem", "consequence")),)),
    Fault("DescribeStacks missing from the template's grants (computed IAM)",
          _revoke("cloudformation:DescribeStacks"), events=("Rollback",),
          log_has=(("stack_status_unknown", ("problem", "consequence")),)),
    Fault("DescribeStacks AccessDenied and the rollback's purge refused",
          _rollback_create_fails("InvalidArgument"), describe_stacks_fault="AccessDenied",
          events=("Rollback",), expect="FAILED", reason_has=("InvalidArgument",),
          stack_status="UPDATE_ROLLBACK_FAILED"),
    Fault("function cannot start (engine/_purge.py removed)", asset_change=_remove_engine,
          events=("Create", "Update"), expect="FAILED",
          reason_has=("could not start", "engine"), rollback_unconfirmed=True,
          answer_within=30.0,
          log_has=(("start_failed", ()), ("fallback_answer", ("status", "reason")))),
    Fault("assets staged under umask 077, read by Lambda's runtime user (not their owner)",
          asset_change=_read_as_lambda_does, events=("Create",)),
    Fault("function crashes on every attempt (Lambda gives up: on-failure answer)",
          asset_change=_crash_every_time, events=("Create", "Update"), expect="FAILED",
          reason_has=("RetriesExhausted after 3 attempts", "deploy again"),
          rollback_unconfirmed=True,
          # Lambda's retries (1 and 2 minutes, scaled), not the ServiceTimeout (60 s here).
          answer_within=30.0,
          log_has=(("invocation_given_up", ("condition", "attempts")),
                   ("fallback_answer", ("status", "reason")))),
    Fault("first event dropped by Lambda (retried)", _drop_first_attempt, events=("Create",)),
    Fault("event delivered twice", _duplicate_first_attempt, events=("Update",)),
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

#: (faults, the events they run under unless a fault names its own).
GROUPS: tuple[tuple[tuple[Fault, ...], tuple[str, ...]], ...] = (
    (SURVIVABLE, EVENTS),
    (TERMINAL, ("Create", "Update")),
    (PRODUCTION, EVENTS),
    (BAD_INPUT, ("Create",)),
)


def cells() -> list[tuple[str, Fault]]:
    """Every (event, fault) the matrix runs, in its order."""
    return [(event, fault) for faults, events in GROUPS for fault in faults
            for event in (fault.events or events)]


@dataclass
class Row:
    event: str
    fault: str
    expected: str
    answered: str
    stack_status: str
    reason: str
    invalidations: int
    lost: int
    unconfirmed: int
    duplicates: int
    #: Requests answered more than once with different answers.
    conflicting: int
    seconds: float
    logs_checked: tuple[str, ...]
    problems: list[str]
    #: The cell's wall time, set up and clean-up included (for keeping the suite short).
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def run_cell(stack: LocalCloudFormation, story: Story, event: str, fault: Fault) -> Row:
    """One event under one fault, from a clean state; the faults are cleared after."""
    began = time.time()
    if event == "Create":
        if story.current_hash() is not None:
            stack.delete("reset")
    else:
        story.ensure_created()
    with _function_as_deployed(stack, fault):
        overrides = _overrides(stack, fault)
        overrides.setdefault(SOURCE_HASH, story.new_hash())
        stack.describe_stacks_fault = fault.describe_stacks_fault
        stack.response_failures = fault.response_failures
        try:
            fault.arm(story)
            outcomes = stack.deploy(f"{event}: {fault.name}", overrides=overrides,
                                    fail_after=event == "Rollback",
                                    kill_first_invocation_after=fault.kill_after)
        finally:
            stack.restore_role_policies()
            stack.cloud.faults.clear()
            stack.describe_stacks_fault = None
            stack.response_failures = 0
            stack.cloud.set_invalidation_seconds(story.invalidation_seconds)
            stack.cloud.complete_now()
    status = stack.stack_status or ""
    if fault.fresh_after and story.current_hash() is not None:
        stack.delete("reset after a cell that leaves its own properties")
    row = judge(stack, event, fault, outcomes, status)
    row.wall_seconds = time.time() - began
    return row


def judge(stack: LocalCloudFormation, event: str, fault: Fault, outcomes: list[Outcome],
          stack_status: str) -> Row:
    """What the cell shows, and every way it differs from what it must show."""
    problems: list[str] = []
    rollbacks = [o for o in outcomes if o.step.endswith(ROLLBACK_STEP)]
    if event == "Rollback":
        cell = rollbacks[0] if rollbacks else outcomes[-1]
        if outcomes[0] is cell or outcomes[0].status != "SUCCESS":
            problems.append(f"the update before the rollback answered {outcomes[0].status}")
    else:
        cell = outcomes[0]
    lost = sum(1 for o in outcomes if o.lost and o.data.get(PURGE_CONFIRMED) != "false")
    unconfirmed = sum(1 for o in outcomes
                      if o.status == "SUCCESS" and o.data.get(PURGE_CONFIRMED) == "false")
    duplicates = sum(o.duplicates for o in outcomes)
    conflicting = sum(1 for o in outcomes if len(_accepted_answers(stack, o)) > 1)
    if cell.status != fault.expect:
        problems.append(f"answered {cell.status}, expected {fault.expect}")
    problems += [f"Reason lacks {word!r}" for word in fault.reason_has if word not in cell.reason]
    for o in outcomes:
        if o.status == "TIMED_OUT":
            problems.append(f"{o.request_type} left waiting for the ServiceTimeout")
        problems += [f"{o.request_type}: {v}" for v in o.violations]
        if o is not cell and o.status != "SUCCESS":
            problems.append(f"{o.step} ({o.request_type}) answered {o.status}: {o.reason}")
    for o in rollbacks:
        if o.request_type == "Update" and o.status == "SUCCESS":
            want = "false" if fault.rollback_unconfirmed else "true"
            if o.data.get(PURGE_CONFIRMED) != want:
                problems.append(f"rollback's {PURGE_CONFIRMED} is "
                                f"{o.data.get(PURGE_CONFIRMED)!r}, expected {want!r}")
    if unconfirmed > sum(1 for o in rollbacks if o.data.get(PURGE_CONFIRMED) == "false"):
        problems.append("a purge outside a rollback answered SUCCESS unconfirmed")
    for o in outcomes:
        if o.status == "SUCCESS" and o.data.get(PURGE_CONFIRMED) == "false":
            # Said in the attributes and in the log, with what to do (docs/troubleshooting.md).
            if o.data.get("Status") != "Unconfirmed" or not o.data.get("PurgeProblem"):
                problems.append(f"unconfirmed purge without Status Unconfirmed and a "
                                f"PurgeProblem: {o.data}")
            if not logged(o.logs, "rollback_purge_unconfirmed", ("problem", "advice")):
                problems.append("unconfirmed purge not logged (rollback_purge_unconfirmed)")
    expected_status = fault.stack_status or _implied_status(event, cell.status)
    if stack_status != expected_status:
        problems.append(f"stack ended {stack_status}, expected {expected_status}")
    if lost:
        problems.append(f"{lost} purge(s) lost")
    if duplicates:
        problems.append(f"{duplicates} duplicate invalidation(s)")
    if conflicting:
        problems.append(f"{conflicting} request(s) answered twice, differently")
    logs = "\n".join(o.logs for o in outcomes)
    for name, fields in fault.log_has:
        if not logged(logs, name, fields):
            problems.append(f"no log line {name!r} with fields {list(fields)}")
    for url in stack.responses.urls():
        if url.split("?")[0] in logs:
            problems.append("a ResponseURL reached the log")
            break
    seconds = cell.seconds_to_answer or 0.0
    if fault.answer_after is not None and seconds < fault.answer_after:
        problems.append(f"answered after {seconds:.1f} s, before the {fault.answer_after:g} s "
                        "it must wait out")
    if fault.answer_within is not None and seconds > fault.answer_within:
        problems.append(f"answered after {seconds:.1f} s: it waited (bound "
                        f"{fault.answer_within:g} s)")
    return Row(
        event=event, fault=fault.name, expected=fault.expect,
        answered=", ".join(f"{o.request_type}{' (rollback)' if o in rollbacks else ''} "
                           f"{o.status}" for o in outcomes),
        stack_status=stack_status, reason=cell.reason,
        invalidations=sum(len(o.invalidations) for o in outcomes),
        lost=lost, unconfirmed=unconfirmed, duplicates=duplicates, conflicting=conflicting,
        seconds=seconds, logs_checked=tuple(name for name, _ in fault.log_has),
        problems=problems,
    )


def _implied_status(event: str, answer: str) -> str:
    """The stack status the cell's answer leads to when every other answer is SUCCESS."""
    if event == "Create":
        return "CREATE_COMPLETE" if answer == "SUCCESS" else "ROLLBACK_COMPLETE"
    if event == "Update":
        return "UPDATE_COMPLETE" if answer == "SUCCESS" else "UPDATE_ROLLBACK_COMPLETE"
    return "UPDATE_ROLLBACK_COMPLETE" if answer == "SUCCESS" else "UPDATE_ROLLBACK_FAILED"


def _accepted_answers(stack: LocalCloudFormation, outcome: Outcome) -> set[str]:
    """The distinct answers the request's ResponseURL accepted (one, when consistent)."""
    answers = set()
    for attempt in stack.responses.attempts(outcome.request_id):
        if attempt.http_status != 200:
            continue
        answers.add(answer_key(attempt.raw))
    return answers


@contextmanager
def _function_as_deployed(stack: LocalCloudFormation, fault: Fault) -> Iterator[None]:
    """The provider redeployed with the cell's environment and code, then restored."""
    if not fault.environment and fault.asset_change is None:
        yield
        return
    saved = {logical_id: r.function for logical_id, r in stack.resources.items()}
    with tempfile.TemporaryDirectory(prefix="fault-matrix-asset-") as scratch:
        try:
            for resource in stack.resources.values():
                function = resource.function
                asset = function.asset_dir
                if fault.asset_change is not None:
                    copy = Path(scratch) / "asset"
                    shutil.copytree(function.asset_dir, copy, symlinks=False)
                    asset = fault.asset_change(copy)
                resource.function = replace(
                    function, asset_dir=asset,
                    environment={**function.environment, **fault.environment})
                stack.lambda_.register(resource.function)
            yield
        finally:
            for logical_id, function in saved.items():
                stack.resources[logical_id].function = function
                stack.lambda_.register(function)


def _overrides(stack: LocalCloudFormation, fault: Fault) -> dict[str, Any]:
    overrides = dict(fault.overrides)
    if overrides.get("DistributionIds") == "__DIST_TWICE__":
        dist = _distribution(stack)
        overrides["DistributionIds"] = [dist, dist]
    return overrides


def run_matrix(cdk_out: Path, *, invalidation_seconds: float = 0.6) -> list[Row]:
    rows: list[Row] = []
    with LocalCloudFront(invalidation_seconds=invalidation_seconds) as cloud, \
            LocalCloudFormation(cdk_out, cloud=cloud, service_timeout=60) as stack:
        story = Story(stack, invalidation_seconds=invalidation_seconds)
        for event, fault in cells():
            rows.append(run_cell(stack, story, event, fault))
    return rows


#: What docs/faults.md says before the table.
DOC_HEADER = """# Faults tried and outcomes

Generated by `python -m localcloud.fault_matrix` (the same cells run in
`tests/e2e/test_fault_matrix.py`): app.py, synthesized under umask 077, its handler run in a
fresh Lambda-like process (asynchronous invocation with the provider's retries, maximum event
age and on-failure function), driven through the local CloudFormation against the local
CloudFront (as strict as stock moto 5.2.5: an empty `Marker` is refused), invalidations
InProgress for 0.6 s. Lambda's retry delays are scaled by 0.01; the IAM and visibility
windows are the provider's defaults (60 s, 30 s) unless the fault says it sets the function's
environment shorter. IAM is computed: each function runs with its role's own credentials, and
the local CloudFront, S3 and DescribeStacks decide AccessDenied from the deployed template's
policies with `@cloud-copilot/iam-simulate` (`localcloud/iam/`); the faults that deny or lag
(`deny`, `iam_lag`, a DescribeStacks fault) apply on top of it.

- *lifecycle event*: **Create** (a first deploy; a FAILED one is followed by CloudFormation's
  Delete), **Update** (a content change; a FAILED one is followed by the rollback's Update,
  with the properties swapped), **Rollback** (a content change that succeeds, then another
  resource fails: the cell is judged on the rollback's Update, the second answer).
- *CloudFormation got*: every request of the cell and its answer; *stack*: the status it ends
  in. A rollback never ends in `UPDATE_ROLLBACK_FAILED` because of the cache, except where
  the provider cannot read the stack's status (DescribeStacks denied), which is the one row
  that expects it.
- *purges lost*: a SUCCESS whose purge did not reach Completed and that does not say so;
  *unconfirmed*: a rollback's SUCCESS that says so (`PurgeConfirmed` = `false`, `Status` =
  `Unconfirmed`, a `PurgeProblem`, and a `rollback_purge_unconfirmed` log line with advice);
  *duplicates*: invalidations beyond one per batch. Every request of every cell was also
  checked for two different answers to one request and for its ResponseURL in the log.
- *time to answer*: seconds from the request to the answer the cell is judged on.
- *log checked*: log events whose JSON fields the cell checks (Lambda's JSON log format).
"""


def markdown(rows: list[Row]) -> str:
    """docs/faults.md: the header, the table, the totals (and any cell not as expected)."""
    lines = [DOC_HEADER,
             "| fault or input | lifecycle event | expected | CloudFormation got | stack | "
             "invalidations | purges lost | unconfirmed | duplicates | time to answer (s) | "
             "log checked | reason (the cell's answer) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        reason = r.reason.replace("|", "\\|")[:110] or "-"
        lines.append(f"| {r.fault} | {r.event} | {r.expected} | {r.answered} | "
                     f"{r.stack_status} | {r.invalidations} | {r.lost} | {r.unconfirmed} | "
                     f"{r.duplicates} | {r.seconds:.1f} | "
                     f"{', '.join(r.logs_checked) or '-'} | {reason} |")
    survived = sum(1 for r in rows if r.ok and r.expected == "SUCCESS")
    refused = sum(1 for r in rows if r.ok and r.expected == "FAILED")
    lines.append("")
    lines.append(f"{len(rows)} cells: {survived} faults survived, {refused} refused with a "
                 f"reason, {sum(1 for r in rows if not r.ok)} not as expected; purges lost: "
                 f"{sum(r.lost for r in rows)}; rollback purges unconfirmed (answered SUCCESS "
                 f"with {PURGE_CONFIRMED} false): {sum(r.unconfirmed for r in rows)}; duplicate "
                 f"invalidations: {sum(r.duplicates for r in rows)}; requests answered twice "
                 f"differently: {sum(r.conflicting for r in rows)}.")
    for r in rows:
        if not r.ok:
            lines.append(f"- NOT AS EXPECTED: {r.event} / {r.fault}: {'; '.join(r.problems)}")
    return "\n".join(lines)


#: The account-scale rows: a pipeline's worth of stacks at once; 40 s per invalidation, so
#: that on one distribution CloudFront's 15 wildcards in progress bind as well.
ACCOUNT_STACKS = 50
ACCOUNT_INVALIDATION_SECONDS = 40.0


def account_runs(cdk_out: Path, *, stacks: int = ACCOUNT_STACKS,
                 invalidation_seconds: float = ACCOUNT_INVALIDATION_SECONDS) -> list[AccountRun]:
    """Every stack with a distribution of its own, then all of them on one distribution."""
    return [deploy_at_once(cdk_out, stacks=stacks, shared_distribution=shared,
                           invalidation_seconds=invalidation_seconds)
            for shared in (False, True)]


def main(argv: list[str] | None = None) -> int:
    from localcloud.cdk_app import synthesize

    if "--prune" in (sys.argv[1:] if argv is None else argv):
        # Only the prune's cells (docs/faults.md, "The prune's faults"): a pruning resource
        # of examples/safe_site_app.py, not app.py's.
        from localcloud import prune_matrix

        with tempfile.TemporaryDirectory(prefix="prune-matrix-") as work:
            prune_rows = prune_matrix.run_prune_matrix(Path(work))
        print(prune_matrix.prune_markdown(prune_rows))
        return 0 if all(r.ok for r in prune_rows) else 1
    with tempfile.TemporaryDirectory(prefix="fault-matrix-") as scratch:
        out = synthesize(ROOT / "app.py", Path(scratch), umask=BUILD_UMASK)
        rows = run_matrix(out)
        print(markdown(rows))
        runs = account_runs(out)
        print()
        print(account_markdown(runs))
    for r in sorted(rows, key=lambda r: -r.wall_seconds):
        print(f"{r.wall_seconds:6.1f} s  {r.event:<8} {r.fault}", file=sys.stderr)
    print(f"{sum(r.wall_seconds for r in rows):6.1f} s  in all", file=sys.stderr)
    return 0 if all(r.ok for r in rows) and all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
