"""Rules shared by synth time (the construct) and run time (the handler, the CLI).

Standard library only: the construct imports this module to fail at synth with the same
message the handler would send as a FAILED Reason, so both sides enforce one rule set.

What lives here:
- the property schema of ``Custom::CloudFrontInvalidation`` and its parsing (CloudFormation
  hands every value over as a string);
- CloudFront's rules for invalidation items (paths and ``#tag`` cache-tag items), their
  normalisation and batching under the in-progress limits;
- the rules for distribution ids and distribution tenant ids;
- the CallerReference scheme and the PhysicalResourceId scheme.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cloudfront_purge.model.base import CloudFrontPurgeError

# --- CloudFront limits (Amazon CloudFront Developer Guide: "Invalidate files", -----------
# "Concurrent invalidation request maximum"; docs/design.md, "CloudFront limits") -------
MAX_PATH_LENGTH = 4000
MAX_FILES_IN_PROGRESS = 3000
MAX_WILDCARDS_IN_PROGRESS = 15
#: A batch is never larger than what one distribution may hold in progress.
MAX_FILES_PER_BATCH = MAX_FILES_IN_PROGRESS
MAX_WILDCARDS_PER_BATCH = MAX_WILDCARDS_IN_PROGRESS
#: A raw template can send anything; past this many paths the purge would take hours
#: of batches, and a wildcard is the right tool.
MAX_PATHS = 100_000
MAX_DISTRIBUTIONS = 20
#: The same bound as for distributions: each tenant is one more parallel purge and one more
#: id in the 4,096-byte response.
MAX_DISTRIBUTION_TENANTS = 20

# --- Cache tags (Amazon CloudFront Developer Guide: "Invalidating content by cache tags",
# "What you need to know when invalidating tags") --------------------------------------------
#: An invalidation item that starts with this is a cache tag, not a path.
TAG_PREFIX = "#"
MAX_TAG_LENGTH = 256
#: Visible ASCII: the characters a tag may hold (commas excepted).
_TAG_CHARS = range(33, 127)

# --- Timing -------------------------------------------------------------------------------
DEFAULT_TIMEOUT_SECONDS = 30 * 60
#: CloudFormation's ServiceTimeout cannot exceed one hour.
MAX_SERVICE_TIMEOUT_SECONDS = 3600
#: CloudFormation gives up this long after the handler's own deadline, so the handler's
#: FAILED (which names the invalidation) always arrives first.
SERVICE_TIMEOUT_MARGIN_SECONDS = 120
MAX_TIMEOUT_SECONDS = MAX_SERVICE_TIMEOUT_SECONDS - SERVICE_TIMEOUT_MARGIN_SECONDS
MIN_TIMEOUT_SECONDS = 1

DEFAULT_PATHS: tuple[str, ...] = ("/*",)

# --- Property schema (PascalCase, as the template carries it) -----------------------------
RESOURCE_TYPE = "Custom::CloudFrontInvalidation"
PROP_DISTRIBUTION_IDS = "DistributionIds"
PROP_DISTRIBUTION_ID = "DistributionId"
PROP_DISTRIBUTION_TENANT_IDS = "DistributionTenantIds"
PROP_PATHS = "Paths"
PROP_SOURCE_HASH = "SourceHash"
PROP_WAIT_FOR_COMPLETION = "WaitForCompletion"
PROP_TIMEOUT_SECONDS = "TimeoutSeconds"
PROP_INVALIDATE_ON_CREATE = "InvalidateOnCreate"
# Changed-only purges (docs/changed-only.md); parsed by s3_plan.parse_changed_only.
PROP_ONLY_CHANGED = "OnlyChanged"
#: ``s3://<bucket>/<key>`` of this deploy's manifest (the construct's file asset).
PROP_MANIFEST = "Manifest"
PROP_URL_PREFIX = "UrlPrefix"
#: The index document's file name; an empty string means none (no directory forms).
PROP_INDEX_DOCUMENT = "IndexDocument"
PROP_MAX_PATHS = "MaxPaths"
# Prune after the purge and the timeout answer (docs/retention.md); parsed by model/prune.py.
PROP_PRUNE_BUCKET = "PruneBucket"
PROP_PRUNE_KEY_PREFIX = "PruneKeyPrefix"
PROP_KEEP_REPLACED_SECONDS = "KeepReplacedSeconds"
PROP_ON_TIMEOUT = "OnTimeout"
#: "true": purge only during a rollback of the stack (Create and other Updates answer
#: SUCCESS at once). SafeSiteDeployment puts such a purge before its uploads, so that in a
#: rollback, which CloudFormation runs in reverse dependency order, it purges after the old
#: files are back (docs/retention.md, "Rollbacks").
PROP_ONLY_IN_ROLLBACK = "OnlyInRollback"
#: Only a changed-only purge sends these (the construct leaves them out otherwise).
CHANGED_ONLY_PROPS = frozenset(
    {PROP_ONLY_CHANGED, PROP_MANIFEST, PROP_URL_PREFIX, PROP_INDEX_DOCUMENT, PROP_MAX_PATHS}
)
#: Only a pruning resource (or one with a non-default OnTimeout) sends these.
PRUNE_PROPS = frozenset(
    {PROP_PRUNE_BUCKET, PROP_PRUNE_KEY_PREFIX, PROP_KEEP_REPLACED_SECONDS, PROP_ON_TIMEOUT}
)
#: Set by CloudFormation itself, never by the template author.
CLOUDFORMATION_PROPS = frozenset({"ServiceToken", "ServiceTimeout"})
KNOWN_PROPS = frozenset(
    {
        PROP_DISTRIBUTION_IDS,
        PROP_DISTRIBUTION_ID,
        PROP_DISTRIBUTION_TENANT_IDS,
        PROP_PATHS,
        PROP_SOURCE_HASH,
        PROP_WAIT_FOR_COMPLETION,
        PROP_TIMEOUT_SECONDS,
        PROP_INVALIDATE_ON_CREATE,
        PROP_ONLY_CHANGED,
        PROP_MANIFEST,
        PROP_URL_PREFIX,
        PROP_INDEX_DOCUMENT,
        PROP_MAX_PATHS,
        PROP_PRUNE_BUCKET,
        PROP_PRUNE_KEY_PREFIX,
        PROP_KEEP_REPLACED_SECONDS,
        PROP_ON_TIMEOUT,
        PROP_ONLY_IN_ROLLBACK,
    }
)

# --- Response attributes (GetAtt names) ---------------------------------------------------
ATTR_INVALIDATION_ID = "InvalidationId"
ATTR_INVALIDATION_IDS = "InvalidationIds"
ATTR_CALLER_REFERENCE = "CallerReference"
ATTR_STATUS = "Status"
ATTR_DISTRIBUTION_IDS = "DistributionIds"
ATTR_DISTRIBUTION_TENANT_IDS = "DistributionTenantIds"
ATTR_INVALIDATION_COUNT = "InvalidationCount"
ATTR_PATH_COUNT = "PathCount"
#: Present (as "true") only when InvalidationIds was cut to fit the 4,096-byte response.
ATTR_INVALIDATION_IDS_TRUNCATED = "InvalidationIdsTruncated"
#: "true" when the provider did all it was asked (Completed, or accepted when not waiting,
#: or nothing asked); "false" only on a rollback that answered SUCCESS although the purge
#: was not confirmed (docs/troubleshooting.md).
ATTR_PURGE_CONFIRMED = "PurgeConfirmed"
#: Why the purge is unconfirmed, in a few words; empty when PurgeConfirmed is "true".
ATTR_PURGE_PROBLEM = "PurgeProblem"
#: The Status attribute on a rollback whose purge was not confirmed.
STATUS_UNCONFIRMED = "Unconfirmed"
#: The stack's status while CloudFormation rolls an update back, the only time it sends a
#: rollback's Updates (CloudFormation API Reference, DescribeStacks: StackStatus).
ROLLBACK_STACK_STATUS = "UPDATE_ROLLBACK_IN_PROGRESS"
STATUS_SKIPPED = "Skipped"
#: What this deploy purged and why (every SUCCESS carries them; docs/changed-only.md):
#: "changed" (only what changed) or "full" (``Paths``), or "none" for a skipped Create.
ATTR_PURGE_SCOPE = "PurgeScope"
ATTR_SCOPE_REASON = "ScopeReason"
#: Files modified, added or deleted since the previous deploy; empty when not known.
ATTR_CHANGED_FILES = "ChangedFiles"
#: Cached objects of the site the purge left alone; empty when not known.
ATTR_UNCHANGED_KEPT = "UnchangedKept"

#: The manifest asset's file extension. CDK's default synthesizer names a file asset's
#: object ``<hash><extension>``, so the provider can read every deploy's manifest, the
#: previous ones included, and nothing else in the asset bucket (``s3:::<bucket>/*<this>``).
MANIFEST_EXTENSION = ".cfpurge-manifest"

_DISTRIBUTION_ID = re.compile(r"^[A-Za-z0-9]{1,128}$")
#: CloudFront shows tenant ids as "dt_" and letters and digits (API Reference,
#: GetDistributionTenant examples); the tenant invalidation operations take 1 to 64
#: characters (API Reference, GetInvalidationForDistributionTenant: DistributionTenantId).
#: The prefix is required so a distribution id given as a tenant id fails at synth.
_DISTRIBUTION_TENANT_ID = re.compile(r"^dt_[A-Za-z0-9]{1,61}$")
#: Keeps a tenant's CallerReference and physical id apart from any distribution's:
#: distribution ids are letters and digits only, so they never hold this prefix.
_TENANT_KEY = "distribution-tenant:"
_HASH_CHARS = re.compile(r"[^A-Za-z0-9]")
_MAX_SOURCE_HASH_LENGTH = 1024
CALLER_REFERENCE_HASH_PREFIX = 12
_CALLER_REFERENCE_DIGEST = 24
#: Bump when the scheme changes, so old and new references can never collide.
_SCHEME = "v1"


class RuleError(CloudFrontPurgeError, ValueError):
    """An input broke one of CloudFront's or this resource's rules; the message names both."""


# --- Paths --------------------------------------------------------------------------------

#: RFC 1738 "unsafe" characters; CloudFront wants exactly these (and non-ASCII) encoded.
#: "%" is handled apart: an existing %XX escape is kept, a bare "%" is encoded.
_UNSAFE = frozenset(' <>"#{}|\\^~[]`')
_HEX = frozenset("0123456789abcdefABCDEF")


def is_tag(item: str) -> bool:
    """A cache-tag item (``#product:tv``) rather than a path."""
    return item.startswith(TAG_PREFIX)


def validate_tag(item: str, *, field: str = PROP_PATHS) -> str:
    """Check one ``#tag`` item against CloudFront's tag rules and return it.

    Amazon CloudFront Developer Guide, "What you need to know when invalidating tags": the
    tag is visible ASCII (33-126) without commas, at most 256 characters, and takes no
    ``*`` wildcard.

    Raises:
        RuleError: naming the item and the rule it broke.
    """
    tag = item[len(TAG_PREFIX) :]
    if not tag:
        raise RuleError(f"{field}: tag item {_show(item)} must name a tag after '#'")
    if len(tag) > MAX_TAG_LENGTH:
        raise RuleError(
            f"{field}: tag item {_show(item)} has a {len(tag)}-character tag; "
            f"CloudFront allows at most {MAX_TAG_LENGTH}"
        )
    if "*" in tag:
        raise RuleError(
            f"{field}: tag item {_show(item)} may not contain '*' (tags take no wildcard)"
        )
    if "," in tag:
        raise RuleError(f"{field}: tag item {_show(item)} may not contain a comma")
    bad = next((ch for ch in tag if ord(ch) not in _TAG_CHARS), None)
    if bad is not None:
        raise RuleError(
            f"{field}: tag item {_show(item)} contains {bad!r}; a tag is visible ASCII only "
            "(characters 33-126, no spaces)"
        )
    return item


def validate_path(path: object, *, field: str = PROP_PATHS) -> str:
    """Check one invalidation item (a path, or a ``#tag``) against CloudFront's rules.

    Raises:
        RuleError: naming the item and the rule it broke.
    """
    if not isinstance(path, str):
        raise RuleError(f"{field}: every path must be a string, got {type(path).__name__} {path!r}")
    if is_tag(path):
        return validate_tag(path, field=field)
    if not path.startswith("/"):
        raise RuleError(f"{field}: path {_show(path)} must start with '/' (or '#' for a cache tag)")
    star = path.find("*")
    if star != -1 and star != len(path) - 1:
        raise RuleError(f"{field}: path {_show(path)} may contain '*' only as its last character")
    if len(path) > MAX_PATH_LENGTH:
        raise RuleError(
            f"{field}: path {_show(path)} is {len(path)} characters; "
            f"CloudFront allows at most {MAX_PATH_LENGTH}"
        )
    return path


def validate_paths(paths: object, *, field: str = PROP_PATHS) -> list[str]:
    """Check a whole list of paths: a non-empty list of valid paths, at most MAX_PATHS."""
    if isinstance(paths, str) or not isinstance(paths, Sequence):
        raise RuleError(
            f"{field} must be a list of paths such as ['/*'], "
            f"got {type(paths).__name__} {_show(paths)}"
        )
    if not paths:
        raise RuleError(f"{field} must not be empty: give at least one path, such as '/*'")
    if len(paths) > MAX_PATHS:
        raise RuleError(
            f"{field} has {len(paths)} paths; at most {MAX_PATHS} are accepted "
            "(use a wildcard such as '/assets/*' instead)"
        )
    return [validate_path(p, field=field) for p in paths]


def encode_path(path: str) -> str:
    """URL-encode exactly what CloudFront wants encoded: non-ASCII and RFC 1738 unsafe.

    Encoding anything else (say '/' or '?') makes CloudFront match a different cache key,
    and the cached object is silently NOT invalidated. A ``#tag`` item is never encoded: it
    names a tag, not a URL, and its rules already keep it to visible ASCII.
    """
    if is_tag(path):
        return path
    out: list[str] = []
    i = 0
    while i < len(path):
        ch = path[i]
        if ch == "%" and _is_escape(path, i):
            # Kept as written: CloudFront matches the key it was given.
            out.append(path[i : i + 3])
            i += 3
            continue
        if ch == "%" or ch in _UNSAFE or ord(ch) < 0x21 or ord(ch) > 0x7E:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _is_escape(path: str, i: int) -> bool:
    """An existing %XX escape: already encoded, so encoding it again would change the key."""
    return i + 2 < len(path) and path[i + 1] in _HEX and path[i + 2] in _HEX


def is_wildcard(path: str) -> bool:
    """A wildcard path; a tag item never is one (tags take no ``*``)."""
    return path.endswith("*") and not is_tag(path)


def normalize_paths(paths: Iterable[str]) -> list[str]:
    """Validate, encode, and drop duplicates and paths a wildcard already covers.

    Order is kept (first occurrence wins), so the result, and every CallerReference
    derived from it, is deterministic for a given input. Tags are case-insensitive
    (Developer Guide, "What you need to know when invalidating tags"), so ``#Sale`` after
    ``#sale`` is a duplicate and the first spelling is kept; a path wildcard never covers a
    tag, which names objects by their tags, not by their paths.
    """
    encoded: list[str] = []
    seen: set[str] = set()
    for raw in paths:
        path = encode_path(validate_path(raw))
        # Encoding can lengthen a path past the limit.
        validate_path(path)
        key = path.lower() if is_tag(path) else path
        if key not in seen:
            seen.add(key)
            encoded.append(path)
    prefixes = {p[:-1] for p in encoded if is_wildcard(p)}
    lengths = sorted({len(p) for p in prefixes})

    def covered(path: str) -> bool:
        if is_tag(path):
            return False
        own = path[:-1] if is_wildcard(path) else None
        for n in lengths:
            if n > len(path):
                break
            prefix = path[:n]
            if prefix in prefixes and prefix != own:
                return True
        return False

    return [p for p in encoded if not covered(p)]


@dataclass(frozen=True)
class Batch:
    """One CreateInvalidation call's worth of paths."""

    index: int
    paths: tuple[str, ...]

    @property
    def files(self) -> int:
        """Items counted against the 3,000 individual items in progress: file paths and
        tags (each tag counts as one path toward the limits, Developer Guide, "What you
        need to know when invalidating tags")."""
        return sum(1 for p in self.paths if not is_wildcard(p))

    @property
    def tags(self) -> int:
        return sum(1 for p in self.paths if is_tag(p))

    @property
    def wildcards(self) -> int:
        return sum(1 for p in self.paths if is_wildcard(p))


def plan_batches(paths: Sequence[str]) -> list[Batch]:
    """Split normalised paths into batches that each fit the in-progress limits.

    File paths and wildcard paths count against separate in-progress limits (3,000 and 15),
    but one request holds at most 3,000 paths in all: each batch takes up to 15 wildcards
    and fills the rest of its 3,000 with files. Tag items count as files.
    """
    files = [p for p in paths if not is_wildcard(p)]
    wildcards = [p for p in paths if is_wildcard(p)]
    batches: list[Batch] = []
    f = w = 0
    while f < len(files) or w < len(wildcards) or not batches:
        taken = wildcards[w : w + MAX_WILDCARDS_PER_BATCH]
        w += len(taken)
        room = MAX_FILES_PER_BATCH - len(taken)
        batch_files = files[f : f + room]
        f += len(batch_files)
        batches.append(Batch(index=len(batches), paths=tuple(taken + batch_files)))
    return batches


# --- Identity -----------------------------------------------------------------------------


def validate_source_hash(value: object, *, field: str = PROP_SOURCE_HASH) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError(
            f"{field} is required: a non-empty string that changes whenever the content "
            "changes (the construct derives it from your asset or directories)"
        )
    if len(value) > _MAX_SOURCE_HASH_LENGTH:
        raise RuleError(f"{field} is {len(value)} characters; at most {_MAX_SOURCE_HASH_LENGTH}")
    if not _HASH_CHARS.sub("", value):
        raise RuleError(f"{field} {_show(value)} must contain at least one letter or digit")
    return value


def caller_reference(
    *,
    source_hash: str,
    request_id: str,
    distribution_id: str,
    batch: Batch,
    tenant: bool = False,
) -> str:
    """The CallerReference for one batch of one CloudFormation request.

    Deterministic for (content, request, distribution, paths), so a re-delivered or retried
    event gets CloudFront's earlier invalidation back instead of a second one. Different
    for every new request, so a content change, a rollback and a revert (A, B, A) all purge:
    a reference from the content hash alone would be reused on revert and purge nothing.
    The content hash's first characters lead, so an operator can tell what was purged.
    ``tenant``: ``distribution_id`` names a distribution tenant, whose reference never
    equals any distribution's.
    """
    prefix = _HASH_CHARS.sub("", source_hash)[:CALLER_REFERENCE_HASH_PREFIX]
    target = _TENANT_KEY + distribution_id if tenant else distribution_id
    digest = hashlib.sha256(
        "\n".join(
            [_SCHEME, source_hash, request_id, target, str(batch.index), *batch.paths]
        ).encode("utf-8")
    ).hexdigest()[:_CALLER_REFERENCE_DIGEST]
    return f"{prefix}-{digest}"


def physical_resource_id(
    *,
    stack_id: str,
    logical_id: str,
    distribution_ids: Sequence[str],
    distribution_tenant_ids: Sequence[str] = (),
) -> str:
    """Stable across updates that keep the same targets; a new id means replacement."""
    tenants = sorted(_TENANT_KEY + t for t in distribution_tenant_ids)
    digest = hashlib.sha256(
        "\n".join([stack_id, logical_id, *sorted(distribution_ids), *tenants]).encode("utf-8")
    ).hexdigest()[:16]
    return f"{logical_id[:200]}-{digest}"


# --- Properties ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeSpec:
    """The resource's properties, parsed, validated and normalised."""

    distribution_ids: tuple[str, ...]
    paths: tuple[str, ...]
    source_hash: str
    wait_for_completion: bool = True
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    invalidate_on_create: bool = True
    distribution_tenant_ids: tuple[str, ...] = ()

    def batches(self) -> list[Batch]:
        return plan_batches(self.paths)


def parse_bool(value: object, *, field: str) -> bool:
    """CloudFormation sends booleans as "true"/"false"; accept those and real booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RuleError(f"{field} must be true or false, got {_show(value)}")


def parse_timeout(value: object, *, field: str = PROP_TIMEOUT_SECONDS) -> float:
    """Seconds as a number or numeric string, within what ServiceTimeout allows."""
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise RuleError(f"{field} must be a number of seconds, got {_show(value)}")
    check_timeout(seconds, field=field)
    return seconds


def check_timeout(seconds: float, *, field: str) -> None:
    if not MIN_TIMEOUT_SECONDS <= seconds <= MAX_TIMEOUT_SECONDS:
        raise RuleError(
            f"{field} is {seconds:g} seconds; it must be between {MIN_TIMEOUT_SECONDS} and "
            f"{MAX_TIMEOUT_SECONDS} ({MAX_TIMEOUT_SECONDS // 60} minutes), so that "
            f"CloudFormation's ServiceTimeout (at most {MAX_SERVICE_TIMEOUT_SECONDS} s) can "
            f"leave {SERVICE_TIMEOUT_MARGIN_SECONDS} s for the handler's own answer"
        )


def validate_distribution_ids(value: object, *, field: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise RuleError(f"{field} must be a list of distribution ids, got {_show(value)}")
    if not value:
        raise RuleError(f"{field} must name at least one distribution")
    if len(value) > MAX_DISTRIBUTIONS:
        raise RuleError(f"{field} names {len(value)} distributions; at most {MAX_DISTRIBUTIONS}")
    ids: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _DISTRIBUTION_ID.match(item):
            raise RuleError(
                f"{field}: {_show(item)} is not a CloudFront distribution id "
                "(letters and digits, such as E2QWRUHAPOMQZL)"
            )
        if item not in ids:
            ids.append(item)
    return tuple(ids)


def validate_distribution_tenant_ids(
    value: object, *, field: str = PROP_DISTRIBUTION_TENANT_IDS
) -> tuple[str, ...]:
    """A list of distribution tenant ids (``dt_...``), duplicates dropped, order kept."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise RuleError(f"{field} must be a list of distribution tenant ids, got {_show(value)}")
    if len(value) > MAX_DISTRIBUTION_TENANTS:
        raise RuleError(
            f"{field} names {len(value)} distribution tenants; at most {MAX_DISTRIBUTION_TENANTS}"
        )
    ids: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _DISTRIBUTION_TENANT_ID.match(item):
            raise RuleError(
                f"{field}: {_show(item)} is not a CloudFront distribution tenant id "
                "('dt_' and letters and digits, at most 64 characters, such as "
                "dt_2yq2uFYMVyIkVWU6FAZ4lw55JXz)"
            )
        if item not in ids:
            ids.append(item)
    return tuple(ids)


def parse_properties(props: Mapping[str, object]) -> PurgeSpec:
    """Parse ResourceProperties as CloudFormation delivers them.

    Coercions (documented in the README): "true"/"false" to booleans, numeric strings to
    numbers, a single ``DistributionId`` to a one-element list, duplicate distribution and
    tenant ids dropped. At least one target (distribution or distribution tenant) is
    required. Anything else that is off raises RuleError naming the property.
    """
    unknown = sorted(set(props) - KNOWN_PROPS - CLOUDFORMATION_PROPS)
    if unknown:
        raise RuleError(
            f"unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
            f"known: {', '.join(sorted(KNOWN_PROPS))}"
        )
    if PROP_DISTRIBUTION_ID in props and PROP_DISTRIBUTION_IDS in props:
        raise RuleError(f"give {PROP_DISTRIBUTION_ID} or {PROP_DISTRIBUTION_IDS}, not both")
    if PROP_DISTRIBUTION_ID in props:
        single = props[PROP_DISTRIBUTION_ID]
        distribution_ids = validate_distribution_ids(
            [single] if isinstance(single, str) else single, field=PROP_DISTRIBUTION_ID
        )
    elif PROP_DISTRIBUTION_IDS in props and (
        props[PROP_DISTRIBUTION_IDS] != [] or PROP_DISTRIBUTION_TENANT_IDS not in props
    ):
        distribution_ids = validate_distribution_ids(
            props[PROP_DISTRIBUTION_IDS], field=PROP_DISTRIBUTION_IDS
        )
    else:
        # An empty DistributionIds beside tenants is fine: the construct always sends both.
        distribution_ids = ()
    tenant_ids = validate_distribution_tenant_ids(props.get(PROP_DISTRIBUTION_TENANT_IDS, []))
    if not distribution_ids and not tenant_ids:
        raise RuleError(
            f"{PROP_DISTRIBUTION_IDS} (or {PROP_DISTRIBUTION_ID}) or "
            f"{PROP_DISTRIBUTION_TENANT_IDS} is required: the distribution(s) or distribution "
            "tenant(s) to purge"
        )
    paths = normalize_paths(validate_paths(props.get(PROP_PATHS, list(DEFAULT_PATHS))))
    return PurgeSpec(
        distribution_ids=distribution_ids,
        distribution_tenant_ids=tenant_ids,
        paths=tuple(paths),
        source_hash=validate_source_hash(props.get(PROP_SOURCE_HASH)),
        wait_for_completion=parse_bool(
            props.get(PROP_WAIT_FOR_COMPLETION, True), field=PROP_WAIT_FOR_COMPLETION
        ),
        timeout_seconds=_within_service_timeout(
            parse_timeout(props.get(PROP_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS)),
            props.get("ServiceTimeout"),
        ),
        invalidate_on_create=parse_bool(
            props.get(PROP_INVALIDATE_ON_CREATE, True), field=PROP_INVALIDATE_ON_CREATE
        ),
    )


def _within_service_timeout(timeout: float, service_timeout: object) -> float:
    """End the wait before CloudFormation's own ServiceTimeout, so the handler's FAILED (which
    names the invalidation) arrives first: 2 minutes before it, or a fifth of it if shorter."""
    if service_timeout is None:
        return timeout
    try:
        limit = float(str(service_timeout))
    except ValueError as exc:
        raise RuleError(
            f"ServiceTimeout must be a number of seconds, got {_show(service_timeout)}"
        ) from exc
    if not math.isfinite(limit) or limit <= 0:
        raise RuleError(
            f"ServiceTimeout must be a positive number of seconds, got {_show(service_timeout)}"
        )
    margin = min(float(SERVICE_TIMEOUT_MARGIN_SECONDS), limit / 5)
    return max(float(MIN_TIMEOUT_SECONDS), min(timeout, limit - margin))


def shorten(text: str, limit: int, *, marker: str = " ...") -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked at its end.

    The one truncation rule for every text a person reads in a Reason, an attribute or a
    log line: the start is kept, because that is where the distribution, the call and the
    advice are.
    """
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))] + marker


def _show(value: object, limit: int = 80) -> str:
    """repr() cut short: a Reason must stay readable and under CloudFormation's limits."""
    return shorten(repr(value), limit, marker="...'")
