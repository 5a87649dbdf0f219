"""Synth side of changed-only purges (docs/changed-only.md): the props' checks, the
properties they add, and the manifest of ``source_directories`` staged as a file asset the
provider may read."""

from __future__ import annotations

import os
from collections.abc import Sequence

from aws_cdk import Token
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from cdk_cloudfront_invalidation._props import flag
from cdk_cloudfront_invalidation._scratch import scratch_dir
from cdk_cloudfront_invalidation.provider import CloudFrontInvalidationProvider
from cloudfront_purge.changed import changes, cover, manifest
from cloudfront_purge.model import rules


def properties(
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
    template of a resource without ``only_changed`` stays as it was).

    Raises:
        ValueError: naming the prop and the rule it broke.
    """
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
        rules.PROP_ONLY_CHANGED: flag(True),
        rules.PROP_URL_PREFIX: url_prefix,
        rules.PROP_INDEX_DOCUMENT: index_document or "",
        rules.PROP_MAX_PATHS: str(max_paths),
    }


def manifest_asset(
    scope: Construct,
    site: manifest.Manifest | None,
    provider: CloudFrontInvalidationProvider | None,
) -> s3_assets.Asset | None:
    """``site`` as the file asset ``Manifest`` of ``scope``, which the stack's provider may
    read; None without a manifest. With a shared provider (None here) the provider's stack
    grants the reads (``grant_manifest_reads``)."""
    if site is None:
        return None
    asset = s3_assets.Asset(scope, "Manifest", path=_stage_manifest(site))
    if provider is not None:
        provider.grant_manifest_reads(asset.bucket)
    return asset


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
