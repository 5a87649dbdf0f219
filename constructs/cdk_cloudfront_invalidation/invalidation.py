"""``CloudFrontInvalidation``: purge a CloudFront cache on deploy and wait until it is done."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from aws_cdk import CustomResource, Duration, FileSystem, Fn, RemovalPolicy, Token
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from cdk_cloudfront_invalidation import pruning
from cdk_cloudfront_invalidation._checks import (
    CacheTagCheck,
    app_defined_distribution,
    sequence_prop,
)
from cdk_cloudfront_invalidation._scratch import scratch_dir
from cdk_cloudfront_invalidation.provider import CloudFrontInvalidationProvider
from cloudfront_purge.changed import changes, cover, manifest
from cloudfront_purge.model import rules
from cloudfront_purge.prune import run as prune


class CloudFrontInvalidation(Construct):
    """Invalidate paths (and cache tags) on CloudFront distributions and distribution
    tenants whenever content changes.

    The resource is updated (and so purges) exactly when its content identity changes:
    ``source_hash``, or the hash CDK computes for ``source_directories`` / ``assets``.
    Make it depend on the deployment that uploads the content::

        purge = CloudFrontInvalidation(self, "Purge", distribution=dist,
                                       source_directories=["site"])
        purge.node.add_dependency(deployment)

    Raises:
        ValueError: at synth, for props that break a rule; the message names the prop.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        distribution: cloudfront.IDistribution | None = None,
        distributions: Sequence[cloudfront.IDistribution] | None = None,
        distribution_tenants: Sequence[str | cloudfront.CfnDistributionTenant] | None = None,
        paths: Sequence[str] = rules.DEFAULT_PATHS,
        source_hash: str | None = None,
        source_directories: Sequence[str] | None = None,
        assets: Sequence[s3_assets.Asset] | None = None,
        wait_for_completion: bool = True,
        timeout: Duration | None = None,
        invalidate_on_create: bool = True,
        only_changed: bool = False,
        url_prefix: str = changes.DEFAULT_URL_PREFIX,
        index_document: str | None = changes.DEFAULT_INDEX_DOCUMENT,
        max_paths: int = cover.DEFAULT_MAX_PATHS,
        prune_bucket: s3.IBucket | None = None,
        prune_key_prefix: str = "",
        keep_replaced_files: Duration | None = None,
        on_timeout: str = prune.DEFAULT_ON_TIMEOUT,
        only_in_rollback: bool = False,
        service_token: str | None = None,
        log_removal_policy: RemovalPolicy | None = None,
    ) -> None:
        """
        Args:
            distribution: The distribution to purge. Give this or ``distributions``.
            distributions: Several distributions purged in parallel by one resource
                (aws-cdk issue 22309). Give this or ``distribution``.
            distribution_tenants: Distribution tenants of multi-tenant distributions, purged
                in parallel with ``CreateInvalidationForDistributionTenant``: tenant ids
                (``dt_...``, may be tokens) or ``CfnDistributionTenant`` resources. At most
                20. Default: - none; at least one distribution or tenant is required.
            paths: Invalidation items by CloudFront's rules: paths (leading ``/``, ``*``
                only last, at most 4,000 characters) and cache tags (``#`` then visible
                ASCII without commas or ``*``, at most 256 characters; the distribution
                needs a CacheTagConfig). Duplicates (tags compared without case) and paths a
                wildcard covers are dropped; more than 3,000 files and tags or 15 wildcards
                are split into batches. Default: ``["/*"]`` (one wildcard, one billed path).
            source_hash: Content identity given explicitly; any string that changes when
                the content changes. Default: - derived from ``source_directories`` and
                ``assets``; at least one of the three is required.
            source_directories: Local directories whose content is deployed (the same
                folders given to ``Source.asset``); hashed at synth as CDK hashes assets.
                Default: - none.
            assets: CDK assets whose ``asset_hash`` identifies the content. Default: - none.
            wait_for_completion: Answer CloudFormation only once CloudFront reports every
                invalidation Completed. Default: True.
            timeout: How long to wait for Completed before failing the deployment; between
                1 second and 58 minutes (CloudFormation's ServiceTimeout is at most one hour
                and is set to this plus 2 minutes). Default: 30 minutes.
            invalidate_on_create: Purge on the stack's first deployment too. Default: True.
            only_changed: On updates, purge only the URLs whose files changed since the
                previous deploy, and keep the rest of the cache warm; purge ``paths``
                whenever that cannot be sure (docs/changed-only.md). Needs
                ``source_directories`` (and neither ``source_hash`` nor ``assets``): a
                manifest of them travels as a file asset. Assumes the cache key is the URL
                path (no query strings in the cache policy). Default: False (purge ``paths``
                on every deploy).
            url_prefix: Where the root of ``source_directories`` is served, starting and
                ending with ``/``. Used with ``only_changed``. Default: ``"/"``.
            index_document: The directory index file: when ``dir/index.html`` changes,
                ``/dir/`` is purged too. None: no directory forms. Used with
                ``only_changed``. Default: ``"index.html"``.
            max_paths: At most this many paths per distribution in a changed-only purge
                (at most 15 of them wildcards), chosen to evict the fewest unchanged
                objects; 1 to 3,000. Used with ``only_changed``. Default: 30 (chosen with
                the benchmark: docs/changed-only.md).
            prune_bucket: The bucket the site is deployed to (owned or imported): once every
                invalidation of a deploy is Completed, delete the files earlier deploys of
                this resource put there that no version since needs, after
                ``keep_replaced_files`` (docs/retention.md). Needs ``only_changed`` (the
                manifests say which files each deploy put there) and
                ``wait_for_completion``; give the BucketDeployment ``prune=False``. A failed
                prune never fails the deploy (PruneStatus, PruneLeftBehind); a Delete of
                this resource removes no site file, only its prune state; another
                writer's prune state in the same folder holds the prune. Default: -
                nothing is ever deleted.
            prune_key_prefix: Where the site's files are in ``prune_bucket``: the
                BucketDeployment's ``destination_key_prefix`` (``site`` and ``site/`` are
                the same). The provider may delete only under it. Default: ``""`` (the
                bucket's root).
            keep_replaced_files: How long a replaced file (one the new version no longer
                has) stays after the deploy that replaced it, for HTML cached in browsers
                and intermediaries and for tabs left open; it is deleted by the first
                deploy after that (docs/retention.md). Whole seconds, up to ten years.
                Default: 7 days.
            on_timeout: What a purge that outlasts ``timeout`` means: ``"fail"`` (the
                deploy fails, as without this prop) or ``"succeed"`` (SUCCESS with the
                invalidation ids, Status InProgress, PurgeConfirmed false and a Warning; SST
                issues 1397 and 1516). Nothing is pruned after a purge that did not reach
                Completed. Default: ``"fail"``.
            only_in_rollback: Purge only while the stack rolls back; a Create or any other
                Update answers SUCCESS at once. CloudFormation rolls a stack back in reverse
                dependency order, so a resource that the uploads depend on purges after the
                rolled-back uploads put the old files back (``SafeSiteDeployment`` adds one;
                docs/retention.md, "Rollbacks"). Not with ``prune_bucket``. Default: False.
            service_token: Use a provider shared by another stack instead of this stack's
                own: its exported ServiceToken, e.g. ``Fn.import_value("...")``. The same
                props and synth-time checks; this stack gets no function, and grants nothing:
                the provider's stack grants the distributions and tenants
                (``grant_distribution_ids``), rollback detection on this stack
                (``grant_rollback_detection``) and, with ``only_changed``, manifest reads on
                this stack's asset bucket (``grant_manifest_reads``); README "From another
                stack, through a shared provider". Default: - the stack's own provider.
            log_removal_policy: What ``cdk destroy`` does with the provider's two log
                groups: ``RemovalPolicy.DESTROY`` deletes them, ``RETAIN`` keeps them until
                their one-month retention empties them. Shared by the stack's provider, so
                every instance of a stack that gives it must agree. Not with
                ``service_token`` (the provider's stack decides). Default:
                ``RemovalPolicy.RETAIN`` (CDK's default for log groups; a failed first
                deploy rolls back by deleting the stack, and the logs saying why survive).
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
        for name, flag in (
            ("wait_for_completion", wait_for_completion),
            ("invalidate_on_create", invalidate_on_create),
            ("only_in_rollback", only_in_rollback),
        ):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} must be True or False, got {flag!r}")
        timeout_seconds = _whole_seconds(timeout)
        content_hash = _content_hash(source_hash, source_directories, assets)
        options = _changed_only_properties(
            only_changed, url_prefix, index_document, max_paths,
            source_hash=source_hash, source_directories=source_directories, assets=assets,
        )
        prune_props = pruning.check_props(
            prune_bucket=prune_bucket,
            prune_key_prefix=prune_key_prefix,
            keep_replaced_files=keep_replaced_files,
            on_timeout=on_timeout,
            only_changed=only_changed,
            wait_for_completion=wait_for_completion,
        )
        if only_in_rollback and prune_bucket is not None:
            raise ValueError(
                "only_in_rollback=True purges during rollbacks only, which never prune: give "
                "prune_bucket to the resource that purges on every deploy instead"
            )
        if only_in_rollback:
            options[rules.PROP_ONLY_IN_ROLLBACK] = "true"
        site = manifest.build_manifest(source_directories or ()) if only_changed else None
        super().__init__(scope, construct_id)
        if _has_tag_items(paths):
            for dist in dists:
                defined = app_defined_distribution(dist)
                if defined is not None:
                    CacheTagCheck.of_stack(self).add(self.node.path, dist.node.path, defined)

        provider: CloudFrontInvalidationProvider | None = None
        if shared_token is None:
            provider = CloudFrontInvalidationProvider.of_stack(self)
            if log_removal_policy is not None:
                provider.set_log_removal_policy(log_removal_policy)
            shared_token = provider.service_token
            provider.grant_distributions(d.distribution_arn for d in dists)
            provider.grant_distribution_tenant_ids(tenant_ids)
        tenant_props = {rules.PROP_DISTRIBUTION_TENANT_IDS: tenant_ids} if tenant_ids else {}
        #: The manifest file asset of a changed-only purge; None otherwise.
        self.manifest_asset: s3_assets.Asset | None = None
        if site is not None:
            self.manifest_asset = s3_assets.Asset(self, "Manifest", path=_stage_manifest(site))
            if provider is not None:
                provider.grant_manifest_reads(self.manifest_asset.bucket)
            options[rules.PROP_MANIFEST] = self.manifest_asset.s3_object_url
        #: (bucket, normalized key prefix) this resource prunes; None without prune_bucket.
        self.prune_target: tuple[s3.IBucket, str] | None = None
        if prune_props.bucket is not None:
            self.prune_target = (prune_props.bucket, prune_props.key_prefix)
            # With service_token the provider's stack grants it (grant_prune), as it grants
            # the distributions.
            if provider is not None:
                provider.grant_prune(prune_props.bucket, prune_props.key_prefix)
            self.node.add_validation(
                pruning.PruneChecks(
                    self,
                    bucket=prune_props.bucket,
                    key_prefix=prune_props.key_prefix,
                    url_prefix=url_prefix,
                    distributions=dists,
                )
            )
        options.update(prune_props.properties)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=shared_token,
            resource_type=rules.RESOURCE_TYPE,
            service_timeout=Duration.seconds(
                timeout_seconds + rules.SERVICE_TIMEOUT_MARGIN_SECONDS
            ),
            properties={
                rules.PROP_DISTRIBUTION_IDS: [d.distribution_id for d in dists],
                **tenant_props,
                rules.PROP_PATHS: list(paths),
                rules.PROP_SOURCE_HASH: content_hash,
                rules.PROP_WAIT_FOR_COMPLETION: _flag(wait_for_completion),
                rules.PROP_TIMEOUT_SECONDS: str(timeout_seconds),
                rules.PROP_INVALIDATE_ON_CREATE: _flag(invalidate_on_create),
                **options,
            },
        )
        if provider is not None:
            # The function must be allowed to re-invoke itself before the first event arrives.
            self.resource.node.add_dependency(provider.self_invoke_policy)
            # ... and its on-failure destination must exist before the first event:
            # CloudFormation creates resources that do not depend on each other in parallel,
            # so without this the first Create of a new stack can run with Lambda's default
            # retries and no destination.
            self.resource.node.add_dependency(provider.async_invoke_config)
        #: The stack's provider; None with ``service_token`` (a provider of another stack).
        self.provider = provider
        self.source_hash = content_hash

    @property
    def invalidation_id(self) -> str:
        """The (first) invalidation's id, a GetAtt token."""
        return self.resource.get_att_string(rules.ATTR_INVALIDATION_ID)

    @property
    def invalidation_ids(self) -> list[str]:
        """Every invalidation id (one per distribution and batch), a list token.

        After a Create skipped by ``invalidate_on_create=False`` this is ``[""]`` (CloudFormation
        splits an empty string into one empty element); ``InvalidationCount`` is then "0".
        """
        return Fn.split(",", self.resource.get_att_string(rules.ATTR_INVALIDATION_IDS))

    @property
    def caller_reference(self) -> str:
        """The (first) invalidation's CallerReference, a GetAtt token."""
        return self.resource.get_att_string(rules.ATTR_CALLER_REFERENCE)

    @property
    def status(self) -> str:
        """A GetAtt token: "Completed"; "InProgress" when not waiting; "Skipped" for a Create
        skipped by ``invalidate_on_create=False``."""
        return self.resource.get_att_string(rules.ATTR_STATUS)

    @property
    def purge_scope(self) -> str:
        """A GetAtt token: "changed" (only what changed), "full" (``paths``), or "none"
        (a Create skipped by ``invalidate_on_create=False``)."""
        return self.resource.get_att_string(rules.ATTR_PURGE_SCOPE)

    @property
    def scope_reason(self) -> str:
        """A GetAtt token: why this deploy purged what it did."""
        return self.resource.get_att_string(rules.ATTR_SCOPE_REASON)

    @property
    def changed_files(self) -> str:
        """A GetAtt token: files modified, added or deleted since the previous deploy
        (empty when not known)."""
        return self.resource.get_att_string(rules.ATTR_CHANGED_FILES)

    @property
    def prune_status(self) -> str:
        """A GetAtt token (with ``prune_bucket``): "Pruned", "Partial" (something left
        behind for the next deploy), "Failed", "Held" (a rollback or a Create: nothing
        deleted on purpose) or "Skipped" (the purge did not reach Completed)."""
        return self.resource.get_att_string(prune.ATTR_PRUNE_STATUS)

    @property
    def pruned_count(self) -> str:
        """A GetAtt token (with ``prune_bucket``): files this deploy deleted."""
        return self.resource.get_att_string(prune.ATTR_PRUNED_COUNT)

    @property
    def prune_left_behind(self) -> str:
        """A GetAtt token (with ``prune_bucket``): files whose deletion failed or had no
        time left; the next deploy deletes them."""
        return self.resource.get_att_string(prune.ATTR_PRUNE_LEFT_BEHIND)

    @property
    def unchanged_kept(self) -> str:
        """A GetAtt token: cached objects of the site the purge kept (empty when not known)."""
        return self.resource.get_att_string(rules.ATTR_UNCHANGED_KEPT)


