"""A local CloudFormation for ``Custom::CloudFrontInvalidation``: its lifecycle rules.

Reads a synthesized cloud assembly, stands the template's distributions (with their
CacheTagConfig and multi-tenant ConnectionMode) and distribution tenants up in the local
CloudFront, registers the provider Lambda from its asset directory, and sends the custom
resource the events CloudFormation would, through the same protocol: an asynchronous
invocation with the real event shape, and an HTTPS ResponseURL whose answer is checked.

Rules followed (CloudFormation User Guide, "Custom resources" and "Custom resource
response objects"):
- Create for a new resource; Update only when its properties change; nothing otherwise.
- A failed Create is followed by a Delete with the physical id the FAILED answer carried.
- A failed Update (ours, or another resource's after ours: ``fail_after``) is rolled back by
  an Update with old and new properties swapped.
- No answer within the ServiceTimeout: the request fails ("timed out").
- The provider's ``AWS::Lambda::EventInvokeConfig`` applies: Lambda's asynchronous retries
  (1 and 2 minutes apart, times ``async_time_scale``), its maximum event age, and its
  on-failure destination function, registered from the same assembly. It applies from when
  CloudFormation has created it: before the first Create of a resource only if that resource
  depends on it (:mod:`localcloud.dependencies`; CloudFormation creates resources that do not
  depend on each other in parallel), else once that first deployment is over.
- ``DescribeStacks`` answers the stack's status as it goes (CREATE_IN_PROGRESS,
  UPDATE_IN_PROGRESS, UPDATE_ROLLBACK_IN_PROGRESS while the rollback Update runs, then
  ..._COMPLETE / ..._FAILED) on a loopback endpoint the function gets as
  ``AWS_ENDPOINT_URL_CLOUDFORMATION``; ``describe_stacks_fault`` makes it fail.
- The file assets the resources name by ``s3://`` URL are published first, as ``cdk deploy``
  does, to moto's S3 on the local CloudFront's server (``asset_bucket``), where the handler
  reads them;
  :meth:`LocalCloudFormation.use_assembly` switches to a new synth of the app (new content),
  publishing its assets too.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from localcloud.assembly import (
    CustomResourceSpec,
    StackTemplate,
    find_custom_resources,
    find_event_invoke_configs,
    load_assembly,
    pseudo_refs,
    resolve,
)
from localcloud.asset_bucket import AssetBucket
from localcloud.cloudformation_api import CloudFormationApi, DescribeFault, StackState
from localcloud.cloudfront import InvalidationRecord, LocalCloudFront
from localcloud.dependencies import dependencies
from localcloud.lambda_runtime import AsyncConfig, Invocation, LambdaFunction, LocalLambda
from localcloud.responses import ResponseServer

RESOURCE_TYPE = "Custom::CloudFrontInvalidation"
DISTRIBUTION_TYPE = "AWS::CloudFront::Distribution"
TENANT_TYPE = "AWS::CloudFront::DistributionTenant"
#: DistributionConfig.ConnectionMode of a multi-tenant distribution (AWS CloudFormation
#: User Guide, AWS::CloudFront::Distribution DistributionConfig).
TENANT_ONLY = "tenant-only"
_PROGRESS_EVERY = 0.25
#: A killed-mid-wait invocation is killed once its invalidation exists: looked for this
#: often, for at most this long (a generous bound for a busy machine's start-up).
_MID_WAIT_STEP_SECONDS = 0.05
_MID_WAIT_BOUND_SECONDS = 60.0
#: Lambda's asynchronous retry delays (1 and 2 minutes) and event age, scaled for tests.
DEFAULT_ASYNC_TIME_SCALE = 0.01
#: An override value that removes the property (a raw template can omit anything).
REMOVE: Any = object()


@dataclass
class Outcome:
    """One request CloudFormation sent, and what came of it."""

    step: str
    request_type: str
    logical_id: str
    request_id: str
    status: str  # SUCCESS, FAILED, or TIMED_OUT (no answer within the ServiceTimeout)
    reason: str
    physical_id: str
    data: dict[str, Any]
    sent_at: float
    answered_at: float | None
    invalidations: list[InvalidationRecord]
    legs: int
    violations: list[str]
    logs: str = field(repr=False, default="")

    @property
    def completed_at(self) -> float | None:
        if not self.invalidations:
            return None
        return max(r.completes_at for r in self.invalidations)

    @property
    def seconds_to_completed(self) -> float | None:
        done = self.completed_at
        return None if done is None else done - self.sent_at

    @property
    def seconds_to_answer(self) -> float | None:
        return None if self.answered_at is None else self.answered_at - self.sent_at

    @property
    def purges(self) -> bool:
        """A Create or Update that was meant to invalidate (not skipped on create)."""
        return self.request_type in ("Create", "Update") and self.data.get("Status") != "Skipped"

    @property
    def lost(self) -> bool:
        """SUCCESS without the purge it promises: its invalidations missing, or (when it
        waited) answered before they were Completed."""
        if not self.purges or self.status != "SUCCESS":
            return False
        if not self.invalidations or self.answered_at is None:
            return True
        waited = self.data.get("Status") == "Completed"
        answered = self.answered_at
        return waited and any(r.completes_at > answered for r in self.invalidations)

    @property
    def duplicates(self) -> int:
        """Invalidations beyond the one per batch this request should have made."""
        references = [r.caller_reference for r in self.invalidations]
        expected = int(self.data.get("InvalidationCount", len(set(references))) or 0)
        return max(0, len(references) - max(expected, len(set(references))))


@dataclass(frozen=True)
class Progress:
    """What a request is waiting on, for a live display."""

    step: str
    request_type: str
    elapsed: float
    waiting_on: list[tuple[str, str, float]]  # (invalidation id, status, seconds left)
    legs: int


ProgressFn = Callable[[Progress], None]


@dataclass
class _Resource:
    spec: CustomResourceSpec
    function: LambdaFunction
    deployed_function: LambdaFunction
    properties: dict[str, Any] | None = None  # None: not created
    physical_id: str | None = None


class LocalCloudFormation:
    """Deploys one synthesized stack's invalidation resources by CloudFormation's rules."""

    def __init__(
        self,
        cdk_out: Path,
        *,
        cloud: LocalCloudFront,
        stack_name: str | None = None,
        function_timeout: float | None = None,
        service_timeout: float | None = None,
        on_progress: ProgressFn | None = None,
        async_time_scale: float = DEFAULT_ASYNC_TIME_SCALE,
    ) -> None:
        stacks = load_assembly(cdk_out)
        self.stack = _pick(stacks, stack_name)
        self.cloud = cloud
        self.on_progress = on_progress
        self.service_timeout_override = service_timeout
        #: DescribeStacks' StackStatus; None until the first deployment.
        self.stack_status: str | None = None
        self._created_at = time.time()
        self.responses = ResponseServer().start()
        self.lambda_ = LocalLambda(async_time_scale=async_time_scale).start()
        self.cloudformation_api = CloudFormationApi(self._stack_states).start()
        #: The CDK asset bucket (moto's S3), with the file assets the resources name.
        self.asset_bucket = AssetBucket(cloud.endpoint_url, cloud.region)
        self.published_assets: list[str] = []
        self.distributions = {
            logical_id: _create_distribution(cloud, logical_id, res)
            for logical_id, res in self.stack.resources.items()
            if res.get("Type") == DISTRIBUTION_TYPE
        }
        #: Logical id -> tenant id, for the template's AWS::CloudFront::DistributionTenant.
        self.distribution_tenants = {
            logical_id: self._create_tenant(logical_id, res)
            for logical_id, res in self.stack.resources.items()
            if res.get("Type") == TENANT_TYPE
        }
        self.resources: dict[str, _Resource] = {}
        for spec in find_custom_resources(self.stack, RESOURCE_TYPE):
            function = spec.provider
            if function_timeout is not None:
                function = _with_timeout(function, function_timeout)
            self.lambda_.register(function)
            self.resources[spec.logical_id] = _Resource(
                spec=spec, function=function, deployed_function=function
            )
        if not self.resources:
            raise ValueError(f"stack {self.stack.name} has no {RESOURCE_TYPE}")
        self._publish_assets()
        #: The on-failure destination functions of the providers, by name.
        self.destinations: dict[str, LambdaFunction] = {}
        #: The providers' EventInvokeConfigs not created yet: logical id -> (function, config).
        self._pending_async: dict[str, tuple[str, AsyncConfig]] = {}
        self._configure_async_invocation()
        self.outcomes: list[Outcome] = []
        #: Fault injection: the ResponseURL answers 500 to this many PUTs of each request.
        self.response_failures = 0

    # --- lifecycle ------------------------------------------------------------------

    def close(self) -> None:
        self.lambda_.stop()
        self.cloudformation_api.stop()
        self.responses.stop()

    def __enter__(self) -> LocalCloudFormation:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _configure_async_invocation(self) -> None:
        """Apply the EventInvokeConfigs of the providers, then of their destinations."""
        names = {r.spec.provider_logical_id: r.function.name for r in self.resources.values()}
        configs = find_event_invoke_configs(self.stack)
        for config in configs:
            if config.on_failure is not None and config.function_logical_id in names:
                self.lambda_.register(config.on_failure)
                self.destinations[config.on_failure.name] = config.on_failure
                assert config.on_failure_logical_id is not None
                names[config.on_failure_logical_id] = config.on_failure.name
        for config in configs:
            name = names.get(config.function_logical_id)
            if name is None:
                continue  # another function of the stack: not one this driver runs
            on_failure = None
            if config.on_failure is not None and config.on_failure_logical_id in names:
                on_failure = names[config.on_failure_logical_id]
            settings = AsyncConfig(
                retry_attempts=config.retry_attempts,
                max_event_age_seconds=config.max_event_age_seconds,
                on_failure=on_failure,
            )
            if name in {r.function.name for r in self.resources.values()}:
                self._pending_async[config.logical_id] = (name, settings)  # created with the stack
            else:
                self.lambda_.configure_async(name, settings)

    def _create_async_configs(self, before: str | None = None) -> None:
        """Create the pending EventInvokeConfigs CloudFormation has created by now: those
        ``before`` depends on (None: all, the first deployment being over)."""
        needed = None if before is None else dependencies(self.stack, before)
        for logical_id, (name, settings) in list(self._pending_async.items()):
            if needed is None or logical_id in needed:
                self.lambda_.configure_async(name, settings)
                del self._pending_async[logical_id]

    @property
    def describe_stacks_fault(self) -> DescribeFault | None:
        """Fault switch: DescribeStacks answers AccessDenied or Throttling (None: normal)."""
        return self.cloudformation_api.describe_fault

    @describe_stacks_fault.setter
    def describe_stacks_fault(self, fault: DescribeFault | None) -> None:
        self.cloudformation_api.fail_describe_stacks(fault)

    def _stack_states(self) -> list[StackState]:
        if self.stack_status is None:
            return []
        refs = pseudo_refs(self.stack)
        return [
            StackState(
                stack_name=self.stack.stack_name,
                stack_id=str(refs["AWS::StackId"]),
                status=self.stack_status,
                creation_time=self._created_at,
            )
        ]

    def use_assembly(self, cdk_out: Path) -> None:
        """Deploy from a new synth of the same app from now on (say, with changed content).

        Its file assets are published, as ``cdk deploy`` publishes them before the stack
        update; the resources keep their state and their provider function.

        Raises:
            ValueError: the new assembly lacks one of the stack's invalidation resources.
        """
        stack = _pick(load_assembly(cdk_out), self.stack.stack_name)
        specs = {spec.logical_id: spec for spec in find_custom_resources(stack, RESOURCE_TYPE)}
        missing = sorted(set(self.resources) - set(specs))
        if missing:
            raise ValueError(f"{cdk_out} has no resource {', '.join(missing)} in {stack.name}")
        for logical_id, resource in self.resources.items():
            resource.spec = specs[logical_id]
        self.stack = stack
        self._publish_assets()

    def _publish_assets(self) -> None:
        """Publish the file assets the resources' properties name by ``s3://`` URL (a
        changed-only manifest), as ``cdk deploy`` publishes assets before the stack update.
        Other assets (Lambda code, layers) are not read by the handler: not uploaded."""
        refs = pseudo_refs(self.stack)
        named = json.dumps([self.template_properties(lid) for lid in self.resources])
        wanted = [
            asset for asset in self.stack.file_assets
            if f"s3://{asset.bucket(refs)}/{asset.object_key}" in named
        ]
        self.published_assets += self.asset_bucket.publish(wanted, refs)

    def set_function_timeout(self, seconds: float | None) -> None:
        """As if the function were redeployed with another timeout (None: as deployed)."""
        for resource in self.resources.values():
            resource.function = (
                resource.deployed_function
                if seconds is None
                else _with_timeout(resource.function, seconds)
            )
            self.lambda_.register(resource.function)

    def _create_tenant(self, logical_id: str, resource: Mapping[str, Any]) -> str:
        """The tenant in the local CloudFront, on the template's multi-tenant distribution."""
        props = resource.get("Properties") or {}
        refs = {**pseudo_refs(self.stack), **self.distributions}
        domains = props.get("Domains") or ["www.example.com"]
        return self.cloud.create_distribution_tenant(
            str(resolve(props.get("DistributionId"), refs)),
            domain=str(resolve(domains[0], refs)),
            name=str(props.get("Name") or logical_id),
        )

    def _tenant_refs(self) -> dict[str, str]:
        """Ref and Fn::GetAtt Id/Arn of each tenant, as CloudFormation resolves them."""
        refs: dict[str, str] = {}
        for logical_id, tenant_id in self.distribution_tenants.items():
            refs[logical_id] = refs[f"{logical_id}.Id"] = tenant_id
            refs[f"{logical_id}.Arn"] = self.cloud.tenant_arn(tenant_id)
        return refs

    def template_properties(self, logical_id: str) -> dict[str, Any]:
        resource = self.resources[logical_id]
        refs = {**pseudo_refs(self.stack), **self.distributions, **self._tenant_refs()}
        token = self.lambda_.arn(resource.function)
        return resource.spec.resolve_properties(refs, service_token=token)

    def deploy(
        self,
        step: str,
        *,
        overrides: Mapping[str, Any] | None = None,
        fail_after: bool = False,
        kill_first_invocation_after: float | None = None,
        redeliver: bool = True,
    ) -> list[Outcome]:
        """One stack deployment with the template's properties (plus ``overrides``).

        ``fail_after``: another resource fails after ours, so CloudFormation rolls ours back.
        ``kill_first_invocation_after``: the Lambda dies that many seconds into the first
        invocation (and not before it made its invalidation), and the same event is
        delivered again (Lambda's async retry: by the provider's EventInvokeConfig when the
        template has one, else at once) unless
        ``redeliver`` is False: then the event is lost with the host (no retry, no
        on-failure record), nobody answers and the ServiceTimeout decides.
        """
        outcomes: list[Outcome] = []
        touched: list[tuple[_Resource, dict[str, Any] | None, str | None]] = []
        creating = all(r.properties is None for r in self.resources.values())
        previous_status = self.stack_status
        if creating:
            self._created_at = time.time()
        self.stack_status = "CREATE_IN_PROGRESS" if creating else "UPDATE_IN_PROGRESS"
        rolled_back = False
        rolling_back = "ROLLBACK_IN_PROGRESS" if creating else "UPDATE_ROLLBACK_IN_PROGRESS"
        for logical_id, resource in self.resources.items():
            merged = {**self.template_properties(logical_id), **(overrides or {})}
            props = {k: v for k, v in merged.items() if v is not REMOVE}
            old_props, old_physical = resource.properties, resource.physical_id
            if old_props is None:
                self._create_async_configs(before=logical_id)
                outcome = self._request(step, "Create", resource, props,
                                        kill_after=kill_first_invocation_after,
                                        redeliver=redeliver)
            elif props != old_props:
                outcome = self._request(step, "Update", resource, props, old=old_props,
                                        kill_after=kill_first_invocation_after,
                                        redeliver=redeliver)
            else:
                continue
            outcomes.append(outcome)
            if outcome.status == "SUCCESS":
                touched.append((resource, old_props, old_physical))
                resource.properties, resource.physical_id = props, outcome.physical_id
                continue
            self.stack_status = rolling_back
            rolled_back = True
            outcomes += self._roll_back(step, resource, outcome, old_props, old_physical, props)
            fail_after = True  # the stack rolls back everything else it touched, too
            break
        if fail_after:
            self.stack_status = rolling_back
            rolled_back = True
            for resource, old_props, old_physical in reversed(touched):
                outcomes += self._roll_back(step, resource, None, old_props, old_physical,
                                            resource.properties or {})
        self._create_async_configs()
        if not outcomes and not rolled_back:
            self.stack_status = previous_status  # nothing changed: no stack operation
        elif rolled_back:
            rollbacks_ok = all(o.status == "SUCCESS" for o in outcomes
                               if o.step.endswith("(rollback)"))
            prefix = "ROLLBACK" if creating else "UPDATE_ROLLBACK"
            self.stack_status = f"{prefix}_{'COMPLETE' if rollbacks_ok else 'FAILED'}"
        else:
            self.stack_status = "CREATE_COMPLETE" if creating else "UPDATE_COMPLETE"
        return outcomes

    def delete(self, step: str = "delete") -> list[Outcome]:
        outcomes = []
        self.stack_status = "DELETE_IN_PROGRESS"
        for resource in self.resources.values():
            if resource.properties is None:
                continue
            outcomes.append(self._request(step, "Delete", resource, resource.properties,
                                          physical_id=resource.physical_id))
            resource.properties = resource.physical_id = None
        failed = any(o.status != "SUCCESS" for o in outcomes)
        self.stack_status = "DELETE_FAILED" if failed else "DELETE_COMPLETE"
        return outcomes

    # --- internals ------------------------------------------------------------------

    def _roll_back(
        self,
        step: str,
        resource: _Resource,
        failed: Outcome | None,
        old_props: dict[str, Any] | None,
        old_physical: str | None,
        new_props: dict[str, Any],
    ) -> list[Outcome]:
        if old_props is None:
            # Created in this deployment: a rollback deletes it, with the id it answered.
            physical = failed.physical_id if failed else resource.physical_id
            resource.properties = resource.physical_id = None
            return [self._request(f"{step} (rollback)", "Delete", resource, new_props,
                                  physical_id=physical or f"{resource.spec.logical_id}-failed")]
        # Updated: roll back with the properties swapped, and the old physical id.
        resource.physical_id = old_physical
        outcome = self._request(f"{step} (rollback)", "Update", resource, old_props,
                                old=new_props)
        resource.properties = old_props
        return [outcome]

    def _request(
        self,
        step: str,
        request_type: str,
        resource: _Resource,
        props: dict[str, Any],
        *,
        old: dict[str, Any] | None = None,
        physical_id: str | None = None,
        kill_after: float | None = None,
        redeliver: bool = True,
    ) -> Outcome:
        spec = resource.spec
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": props.get("ServiceToken", ""),
            "StackId": str(pseudo_refs(self.stack)["AWS::StackId"]),
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": spec.logical_id,
            "ResourceType": RESOURCE_TYPE,
            "ResourceProperties": props,
        }
        if request_type != "Create":
            event["PhysicalResourceId"] = physical_id or resource.physical_id
        if old is not None:
            event["OldResourceProperties"] = old
        event["ResponseURL"] = self.responses.new_url(event, fail_first=self.response_failures)
        env = {**self.cloud.env(), **self.responses.env(), **self.lambda_.env(),
               **self.cloudformation_api.env()}
        timeout = self._service_timeout(spec)
        first_legs = len(self.lambda_.invocations)
        sent_at = time.time()
        invocation = self.lambda_.invoke(resource.function, event, env=env)
        if kill_after is not None:
            retried = self._async_retries(resource) > 0
            if not redeliver:
                self.lambda_.lose(invocation)  # the event dies with the host: no retry
            self._kill_mid_wait(invocation, kill_after, since=sent_at)
            if redeliver and not retried:  # Lambda's asynchronous retry of the same event
                self.lambda_.invoke(resource.function, json.loads(json.dumps(event)), env=env)
        response = None
        while response is None and time.time() - sent_at < timeout:
            response = self.responses.wait(event["RequestId"], timeout=_PROGRESS_EVERY)
            if self.on_progress is not None:
                self.on_progress(self._progress(step, request_type, sent_at, first_legs))
        self.lambda_.wait_idle(timeout=10)
        legs = [i for i in self.lambda_.invocations[first_legs:]]
        records = [
            r
            for r in self.cloud.invalidations()
            if sent_at <= r.create_time <= (response.arrived_at if response else time.time())
        ]
        outcome = Outcome(
            step=step,
            request_type=request_type,
            logical_id=spec.logical_id,
            request_id=event["RequestId"],
            status=(response.status or "INVALID") if response else "TIMED_OUT",
            reason=(response.reason or "") if response else
            f"no answer within the ServiceTimeout ({timeout:g} s)",
            physical_id=(response.physical_resource_id or "") if response else "",
            data=dict(response.data or {}) if response else {},
            sent_at=sent_at,
            answered_at=response.arrived_at if response else None,
            invalidations=records,
            legs=len(legs),
            violations=list(response.violations) if response else [],
            logs="\n".join(i.logs for i in legs),
        )
        self.outcomes.append(outcome)
        return outcome

    def _async_retries(self, resource: _Resource) -> int:
        config = self.lambda_.async_config(resource.function.name)
        return config.retry_attempts if config is not None else 0

    def _kill_mid_wait(self, invocation: Invocation, after: float, *, since: float) -> None:
        """The Lambda dies mid-wait (out of memory, a host failure): ``after`` seconds into
        the invocation, and not before it made its invalidation, which is what "mid-wait"
        means (on a busy machine start-up alone can outlast ``after``). An invocation that
        ends first is not killed."""
        if invocation.wait(timeout=after):
            return
        bound = time.monotonic() + _MID_WAIT_BOUND_SECONDS
        while not any(r.create_time >= since for r in self.cloud.invalidations()):
            if invocation.wait(timeout=_MID_WAIT_STEP_SECONDS) or time.monotonic() > bound:
                break
        if not invocation.done:
            pid = invocation.pid
            if pid is not None:
                os.killpg(pid, signal.SIGKILL)
            invocation.wait(timeout=5)

    def _service_timeout(self, spec: CustomResourceSpec) -> float:
        if self.service_timeout_override is not None:
            return self.service_timeout_override
        return float(spec.service_timeout or 3600)

    def _progress(self, step: str, request_type: str, sent_at: float, first_legs: int) -> Progress:
        now = time.time()
        waiting = [
            (r.id, r.status(now), max(0.0, r.completes_at - now))
            for r in self.cloud.invalidations()
            if r.create_time >= sent_at
        ]
        return Progress(step, request_type, now - sent_at, waiting,
                        len(self.lambda_.invocations) - first_legs)


def _create_distribution(
    cloud: LocalCloudFront, logical_id: str, resource: Mapping[str, Any]
) -> str:
    """The distribution in the local CloudFront, with the template's CacheTagConfig and
    whether it is multi-tenant (ConnectionMode ``tenant-only``)."""
    config = (resource.get("Properties") or {}).get("DistributionConfig") or {}
    header = (config.get("CacheTagConfig") or {}).get("HeaderName")
    return cloud.create_distribution(
        comment=logical_id,
        cache_tag_header=str(header) if header is not None else None,
        multi_tenant=config.get("ConnectionMode") == TENANT_ONLY,
    )


def _pick(stacks: list[StackTemplate], name: str | None) -> StackTemplate:
    candidates = [
        s for s in stacks
        if (name is None or name in (s.name, s.stack_name))
        and any(r.get("Type") == RESOURCE_TYPE for r in s.resources.values())
    ]
    if not candidates:
        raise ValueError(f"no stack{f' named {name}' if name else ''} with {RESOURCE_TYPE} "
                         f"in the assembly (stacks: {[s.name for s in stacks]})")
    return candidates[0]


def _with_timeout(function: LambdaFunction, seconds: float) -> LambdaFunction:
    return replace(function, timeout_seconds=seconds)
