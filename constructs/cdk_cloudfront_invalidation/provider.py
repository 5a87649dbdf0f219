"""The provider: one Lambda function per stack that every CloudFrontInvalidation shares.

The Lambda asset is built at synth without Docker and without network: the run-time
modules of ``cloudfront_purge`` plus the installed crhelper are copied into a staging
directory. CDK hashes the asset by content, so two synths of the same code give the same
hash, and the asset holds only what runs in Lambda (boto3 comes with the runtime).

One provider can serve other stacks and plain CloudFormation templates too: export its
ServiceToken with :meth:`CloudFrontInvalidationProvider.export_service_token`, grant it the
distributions those templates purge with
:meth:`CloudFrontInvalidationProvider.grant_distribution_ids`, and use
``Type: Custom::CloudFrontInvalidation`` with ``ServiceToken: !ImportValue <name>``
(``examples/raw-cloudformation.yaml``, ``examples/shared_provider_app.py``); a CDK stack
declares ``CloudFrontInvalidation(..., service_token=Fn.import_value(<name>))``. Grant
rollback detection on each consuming stack (:meth:`grant_rollback_detection`).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import crhelper
import jsii
from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

import cloudfront_purge
from cdk_cloudfront_invalidation._scratch import scratch_dir
from cloudfront_purge.model import rules
from cloudfront_purge.prune import plan as prune_plan
from cloudfront_purge.prune import run as prune

#: Fixed id: the provider is looked up on the stack before it is created (a singleton).
PROVIDER_ID = "CloudFrontInvalidationProvider-7a1c2f64-0c58-4d0e-9b8a-3f1f4b8e2d11"
#: The entry point loads ``cloudfront_purge.resource.handler`` under a guard, so a function that
#: cannot start still answers CloudFormation (docs/troubleshooting.md).
HANDLER = "cloudfront_purge.function.entry.handler"
#: Lambda's on-failure destination for the provider's asynchronous invocations.
ON_FAILURE_HANDLER = "cloudfront_purge.function.on_failure.handler"
#: What of cloudfront_purge does not run in Lambda: a folder rule, so a module added to any
#: other folder ships without a list to keep in step.
NOT_IN_ASSET = ("cli",)


def runtime_files(package_dir: Path) -> list[Path]:
    """The package's Python files that the Lambda asset holds, relative to ``package_dir``."""
    return sorted(
        path.relative_to(package_dir)
        for path in package_dir.rglob("*.py")
        if path.relative_to(package_dir).parts[0] not in NOT_IN_ASSET
    )
#: Modes of the staged asset, whatever the build host's umask: Lambda runs the code as a
#: user that is not the file owner, so files must be world-readable (AWS Lambda Developer
#: Guide, "Deploying Python Lambda functions with .zip file archives").
ASSET_FILE_MODE = 0o644
ASSET_DIR_MODE = 0o755
#: Each invocation waits up to this long (less a hand-off margin), then hands off.
FUNCTION_TIMEOUT = Duration.minutes(15)
MEMORY_MB = 256
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
#: What ``cdk destroy`` does with the two log groups unless told otherwise: keep them (CDK's
#: own default for a LogGroup). A failed first deploy rolls back by deleting the stack, and
#: with it, under DESTROY, the very logs that say why the purge failed; retained, they
#: expire with LOG_RETENTION. ``set_log_removal_policy`` (the construct's
#: ``log_removal_policy``) chooses otherwise.
DEFAULT_LOG_REMOVAL_POLICY = RemovalPolicy.RETAIN
INVALIDATION_ACTIONS = (
    "cloudfront:CreateInvalidation",
    "cloudfront:GetInvalidation",
    "cloudfront:ListInvalidations",
)
#: The same three calls for distribution tenants. The Service Authorization Reference
#: ("Actions, resources, and condition keys for Amazon CloudFront") lists them with the
#: resource type distribution-tenant, whose ARN is
#: ``arn:${Partition}:cloudfront::${Account}:distribution-tenant/${Id}``.
TENANT_INVALIDATION_ACTIONS = (
    "cloudfront:CreateInvalidationForDistributionTenant",
    "cloudfront:GetInvalidationForDistributionTenant",
    "cloudfront:ListInvalidationsForDistributionTenant",
)
#: Read a stack's status, to tell a rollback's Update from a normal one (the handler then
#: never answers FAILED; docs/troubleshooting.md).
STACK_STATUS_ACTIONS = ("cloudformation:DescribeStacks",)
#: Read the manifests of changed-only purges (this deploy's and the previous one's).
MANIFEST_READ_ACTIONS = ("s3:GetObject",)
#: The prune (docs/retention.md): delete what a deploy replaced; DeleteObjects checks
#: s3:DeleteObject on each key (Amazon S3 API Reference, DeleteObjects, "Permissions").
PRUNE_DELETE_ACTIONS = ("s3:DeleteObject",)
#: Read and write the prune state under ``<prefix>.cloudfront-purge/``.
PRUNE_STATE_ACTIONS = ("s3:GetObject", "s3:PutObject")
#: Whether the prune state exists is asked with ListObjectsV2 (prefix = its key): without
#: a listing, GetObject of a missing key answers AccessDenied instead of NoSuchKey (Amazon
#: S3 API Reference, GetObject, "Permissions"), and a first deploy could not tell "no state
#: yet" from "denied". Listing is limited to the state folder by an s3:prefix condition.
PRUNE_LIST_ACTIONS = ("s3:ListBucket",)


