"""Synth-time side of the prune after the purge (docs/retention.md): the props' checks,
the checks that need the whole app (the distribution's origin path, a BucketDeployment that
prunes the same place), and the wiring of both to a resource. The S3 grants are the
provider's (``grant_prune``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct, IConstruct, IValidation

from cdk_cloudfront_invalidation.provider import CloudFrontInvalidationProvider
from cloudfront_purge.model import prune, rules

#: The default of ``keep_replaced_files`` (docs/retention.md, "Why seven days").
DEFAULT_KEEP_REPLACED = Duration.seconds(prune.DEFAULT_KEEP_REPLACED_SECONDS)


@dataclass(frozen=True)
class PruneProps:
    """The checked prune props; ``properties`` is what the resource sends."""

    bucket: s3.IBucket | None
    key_prefix: str
    properties: dict[str, str]


def check_props(
    *,
    prune_bucket: s3.IBucket | None,
    prune_key_prefix: str,
    keep_replaced_files: Duration | None,
    on_timeout: str,
    only_changed: bool,
    wait_for_completion: bool,
    only_in_rollback: bool,
) -> PruneProps:
    """Check the prune and on_timeout props before any child construct is made (a resource
    that purges only in rollbacks never prunes).

    Raises:
        ValueError: naming the prop and the rule it broke.
    """
    if on_timeout not in (prune.ON_TIMEOUT_FAIL, prune.ON_TIMEOUT_SUCCEED):
        raise ValueError(
            f"on_timeout must be {prune.ON_TIMEOUT_FAIL!r} (fail the deploy, the default) or "
            f"{prune.ON_TIMEOUT_SUCCEED!r} (answer SUCCESS with a Warning), got {on_timeout!r}"
        )
    timeout_props = (
        {rules.PROP_ON_TIMEOUT: on_timeout} if on_timeout != prune.DEFAULT_ON_TIMEOUT else {}
    )
    if prune_bucket is None:
        if prune_key_prefix != "" or keep_replaced_files is not None:
            raise ValueError(
                "prune_key_prefix and keep_replaced_files are used with prune_bucket: give "
                "the bucket whose replaced files are pruned"
            )
        return PruneProps(None, "", timeout_props)
    if not only_changed:
        raise ValueError(
            "prune_bucket needs only_changed=True (and source_directories): the manifests "
            "say which files each deploy put in the bucket, and only those are ever pruned"
        )
    if not wait_for_completion:
        raise ValueError(
            "prune_bucket needs wait_for_completion=True: nothing is pruned before every "
            "invalidation is Completed"
        )
    if Token.is_unresolved(prune_key_prefix):
        raise ValueError(
            "prune_key_prefix must be known at synth (the provider's IAM is scoped to it), "
            "not a token"
        )
    try:
        prefix = prune.normalize_prefix(prune_key_prefix, field="prune_key_prefix")
    except rules.RuleError as exc:
        raise ValueError(str(exc)) from exc
    keep = keep_replaced_files if keep_replaced_files is not None else DEFAULT_KEEP_REPLACED
    if not isinstance(keep, Duration):
        raise ValueError(
            f"keep_replaced_files must be a Duration (e.g. Duration.days(7)), got {keep!r}"
        )
    millis = keep.to_milliseconds()
    try:
        if millis % 1000:
            raise rules.RuleError(
                f"keep_replaced_files must be whole seconds, got {millis / 1000:g} s"
            )
        seconds = prune.validate_keep_seconds(millis // 1000, field="keep_replaced_files")
    except rules.RuleError as exc:
        raise ValueError(str(exc)) from exc
    if only_in_rollback:
        raise ValueError(
            "only_in_rollback=True purges during rollbacks only, which never prune: give "
            "prune_bucket to the resource that purges on every deploy instead"
        )
    return PruneProps(
        prune_bucket,
        prefix,
        {
            rules.PROP_PRUNE_BUCKET: prune_bucket.bucket_name,
            rules.PROP_PRUNE_KEY_PREFIX: prefix,
            rules.PROP_KEEP_REPLACED_SECONDS: str(seconds),
            rules.PROP_ON_TIMEOUT: on_timeout,
        },
    )


def wire(
    purge: Construct,
    props: PruneProps,
    provider: CloudFrontInvalidationProvider | None,
    *,
    url_prefix: str,
    distributions: Sequence[cloudfront.IDistribution],
) -> tuple[s3.IBucket, str] | None:
    """Grant the prune to the stack's provider and add the app-wide checks to ``purge``;
    the (bucket, normalized key prefix) it prunes, None without ``prune_bucket``."""
    if props.bucket is None:
        return None
    # With service_token the provider's stack grants it (grant_prune), as it grants the
    # distributions.
    if provider is not None:
        provider.grant_prune(props.bucket, props.key_prefix)
    purge.node.add_validation(
        PruneChecks(
            purge,
            bucket=props.bucket,
            key_prefix=props.key_prefix,
            url_prefix=url_prefix,
            distributions=distributions,
        )
    )
    return (props.bucket, props.key_prefix)


@jsii.implements(IValidation)
class PruneChecks:
    """Checks that need the whole app, run by ``cdk synth`` once every construct exists.

    - ``prune_key_prefix`` must match where the distribution serves the bucket from: the
      origin path plus ``url_prefix`` (only for distributions defined in this app whose
      origin names the prune bucket).
    - No BucketDeployment in the app may prune (``prune=True``, its default) the same
      bucket and an overlapping prefix: it would delete the replaced files before the purge.
    - No other ``CloudFrontInvalidation`` may prune the same bucket and an overlapping prefix.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        bucket: s3.IBucket,
        key_prefix: str,
        url_prefix: str,
        distributions: Sequence[cloudfront.IDistribution],
    ) -> None:
        self._scope = scope
        self._bucket = bucket
        self._prefix = key_prefix
        self._url_prefix = url_prefix
        self._distributions = list(distributions)

    def validate(self) -> list[str]:
        return (
            self._origin_path_errors()
            + self._bucket_deployment_errors()
            + self._other_prune_errors()
        )

    def _other_prune_errors(self) -> list[str]:
        """Another resource pruning the same folder would delete this one's live files (its
        manifests never name them), and this one its."""
        errors: list[str] = []
        for construct in self._scope.node.root.node.find_all():
            target = getattr(construct, "prune_target", None)
            if construct is self._scope or not isinstance(target, tuple):
                continue
            bucket, prefix = target
            name = Stack.of(bucket).resolve(bucket.bucket_name)
            if not self._same(bucket, name, self._bucket.bucket_name):
                continue
            if prefix.startswith(self._prefix) or self._prefix.startswith(prefix):
                errors.append(
                    f"prune_bucket: {construct.node.path} prunes the same bucket under "
                    f"{prefix!r}, overlapping {self._prefix!r}: each would delete files the "
                    "other serves; give each site its own prune_key_prefix"
                )
        return errors

    def _same(self, where: IConstruct, value: Any, *candidates: str) -> bool:  # noqa: ANN401
        """Whether ``value`` (resolved in ``where``'s stack) names the same thing as one of
        ``candidates``. References (``Ref``, ``GetAtt``) mean something only within one
        stack: across stacks, only concrete names are compared."""
        stack = Stack.of(self._scope)
        if Stack.of(where) is not stack and not isinstance(value, str):
            return False
        shown = json.dumps(value, sort_keys=True)
        return any(shown == json.dumps(stack.resolve(c), sort_keys=True) for c in candidates)

    def _origin_path_errors(self) -> list[str]:
        if Token.is_unresolved(self._url_prefix):
            return []
        errors: list[str] = []
        for distribution in self._distributions:
            config = _cfn_properties(distribution.node.default_child).get("distributionConfig")
            if not isinstance(config, dict):
                continue
            paths = [
                str(origin.get("originPath") or "")
                for origin in config.get("origins") or []
                if isinstance(origin, dict)
                and self._same(
                    distribution,
                    origin.get("domainName"),
                    self._bucket.bucket_regional_domain_name,
                    self._bucket.bucket_domain_name,
                )
            ]
            if not paths:
                continue
            expected = [
                prune.normalize_prefix((path + self._url_prefix).strip("/"), field="origin")
                for path in paths
            ]
            if self._prefix not in expected:
                errors.append(
                    f"prune_key_prefix {self._prefix!r} does not match where distribution "
                    f"{distribution.node.path} serves the prune bucket from: its origin path "
                    f"{paths[0]!r} and url_prefix {self._url_prefix!r} put the site's files "
                    f"under {expected[0]!r}; a prune under another prefix would remove "
                    "nothing the site serves, or the wrong files"
                )
        return errors

    def _bucket_deployment_errors(self) -> list[str]:
        errors: list[str] = []
        for construct in self._scope.node.root.node.find_all():
            if not isinstance(construct, s3_deployment.BucketDeployment):
                continue
            resource = construct.node.try_find_child("CustomResource")
            if resource is None:
                continue
            props = _cfn_properties(resource.node.default_child)
            if str(props.get("Prune", True)).lower() != "true":
                continue
            if not self._same(
                construct, props.get("DestinationBucketName"), self._bucket.bucket_name
            ):
                continue
            raw = str(props.get("DestinationBucketKeyPrefix") or "")
            theirs = "" if raw in ("", "/") else raw.strip("/") + "/"
            if theirs.startswith(self._prefix) or self._prefix.startswith(theirs):
                errors.append(
                    f"prune_bucket: BucketDeployment {construct.node.path} prunes the same "
                    f"bucket under {theirs!r} (prune=True is its default), deleting replaced "
                    "files before the purge and before their retention ends; give it "
                    "prune=False and let this construct prune (docs/retention.md)"
                )
        return errors


def _cfn_properties(element: Any) -> dict[str, Any]:  # noqa: ANN401 - an L1 or None
    """An L1 resource's properties as its ``cfnProperties`` renders them, resolved; {} when
    the element is not an L1 resource or cannot be read."""
    if element is None:
        return {}
    try:
        resolved = Stack.of(element).resolve(element._cfn_properties)
    except Exception:  # an element that does not render its properties: nothing to check
        return {}
    return resolved if isinstance(resolved, dict) else {}