def _flag(value: bool) -> str:
    # CloudFormation hands every property over as a string; say it explicitly.
    return "true" if value else "false"


def _changed_only_properties(
    only_changed: bool,
    url_prefix: str,
    index_document: str | None,
    max_paths: int,
    *,
    source_hash: str | None,
    source_directories: Sequence[str] | None,
    assets: Sequence[s3_assets.Asset] | None,
) -> dict[str, str]:
    """Check the changed-only props; the properties they add (none when it is off, so the
    template of a resource without ``only_changed`` stays as it was)."""
    if not isinstance(only_changed, bool):
        raise ValueError(f"only_changed must be True or False, got {only_changed!r}")
    try:
        # A token (a parameter, say) is known only at deploy time: the handler checks it.
        if not (isinstance(url_prefix, str) and Token.is_unresolved(url_prefix)):
            changes.validate_url_prefix(url_prefix, field="url_prefix")
        if not (isinstance(index_document, str) and Token.is_unresolved(index_document)):
            changes.validate_index_document(index_document, field="index_document")
        cover.validate_max_paths(max_paths, field="max_paths")
    except rules.RuleError as exc:
        raise ValueError(str(exc)) from exc
    if not only_changed:
        return {}
    if not source_directories:
        raise ValueError(
            "only_changed=True needs source_directories: the purge compares manifests of "
            "those directories between deploys"
        )
    if source_hash is not None or assets:
        raise ValueError(
            "only_changed=True works from source_directories alone: content identified by "
            "source_hash or assets is not in the manifest, so its changes would not be purged"
        )
    return {
        rules.PROP_ONLY_CHANGED: _flag(True),
        rules.PROP_URL_PREFIX: url_prefix,
        rules.PROP_INDEX_DOCUMENT: index_document or "",
        rules.PROP_MAX_PATHS: str(max_paths),
    }


