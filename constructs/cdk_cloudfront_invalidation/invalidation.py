"""``CloudFrontInvalidation``: purge a CloudFront cache on deploy and wait until it is done."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from cdk_cloudfront_invalidation import _changed_only, _identity, _props, pruning
from cdk_cloudfront_invalidation._attributes import ResourceAttributes
from cdk_cloudfront_invalidation._checks import check_cache_tags
from cdk_cloudfront_invalidation.provider import CloudFrontInvalidationProvider
from cloudfront_purge.changed import changes, cover, manifest
from cloudfront_purge.model import prune, rules


class CloudFrontInvalidation(ResourceAttributes, Construct):
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
        # Every rule is checked before any child construct is made; each message names its
        # prop. The order is fixed: props that break several rules get the same message.
        props = _props.check(
            distribution=distribution, distributions=distributions,
            distribution_tenants=distribution_tenants, paths=paths,
            source_directories=source_directories, assets=assets,
            wait_for_completion=wait_for_completion, timeout=timeout,
            invalidate_on_create=invalidate_on_create, only_in_rollback=only_in_rollback,
            service_token=service_token, log_removal_policy=log_removal_policy,
        )  # fmt: skip
        content_hash = _identity.content_hash(source_hash, props.source_directories, props.assets)
        changed_only = _changed_only.properties(
            only_changed, url_prefix, index_document, max_paths,
            source_hash=source_hash, source_directories=props.source_directories,
            assets=props.assets,
        )  # fmt: skip
        prune_props = pruning.check_props(
            prune_bucket=prune_bucket, prune_key_prefix=prune_key_prefix,
            keep_replaced_files=keep_replaced_files, on_timeout=on_timeout,
            only_changed=only_changed, wait_for_completion=wait_for_completion,
            only_in_rollback=only_in_rollback,
        )  # fmt: skip
        site = manifest.build_manifest(props.source_directories or ()) if only_changed else None
        super().__init__(scope, construct_id)
        check_cache_tags(self, props.paths, props.distributions)
        provider, token = _provider(self, props, log_removal_policy)
        #: The manifest file asset of a changed-only purge; None otherwise.
        self.manifest_asset: s3_assets.Asset | None = _changed_only.manifest_asset(
            self, site, provider
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=token,
            resource_type=rules.RESOURCE_TYPE,
            service_timeout=Duration.seconds(
                props.timeout_seconds + rules.SERVICE_TIMEOUT_MARGIN_SECONDS
            ),
            # In this order in the template: what every resource sends, then the options.
            properties={
                **props.properties(content_hash),
                **changed_only,
                **({rules.PROP_ONLY_IN_ROLLBACK: _props.flag(True)} if only_in_rollback else {}),
                **_manifest_property(self.manifest_asset),
                **prune_props.properties,
            },
        )
        if provider is not None:
            _depend_on_provider(self.resource, provider)
        #: (bucket, normalized key prefix) this resource prunes; None without prune_bucket.
        self.prune_target: tuple[s3.IBucket, str] | None = pruning.wire(
            self, prune_props, provider, url_prefix=url_prefix, distributions=props.distributions
        )
        #: The stack's provider; None with ``service_token`` (a provider of another stack).
        self.provider = provider
        self.source_hash = content_hash


def _provider(
    purge: Construct, props: _props.CheckedProps, log_removal_policy: RemovalPolicy | None
) -> tuple[CloudFrontInvalidationProvider | None, str]:
    """The stack's provider, granted ``purge``'s distributions and tenants, and its
    ServiceToken. With ``service_token``: no provider (None) and that token; the shared
    provider's stack grants the distributions and tenants (``grant_distribution_ids``)."""
    if props.service_token is not None:
        return None, props.service_token
    provider = CloudFrontInvalidationProvider.of_stack(purge)
    if log_removal_policy is not None:
        provider.set_log_removal_policy(log_removal_policy)
    provider.grant_distributions(d.distribution_arn for d in props.distributions)
    provider.grant_distribution_tenant_ids(props.tenant_ids)
    return provider, provider.service_token


def _manifest_property(asset: s3_assets.Asset | None) -> dict[str, str]:
    return {rules.PROP_MANIFEST: asset.s3_object_url} if asset is not None else {}


def _depend_on_provider(resource: CustomResource, provider: CloudFrontInvalidationProvider) -> None:
    """Make ``resource`` wait for what its first event needs of the stack's provider."""
    # The function must be allowed to re-invoke itself before the first event arrives.
    resource.node.add_dependency(provider.self_invoke_policy)
    # ... and its on-failure destination must exist before the first event:
    # CloudFormation creates resources that do not depend on each other in parallel,
    # so without this the first Create of a new stack can run with Lambda's default
    # retries and no destination.
    resource.node.add_dependency(provider.async_invoke_config)
