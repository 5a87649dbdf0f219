"""What one Create or Update purges: the resource's ``Paths``, or only what changed.

The handler's glue around :func:`cloudfront_purge.changed.plan.plan_purge` (docs/changed-only.md):
read this deploy's manifest and the previous one (named by OldResourceProperties) from S3,
compare the URL options of both deploys, and turn the plan into the resource's attributes,
its log line and the hand-off's continuation. Every doubt becomes a full purge with its
reason: never less than what changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cloudfront_purge.changed import changes, cover, manifest
from cloudfront_purge.changed import plan as purge_plan
from cloudfront_purge.changed.changes import UrlMapping
from cloudfront_purge.model import rules
from cloudfront_purge.model.errors import AwsError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

#: The hand-off's continuation key for the plan: the next leg must submit the same paths
#: (same CallerReferences) without reading the manifests again.
CONTINUATION_KEY = "Plan"
SCOPE_NONE = purge_plan.SCOPE_NONE
REASON_PATHS = f"{rules.PROP_ONLY_CHANGED} is false: the resource purges {rules.PROP_PATHS}"
REASON_SKIPPED = f"{rules.PROP_INVALIDATE_ON_CREATE} is false: nothing purged on Create"
#: ScopeReason is a GetAtt value; the log line has the whole text.
MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class ChangedOnlySpec:
    """The changed-only properties, parsed; see :func:`parse_changed_only` for defaults."""

    only_changed: bool
    manifest: S3Location | None
    url_prefix: str
    index_document: str | None
    max_paths: int


def parse_changed_only(props: Mapping[str, object]) -> ChangedOnlySpec:
    """Parse OnlyChanged, Manifest, UrlPrefix, IndexDocument and MaxPaths.

    Defaults: false, none, "/", "index.html", 30 (``changes`` / ``cover`` constants, the
    construct's defaults too).

    Raises:
        RuleError: naming the property and its rule; Manifest is required with OnlyChanged.
    """
    only_changed = rules.parse_bool(
        props.get(rules.PROP_ONLY_CHANGED, False), field=rules.PROP_ONLY_CHANGED
    )
    raw_manifest = props.get(rules.PROP_MANIFEST)
    location = (
        None if raw_manifest in (None, "") else parse_s3_url(raw_manifest, rules.PROP_MANIFEST)
    )
    if only_changed and location is None:
        raise rules.RuleError(
            f"{rules.PROP_MANIFEST} is required when {rules.PROP_ONLY_CHANGED} is true: the "
            "s3://bucket/key of this deploy's manifest (cloudfront-invalidate manifest DIR "
            "writes one)"
        )
    index_document = props.get(rules.PROP_INDEX_DOCUMENT, changes.DEFAULT_INDEX_DOCUMENT)
    return ChangedOnlySpec(
        only_changed=only_changed,
        manifest=location,
        url_prefix=changes.validate_url_prefix(
            props.get(rules.PROP_URL_PREFIX, changes.DEFAULT_URL_PREFIX),
            field=rules.PROP_URL_PREFIX,
        ),
        index_document=changes.validate_index_document(
            None if index_document == "" else index_document, field=rules.PROP_INDEX_DOCUMENT
        ),
        max_paths=cover.validate_max_paths(
            props.get(rules.PROP_MAX_PATHS, cover.DEFAULT_MAX_PATHS), field=rules.PROP_MAX_PATHS
        ),
    )


def parse_s3_url(value: object, field: str) -> S3Location:
    """``s3://bucket/key``, as a CDK asset's ``s3_object_url`` gives it."""
    text = value if isinstance(value, str) else ""
    bucket, _, key = text.removeprefix("s3://").partition("/")
    if not text.startswith("s3://") or not bucket or not key:
        shown = rules.shorten(repr(value), 80)
        raise rules.RuleError(f"{field} must be an S3 URL such as s3://bucket/key, got {shown}")
    return S3Location(bucket=bucket, key=key)


def plan_for(
    event: Mapping[str, Any], full_paths: tuple[str, ...], s3: Callable[[], S3Client]
) -> purge_plan.PurgePlan:
    """The purge for this Create or Update, logged as ``purge_scope``.

    Args:
        event: the CloudFormation event (ResourceProperties, OldResourceProperties).
        full_paths: the resource's normalised ``Paths``: what a full purge submits.
        s3: builds the S3 client, called only when a manifest has to be read.

    Raises:
        RuleError: a changed-only property of this request that breaks its rule.
    """
    options = parse_changed_only(event.get("ResourceProperties", {}))
    settings_only = (
        purge_plan.settings_only_change(
            event.get("ResourceProperties", {}), event.get("OldResourceProperties", {})
        )
        if event["RequestType"] == "Update"
        else None
    )
    if settings_only is not None:
        plan = purge_plan.PurgePlan(purge_plan.SCOPE_NONE, settings_only, (), None, None, None)
    elif not options.only_changed:
        plan = purge_plan.full_plan(REASON_PATHS, full_paths)
    elif event["RequestType"] == "Create":
        plan = purge_plan.full_plan(purge_plan.REASON_CREATE, full_paths)
    else:
        plan = _plan_update(event, options, full_paths, s3)
    log(plan)
    return plan


def _plan_update(
    event: Mapping[str, Any],
    options: ChangedOnlySpec,
    full_paths: tuple[str, ...],
    s3: Callable[[], S3Client],
) -> purge_plan.PurgePlan:
    assert options.manifest is not None  # parse_changed_only requires it with OnlyChanged
    try:
        new = fetch_manifest(s3, options.manifest)
    except manifest.ManifestError as exc:
        # Without this deploy's manifest nothing can be diffed: purge everything.
        return purge_plan.full_plan(f"this deploy's manifest cannot be used: {exc}", full_paths)
    old: manifest.Manifest | manifest.ManifestError | None
    old_mapping: UrlMapping | None = None
    try:
        previous = parse_changed_only(event.get("OldResourceProperties", {}))
    except rules.RuleError as exc:
        old = manifest.ManifestError(f"the previous deploy's properties cannot be used: {exc}")
    else:
        old_mapping = UrlMapping(previous.url_prefix, previous.index_document)
        old = None
        if previous.manifest is not None:
            try:
                old = fetch_manifest(s3, previous.manifest)
            except manifest.ManifestError as exc:
                old = exc
    return purge_plan.plan_purge(
        request_type="Update",
        new=new,
        old=old,
        mapping=UrlMapping(options.url_prefix, options.index_document),
        old_mapping=old_mapping,
        full_paths=full_paths,
        max_paths=options.max_paths,
    )


#: What AccessDenied on a manifest can mean. The role has s3:GetObject on the manifests but
#: not s3:ListBucket, so S3 answers 403 AccessDenied, not 404 NoSuchKey, for a manifest
#: that no longer exists (``cdk gc``) (Amazon S3 API Reference, GetObject, Permissions); or
#: the bucket's KMS key does not let the role decrypt. Short: ScopeReason holds 300 chars.
ACCESS_DENIED_HINT = "; gone (S3 says 403 without s3:ListBucket) or kms:Decrypt missing"
_ACCESS_DENIED_CODES = frozenset({"AccessDenied", "403", "Forbidden"})


def fetch_manifest(s3: Callable[[], S3Client], location: S3Location) -> manifest.Manifest:
    """Read and parse one manifest object.

    Raises:
        ManifestError: the object cannot be read (AccessDenied after ``cdk gc``, since the
            role has no s3:ListBucket, or without kms:Decrypt; NoSuchKey with ListBucket;
            a network failure) or is not a manifest of this format.
    """
    try:
        body = s3().get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
    except Exception as exc:  # any failure to read means "cannot be sure": a full purge
        error = AwsError.of(exc)
        problem = f"{error.code}: {error.message}" if error else f"{type(exc).__name__}: {exc}"
        if error and error.code in _ACCESS_DENIED_CODES:
            problem += ACCESS_DENIED_HINT
        raise manifest.ManifestError(f"{location.url} cannot be read ({problem})") from exc
    return manifest.loads(body, source=location.url)


def attributes(plan: purge_plan.PurgePlan | None) -> dict[str, str]:
    """PurgeScope, ScopeReason, ChangedFiles, UnchangedKept (None: a skipped Create)."""
    if plan is None:
        return {
            rules.ATTR_PURGE_SCOPE: SCOPE_NONE,
            rules.ATTR_SCOPE_REASON: REASON_SKIPPED,
            rules.ATTR_CHANGED_FILES: "",
            rules.ATTR_UNCHANGED_KEPT: "",
        }
    return {
        rules.ATTR_PURGE_SCOPE: plan.scope,
        rules.ATTR_SCOPE_REASON: rules.shorten(plan.reason, MAX_REASON_CHARS),
        rules.ATTR_CHANGED_FILES: _count(plan.changed_files),
        rules.ATTR_UNCHANGED_KEPT: _count(plan.unchanged_kept),
    }


def log(plan: purge_plan.PurgePlan) -> None:
    logger.info(
        "purge_scope",
        extra={
            "scope": plan.scope,
            "scope_reason": plan.reason,
            "changed_files": plan.changed_files,
            "paths_submitted": len(plan.paths),
            "unchanged_kept": plan.unchanged_kept,
            "evicted": plan.evicted,
        },
    )


def to_continuation(plan: purge_plan.PurgePlan) -> dict[str, Any]:
    """The plan for the next leg. A full plan's paths are the resource's own, so they are
    not repeated (they can be many; the payload has a size limit)."""
    return {
        "Scope": plan.scope,
        "Reason": plan.reason,
        "Paths": None if plan.is_full else list(plan.paths),
        "ChangedFiles": plan.changed_files,
        "UnchangedKept": plan.unchanged_kept,
        "Evicted": plan.evicted,
    }


def from_continuation(
    continuation: Mapping[str, Any], full_paths: tuple[str, ...]
) -> purge_plan.PurgePlan | None:
    """The plan an earlier leg made, or None on a first leg."""
    saved = continuation.get(CONTINUATION_KEY)
    if not isinstance(saved, Mapping):
        return None
    paths = saved.get("Paths")
    return purge_plan.PurgePlan(
        scope=str(saved["Scope"]),
        reason=str(saved["Reason"]),
        paths=full_paths if paths is None else tuple(paths),
        changed_files=saved.get("ChangedFiles"),
        unchanged_kept=saved.get("UnchangedKept"),
        evicted=saved.get("Evicted"),
    )


def _count(value: int | None) -> str:
    return "" if value is None else str(value)
