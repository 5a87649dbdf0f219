"""Many stacks deployed at once into one account, under CloudFront's account-wide rates.

CloudFront limits request rates per account, not per stack (localcloud/cloudfront/rates.py):
a pipeline that deploys 50 stacks at once, each with a purge, meets the CreateInvalidation
rate, and 50 functions waiting for Completed meet the GetInvalidation rate. :func:`deploy_at_once`
stands ``stacks`` copies of one synthesized stack up in the local CloudFormation (each its own
provider function, ResponseURL server and distribution), all against one local CloudFront
with the account's token buckets, and sends every Create at the same moment. Each stack
purges its own distribution, or (``shared_distribution``) all of them purge the first one,
where CloudFront's 15 wildcard invalidations in progress bind as well.

What it reports is what a user would see: answers (SUCCESS, FAILED, none within the
ServiceTimeout), duplicate invalidations, purges lost, the time from the deploy to the last
SUCCESS beside the ideal the limits allow (:func:`ideal_seconds`), and the account's status
calls (GetInvalidation) a second.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from localcloud.awslambda.model import LambdaFunction
from localcloud.cloudformation.lifecycle import LocalCloudFormation, Outcome
from localcloud.cloudfront import LocalCloudFront
from localcloud.cloudfront.faults import CREATE, GET, LIST
from localcloud.cloudfront.rates import AccountRates, RateLimit
from localcloud.iam.authorizer import access_key_for

__all__ = ["AccountRun", "deploy_at_once", "ideal_seconds"]

#: The custom resource property naming the distributions (the construct's DistributionIds).
_DISTRIBUTION_IDS = "DistributionIds"
#: Sampling period of the account's call counters, for the peak status-call rate.
_SAMPLE_SECONDS = 1.0


def ideal_seconds(
    invalidations: int,
    create: RateLimit,
    duration: float,
    *,
    max_in_progress: int | None = None,
) -> float:
    """The earliest the last of ``invalidations`` one-wildcard purges can be Completed.

    Creates as fast as the CreateInvalidation bucket allows (starting full), each InProgress
    for ``duration``; with ``max_in_progress`` (one distribution: 15 wildcard invalidations),
    a create also waits until one of the earlier ones completes. SUCCESS at Completed.
    """
    if invalidations < 1:
        return 0.0
    tokens, at = create.burst, 0.0
    starts: list[float] = []
    for i in range(invalidations):
        start = starts[-1] if starts else 0.0
        if max_in_progress is not None and i >= max_in_progress:
            start = max(start, starts[i - max_in_progress] + duration)
        tokens = min(create.burst, tokens + (start - at) * create.per_second)
        if tokens < 1.0:
            start += (1.0 - tokens) / create.per_second
            tokens = 1.0
        tokens -= 1.0
        at = start
        starts.append(start)
    return starts[-1] + duration


@dataclass(frozen=True)
class AccountRun:
    """One deploy of ``stacks`` stacks at once. Times in seconds from the common start."""

    stacks: int
    shared_distribution: bool
    invalidation_seconds: float
    answers: dict[str, int]  # SUCCESS / FAILED / TIMED_OUT (no answer by the ServiceTimeout)
    invalidations: int
    duplicates: int  # invalidations beyond one per CallerReference
    lost: int  # SUCCESS whose invalidation is missing or was not Completed when answered
    last_success: float | None
    ideal: float
    last_create: float | None  # the last CreateInvalidation accepted
    success_lags: tuple[float, ...]  # each SUCCESS: seconds after its invalidation Completed
    creates: tuple[float, ...]  # when each CreateInvalidation was accepted, in order
    elapsed: float  # start to the last answer of any kind
    calls: dict[str, int]  # every call that arrived, throttled or not
    throttled: dict[str, int]
    peak_status_calls_per_second: float
    reasons: tuple[str, ...]  # the Reasons of answers other than SUCCESS

    @property
    def failed(self) -> int:
        return self.answers.get("FAILED", 0)

    @property
    def timed_out(self) -> int:
        return sum(n for status, n in self.answers.items() if status not in ("SUCCESS", "FAILED"))

    @property
    def status_calls_per_second(self) -> float:
        """GetInvalidation calls (throttled ones too) a second, across the account."""
        return self.calls.get(GET, 0) / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def ok(self) -> bool:
        return (self.failed == 0 and self.timed_out == 0 and self.duplicates == 0
                and self.lost == 0 and self.answers.get("SUCCESS", 0) == self.stacks)


def deploy_at_once(
    cdk_out: Path,
    *,
    stacks: int,
    shared_distribution: bool,
    invalidation_seconds: float,
    rates: AccountRates | None = None,
    service_timeout: float = 900.0,
    environment: dict[str, str] | None = None,
) -> AccountRun:
    """Deploy ``stacks`` copies of the assembly's stack at once; see the module docstring.

    ``rates``: the account's limits (default: CloudFront's, ``AccountRates()``).
    ``environment``: extra settings for every provider function.
    """
    rates = rates if rates is not None else AccountRates()
    with ExitStack() as resources:
        cloud = resources.enter_context(
            LocalCloudFront(invalidation_seconds=invalidation_seconds, rate_limits=rates)
        )
        deployments: list[LocalCloudFormation] = []
        for index in range(stacks):
            deployment = resources.enter_context(LocalCloudFormation(
                cdk_out, cloud=cloud, service_timeout=service_timeout))
            if shared_distribution and deployments:
                # Every stack purges the first one's distribution, granted on it (an import).
                deployment.use_distributions(deployments[0].distributions)
            _own_role_credentials(deployment, cloud, index)
            deployments.append(deployment)
        if environment:
            for stack in deployments:
                for resource in stack.resources.values():
                    resource.function = resource.deployed_function = _with_env(
                        resource.function, environment)
                    stack.lambda_.register(resource.function)
        shared = next(iter(deployments[0].distributions.values()))
        overrides = {_DISTRIBUTION_IDS: [shared]} if shared_distribution else {}
        cloud.reset_counters()
        outcomes: list[list[Outcome]] = [[] for _ in deployments]
        samples: list[tuple[float, int]] = []
        done = threading.Event()
        go = threading.Barrier(stacks + 1)

        def deploy(index: int) -> None:
            go.wait()
            outcomes[index] = deployments[index].deploy("account scale", overrides=overrides)

        def sample() -> None:
            while not done.wait(_SAMPLE_SECONDS):
                samples.append((time.monotonic(), cloud.calls(GET)))

        threads = [threading.Thread(target=deploy, args=(i,), daemon=True) for i in range(stacks)]
        sampler = threading.Thread(target=sample, daemon=True)
        for thread in threads:
            thread.start()
        go.wait()
        started, samples[:] = time.time(), [(time.monotonic(), 0)]
        sampler.start()
        for thread in threads:
            thread.join()
        done.set()
        sampler.join()
        calls = cloud.call_counts()
        records = cloud.invalidations()
    answered = [o for per_stack in outcomes for o in per_stack]
    answers = Counter(o.status for o in answered)
    by_reference = Counter(r.caller_reference for r in records)
    by_id = {r.id: r for r in records}
    lost = 0
    lags: list[float] = []
    for outcome in answered:
        if outcome.status != "SUCCESS":
            continue
        record = by_id.get(str(outcome.data.get("InvalidationId", "")))
        if record is None or outcome.answered_at is None or (
            outcome.data.get("Status") == "Completed" and record.completes_at > outcome.answered_at
        ):
            lost += 1
        elif outcome.answered_at is not None:
            lags.append(outcome.answered_at - record.completes_at)
    successes = [o.answered_at for o in answered if o.status == "SUCCESS" and o.answered_at]
    ends = [o.answered_at or o.sent_at for o in answered]
    peak = max(
        ((later[1] - earlier[1]) / (later[0] - earlier[0])
         for earlier, later in itertools.pairwise(samples) if later[0] > earlier[0]),
        default=0.0,
    )
    create = rates.limits.get(CREATE, RateLimit(per_second=1e9, burst=1e9))
    ideal = ideal_seconds(
        stacks, create, invalidation_seconds,
        max_in_progress=cloud.max_wildcards_in_progress if shared_distribution else None,
    )
    return AccountRun(
        stacks=stacks,
        shared_distribution=shared_distribution,
        invalidation_seconds=invalidation_seconds,
        answers=dict(answers),
        invalidations=len(records),
        duplicates=sum(n - 1 for n in by_reference.values() if n > 1),
        lost=lost,
        last_success=max(successes) - started if successes else None,
        ideal=ideal,
        last_create=max((r.create_time for r in records), default=started) - started
        if records else None,
        success_lags=tuple(sorted(lags)),
        creates=tuple(sorted(r.create_time - started for r in records)),
        elapsed=(max(ends) - started) if ends else 0.0,
        calls={op: calls.get(op, 0) for op in (CREATE, GET, LIST)},
        throttled=rates.throttled(),
        peak_status_calls_per_second=peak,
        reasons=tuple(o.reason for o in answered if o.status != "SUCCESS"),
    )


def _own_role_credentials(deployment: LocalCloudFormation, cloud: LocalCloudFront,
                          index: int) -> None:
    """Give the copy's functions credentials of their own. Every copy of one template names
    the same role, so the local IAM keys them alike and the last copy registered would speak
    for all; real copies are stacks of their own, each role granted its own distribution and
    function. Registered right after the copy's own registration, so the policies are its."""
    for resource in deployment.resources.values():
        key = resource.function.access_key_id
        principal = cloud.iam.principal(key) if key else None
        if key is None or principal is None:
            continue  # not evaluated (a role outside the template)
        own = access_key_for(f"{key}/copy-{index}")
        cloud.iam.register(own, principal)
        resource.function = resource.deployed_function = replace(
            resource.function, access_key_id=own)
        deployment.lambda_.register(resource.function)