@functools.cache
def handler_asset_dir() -> str:
    """Stage the Lambda asset once per process and return its directory.

    It lives in the process's scratch folder, removed at exit: CDK copies the asset into
    the cloud assembly (``cdk.out``) at synth, so nothing is left in the temporary directory.
    """
    staging = scratch_dir() / "asset"
    staging.mkdir()
    package_dir = Path(cloudfront_purge.__file__).parent
    target = staging / "cloudfront_purge"
    for relative in runtime_files(package_dir):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package_dir / relative, target / relative)
    crhelper_dir = Path(crhelper.__file__).parent
    shutil.copytree(
        crhelper_dir,
        staging / "crhelper",
        ignore=lambda _dir, names: [n for n in names if not n.endswith(".py")],
    )
    normalize_modes(staging)
    return str(staging)


def normalize_modes(root: Path) -> None:
    """Files 0644, folders 0755 under ``root`` (itself included), whatever the umask was.

    CDK copies these modes into the asset, and a 0600 file is unreadable by Lambda's
    runtime user: the function could not even start.
    """
    root.chmod(ASSET_DIR_MODE)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            (Path(folder) / name).chmod(ASSET_DIR_MODE)
        for name in files:
            (Path(folder) / name).chmod(ASSET_FILE_MODE)


# --- asynchronous invocation: retries, event age, on-failure answer ------------------------
#: Lambda retries a failed asynchronous invocation twice (its maximum). A crashed or killed
#: leg is then re-run with the same event; deterministic CallerReferences make that safe.
ASYNC_RETRY_ATTEMPTS = 2
#: Long enough for one full attempt (FUNCTION_TIMEOUT) plus Lambda's retry back-off (about
#: 1 then 2 minutes); short enough that a request stuck in Lambda's queue is answered
#: FAILED by the on-failure function well before CloudFormation's one-hour ServiceTimeout.
ASYNC_MAX_EVENT_AGE = Duration.minutes(30)
#: The on-failure function only PUTs one answer (responder.deliver: bounded retries).
ON_FAILURE_TIMEOUT = Duration.minutes(2)
ON_FAILURE_MEMORY_MB = 128
#: Its own invocations: a couple of retries if the PUT did not go through, and no
#: destination at all, so nothing can loop.
ON_FAILURE_RETRY_ATTEMPTS = 2
ON_FAILURE_MAX_EVENT_AGE = Duration.hours(1)


def _nag_rendering(value: object) -> str:
    """A resolved template value as cdk-nag names it in a finding: ``Ref`` and ``Fn::Sub``
    variables become ``<Name>``, ``Fn::Join`` is concatenated."""
    if isinstance(value, str):
        return re.sub(r"\$\{([^}]+)\}", r"<\1>", value)
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return f"<{arg}>"
        if key == "Fn::Sub" and isinstance(arg, str):
            return _nag_rendering(arg)
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            return str(arg[0]).join(_nag_rendering(part) for part in arg[1])
        if key == "Fn::GetAtt" and isinstance(arg, list):
            return f"<{'.'.join(map(str, arg))}>"
    return json.dumps(value)


@jsii.implements(lambda_.IDestination)
class _ExactFunctionDestination:
    """A Lambda destination that grants nothing itself (aws-cdk-lib's LambdaDestination
    grants ``lambda:InvokeFunction`` on ``<arn>`` and ``<arn>:*``); the provider grants
    exactly the function's ARN in its own policy."""

    def __init__(self, function: lambda_.IFunction) -> None:
        self._function = function

    def bind(
        self,
        _scope: Construct,
        _fn: lambda_.IFunction,
        *,
        type: lambda_.DestinationType | None = None,
    ) -> lambda_.DestinationConfig:
        return lambda_.DestinationConfig(destination=self._function.function_arn)


