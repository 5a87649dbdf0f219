"""The provider: one Lambda function per stack that every CloudFrontInvalidation shares.

The Lambda asset is built at synth without Docker and without network: the run-time
modules of ``cloudfront_purge`` plus the installed crhelper are copied into a staging
directory. CDK hashes the asset by content, so two synths of the same code give the same
hash, and the asset holds only what runs in Lambda (boto3 comes with the runtime).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import cloudfront_purge
import crhelper
from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct

#: Fixed id: the provider is looked up on the stack before it is created (a singleton).
PROVIDER_ID = "CloudFrontInvalidationProvider-7a1c2f64-0c58-4d0e-9b8a-3f1f4b8e2d11"
HANDLER = "cloudfront_purge.handler.handler"
#: The modules of cloudfront_purge that run in Lambda; the CLI does not ship there.
RUNTIME_MODULES = (
    "__init__.py",
    "rules.py",
    "errors.py",
    "engine.py",
    "responder.py",
    "handler.py",
)
#: Each invocation waits up to this long (less a hand-off margin), then hands off.
FUNCTION_TIMEOUT = Duration.minutes(15)
MEMORY_MB = 256
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
INVALIDATION_ACTIONS = (
    "cloudfront:CreateInvalidation",
    "cloudfront:GetInvalidation",
    "cloudfront:ListInvalidations",
)


@functools.cache
def handler_asset_dir() -> str:
    """Stage the Lambda asset once per process and return its directory."""
    staging = Path(tempfile.mkdtemp(prefix="cloudfront-invalidation-asset-"))
    package_dir = Path(cloudfront_purge.__file__).parent
    target = staging / "cloudfront_purge"
    target.mkdir()
    for name in RUNTIME_MODULES:
        shutil.copyfile(package_dir / name, target / name)
    crhelper_dir = Path(crhelper.__file__).parent
    shutil.copytree(
        crhelper_dir,
        staging / "crhelper",
        ignore=lambda _dir, names: [n for n in names if not n.endswith(".py")],
    )
    return str(staging)


class CloudFrontInvalidationProvider(Construct):
    """The shared Lambda function behind every ``Custom::CloudFrontInvalidation``.

    Use :meth:`of_stack` to get the stack's one provider. Distributions are granted one by
    one with :meth:`grant_distributions`, so IAM names their ARNs and nothing else.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        self.function = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=lambda_.Code.from_asset(handler_asset_dir()),
            timeout=FUNCTION_TIMEOUT,
            memory_size=MEMORY_MB,
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
        assert self.function.role is not None
        self.self_invoke_policy.attach_to_role(self.function.role)
        self._granted: set[str] = set()

    @property
    def service_token(self) -> str:
        return self.function.function_arn

    def grant_distributions(self, distribution_arns: Iterable[str]) -> None:
        """Allow the invalidation calls on these distributions only."""
        fresh = [arn for arn in distribution_arns if arn not in self._granted]
        if not fresh:
            return
        self._granted.update(fresh)
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=list(INVALIDATION_ACTIONS), resources=fresh)
        )

    @classmethod
    def of_stack(cls, scope: Construct) -> CloudFrontInvalidationProvider:
        """The stack's provider, created on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(PROVIDER_ID)
        if isinstance(existing, CloudFrontInvalidationProvider):
            return existing
        return cls(stack, PROVIDER_ID)
