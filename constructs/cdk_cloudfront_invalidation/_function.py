"""The provider's two Lambda functions, built from the one asset: the handler, and the
on-failure function that answers a request whose invocations Lambda gave up. Their roles,
log groups (and what ``cdk destroy`` does with them) and asynchronous-invocation settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_cloudfront_invalidation._asset import handler_asset_dir

#: The entry point loads ``cloudfront_purge.resource.handler`` under a guard, so a function that
#: cannot start still answers CloudFormation (docs/troubleshooting.md).
HANDLER = "cloudfront_purge.function.entry.handler"
#: Lambda's on-failure destination for the provider's asynchronous invocations.
ON_FAILURE_HANDLER = "cloudfront_purge.function.on_failure.handler"
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


@dataclass
class ProviderFunctions:
    """What :func:`build` made; the provider exposes each under the same name."""

    function: lambda_.Function
    role: iam.Role
    log_group: logs.LogGroup
    self_invoke_policy: iam.Policy
    on_failure_function: lambda_.Function
    on_failure_log_group: logs.LogGroup
    on_failure_invoke_policy: iam.Policy
    async_invoke_config: lambda_.EventInvokeConfig
    #: Set once by set_log_removal_policy; None: DEFAULT_LOG_REMOVAL_POLICY.
    log_removal_policy: RemovalPolicy | None = None

    def set_log_removal_policy(self, policy: RemovalPolicy) -> None:
        """Apply ``policy`` to both log groups; the same policy again does nothing.

        Raises:
            ValueError: ``policy`` is not a RemovalPolicy, or a different one was set already.
        """
        if not isinstance(policy, RemovalPolicy):
            raise ValueError(
                "log_removal_policy must be a RemovalPolicy (RemovalPolicy.DESTROY or "
                f"RemovalPolicy.RETAIN), got {policy!r}"
            )
        if self.log_removal_policy is not None and self.log_removal_policy != policy:
            raise ValueError(
                f"log_removal_policy: the stack's provider already has {self.log_removal_policy}"
                f", not {policy}; its log groups are shared by every CloudFrontInvalidation of "
                "the stack, so give them all the same policy"
            )
        self.log_removal_policy = policy
        for group in (self.log_group, self.on_failure_log_group):
            group.apply_removal_policy(policy)


def build(scope: Construct) -> ProviderFunctions:
    """The provider's functions and what they need, as children of ``scope`` (the provider)."""
    function, role, log_group = _function(
        scope,
        "Handler",
        logs_id="Logs",
        role_id="ServiceRole",
        role_description="Custom::CloudFrontInvalidation provider: its log group, and "
        "invalidations on the distributions granted to it",
        handler=HANDLER,
        timeout=FUNCTION_TIMEOUT,
        memory_size=MEMORY_MB,
        description="Custom::CloudFrontInvalidation provider: purge CloudFront and wait "
        "for Completed",
    )
    # A long wait re-invokes the function itself. A separate policy (not the role's
    # default policy, which the function depends on) avoids a dependency cycle.
    self_invoke_policy = _invoke_policy(scope, "SelfInvoke", function, role)
    on_failure_function, on_failure_log_group = _on_failure_function(scope)
    on_failure_invoke_policy, async_invoke_config = _async_invocation(
        scope, function, role, on_failure_function
    )
    return ProviderFunctions(
        function=function,
        role=role,
        log_group=log_group,
        self_invoke_policy=self_invoke_policy,
        on_failure_function=on_failure_function,
        on_failure_log_group=on_failure_log_group,
        on_failure_invoke_policy=on_failure_invoke_policy,
        async_invoke_config=async_invoke_config,
    )


def _on_failure_function(scope: Construct) -> tuple[lambda_.Function, logs.LogGroup]:
    """The function that answers FAILED for a request whose invocations Lambda gave up.

    It runs the same asset (``cloudfront_purge.function.on_failure``, standard library only)
    with its own role and log group: it needs no CloudFront or Lambda permission, only to
    write its log and to read the status of the stacks the provider serves
    (``grant_rollback_detection`` grants both functions).
    """
    on_failure_function, _role, on_failure_logs = _function(
        scope,
        "OnFailure",
        logs_id="OnFailureLogs",
        role_id="OnFailureRole",
        role_description="Custom::CloudFrontInvalidation on-failure answerer: its log group, "
        "and the status of the stacks the provider serves",
        handler=ON_FAILURE_HANDLER,
        timeout=ON_FAILURE_TIMEOUT,
        memory_size=ON_FAILURE_MEMORY_MB,
        description="Custom::CloudFrontInvalidation: answers FAILED for a request whose "
        "invocations Lambda gave up",
    )
    lambda_.EventInvokeConfig(
        scope,
        "OnFailureAsyncInvoke",
        function=on_failure_function,
        retry_attempts=ON_FAILURE_RETRY_ATTEMPTS,
        max_event_age=ON_FAILURE_MAX_EVENT_AGE,
    )
    return on_failure_function, on_failure_logs


def _async_invocation(
    scope: Construct,
    function: lambda_.Function,
    role: iam.IRole,
    on_failure_function: lambda_.Function,
) -> tuple[iam.Policy, lambda_.EventInvokeConfig]:
    """The handler's retries, maximum event age and on-failure destination; the policy that
    lets Lambda invoke that destination, and the invoke config."""
    # Lambda invokes the destination with the provider's execution role: exactly this
    # function's ARN, in a policy of its own (as SelfInvoke, to avoid a cycle).
    destination_policy = _invoke_policy(scope, "OnFailureInvoke", on_failure_function, role)
    async_config = lambda_.EventInvokeConfig(
        scope,
        "AsyncInvoke",
        function=function,
        retry_attempts=ASYNC_RETRY_ATTEMPTS,
        max_event_age=ASYNC_MAX_EVENT_AGE,
        on_failure=_ExactFunctionDestination(on_failure_function),
    )
    # Lambda checks the role may invoke the destination when the config is created.
    async_config.node.add_dependency(destination_policy)
    return destination_policy, async_config


def _invoke_policy(
    scope: Construct, construct_id: str, function: lambda_.IFunction, role: iam.IRole
) -> iam.Policy:
    """A policy of its own, attached to ``role``, that may invoke exactly ``function``."""
    policy = iam.Policy(
        scope,
        construct_id,
        statements=[
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn],
            )
        ],
    )
    policy.attach_to_role(role)
    return policy


def _function(
    scope: Construct,
    construct_id: str,
    *,
    logs_id: str,
    role_id: str,
    role_description: str,
    handler: str,
    timeout: Duration,
    memory_size: int,
    description: str,
) -> tuple[lambda_.Function, iam.Role, logs.LogGroup]:
    """A function of the provider, with its own log group and role: the one asset, runtime
    and log convention."""
    log_group = logs.LogGroup(scope, logs_id, retention=LOG_RETENTION)
    # An explicit role instead of the AWSLambdaBasicExecutionRole managed policy, which
    # would allow creating and writing any log group in the account (cdk-nag
    # AwsSolutions-IAM4): this one may write to its own log group and nothing else.
    role = iam.Role(
        scope,
        role_id,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=role_description,
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
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
    return function, role, log_group