def _stage_manifest(site: manifest.Manifest) -> str:
    """Write the manifest in the process's scratch folder (removed at exit, once CDK has
    copied it into the cloud assembly), one folder per content, so the same content in one
    synth is one file.

    The file name ends in ``rules.MANIFEST_EXTENSION``: the asset's object key keeps it,
    which is what the provider's S3 grant matches.
    """
    digest = manifest.manifest_digest(site)
    folder = scratch_dir() / "manifests" / digest
    target = folder / f"manifest{rules.MANIFEST_EXTENSION}"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a synth running in parallel never reads half a file.
        partial = folder / f".{os.getpid()}.partial"
        manifest.write_manifest(site, partial)
        partial.chmod(0o644)
        os.replace(partial, target)
    return str(target)


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


def _has_tag_items(paths: Sequence[str]) -> bool:
    # A list token's placeholder element starts with "#{Token[": not a tag item.
    if Token.is_unresolved(list(paths)):
        return False
    return any(
        isinstance(p, str) and not Token.is_unresolved(p) and p.startswith(rules.TAG_PREFIX)
        for p in paths
    )


def _content_hash(
    source_hash: str | None,
    source_directories: Sequence[str] | None,
    assets: Sequence[s3_assets.Asset] | None,
) -> str:
    parts: list[str] = []
    if source_hash is not None:
        if not Token.is_unresolved(source_hash):
            try:
                rules.validate_source_hash(source_hash, field="source_hash")
            except rules.RuleError as exc:
                raise ValueError(str(exc)) from exc
        parts.append(source_hash)
    for directory in source_directories or ():
        if not os.path.isdir(directory):
            raise ValueError(
                f"source_directories: {directory!r} is not a directory "
                f"(relative paths start at {os.getcwd()!r})"
            )
        parts.append(FileSystem.fingerprint(directory))
    parts.extend(asset.asset_hash for asset in assets or ())
    if not parts:
        raise ValueError(
            "give source_hash, source_directories or assets: the purge runs when that content "
            "identity changes, so without one it would never run again after the first deploy"
        )
    if len(parts) == 1:
        return parts[0]
    concrete = [p for p in parts if not Token.is_unresolved(p)]
    tokens = [p for p in parts if Token.is_unresolved(p)]
    digest = hashlib.sha256("\n".join(concrete).encode("utf-8")).hexdigest()
    if not tokens:
        return digest
    # A token's value is known only at deploy time: hashing its placeholder would freeze
    # the property, and a changed value would never trigger the Update that purges.
    return Fn.join("-", [*tokens, digest[:32]])
