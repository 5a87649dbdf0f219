"""A local CloudFormation for ``Custom::CloudFrontInvalidation``: its lifecycle rules.

With ``resource_types=SITE_RESOURCE_TYPES`` it also runs aws-cdk-lib's own
``Custom::CDKBucketDeployment`` handler and AWS CLI layer from the assembly, in dependency
order with the invalidations (docs/local-cloud.md, "The peer's BucketDeployment handler").

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
  depends on it (:mod:`.dependencies`; CloudFormation creates resources that do not
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

import copy
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from localcloud.awslambda.runtime import AsyncConfig, Invocation, LambdaFunction, LocalLambda
from localcloud.cloudformation.api import CloudFormationApi, DescribeFault, StackState
from localcloud.cloudformation.assembly import (
    CustomResourceSpec,
    StackTemplate,
    cfn_stringify,
    find_custom_resources,
    find_event_invoke_configs,
    load_assembly,
    pseudo_refs,
    resolve,
)
from localcloud.cloudformation.asset_bucket import AssetBucket
from localcloud.cloudformation.bucket_deployment import (
    BUCKET_DEPLOYMENT_TYPE,
    MountedFunction,
    deletion_order,
    dependency_order,
    mount_function,
)
from localcloud.cloudformation.dependencies import dependencies
from localcloud.cloudformation.iam_roles import RoleBinding, bind_role, register_roles
from localcloud.cloudformation.responses import ResponseServer
from localcloud.cloudfront import InvalidationRecord, LocalCloudFront
from localcloud.iam.authorizer import access_key_from_headers

RESOURCE_TYPE = "Custom::CloudFrontInvalidation"
BUCKET_TYPE = "AWS::S3::Bucket"
#: Both custom resource types a site stack deploys: the peer's upload, then our purge.
SITE_RESOURCE_TYPES = (BUCKET_DEPLOYMENT_TYPE, RESOURCE_TYPE)
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
    resource_type: str = RESOURCE_TYPE

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
        if self.resource_type != RESOURCE_TYPE:
            return False  # another resource's promise: not this property's to judge
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
    """Deploys one synthesized stack's custom resources by CloudFormation's rules.

    ``resource_types``: the custom resource types it runs (default: the invalidation
    only), in dependency order; :data:`SITE_RESOURCE_TYPES` adds aws-cdk-lib's
    ``Custom::CDKBucketDeployment``, run by its own handler and AWS CLI layer from the
    assembly (:mod:`.bucket_deployment`), after the stack's ``AWS::S3::Bucket``
    resources are created in moto's S3 (:attr:`buckets`). ``waiter_delay_scale``: botocore
    waiters in the handlers sleep that fraction of their delay (1: untouched).
    """

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
        resource_types: Sequence[str] = (RESOURCE_TYPE,),
        waiter_delay_scale: float = 1.0,
        skip_resources: Callable[[str], bool] | None = None,
    ) -> None:
        self.resource_types = tuple(resource_types)
        #: Logical ids of custom resources this run leaves out (a story about one of them).
        self._skip = skip_resources or (lambda _logical_id: False)
        stacks = load_assembly(cdk_out)
        self.stack = _pick(stacks, stack_name, self.resource_types)
        self.cloud = cloud
        self.on_progress = on_progress
        self.service_timeout_override = service_timeout
        #: DescribeStacks' StackStatus; None until the first deployment.
        self.stack_status: str | None = None
        self._created_at = time.time()
        # Answers and requests are stamped with the cloud's clock, the one invalidation
        # records carry, so a ScaledClock run compares like with like.
        self.responses = ResponseServer(clock=cloud.clock).start()
        self.lambda_ = LocalLambda(
            async_time_scale=async_time_scale, waiter_delay_scale=waiter_delay_scale
        ).start()
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
        #: Logical id -> bucket name, for the template's AWS::S3::Bucket: made in moto's S3
        #: (empty), so a property that names a bucket (``Ref``) resolves to a real one.
        self.buckets: dict[str, str] = {
            logical_id: self._create_bucket(logical_id)
            for logical_id, res in self.stack.resources.items()
            if res.get("Type") == BUCKET_TYPE
        }
        self._mounted: dict[str, MountedFunction] = {}
        self.resources: dict[str, _Resource] = {}
        #: The functions' roles, registered with the local services' IAM (localcloud.iam).
        self._roles: dict[tuple[str, str], RoleBinding] = {}
        #: Stack name -> its template before change_role_policies.
        self._original_templates: dict[str, dict[str, Any]] = {}
        for spec in self._specs(self.stack):
            function = self._provider(spec)
            if spec.resource_type == RESOURCE_TYPE:
                # Our provider signs with its role; the peer's BucketDeployment keeps the
                # harness's keys (its grants are not evaluated here).
                function = self._bind_role(spec.provider_stack, spec.provider_logical_id,
                                           function)
            if function_timeout is not None:
                function = _with_timeout(function, function_timeout)
            self.lambda_.register(function)
            self.resources[spec.logical_id] = _Resource(
                spec=spec, function=function, deployed_function=function
            )
        if not self.resources:
            raise ValueError(
                f"stack {self.stack.name} has no {' or '.join(self.resource_types)}"
            )
        self._publish_assets()
        #: The on-failure destination functions of the providers, by name.
        self.destinations: dict[str, LambdaFunction] = {}
        #: The providers' EventInvokeConfigs not created yet: logical id -> (function, config).
        self._pending_async: dict[str, tuple[str, AsyncConfig]] = {}
        self._configure_async_invocation()
        self._register_roles()
        self.cloudformation_api.authorize = self._authorize_describe_stacks
        self.lambda_.authorize = self._authorize_invoke
        self.outcomes: list[Outcome] = []
        #: Called with each Outcome as soon as it is recorded (a bench marks SUCCESS times).
        self.on_outcome: Callable[[Outcome], None] | None = None
        #: Fault injection: the ResponseURL answers 500 to this many PUTs of each request.
        self.response_failures = 0

    # --- lifecycle ------------------------------------------------------------------

    def close(self) -> None:
        self.lambda_.stop()
        self.cloudformation_api.stop()
        self.responses.stop()
        for mounted in self._mounted.values():
            mounted.close()
        self._mounted.clear()

    def _specs(self, stack: StackTemplate) -> list[CustomResourceSpec]:
        """The custom resources of ``resource_types``, in an order CloudFormation could
        create them in."""
        specs = {
            spec.logical_id: spec
            for resource_type in self.resource_types
            for spec in find_custom_resources(stack, resource_type)
            if not self._skip(spec.logical_id)
        }
        return [specs[lid] for lid in dependency_order(stack, list(specs))]

    def _provider(self, spec: CustomResourceSpec) -> LambdaFunction:
        """The function to run for ``spec``: a BucketDeployment's with its layers mounted
        (one mount per function: the singleton serves every BucketDeployment)."""
        if spec.resource_type != BUCKET_DEPLOYMENT_TYPE:
            return spec.provider
        mounted = self._mounted.get(spec.provider.name)
        if mounted is None:
            try:
                mounted = mount_function(
                    spec.provider_stack, spec.provider, spec.provider_logical_id,
                    self.lambda_.python,
                )
            except BaseException:
                self.close()
                raise
            self._mounted[spec.provider.name] = mounted
        return mounted.function

    def _create_bucket(self, logical_id: str) -> str:
        """The bucket in moto's S3, named as CloudFormation names a bucket without
        BucketName: stack name, logical id and a random suffix, lower case."""
        props = self.stack.resource(logical_id).get("Properties") or {}
        name = props.get("BucketName")
        if not isinstance(name, str):
            suffix = uuid.uuid4().hex[:12]
            name = f"{self.stack.stack_name}-{logical_id}"[: 62 - len(suffix)].lower()
            name = f"{name}-{suffix}"
        self.asset_bucket.create_bucket(name)
        return name

    def _bucket_refs(self) -> dict[str, str]:
        """Ref and the Fn::GetAtt attributes of each bucket (AWS::S3::Bucket return
        values in the CloudFormation User Guide)."""
        region = self.cloud.region
        refs: dict[str, str] = {}
        for logical_id, name in self.buckets.items():
            refs[logical_id] = name
            refs[f"{logical_id}.Arn"] = f"arn:aws:s3:::{name}"
            refs[f"{logical_id}.DomainName"] = f"{name}.s3.amazonaws.com"
            refs[f"{logical_id}.RegionalDomainName"] = f"{name}.s3.{region}.amazonaws.com"
        return refs

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
                assert config.on_failure_logical_id is not None
                destination = self._bind_role(self.stack, config.on_failure_logical_id,
                                              config.on_failure)
                self.lambda_.register(destination)
                self.destinations[destination.name] = destination
                names[config.on_failure_logical_id] = destination.name
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

    def _bind_role(
        self, stack: StackTemplate, logical_id: str, function: LambdaFunction
    ) -> LambdaFunction:
        """The function with its role's credentials (the role is registered later)."""
        bound, binding = bind_role(stack, logical_id, function)
        if binding is not None:
            self._roles[(stack.name, logical_id)] = binding
        return bound

    def _register_roles(self) -> None:
        """Give the local services the roles' policies, resolved with this deploy's ids."""
        deployed = {**pseudo_refs(self.stack), **self.distributions, **self._tenant_refs(),
                    **self._bucket_refs()}
        arns = {key: self.lambda_.arn(binding.function_name)
                for key, binding in self._roles.items()}
        register_roles(self.cloud.iam, self._roles.values(), self.stack.assembly, deployed, arns)

    def use_distributions(self, ids: Mapping[str, str]) -> None:
        """Point the template's distributions (logical id -> distribution id) at existing
        ones, as a template importing them would: properties and the roles' grants resolve
        to these ids from now on."""
        self.distributions.update(ids)
        self._register_roles()

    def change_role_policies(
        self, change: Callable[[dict[str, Any]], dict[str, Any] | None]
    ) -> None:
        """A stack update of the functions' grants: ``change`` maps each statement of the
        template's ``AWS::IAM::Policy`` documents (of the stacks whose roles run here) to
        its new form, or None to remove it; the local services' IAM applies the result at
        once, until :meth:`restore_role_policies` or :meth:`use_assembly` (a new synth has
        its own grants)."""
        names = {binding.stack_name for binding in self._roles.values()}
        for stack in self.stack.assembly:
            if stack.name not in names:
                continue
            self._original_templates.setdefault(stack.name, copy.deepcopy(stack.template))
            for resource in stack.resources.values():
                if resource.get("Type") == "AWS::IAM::Policy":
                    document = resource["Properties"]["PolicyDocument"]
                    statements = document["Statement"]
                    listed = statements if isinstance(statements, list) else [statements]
                    changed = [change(statement) for statement in listed]
                    document["Statement"] = [st for st in changed if st is not None]
        self._register_roles()

    def restore_role_policies(self) -> None:
        """The templates' grants as synthesized again (after :meth:`change_role_policies`)."""
        if not self._original_templates:
            return
        for stack in self.stack.assembly:
            if stack.name in self._original_templates:
                stack.template = self._original_templates.pop(stack.name)
        self._register_roles()

    def _authorize_invoke(self, authorization: str | None, function_arn: str) -> str | None:
        """AccessDenied text for a function's Invoke call (the hand-off's self-invocation)."""
        account = str(pseudo_refs(self.stack)["AWS::AccountId"])
        return self.cloud.iam.denial(access_key_from_headers(None, authorization),
                                     "lambda:InvokeFunction", function_arn, account)

    def _authorize_describe_stacks(self, authorization: str | None, stack: str) -> str | None:
        """AccessDenied text for a function's DescribeStacks on ``stack`` (id or name)."""
        refs = pseudo_refs(self.stack)
        region, account = refs["AWS::Region"], refs["AWS::AccountId"]
        if not stack.startswith("arn:"):
            stack = f"arn:aws:cloudformation:{region}:{account}:stack/{stack}/*"
        return self.cloud.iam.denial(access_key_from_headers(None, authorization),
                                     "cloudformation:DescribeStacks", stack, str(account))

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
        stack = _pick(load_assembly(cdk_out), self.stack.stack_name, self.resource_types)
        specs = {spec.logical_id: spec for spec in self._specs(stack)}
        missing = sorted(set(self.resources) - set(specs))
        if missing:
            raise ValueError(f"{cdk_out} has no resource {', '.join(missing)} in {stack.name}")
        for logical_id, resource in self.resources.items():
            resource.spec = specs[logical_id]
        self.stack = stack
        self._original_templates.clear()
        self._register_roles()  # the new template's policies from now on
        self._publish_assets()

    def _publish_assets(self) -> None:
        """Publish the file assets the resources' properties name by ``s3://`` URL (a
        changed-only manifest) or by bucket and key (a BucketDeployment's
        SourceBucketNames / SourceObjectKeys), as ``cdk deploy`` publishes assets before
        the stack update. Other assets (Lambda code, layers) are not read by the handler:
        not uploaded."""
        refs = pseudo_refs(self.stack)
        properties = [self.template_properties(lid) for lid in self.resources]
        sources = [
            f"s3://{bucket}/{key}"
            for props in properties
            for bucket, key in zip(
                props.get("SourceBucketNames") or [], props.get("SourceObjectKeys") or [],
                strict=False,
            )
        ]
        named = json.dumps([properties, sources])
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
        refs = {**pseudo_refs(self.stack), **self.distributions, **self._tenant_refs(),
                **self._bucket_refs()}
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
        for logical_id in deletion_order(self.stack, list(self.resources)):
            resource = self.resources[logical_id]
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
            "ResourceType": spec.resource_type,
            "ResourceProperties": as_delivered(props),
        }
        if request_type != "Create":
            event["PhysicalResourceId"] = physical_id or resource.physical_id
        if old is not None:
            event["OldResourceProperties"] = as_delivered(old)
        event["ResponseURL"] = self.responses.new_url(event, fail_first=self.response_failures)
        env = {**self.cloud.env(), **self.responses.env(), **self.lambda_.env(),
               **self.cloudformation_api.env()}
        timeout = self._service_timeout(spec)
        first_legs = len(self.lambda_.invocations)
        sent_at = self.cloud.clock()
        sent_real = time.monotonic()
        invocation = self.lambda_.invoke(resource.function, event, env=env)
        if kill_after is not None:
            retried = self._async_retries(resource) > 0
            if not redeliver:
                self.lambda_.lose(invocation)  # the event dies with the host: no retry
            self._kill_mid_wait(invocation, kill_after, since=sent_at)
            if redeliver and not retried:  # Lambda's asynchronous retry of the same event
                self.lambda_.invoke(resource.function, json.loads(json.dumps(event)), env=env)
        response = None
        # The ServiceTimeout is real time: the handler runs in real time.
        while response is None and time.monotonic() - sent_real < timeout:
            response = self.responses.wait(event["RequestId"], timeout=_PROGRESS_EVERY)
            if self.on_progress is not None:
                self.on_progress(self._progress(step, request_type, sent_at, first_legs))
        self.lambda_.wait_idle(timeout=10)
        legs = [i for i in self.lambda_.invocations[first_legs:]]
        records = [
            r
            for r in self.cloud.invalidations()
            if sent_at <= r.create_time
            <= (response.arrived_at if response else self.cloud.clock())
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
            resource_type=spec.resource_type,
        )
        self.outcomes.append(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)
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
        now = self.cloud.clock()
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


def as_delivered(value: Any) -> Any:  # noqa: ANN401 - template values are untyped
    """Properties as a custom resource receives them: booleans and numbers as strings
    ("true", "42"), at any depth (AWS CloudFormation User Guide, "Custom resources": the
    provider gets property values as strings; aws-cdk-lib's BucketDeployment handler calls
    ``.lower()`` on ``Prune``)."""
    if isinstance(value, dict):
        return {key: as_delivered(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_delivered(item) for item in value]
    if isinstance(value, bool | int | float):
        return cfn_stringify(value)
    return value


def _pick(
    stacks: list[StackTemplate], name: str | None, resource_types: Sequence[str] = (RESOURCE_TYPE,)
) -> StackTemplate:
    candidates = [
        s for s in stacks
        if (name is None or name in (s.name, s.stack_name))
        and any(r.get("Type") in resource_types for r in s.resources.values())
    ]
    if not candidates:
        raise ValueError(f"no stack{f' named {name}' if name else ''} with "
                         f"{' or '.join(resource_types)} "
                         f"in the assembly (stacks: {[s.name for s in stacks]})")
    return candidates[0]


def _with_timeout(function: LambdaFunction, seconds: float) -> LambdaFunction:
    return replace(function, timeout_seconds=seconds)
