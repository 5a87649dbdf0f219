"""Sections 5 and 6: the whole request, from the event sent to SUCCESS at the ResponseURL.

Runs the synthesized provider asset (and the baseline handler) in fresh Lambda-like
processes through :class:`localcloud.cloudformation.lifecycle.LocalCloudFormation`,
at real time (the handler's own ``engine.Timing``, unscaled), against a LocalCloudFront whose
durations follow the *today* profile. Each request's timeline comes only from what the local cloud
records and what the handler logs:

- ``sent``: the local CloudFormation invokes the function (``Invocation.started_at``);
- ``ready``: the handler's first structured log line, ``purge`` (process, imports, client,
  parsing the event);
- ``accepted``: LocalCloudFront's ``create_time`` of the invalidation (the first call);
- ``completes``: LocalCloudFront's ``completes_at`` (CloudFront's own duration ends);
- ``seen``: the handler logs ``completed`` for the last invalidation;
- ``answered``: the ResponseServer receives the PUT.

A log line's time is when the local Lambda received it (:attr:`Invocation.log_events`), as
CloudWatch Logs stamps each event: the ``timestamp`` inside Lambda's JSON records has whole
seconds only, too coarse for a start-up of a fraction of a second.

Events are sent the way :meth:`LocalCloudFormation._request` sends them (same event shape,
ResponseURL and environment), but several at once: CloudFormation creates independent
resources of one stack in parallel.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import request_app
from bench.cloud import DurationBook
from localcloud.awslambda.runtime import Invocation, LambdaFunction
from localcloud.cloudformation.assembly import pseudo_refs
from localcloud.cloudformation.lifecycle import RESOURCE_TYPE, LocalCloudFormation
from localcloud.cloudfront import InvalidationRecord, LocalCloudFront
from localcloud.log_lines import records

HERE = Path(__file__).resolve().parent
BASELINE_ASSET = HERE / "baseline_lambda"
#: Generous: no request in these runs should come near it (P95 25 s, waiter step 20 s).
ANSWER_TIMEOUT_SECONDS = 300.0
OURS = "ours"
#: Between the first round's events (see run_requests).
FIRST_ROUND_SPACING_SECONDS = 0.5
BASELINE = "baseline"


def synthesize(outdir: Path) -> Path:
    """``bench.request_app`` in a child process (jsii stays out of this one)."""
    subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.request_app", str(outdir)],
        check=True,
        cwd=HERE.parent,
        stdout=subprocess.DEVNULL,
    )
    return outdir


@dataclass
class Timeline:
    """One request. Epoch seconds; ``None`` where the run never got there."""

    strategy: str
    logical_id: str
    request_id: str
    status: str = "TIMED_OUT"
    reason: str = ""
    sent: float = 0.0
    ready: float | None = None
    accepted: float | None = None
    completes: float | None = None
    seen: float | None = None
    answered: float | None = None
    invalidations: list[InvalidationRecord] = field(default_factory=list)
    get_calls: int = 0
    legs: int = 0

    @property
    def complete(self) -> bool:
        return None not in (self.ready, self.accepted, self.completes, self.seen, self.answered)

    def phases(self) -> dict[str, float]:
        """Seconds in each phase; the phases add up to ``total``."""
        assert self.complete, "an incomplete timeline has no phases"
        ready, accepted = float(self.ready or 0), float(self.accepted or 0)
        completes, seen = float(self.completes or 0), float(self.seen or 0)
        answered = float(self.answered or 0)
        return {
            "start-up": ready - self.sent,
            "first call": accepted - ready,
            "wait": completes - accepted,
            "lag": seen - completes,
            "answer": answered - seen,
            "total": answered - self.sent,
            "ours": (answered - self.sent) - (completes - accepted),
            "after completed": answered - completes,
        }


def _log_time(line: Mapping[str, Any]) -> float | None:
    """A structured line's own time: ``at`` (the baseline's epoch seconds) or ``timestamp``
    (Lambda's JSON format: ISO-8601 UTC, ``2026-01-02T03:04:05Z``, whole seconds)."""
    if isinstance(line.get("at"), int | float):
        return float(line["at"])
    stamp = line.get("timestamp")
    if not isinstance(stamp, str):
        return None
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # Lambda writes UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _event(line: Mapping[str, Any]) -> str | None:
    """The event name of a structured line: Lambda's JSON records carry it as the
    ``message`` (our handler's convention) or as the ``event`` of a dict message, the
    baseline's lines as ``event``."""
    message = line.get("message") if "level" in line else line
    if isinstance(message, str):
        return message
    if isinstance(message, Mapping) and isinstance(message.get("event"), str):
        return str(message["event"])
    return None


def log_events(logs: str | Iterable[tuple[float | None, str]]) -> list[tuple[str, float]]:
    """(event name, time) of every structured line the handler printed, in order.

    ``logs`` is the text of a log, or its events as (arrival time, line) pairs
    (:attr:`Invocation.log_events`). A baseline line's ``at`` is its time; a Lambda JSON
    record's time is when it arrived if known (as CloudWatch stamps each event, to the
    millisecond), else its ``timestamp`` (to the second).
    """
    pairs = ((None, raw) for raw in logs.splitlines()) if isinstance(logs, str) else logs
    found: list[tuple[str, float]] = []
    for arrived, raw in pairs:
        line = next(records([raw]), None)
        if line is None:
            continue
        name = _event(line)
        if name is None:
            continue
        at = _log_time(line) if "at" in line or arrived is None else arrived
        if at is not None:
            found.append((name, at))
    return found


class RequestBench:
    """A local CloudFormation on the bench stack, able to send many events at once."""

    def __init__(self, cdk_out: Path, cloud: LocalCloudFront, book: DurationBook) -> None:
        self.cloud = cloud
        self.book = book
        self.stack = LocalCloudFormation(
            cdk_out,
            cloud=cloud,
            stack_name=request_app.STACK,
            service_timeout=ANSWER_TIMEOUT_SECONDS,
        )
        self.ids = {_short(logical_id): logical_id for logical_id in self.stack.resources}
        self.ours = self.stack.resources[self.ids[request_app.resource_id(0)]].function
        self.baseline = LambdaFunction(
            name="BenchBaselineWaiter",
            asset_dir=BASELINE_ASSET,
            handler="index.handler",
            timeout_seconds=self.ours.timeout_seconds,
            memory_mb=self.ours.memory_mb,
            runtime=self.ours.runtime,
        )
        self.stack.lambda_.register(self.baseline)

    def close(self) -> None:
        self.stack.close()

    def properties(self, short_id: str, **overrides: Any) -> dict[str, Any]:  # noqa: ANN401
        return {**self.stack.template_properties(self.ids[short_id]), **overrides}

    def send(self, strategy: str, short_id: str, props: Mapping[str, Any]) -> Timeline:
        """One Create event to ``strategy``'s function; returns once it is answered."""
        logical_id = self.ids[short_id]
        function = self.ours if strategy == OURS else self.baseline
        event: dict[str, Any] = {
            "RequestType": "Create",
            "ServiceToken": props.get("ServiceToken", ""),
            "StackId": str(pseudo_refs(self.stack.stack)["AWS::StackId"]),
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": logical_id,
            "ResourceType": RESOURCE_TYPE,
            "ResourceProperties": dict(props),
        }
        event["ResponseURL"] = self.stack.responses.new_url(event)
        env = {**self.cloud.env(), **self.stack.responses.env(), **self.stack.lambda_.env()}
        invocation = self.stack.lambda_.invoke(function, event, env=env)
        timeline = Timeline(strategy, short_id, event["RequestId"], sent=invocation.started_at)
        response = self.stack.responses.wait(event["RequestId"], timeout=ANSWER_TIMEOUT_SECONDS)
        invocation.wait(timeout=30)
        legs = self._legs(invocation, event["RequestId"])
        timeline.legs = len(legs)
        if response is not None:
            timeline.status = response.status or "INVALID"
            timeline.reason = response.reason or ""
            timeline.answered = response.arrived_at
            ids = str((response.data or {}).get("InvalidationIds", "")).split(",")
            timeline.invalidations = [r for r in self.cloud.invalidations() if r.id in ids]
        events = [e for leg in legs for e in log_events(leg.log_events)]
        timeline.ready = next((at for name, at in events if name == "purge"), None)
        seen = [at for name, at in events if name == "completed"]
        timeline.seen = max(seen) if seen else None
        if timeline.invalidations:
            timeline.accepted = min(r.create_time for r in timeline.invalidations)
            timeline.completes = max(r.completes_at for r in timeline.invalidations)
            timeline.get_calls = sum(self.cloud.get_calls(r.id) for r in timeline.invalidations)
        return timeline

    def _legs(self, first: Invocation, request_id: str) -> list[Invocation]:
        """The first invocation and any hand-off legs of the same CloudFormation request."""
        return [
            i
            for i in self.stack.lambda_.invocations
            if i is first or (isinstance(i.event, dict) and i.event.get("RequestId") == request_id)
        ]


def _short(logical_id: str) -> str:
    """The construct id a CDK logical id starts with (``Purge00`` of ``Purge00AB12CD34``)."""
    for i in range(request_app.RESOURCES_ON_ONE):
        if logical_id.startswith(request_app.resource_id(i)):
            return request_app.resource_id(i)
    if logical_id.startswith(request_app.FAN_OUT_RESOURCE):
        return request_app.FAN_OUT_RESOURCE
    return logical_id


@contextmanager
def request_bench(book: DurationBook) -> Iterator[RequestBench]:
    with tempfile.TemporaryDirectory(prefix="bench-request-") as tmp:
        cdk_out = synthesize(Path(tmp) / "cdk.out")
        with LocalCloudFront(invalidation_seconds=book) as cloud:
            bench = RequestBench(cdk_out, cloud, book)
            try:
                yield bench
            finally:
                bench.close()


def path_duration(durations: Sequence[float], pattern: str) -> Callable[[Sequence[str]], float]:
    """A DurationBook rule: a path matching ``pattern`` takes ``durations[index]`` seconds.

    ``pattern`` has a group named ``index``; a path that matches nothing takes 0 s.
    """
    compiled = re.compile(pattern)

    def rule(paths: Sequence[str]) -> float:
        for path in paths:
            match = compiled.match(path)
            if match is not None:
                return durations[int(match["index"])]
        return 0.0

    return rule


def fixed_duration(seconds: float) -> Callable[[Sequence[str]], float]:
    """A DurationBook rule: every invalidation on the distribution takes ``seconds``."""

    def rule(_paths: Sequence[str]) -> float:
        return seconds

    return rule


#: The path of the one-at-a-time runs: ``/<strategy>/<index>/*``.
REQUEST_PATH = r"^/{strategy}/(?P<index>\d+)/"
#: The bench stack's resources purge ``/section-<index>/*``.
SECTION_PATH = r"^/section-(?P<index>\d+)/"


def run_requests(
    bench: RequestBench,
    strategy: str,
    durations: Sequence[float],
    *,
    concurrency: int,
    progress: Callable[[str], None] | None = None,
) -> list[Timeline]:
    """One request per duration on ``Purge00``'s distribution, ``concurrency`` at a time."""
    base = bench.properties(request_app.resource_id(0))
    distribution = str(
        base["DistributionIds"][0] if "DistributionIds" in base else base["DistributionId"]
    )
    bench.book.set(distribution, path_duration(durations, REQUEST_PATH.format(strategy=strategy)))
    results: list[Timeline] = []
    lock = threading.Lock()

    def one(index: int) -> Timeline:
        if index < concurrency:
            # Arrivals, not a wait for anything: the first round would otherwise start
            # every process at one instant, which no deploy does and 2 cores cannot absorb.
            time.sleep(index * FIRST_ROUND_SPACING_SECONDS)
        props = {**base, "Paths": [f"/{strategy}/{index}/*"], "SourceHash": f"{strategy}-{index}"}
        timeline = bench.send(strategy, request_app.resource_id(0), props)
        with lock:
            results.append(timeline)
            if progress is not None and len(results) % max(1, len(durations) // 4) == 0:
                progress(f"    {strategy}: {len(results)}/{len(durations)} answered")
        return timeline

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(len(durations))))
    return results