def _with_env(function: LambdaFunction, environment: dict[str, str]) -> LambdaFunction:
    return replace(function, environment={**function.environment, **environment})


#: docs/faults.md's account-scale table: its header.
DOC_HEADER = """## Account scale: many stacks deployed at once

`localcloud/account_scale.py`: app.py's stack deployed {stacks} times at the same moment
through the local CloudFormation (each stack its own provider function, ResponseURL and
DescribeStacks endpoint), all against one local CloudFront that enforces the account's request
rates (`localcloud/cloudfront/rates.py`: CreateInvalidation 0.5/s, burst 1, from aws-sdk-js
issue 3983; GetInvalidation 5/s, burst 10, and ListInvalidations 1/s, burst 2, chosen: no
figure is published), invalidations InProgress for {duration:g} s, everything in real time.
*Ideal*: each CreateInvalidation as soon as the account's rate allows (and, on one
distribution, fewer than 15 wildcards in progress), SUCCESS at Completed. *SUCCESS after
Completed*: median and largest. *Throttled*: calls answered `Throttling` (Create / Get / List).
*Status calls*: GetInvalidation calls a second across the account, throttled ones included.
"""


def markdown(runs: Sequence[AccountRun]) -> str:
    """The account-scale table of docs/faults.md."""
    first = runs[0]
    lines = [DOC_HEADER.format(stacks=first.stacks, duration=first.invalidation_seconds),
             "| stacks at once | answers | invalidations | purges lost | duplicates | "
             "waiting for ServiceTimeout | last SUCCESS (s) | ideal (s) | SUCCESS after "
             "Completed (s) | throttled | status calls a second |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        target = "one distribution" if run.shared_distribution else "a distribution each"
        lags = run.success_lags
        lag = f"{lags[len(lags) // 2]:.1f} / {lags[-1]:.1f}" if lags else "-"
        last = f"{run.last_success:.1f}" if run.last_success is not None else "-"
        lines.append(
            f"| {run.stacks}, {target} | "
            f"{', '.join(f'{n} {s}' for s, n in sorted(run.answers.items()))} | "
            f"{run.invalidations} | {run.lost} | {run.duplicates} | {run.timed_out} | "
            f"{last} | {run.ideal:.1f} | {lag} | "
            f"{run.throttled.get(CREATE, 0)} / {run.throttled.get(GET, 0)} / "
            f"{run.throttled.get(LIST, 0)} | {run.status_calls_per_second:.2f} |"
        )
    return "\n".join(lines)
