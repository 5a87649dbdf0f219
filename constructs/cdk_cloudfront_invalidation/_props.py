"""``CloudFrontInvalidation``'s props checked at synth, before any child construct is made:
what to purge, the paths, the flags, the timeout and the shared provider; each rule raises a
ValueError naming the prop. The checked props then say what the resource sends.

The changed-only props are checked in ``_changed_only.py``, the prune props in
``pruning.py``, the content identity in ``_identity.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Token
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3_assets as s3_assets

from cdk_cloudfront_invalidation._checks import sequence_prop
from cloudfront_purge.model import rules


def flag(value: bool) -> str:
    """A boolean property's value."""
    # CloudFormation hands every property over as a string; say it explicitly.
    return "true" if value else "false"


@dataclass(frozen=True)
class CheckedProps:
    """The props every resource has, checked; list props as lists."""

    distributions: list[cloudfront.IDistribution]
    tenant_ids: list[str]
    paths: Sequence[str]
    source_directories: Sequence[str] | None
    assets: Sequence[s3_assets.Asset] | None
    #: The shared provider's ServiceToken; None: the stack's own provider.
    service_token: str | None
    timeout_seconds: int
    wait_for_completion: bool
    invalidate_on_create: bool

    def properties(self, source_hash: str) -> dict[str, object]:
        """The resource properties they give, first in the template: the optional ones
        (changed-only, prune) follow."""
        tenants = {rules.PROP_DISTRIBUTION_TENANT_IDS: self.tenant_ids} if self.tenant_ids else {}
        return {
            rules.PROP_DISTRIBUTION_IDS: [d.distribution_id for d in self.distributions],
            **tenants,
            rules.PROP_PATHS: list(self.paths),
            rules.PROP_SOURCE_HASH: source_hash,
            rules.PROP_WAIT_FOR_COMPLETION: flag(self.wait_for_completion),
            rules.PROP_TIMEOUT_SECONDS: str(self.timeout_seconds),
            rules.PROP_INVALIDATE_ON_CREATE: flag(self.invalidate_on_create),
        }


def check(
    *,
    distribution: cloudfront.IDistribution | None,
    distributions: Sequence[cloudfront.IDistribution] | None,
    distribution_tenants: Sequence[str | cloudfront.CfnDistributionTenant] | None,
    paths: Sequence[str],
    source_directories: Sequence[str] | None,
    assets: Sequence[s3_assets.Asset] | None,
    wait_for_completion: bool,
    timeout: Duration | None,
    invalidate_on_create: bool,
    only_in_rollback: bool,
    service_token: str | None,
    log_removal_policy: RemovalPolicy | None,
) -> CheckedProps:
    """Check the props (``CloudFrontInvalidation`` documents each), in a fixed order, so
    props that break several rules always get the same message.

    Raises:
        ValueError: naming the prop and the rule it broke.
    """
    # One rule for every list prop, before anything iterates one (a str would be read
    # one character at a time).
    distributions = sequence_prop("distributions", distributions, "[distribution]")
    distribution_tenants = sequence_prop(
        "distribution_tenants", distribution_tenants, "['dt_2wjDZi3hD1ivOXf6rpZzNHkbMd9']"
    )
    paths = sequence_prop("paths", paths, "['/*']") or ()
    source_directories = sequence_prop(
        "source_directories", source_directories, "['site'] (one folder per item)"
    )
    assets = sequence_prop("assets", assets, "[asset]")
    shared_token = _check_service_token(service_token)
    if log_removal_policy is not None and shared_token is not None:
        raise ValueError(
            "log_removal_policy applies to this stack's own provider; with service_token the "
            "provider's stack sets it (CloudFrontInvalidationProvider.set_log_removal_policy)"
        )
    timeout = timeout or Duration.seconds(rules.DEFAULT_TIMEOUT_SECONDS)
    tenant_ids = _check_tenants(distribution_tenants)
    dists = _check_distributions(distribution, distributions, has_tenants=bool(tenant_ids))
    _check_paths(paths)
    for name, value in (
        ("wait_for_completion", wait_for_completion),
        ("invalidate_on_create", invalidate_on_create),
        ("only_in_rollback", only_in_rollback),
    ):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, got {value!r}")
    return CheckedProps(
        distributions=dists,
        tenant_ids=tenant_ids,
        paths=paths,
        source_directories=source_directories,
        assets=assets,
        service_token=shared_token,
        timeout_seconds=_whole_seconds(timeout),
        wait_for_completion=wait_for_completion,
        invalidate_on_create=invalidate_on_create,
    )


