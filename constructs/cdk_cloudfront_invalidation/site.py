"""``SafeSiteDeployment``: upload a static site and purge CloudFront in the order that never
breaks a page (docs/retention.md, "The safe order").

1. aws-cdk-lib's BucketDeployment uploads everything except the entry documents (HTML by
   default) with ``prune=False``: new hashed assets land beside the old ones.
2. A second BucketDeployment, after the first, uploads the entry documents (``prune=False``):
   the first new page a visitor can get already finds every file it references.
3. ``CloudFrontInvalidation`` purges only what changed and waits for Completed, then prunes
   what earlier deploys replaced once ``keep_replaced_files`` has passed.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from cdk_cloudfront_invalidation.invalidation import CloudFrontInvalidation
from cloudfront_purge.changed import changes
from cloudfront_purge.model import prune

#: Entry documents: what a visitor's address bar names, and what references everything else.
DEFAULT_ENTRY_DOCUMENTS: tuple[str, ...] = ("*.html",)


class SafeSiteDeployment(Construct):
    """Upload ``source_directories`` to ``destination_bucket``, entry documents last, then
    purge ``distribution`` and wait, then prune what no page still needs::

        SafeSiteDeployment(self, "Site", source_directories=["site"],
                           destination_bucket=bucket, distribution=distribution)

    Raises:
        ValueError: at synth, for props that break a rule; the message names the prop.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_directories: Sequence[str],
        destination_bucket: s3.IBucket,
        distribution: cloudfront.IDistribution,
        destination_key_prefix: str = "",
        entry_documents: Sequence[str] = DEFAULT_ENTRY_DOCUMENTS,
        keep_replaced_files: Duration | None = None,
        url_prefix: str = changes.DEFAULT_URL_PREFIX,
        index_document: str | None = changes.DEFAULT_INDEX_DOCUMENT,
        timeout: Duration | None = None,
        on_timeout: str = prune.DEFAULT_ON_TIMEOUT,
        asset_cache_control: Sequence[s3_deployment.CacheControl] | None = None,
        entry_cache_control: Sequence[s3_deployment.CacheControl] | None = None,
        memory_limit: int | None = None,
    ) -> None:
        """
        Args:
            source_directories: Local directories of the built site, deployed in order (a
                later directory wins a key). Required.
            destination_bucket: The bucket CloudFront serves (owned or imported). Required.
            distribution: The distribution that serves it. Required.
            destination_key_prefix: Where the site goes in the bucket, as BucketDeployment's
                ``destination_key_prefix``; also the prune's prefix. Default: ``""``.
            entry_documents: Glob patterns (``aws s3 sync`` filters) of the files uploaded
                last: those that reference the others. Default: ``["*.html"]``.
            keep_replaced_files: How long a replaced file stays (docs/retention.md).
                Default: 7 days.
            url_prefix: Where the root of the site is served (``CloudFrontInvalidation``).
                Default: ``"/"``.
            index_document: The directory index file (``CloudFrontInvalidation``).
                Default: ``"index.html"``.
            timeout: How long the purge may wait for Completed. Default: 30 minutes.
            on_timeout: ``"fail"`` or ``"succeed"`` (``CloudFrontInvalidation``).
                Default: ``"fail"``.
            asset_cache_control: Cache-Control of everything but the entry documents (hashed
                assets can be cached for a year). Default: - none set.
            entry_cache_control: Cache-Control of the entry documents (keep it short: a
                browser re-validates them). Default: - none set.
            memory_limit: The BucketDeployment function's memory, in MiB (large sites need
                more). Default: - BucketDeployment's default (128).
        """
        if isinstance(entry_documents, str) or not list(entry_documents):
            raise ValueError(
                "entry_documents must be a non-empty list of patterns such as ['*.html']"
            )
        if isinstance(source_directories, str) or not list(source_directories):
            raise ValueError("source_directories must be a non-empty list of directories")
        super().__init__(scope, construct_id)
        sources = [s3_deployment.Source.asset(d) for d in source_directories]

        def purge(
            purge_id: str,
            *,
            only_in_rollback: bool = False,
            prune_bucket: s3.IBucket | None = None,
        ) -> CloudFrontInvalidation:
            """A changed-only purge of this site; the two below differ only in when they run
            and whether they prune."""
            return CloudFrontInvalidation(
                self,
                purge_id,
                distribution=distribution,
                source_directories=list(source_directories),
                only_changed=True,
                url_prefix=url_prefix,
                index_document=index_document,
                timeout=timeout,
                on_timeout=on_timeout,
                only_in_rollback=only_in_rollback,
                prune_bucket=prune_bucket,
                prune_key_prefix=destination_key_prefix if prune_bucket is not None else "",
                keep_replaced_files=keep_replaced_files if prune_bucket is not None else None,
            )

        #: Step 0, for rollbacks only: CloudFormation rolls a stack back in reverse
        #: dependency order, so the uploads' rollback comes after the purge's. This purge,
        #: which the uploads depend on, purges after they put the old files back (the
        #: first, main purge would refill the edges with the new version's files while they
        #: are still in the bucket). On a deploy it answers at once.
        self.rollback_invalidation = purge("RollbackPurge", only_in_rollback=True)
        prefix = destination_key_prefix or None
        #: Step 1: everything but the entry documents, nothing deleted.
        self.assets_deployment = s3_deployment.BucketDeployment(
            self,
            "Assets",
            sources=sources,
            destination_bucket=destination_bucket,
            destination_key_prefix=prefix,
            exclude=list(entry_documents),
            prune=False,
            cache_control=list(asset_cache_control) if asset_cache_control else None,
            memory_limit=memory_limit,
        )
        #: Step 2: the entry documents, once every file they reference is there.
        self.entry_deployment = s3_deployment.BucketDeployment(
            self,
            "EntryDocuments",
            sources=sources,
            destination_bucket=destination_bucket,
            destination_key_prefix=prefix,
            exclude=["*"],
            include=list(entry_documents),
            prune=False,
            cache_control=list(entry_cache_control) if entry_cache_control else None,
            memory_limit=memory_limit,
        )
        self.entry_deployment.node.add_dependency(self.assets_deployment)
        self.assets_deployment.node.add_dependency(self.rollback_invalidation)
        #: Step 3: purge what changed, wait for Completed, then prune after retention.
        self.invalidation = purge("Purge", prune_bucket=destination_bucket)
        self.invalidation.node.add_dependency(self.assets_deployment, self.entry_deployment)
