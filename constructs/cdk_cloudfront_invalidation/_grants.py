"""What the provider's functions may do: the IAM statements behind its ``grant_*`` methods,
each granted once, and the ARNs they name."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence

from aws_cdk import Acknowledgment, ArnFormat, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cloudfront_purge.model import prune, rules

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


class Grants:
    """The provider's grants: statements added to its functions' role policies, each ARN
    (stack, bucket, bucket and prefix) granted at most once. The provider's ``grant_*``
    methods say what each grant means to a user."""

    def __init__(
        self,
        scope: Construct,
        *,
        function: lambda_.Function,
        on_failure_function: lambda_.Function,
        role: iam.Role,
    ) -> None:
        self._stack = Stack.of(scope)
        self._function = function
        self._on_failure_function = on_failure_function
        self._role = role
        self._granted: set[str] = set()
        self._stacks_granted: set[str] = set()
        self._manifest_buckets: set[str] = set()
        self._prune_grants: set[str] = set()

    def invalidation_calls(self, actions: Sequence[str], arns: Iterable[str]) -> None:
        """One statement of ``actions`` on the ARNs not granted yet (none if all were)."""
        fresh = [arn for arn in dict.fromkeys(arns) if arn not in self._granted]
        if not fresh:
            return
        self._granted.update(fresh)
        self._function.add_to_role_policy(
            iam.PolicyStatement(actions=list(actions), resources=fresh)
        )

    def manifest_reads(self, bucket: s3.IBucket) -> None:
        """``s3:GetObject`` on the bucket's objects with the manifest extension, once."""
        arn = bucket.arn_for_objects(f"*{rules.MANIFEST_EXTENSION}")
        resolved = self._stack.resolve(arn)
        identity = json.dumps(resolved, sort_keys=True)
        if identity in self._manifest_buckets:
            return
        self._manifest_buckets.add(identity)
        self._function.add_to_role_policy(
            iam.PolicyStatement(actions=list(MANIFEST_READ_ACTIONS), resources=[arn])
        )
        # cdk-nag (AwsSolutions-IAM5) flags any "*" in a resource; this one is the narrowest
        # grant that can name a key made by an earlier deploy.
        Validations.of(self._role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{_nag_rendering(resolved)}]",
                reason="Changed-only purges read the previous deploy's manifest, whose key is "
                "not known at synth: the grant is s3:GetObject on objects with the manifest "
                f"extension ({rules.MANIFEST_EXTENSION}) in the CDK asset bucket, nothing else.",
            )
        )

    def prune(self, bucket: s3.IBucket, key_prefix: str) -> None:
        """Delete under the prefix, read and write its state, list the state folder, and
        the bucket's KMS key if any; once per bucket and prefix.

        Raises:
            ValueError: a prefix that breaks the prefix rules (``PruneKeyPrefix``).
        """
        try:
            prefix = prune.normalize_prefix(key_prefix, field="key_prefix")
        except rules.RuleError as exc:
            raise ValueError(str(exc)) from exc
        stack = self._stack
        identity = json.dumps([stack.resolve(bucket.bucket_arn), prefix], sort_keys=True)
        if identity in self._prune_grants:
            return
        self._prune_grants.add(identity)
        objects = bucket.arn_for_objects(f"{prefix}*")
        state_folder = f"{prefix}{prune.STATE_FOLDER}"
        state = bucket.arn_for_objects(f"{state_folder}*")
        for actions, resource in ((PRUNE_DELETE_ACTIONS, objects), (PRUNE_STATE_ACTIONS, state)):
            self._function.add_to_role_policy(
                iam.PolicyStatement(actions=list(actions), resources=[resource])
            )
        self._function.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(PRUNE_LIST_ACTIONS),
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{state_folder}*"]}},
            )
        )
        if bucket.encryption_key is not None:
            # A bucket encrypted with a customer-managed key: the state is read and written.
            bucket.encryption_key.grant_encrypt_decrypt(self._role)
        for arn in (objects, state):
            Validations.of(self._role).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{_nag_rendering(stack.resolve(arn))}]",
                    reason="The prune deletes keys earlier deploys put under this prefix, "
                    "whose names are known only at run time; the grant is scoped to the prune "
                    "bucket and prefix (docs/retention.md).",
                )
            )

    def rollback_detection(self, stacks: Iterable[str]) -> None:
        """``cloudformation:DescribeStacks`` on these stacks for both functions, once per
        stack."""
        arns = _stack_arns(self._stack, stacks)
        fresh = [arn for arn in dict.fromkeys(arns) if arn not in self._stacks_granted]
        if not fresh:
            return
        self._stacks_granted.update(fresh)
        statement = iam.PolicyStatement(actions=list(STACK_STATUS_ACTIONS), resources=fresh)
        self._function.add_to_role_policy(statement)
        # The on-failure function asks too: a rollback's request that Lambda gave up is
        # answered SUCCESS (unconfirmed) rather than FAILED.
        self._on_failure_function.add_to_role_policy(statement)


#: CloudFront resources granted by id: the prop or argument the ids come from (named in
#: errors), their rule, and how a list token of them is described.
_BY_ID: dict[str, tuple[str, Callable[..., object], str]] = {
    "distribution": (
        "distribution_ids",
        rules.validate_distribution_ids,
        "a list token (CommaDelimitedList parameter, Fn.split)",
    ),
    "distribution-tenant": (
        "distribution_tenant_ids",
        rules.validate_distribution_tenant_ids,
        "a list token",
    ),
}


def cloudfront_arns(stack: Stack, resource: str, resource_ids: Iterable[str]) -> list[str]:
    """``arn:<partition>:cloudfront::<account>:<resource>/<id>`` for each id, in ``stack``'s
    partition and account (``resource``: ``distribution`` or ``distribution-tenant``). Ids
    may be tokens; concrete ones are checked.

    Raises:
        ValueError: a list token, or an id that is not one of ``resource``.
    """
    field, validate, list_form = _BY_ID[resource]
    ids = list(resource_ids)
    if Token.is_unresolved(ids):
        raise ValueError(
            f"{field}: {list_form} cannot be turned into ARNs at synth; pass the ids one by "
            "one (each may be a token)"
        )
    try:
        for resource_id in ids:
            if not Token.is_unresolved(resource_id):
                validate([resource_id], field=field)
    except rules.RuleError as exc:
        raise ValueError(str(exc)) from exc
    return [_cloudfront_arn(stack, resource, resource_id) for resource_id in ids]


def _cloudfront_arn(stack: Stack, resource: str, resource_id: str) -> str:
    """A CloudFront ARN in ``stack``'s partition and account (CloudFront ARNs have no
    region)."""
    return stack.format_arn(
        service="cloudfront",
        region="",
        resource=resource,
        resource_name=resource_id,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def _stack_arns(stack: Stack, stacks: Iterable[str]) -> list[str]:
    """Stack ids as they are (an ARN, or a token taken as one); a stack name becomes
    ``arn:...:stack/<name>/*`` (the stack's unique suffix is not known before it exists)."""
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
    return arns