def _check_distributions(
    distribution: cloudfront.IDistribution | None,
    distributions: Sequence[cloudfront.IDistribution] | None,
    *,
    has_tenants: bool,
) -> list[cloudfront.IDistribution]:
    if distribution is not None and distributions is not None:
        raise ValueError("give distribution or distributions, not both")
    if distribution is not None:
        return [distribution]
    if distributions is None:
        if has_tenants:
            return []
        raise ValueError(
            "distribution (or distributions, or distribution_tenants) is required: "
            "what to purge"
        )
    if len(distributions) == 0 and not has_tenants:
        raise ValueError("distributions must name at least one distribution")
    if len(distributions) > rules.MAX_DISTRIBUTIONS:
        raise ValueError(
            f"distributions names {len(distributions)}; at most {rules.MAX_DISTRIBUTIONS}"
        )
    return list(distributions)


def _check_tenants(
    tenants: Sequence[str | cloudfront.CfnDistributionTenant] | None,
) -> list[str]:
    """Tenant ids (tokens for CfnDistributionTenant resources), checked where concrete."""
    if tenants is None:
        return []
    if isinstance(tenants, str) or Token.is_unresolved(list(tenants)):
        raise ValueError(
            "distribution_tenants must be a list of tenant ids or CfnDistributionTenant "
            "resources, each given on its own (a list token cannot be granted at synth)"
        )
    if len(tenants) == 0:
        raise ValueError("distribution_tenants must name at least one tenant when given")
    ids: list[str] = []
    for tenant in tenants:
        if isinstance(tenant, cloudfront.CfnDistributionTenant):
            ids.append(tenant.attr_id)
        elif isinstance(tenant, str):
            ids.append(tenant)
        else:
            raise ValueError(
                "distribution_tenants: each item must be a tenant id (str) or a "
                f"CfnDistributionTenant, got {type(tenant).__name__} {tenant!r}"
            )
    concrete = [t for t in ids if not Token.is_unresolved(t)]
    try:
        rules.validate_distribution_tenant_ids(concrete, field="distribution_tenants")
        if len(ids) > rules.MAX_DISTRIBUTION_TENANTS:
            rules.validate_distribution_tenant_ids(ids, field="distribution_tenants")
    except rules.RuleError as exc:
        raise ValueError(str(exc)) from exc
    return list(dict.fromkeys(ids))


def _whole_seconds(timeout: Duration) -> int:
    """ServiceTimeout takes whole seconds; say so rather than let jsii fail obscurely."""
    if not isinstance(timeout, Duration):
        raise ValueError(f"timeout must be a Duration (e.g. Duration.minutes(30)), got {timeout!r}")
    millis = int(timeout.to_milliseconds())
    if millis % 1000:
        raise ValueError(f"timeout must be a whole number of seconds, got {millis / 1000:g} s")
    try:
        rules.check_timeout(millis / 1000, field="timeout")
    except rules.RuleError as exc:
        raise ValueError(str(exc)) from exc
    return millis // 1000


def _check_paths(paths: Sequence[str]) -> None:
    # Paths that are tokens (parameters, imports) are checked by the handler at deploy time.
    if not isinstance(paths, str) and Token.is_unresolved(list(paths)):
        return  # a list token (CommaDelimitedList parameter, Fn.split)
    if isinstance(paths, str) or len(paths) == 0:
        raise ValueError(
            "paths must not be empty: give at least one path, such as '/*'"
            if not isinstance(paths, str)
            else "paths must be a list of paths such as ['/*'], not a string"
        )
    concrete = [p for p in paths if not (isinstance(p, str) and Token.is_unresolved(p))]
    try:
        if concrete:
            rules.validate_paths(concrete, field="paths")
        rules.normalize_paths(concrete)
    except rules.RuleError as exc:
        raise ValueError(str(exc)) from exc


def _check_service_token(token: str | None) -> str | None:
    if token is None:
        return None
    if not isinstance(token, str) or (not Token.is_unresolved(token) and not token.strip()):
        raise ValueError(
            "service_token must be the shared provider's ServiceToken (its function ARN), "
            f'such as Fn.import_value("CloudFrontInvalidation-ServiceToken"), got {token!r}'
        )
    if not Token.is_unresolved(token) and not token.startswith("arn:"):
        raise ValueError(
            f"service_token must be a Lambda function ARN (arn:...:function:...), got {token!r}"
        )
    return token
