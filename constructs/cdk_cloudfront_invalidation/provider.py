"""The provider: one Lambda function per stack that every CloudFrontInvalidation shares.

The Lambda asset is built at synth without Docker and without network: the run-time
modules of ``cloudfront_purge`` plus the installed crhelper are copied into a staging
directory (``_asset.py``). CDK hashes the asset by content, so two synths of the same code
give the same hash, and the asset holds only what runs in Lambda (boto3 comes with the
runtime). The functions are built in ``_function.py``, the IAM statements of the
``grant_*`` methods in ``_grants.py``; this class is their public face.

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

from collections.abc import Iterable

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Token
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_cloudfront_invalidation import _function, _grants

__all__ = ["PROVIDER_ID", "CloudFrontInvalidationProvider"]

#: Fixed id: the provider is looked up on the stack before it is created (a singleton).
PROVIDER_ID = "CloudFrontInvalidationProvider-7a1c2f64-0c58-4d0e-9b8a-3f1f4b8e2d11"


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
        self._functions = _function.build(self)
        self.function = self._functions.function
        self.role = self._functions.role
        self.log_group = self._functions.log_group
        self.self_invoke_policy = self._functions.self_invoke_policy
        self.on_failure_function = self._functions.on_failure_function
        self.on_failure_log_group = self._functions.on_failure_log_group
        self.on_failure_invoke_policy = self._functions.on_failure_invoke_policy
        #: The provider's asynchronous-invocation settings (retries, event age, on-failure).
        self.async_invoke_config = self._functions.async_invoke_config
        self._grants = _grants.Grants(
            self,
            function=self.function,
            on_failure_function=self.on_failure_function,
            role=self.role,
        )
        self._exports: dict[str, CfnOutput] = {}
        # Its own stack's resources are the ones it serves first.
        self.grant_rollback_detection([Stack.of(self).stack_id])

    def set_log_removal_policy(self, policy: RemovalPolicy) -> None:
        """What ``cdk destroy`` (or a failed first deploy) does with both log groups.

        ``RemovalPolicy.DESTROY`` deletes them with the stack; ``RETAIN`` (the default,
        ``DEFAULT_LOG_REMOVAL_POLICY`` in ``_function.py``) keeps them until their retention
        empties them. Setting the same policy again does nothing.

        Raises:
            ValueError: a different policy was set already (the stack has one provider,
                so every CloudFrontInvalidation of the stack must agree).
        """
        self._functions.set_log_removal_policy(policy)

    @property
    def service_token(self) -> str:
        """The function's ARN: the ``ServiceToken`` of every resource this provider serves."""
        return self.function.function_arn

    def grant_distributions(self, distribution_arns: Iterable[str]) -> None:
        """Allow the invalidation calls on these distributions (by ARN) only.

        Granting the same ARN twice adds nothing.
        """
        self._grants.invalidation_calls(_grants.INVALIDATION_ACTIONS, distribution_arns)

    def grant_distribution_tenants(self, tenant_arns: Iterable[str]) -> None:
        """Allow the tenant invalidation calls on these distribution tenants (by ARN) only.

        Granting the same ARN twice adds nothing.
        """
        self._grants.invalidation_calls(_grants.TENANT_INVALIDATION_ACTIONS, tenant_arns)

    def grant_distribution_tenant_ids(self, tenant_ids: Iterable[str]) -> None:
        """Allow the tenant invalidation calls on these distribution tenants, named by id.

        Each becomes ``arn:<partition>:cloudfront::<this account>:distribution-tenant/<id>``.
        Ids may be tokens; concrete ones are checked at synth.

        Raises:
            ValueError: an id that is not a distribution tenant id.
        """
        self.grant_distribution_tenants(
            _grants.cloudfront_arns(Stack.of(self), "distribution-tenant", tenant_ids)
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
        self.grant_distributions(
            _grants.cloudfront_arns(Stack.of(self), "distribution", distribution_ids)
        )

    def grant_manifest_reads(self, bucket: s3.IBucket) -> None:
        """Let the provider read changed-only manifests in ``bucket`` (the CDK asset bucket).

        The previous deploy's manifest has a key this synth cannot know, so the grant is
        ``s3:GetObject`` on ``<bucket>/*`` + ``rules.MANIFEST_EXTENSION``: CDK's default
        synthesizer names a file asset's object ``<hash><extension>``, so that pattern
        matches the manifests and no other asset. A bootstrap bucket encrypted with a
        customer-managed KMS key also needs ``kms:Decrypt`` on that key for this role
        (docs/changed-only.md); it is not granted here.
        """
        self._grants.manifest_reads(bucket)

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
        self._grants.prune(bucket, key_prefix)

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
        self._grants.rollback_detection(stacks)

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