@dataclass
class Burst:
    """Several requests sent at the same instant, and what CloudFront saw meanwhile."""

    name: str
    timelines: list[Timeline]
    calls: dict[str, int]
    #: Every invalidation created on the burst's distributions while it ran.
    records: list[InvalidationRecord]

    @property
    def first_sent(self) -> float:
        return min(t.sent for t in self.timelines)

    @property
    def last_answer(self) -> float | None:
        answers = [t.answered for t in self.timelines]
        return None if None in answers else max(a for a in answers if a is not None)

    @property
    def slowest_completed(self) -> float:
        # NaN when nothing was created: every comparison with it fails, so the goal misses.
        return max((r.completes_at for r in self.records), default=math.nan)

    @property
    def failed(self) -> int:
        return sum(1 for t in self.timelines if t.status != "SUCCESS")

    @property
    def duplicates(self) -> int:
        """Invalidations beyond one per distinct (distribution, CallerReference)."""
        distinct = {(r.distribution_id, r.caller_reference) for r in self.records}
        return len(self.records) - len(distinct)

    @property
    def early(self) -> int:
        """SUCCESS answers that came before one of their invalidations was Completed."""
        return sum(
            1
            for t in self.timelines
            if t.status == "SUCCESS"
            and (
                not t.invalidations
                or any(r.completes_at > (t.answered or 0) for r in t.invalidations)
            )
        )


def burst(
    bench: RequestBench,
    name: str,
    short_ids: Sequence[str],
    durations: Mapping[str, Callable[[Sequence[str]], float]],
) -> Burst:
    """Create every resource in ``short_ids`` at once (ours), as one stack deploy would.

    ``durations``: distribution id -> the DurationBook rule for it.
    """
    for distribution_id, rule in durations.items():
        bench.book.set(distribution_id, rule)
    before = bench.cloud.call_counts()
    started = time.time()
    gate = threading.Barrier(len(short_ids))

    def one(short_id: str) -> Timeline:
        props = bench.properties(short_id)
        gate.wait()
        return bench.send(OURS, short_id, props)

    with ThreadPoolExecutor(max_workers=len(short_ids)) as pool:
        timelines = list(pool.map(one, short_ids))
    after = bench.cloud.call_counts()
    calls = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    records = [
        r
        for r in bench.cloud.invalidations()
        if r.distribution_id in durations and r.create_time >= started
    ]
    return Burst(name, timelines, {k: v for k, v in calls.items() if v}, records)