class CloudFrontInvalidationProvider(Construct):
    """The shared Lambda function behind every ``Custom::CloudFrontInvalidation``.

    Use :meth:`of_stack` to get the stack's one provider. Distributions are granted one by
    one (:meth:`grant_distributions` by ARN, :meth:`grant_distribution_ids` by id), and so
    are distribution tenants (:meth:`grant_distribution_tenants`,
    :meth:`grant_distribution_tenant_ids`), so IAM names their ARNs and nothing else.

    To share it with other stacks or plain CloudFormation templates::

        provider = CloudFrontInvalidationProvider.of_stack(stack)
        provider.export_service_token("CloudFrontInvalidationServiceToken")
        provider.grant_distribution_ids(["E2QWRUHAPOMQZL"])

    then ``ServiceToken: !ImportValue CloudFrontInvalidationServiceToken`` in the template.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        # An explicit role instead of the AWSLambdaBasicExecutionRole managed policy, which
        # would allow creating and writing any log group in the account (cdk-nag
        # AwsSolutions-IAM4): this one may write to its own log group and nothing else.
        role = iam.Role(
            self,
            "ServiceRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Custom::CloudFrontInvalidation provider: its log group, and "
            "invalidations on the distributions granted to it",
        )
        log_group.grant_write(role)
        self.function = self._function(
            "Handler",
            handler=HANDLER,
            timeout=FUNCTION_TIMEOUT,
            memory_size=MEMORY_MB,
            role=role,
            log_group=log_group,
            description="Custom::CloudFrontInvalidation provider: purge CloudFront and wait "
            "for Completed",
        )
        # A long wait re-invokes the function itself. A separate policy (not the role's
        # default policy, which the function depends on) avoids a dependency cycle.
        self.self_invoke_policy = iam.Policy(
            self,
            "SelfInvoke",
            statements=[
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[self.function.function_arn],
                )
            ],
        )
        self.self_invoke_policy.attach_to_role(role)
        self._configure_async_invocation(role)
        self.role = role
        self.log_group = log_group
        self._granted: set[str] = set()
        self._stacks_granted: set[str] = set()
        self._manifest_buckets: set[str] = set()
        self._prune_grants: set[str] = set()
        self._exports: dict[str, CfnOutput] = {}
        #: Set once by set_log_removal_policy; None: DEFAULT_LOG_REMOVAL_POLICY.
        self._log_removal_policy: RemovalPolicy | None = None
        # Its own stack's resources are the ones it serves first.
        self.grant_rollback_detection([Stack.of(self).stack_id])

    def set_log_removal_policy(self, policy: RemovalPolicy) -> None:
        """What ``cdk destroy`` (or a failed first deploy) does with both log groups.

        ``RemovalPolicy.DESTROY`` deletes them with the stack; ``RETAIN`` (the default,
        ``DEFAULT_LOG_REMOVAL_POLICY``) keeps them until their retention empties them.
        Setting the same policy again does nothing.

        Raises:
            ValueError: a different policy was set already (the stack has one provider,
                so every CloudFrontInvalidation of the stack must agree).
        """
        if not isinstance(policy, RemovalPolicy):
            raise ValueError(
                "log_removal_policy must be a RemovalPolicy (RemovalPolicy.DESTROY or "
                f"RemovalPolicy.RETAIN), got {policy!r}"
            )
        if self._log_removal_policy is not None and self._log_removal_policy != policy:
            raise ValueError(
                f"log_removal_policy: the stack's provider already has {self._log_removal_policy}"
                f", not {policy}; its log groups are shared by every CloudFrontInvalidation of "
                "the stack, so give them all the same policy"
            )
        self._log_removal_policy = policy
        for group in (self.log_group, self.on_failure_log_group):
            group.apply_removal_policy(policy)

    def _configure_async_invocation(self, role: iam.IRole) -> None:
        """Retries, maximum event age, and an on-failure function that answers FAILED.

        The on-failure function runs the same asset (``cloudfront_purge.function.on_failure``,
        standard library only) with its own role and log group: it needs no CloudFront or
        Lambda permission, only to write its log and to read the status of the stacks the
        provider serves (``grant_rollback_detection`` grants both functions).
        """
        on_failure_logs = logs.LogGroup(self, "OnFailureLogs", retention=LOG_RETENTION)
        on_failure_role = iam.Role(
            self,
            "OnFailureRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Custom::CloudFrontInvalidation on-failure answerer: its log group, and "
            "the status of the stacks the provider serves",
        )
        on_failure_logs.grant_write(on_failure_role)
        self.on_failure_log_group = on_failure_logs
        self.on_failure_function = self._function(
            "OnFailure",
            handler=ON_FAILURE_HANDLER,
            timeout=ON_FAILURE_TIMEOUT,
            memory_size=ON_FAILURE_MEMORY_MB,
            role=on_failure_role,
            log_group=on_failure_logs,
            description="Custom::CloudFrontInvalidation: answers FAILED for a request whose "
            "invocations Lambda gave up",
        )
        lambda_.EventInvokeConfig(
            self,
            "OnFailureAsyncInvoke",
            function=self.on_failure_function,
            retry_attempts=ON_FAILURE_RETRY_ATTEMPTS,
            max_event_age=ON_FAILURE_MAX_EVENT_AGE,
        )
        # Lambda invokes the destination with the provider's execution role: exactly this
        # function's ARN, in a policy of its own (as SelfInvoke, to avoid a cycle).
        destination_policy = iam.Policy(
            self,
            "OnFailureInvoke",
            statements=[
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[self.on_failure_function.function_arn],
                )
            ],
        )
        destination_policy.attach_to_role(role)
        async_config = lambda_.EventInvokeConfig(
            self,
            "AsyncInvoke",
            function=self.function,
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
            max_event_age=ASYNC_MAX_EVENT_AGE,
            on_failure=_ExactFunctionDestination(self.on_failure_function),
        )
        # Lambda checks the role may invoke the destination when the config is created.
        async_config.node.add_dependency(destination_policy)
        self.on_failure_invoke_policy = destination_policy
        #: The provider's asynchronous-invocation settings (retries, event age, on-failure).
        self.async_invoke_config = async_config

    def _function(
        self,
        construct_id: str,
        *,
        handler: str,
        timeout: Duration,
        memory_size: int,
        role: iam.IRole,
        log_group: logs.ILogGroup,
        description: str,
    ) -> lambda_.Function:
        """A function of this provider: the one asset, runtime and log convention."""
        return lambda_.Function(
            self,
            construct_id,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=lambda_.Code.from_asset(handler_asset_dir()),
            timeout=timeout,
            memory_size=memory_size,
            role=role,
            log_group=log_group,
            description=description,
            # Lambda's JSON log format keeps the fields logged as ``extra`` as top-level
            # keys; crhelper's own JSON formatter would drop them (docs/troubleshooting.md).
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
        )

    @property
    def service_token(self) -> str:
        """The function's ARN: the ``ServiceToken`` of every resource this provider serves."""
        return self.function.function_arn

    def grant_distributions(self, distribution_arns: Iterable[str]) -> None:
        """Allow the invalidation calls on these distributions (by ARN) only.

        Granting the same ARN twice adds nothing.
        """
        self._grant(INVALIDATION_ACTIONS, distribution_arns)

    def grant_distribution_tenants(self, tenant_arns: Iterable[str]) -> None:
        """Allow the tenant invalidation calls on these distribution tenants (by ARN) only.

        Granting the same ARN twice adds nothing.
        """
        self._grant(TENANT_INVALIDATION_ACTIONS, tenant_arns)

    def _grant(self, actions: Sequence[str], arns: Iterable[str]) -> None:
        """One statement of ``actions`` on the ARNs not granted yet (none if all were)."""
        fresh = [arn for arn in dict.fromkeys(arns) if arn not in self._granted]
        if not fresh:
            return
        self._granted.update(fresh)
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=list(actions), resources=fresh)
        )

    def grant_distribution_tenant_ids(self, tenant_ids: Iterable[str]) -> None:
        """Allow the tenant invalidation calls on these distribution tenants, named by id.

        Each becomes ``arn:<partition>:cloudfront::<this account>:distribution-tenant/<id>``.
        Ids may be tokens; concrete ones are checked at synth.

        Raises:
            ValueError: an id that is not a distribution tenant id.
        """
        ids = list(tenant_ids)
        if Token.is_unresolved(ids):
            raise ValueError(
                "distribution_tenant_ids: a list token cannot be turned into ARNs at synth; "
                "pass the ids one by one (each may be a token)"
            )
        for tenant_id in ids:
            if not Token.is_unresolved(tenant_id):
                try:
                    rules.validate_distribution_tenant_ids(
                        [tenant_id], field="distribution_tenant_ids"
                    )
                except rules.RuleError as exc:
                    raise ValueError(str(exc)) from exc
        self.grant_distribution_tenants(self._arn("distribution-tenant", t) for t in ids)

    def _arn(self, resource: str, resource_id: str) -> str:
        """A CloudFront ARN in this stack's partition and account (CloudFront ARNs have no
        region)."""
        return Stack.of(self).format_arn(
            service="cloudfront",
            region="",
            resource=resource,
            resource_name=resource_id,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def grant_distribution_ids(self, distribution_ids: Iterable[str]) -> None:
        """Allow the invalidation calls on these distributions, named by id.

        For distributions this stack does not define: another stack's, a console-made one,
        or those a plain CloudFormation template purges through an exported ServiceToken.
        Each becomes ``arn:<partition>:cloudfront::<this account>:distribution/<id>``
        (CloudFront invalidations cannot cross accounts). Ids may be tokens (a
        ``CfnParameter``, ``Fn.import_value``); concrete ones are checked at synth.

        Raises:
            ValueError: an id that is not a CloudFront distribution id.
        """
        ids = list(distribution_ids)
        if Token.is_unresolved(ids):
            raise ValueError(
                "distribution_ids: a list token (CommaDelimitedList parameter, Fn.split) cannot "
                "be turned into ARNs at synth; pass the ids one by one (each may be a token)"
            )
        arns: list[str] = []
        for distribution_id in ids:
            if not Token.is_unresolved(distribution_id):
                try:
                    rules.validate_distribution_ids([distribution_id], field="distribution_ids")
                except rules.RuleError as exc:
                    raise ValueError(str(exc)) from exc
            arns.append(self._arn("distribution", distribution_id))
        self.grant_distributions(arns)

    def grant_manifest_reads(self, bucket: s3.IBucket) -> None:
        """Let the provider read changed-only manifests in ``bucket`` (the CDK asset bucket).

        The previous deploy's manifest has a key this synth cannot know, so the grant is
        ``s3:GetObject`` on ``<bucket>/*`` + ``rules.MANIFEST_EXTENSION``: CDK's default
        synthesizer names a file asset's object ``<hash><extension>``, so that pattern
        matches the manifests and no other asset. A bootstrap bucket encrypted with a
        customer-managed KMS key also needs ``kms:Decrypt`` on that key for this role
        (docs/changed-only.md); it is not granted here.
        """
        arn = bucket.arn_for_objects(f"*{rules.MANIFEST_EXTENSION}")
        resolved = Stack.of(self).resolve(arn)
        identity = json.dumps(resolved, sort_keys=True)
        if identity in self._manifest_buckets:
            return
        self._manifest_buckets.add(identity)
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=list(MANIFEST_READ_ACTIONS), resources=[arn])
        )
        # cdk-nag (AwsSolutions-IAM5) flags any "*" in a resource; this one is the narrowest
        # grant that can name a key made by an earlier deploy.
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{_nag_rendering(resolved)}]",
                reason="Changed-only purges read the previous deploy's manifest, whose key is "
                "not known at synth: the grant is s3:GetObject on objects with the manifest "
                f"extension ({rules.MANIFEST_EXTENSION}) in the CDK asset bucket, nothing else.",
            )
        )

    def grant_prune(self, bucket: s3.IBucket, key_prefix: str = "") -> None:
        """Let the provider prune ``bucket`` under ``key_prefix`` (docs/retention.md).

        ``s3:DeleteObject`` on ``<bucket>/<prefix>*``; ``s3:GetObject`` and ``s3:PutObject``
        on ``<bucket>/<prefix>.cloudfront-purge/*`` (the prune state); ``s3:ListBucket`` on
        the bucket with ``s3:prefix`` like ``<prefix>.cloudfront-purge/*``; and, for a
        bucket with a customer-managed KMS key, encrypt/decrypt on that key. The construct
        calls it for ``prune_bucket``; raw templates served through an exported ServiceToken
        call it for theirs. Granting the same bucket and prefix twice adds nothing.

        Raises:
            ValueError: a prefix that breaks the prefix rules (``PruneKeyPrefix``).
        """
        try:
            prefix = prune.normalize_prefix(key_prefix, field="key_prefix")
        except rules.RuleError as exc:
            raise ValueError(str(exc)) from exc
        stack = Stack.of(self)
        identity = json.dumps([stack.resolve(bucket.bucket_arn), prefix], sort_keys=True)
        if identity in self._prune_grants:
            return
        self._prune_grants.add(identity)
        objects = bucket.arn_for_objects(f"{prefix}*")
        state_folder = f"{prefix}{prune_plan.STATE_FOLDER}"
        state = bucket.arn_for_objects(f"{state_folder}*")
        for actions, resource in ((PRUNE_DELETE_ACTIONS, objects), (PRUNE_STATE_ACTIONS, state)):
            self.function.add_to_role_policy(
                iam.PolicyStatement(actions=list(actions), resources=[resource])
            )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(PRUNE_LIST_ACTIONS),
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{state_folder}*"]}},
            )
        )
        if bucket.encryption_key is not None:
            # A bucket encrypted with a customer-managed key: the state is read and written.
            bucket.encryption_key.grant_encrypt_decrypt(self.role)
        for arn in (objects, state):
            Validations.of(self.role).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{_nag_rendering(stack.resolve(arn))}]",
                    reason="The prune deletes keys earlier deploys put under this prefix, "
                    "whose names are known only at run time; the grant is scoped to the prune "
                    "bucket and prefix (docs/retention.md).",
                )
            )

    def grant_rollback_detection(self, stacks: Iterable[str]) -> None:
        """Let the provider read these stacks' status (``cloudformation:DescribeStacks``).

        On an Update the provider asks the status of the stack that sent it; during a
        rollback (``UPDATE_ROLLBACK_IN_PROGRESS``) it answers SUCCESS even when the purge
        fails or times out, so the rollback never ends in ``UPDATE_ROLLBACK_FAILED``. Its own
        stack is granted already. For other stacks and raw templates served through an
        exported ServiceToken, grant each: without the grant, a rollback is treated as a
        normal update (and a purge that fails during it fails the rollback). The
        on-failure function gets the same grant: it answers a given-up rollback's request.

        Args:
            stacks: stack ids (ARNs, such as ``Stack.of(x).stack_id``; a token is taken
                as a stack id) or stack names; a name becomes ``arn:...:stack/<name>/*``
                (the stack's unique suffix is not known before the stack exists).
        """
        stack = Stack.of(self)
        arns: list[str] = []
        for item in stacks:
            if Token.is_unresolved(item) or item.startswith("arn:"):
                arns.append(item)
            else:
                arns.append(
                    stack.format_arn(
                        service="cloudformation",
                        resource="stack",
                        resource_name=f"{item}/*",
                        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                    )
                )
        fresh = [arn for arn in dict.fromkeys(arns) if arn not in self._stacks_granted]
        if not fresh:
            return
        self._stacks_granted.update(fresh)
        statement = iam.PolicyStatement(actions=list(STACK_STATUS_ACTIONS), resources=fresh)
        self.function.add_to_role_policy(statement)
        # The on-failure function asks too: a rollback's request that Lambda gave up is
        # answered SUCCESS (unconfirmed) rather than FAILED.
        self.on_failure_function.add_to_role_policy(statement)

    def export_service_token(self, export_name: str) -> CfnOutput:
        """Export the ServiceToken so other stacks and raw templates can ``!ImportValue`` it.

        Other stacks import it with ``Fn.import_value(export_name)`` (CDK) or
        ``!ImportValue <export_name>`` (CloudFormation). CloudFormation then refuses to
        delete this stack, or to change the export, while a stack imports it. Exporting the
        same name twice returns the first output; several names give several outputs (to
        move importers from an old name to a new one).

        Raises:
            ValueError: ``export_name`` is empty.
        """
        if not Token.is_unresolved(export_name) and not export_name.strip():
            raise ValueError(
                "export_name must not be empty: it is the name other stacks give to Fn::ImportValue"
            )
        existing = self._exports.get(export_name)
        if existing is not None:
            return existing
        construct_id = "ServiceTokenExport" + (str(len(self._exports) + 1) if self._exports else "")
        output = CfnOutput(
            self,
            construct_id,
            value=self.service_token,
            export_name=export_name,
            description="ServiceToken of Custom::CloudFrontInvalidation (the provider "
            "function's ARN)",
        )
        self._exports[export_name] = output
        return output

    @classmethod
    def of_stack(cls, scope: Construct) -> CloudFrontInvalidationProvider:
        """The stack's provider, created on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(PROVIDER_ID)
        if isinstance(existing, CloudFrontInvalidationProvider):
            return existing
        return cls(stack, PROVIDER_ID)
