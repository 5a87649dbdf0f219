"""The prune's properties, attribute names and statuses, and their parsing (docs/retention.md).

Standard library only: the construct imports this module at synth for its defaults, its
checks and the attribute names it exposes, and the handler and the command-line tool parse
the same properties with it, so both sides enforce one rule set. What the prune deletes is
planned in :mod:`cloudfront_purge.prune.plan` and done in :mod:`cloudfront_purge.prune.run`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cloudfront_purge.model import rules

# --- properties (the construct's defaults come from these constants; the names are in
# rules.PRUNE_PROPS) -------------------------------------------------------------------------
#: Seven days: docs/retention.md ("Why seven days").
DEFAULT_KEEP_REPLACED_SECONDS = 7 * 24 * 3600
#: Ten years: a longer retention is "never delete", which is ``prune_bucket`` left out.
MAX_KEEP_REPLACED_SECONDS = 10 * 365 * 24 * 3600

# --- OnTimeout: what a purge that timed out answers -----------------------------------------
ON_TIMEOUT_FAIL = "fail"
ON_TIMEOUT_SUCCEED = "succeed"
DEFAULT_ON_TIMEOUT = ON_TIMEOUT_FAIL
#: Set (non-empty) when the answer is SUCCESS although something the user should know went
#: wrong: a purge that timed out under ``OnTimeout: succeed``.
ATTR_WARNING = "Warning"

# --- attributes (GetAtt names); every SUCCESS of a pruning resource carries all of them -----
ATTR_PRUNE_STATUS = "PruneStatus"
ATTR_PRUNED_COUNT = "PrunedCount"
ATTR_PRUNE_LEFT_BEHIND = "PruneLeftBehind"
ATTR_PRUNE_SCHEDULED = "PruneScheduled"
ATTR_PRUNE_PROBLEM = "PruneProblem"
ATTRIBUTES = (
    ATTR_PRUNE_STATUS,
    ATTR_PRUNED_COUNT,
    ATTR_PRUNE_LEFT_BEHIND,
    ATTR_PRUNE_SCHEDULED,
    ATTR_PRUNE_PROBLEM,
)

#: Everything planned was deleted and the state written.
STATUS_PRUNED = "Pruned"
#: Something was left behind (a failed batch, no time left, a state not written).
STATUS_PARTIAL = "Partial"
#: Nothing could be done (the state could not be read): nothing deleted.
STATUS_FAILED = "Failed"
#: The prune did not run (the purge did not reach Completed, a skipped Create).
STATUS_SKIPPED = "Skipped"
#: The state was updated but nothing was deleted on purpose (a rollback, an unknown
#: previous manifest).
STATUS_HELD = "Held"

# --- the prune state objects (their keys; their content is prune/plan.py's) -----------------
#: The folder, under the prune prefix, that holds the prune state objects: never deleted,
#: and a manifest key inside it is never pruned.
STATE_FOLDER = ".cloudfront-purge/"
#: How the name of a prune state object inside :data:`STATE_FOLDER` starts
#: (:meth:`PruneSpec.state_key`: ``prune-state-<20 hex digits>.json``).
STATE_OBJECT_START = "prune-state-"
#: A command-line state name (``--prune-state``).
STATE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class PruneSpec:
    """The prune properties, parsed. ``key_prefix`` is "" or ends with "/"."""

    bucket: str
    key_prefix: str
    keep_seconds: int

    def object_key(self, manifest_key: str) -> str:
        return f"{self.key_prefix}{manifest_key}"

    def state_key(self, identity: str) -> str:
        """The state object's key for a resource (or CLI state name) ``identity``."""
        digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:20]
        return f"{self.state_folder}{STATE_OBJECT_START}{digest}.json"

    @property
    def state_folder(self) -> str:
        """Where every prune state of this prefix lives (listing it needs only the
        ``s3:ListBucket`` grant the state's own read has)."""
        return f"{self.key_prefix}{STATE_FOLDER}"


def normalize_prefix(prefix: str, *, field: str = rules.PROP_PRUNE_KEY_PREFIX) -> str:
    """"" or a key prefix ending in "/" (``site`` and ``site/`` are the same folder, as for
    BucketDeployment's ``destination_key_prefix``).

    Raises:
        RuleError: a prefix that starts with "/", holds an empty, "." or ".." part, or an
            IAM wildcard ("*", "?").
    """
    if not isinstance(prefix, str):
        raise rules.RuleError(f"{field} must be a string such as 'site/', got {prefix!r}")
    if prefix == "":
        return ""
    if prefix.startswith("/"):
        raise rules.RuleError(
            f"{field} {prefix!r} must not start with '/': S3 keys have no leading slash "
            "(give the BucketDeployment's destination_key_prefix)"
        )
    if "*" in prefix or "?" in prefix:
        raise rules.RuleError(
            f"{field} {prefix!r} must not hold '*' or '?': the provider's role may delete "
            "<bucket>/<prefix>*, and IAM reads them in a resource ARN as wildcards, which "
            "would grant deletions outside the prefix"
        )
    parts = prefix.removesuffix("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise rules.RuleError(f"{field} {prefix!r} must not hold empty, '.' or '..' parts")
    return prefix.removesuffix("/") + "/"


def validate_keep_seconds(value: object, *, field: str = rules.PROP_KEEP_REPLACED_SECONDS) -> int:
    """Whole seconds from 0 to ten years (a string, as CloudFormation sends it, or a number).

    Raises:
        RuleError: naming the field and the range.
    """
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = float(value) if isinstance(value, int | float | str) else float("nan")
    except ValueError:
        seconds = float("nan")
    if not (0 <= seconds <= MAX_KEEP_REPLACED_SECONDS) or seconds != int(seconds):
        raise rules.RuleError(
            f"{field} must be whole seconds from 0 to {MAX_KEEP_REPLACED_SECONDS} "
            f"(ten years), got {value!r}"
        )
    return int(seconds)


def parse_on_timeout(props: Mapping[str, object]) -> str:
    """``OnTimeout``: "fail" (default) or "succeed".

    Raises:
        RuleError: any other value.
    """
    value = props.get(rules.PROP_ON_TIMEOUT, DEFAULT_ON_TIMEOUT)
    if value not in (ON_TIMEOUT_FAIL, ON_TIMEOUT_SUCCEED):
        raise rules.RuleError(
            f"{rules.PROP_ON_TIMEOUT} must be {ON_TIMEOUT_FAIL!r} or {ON_TIMEOUT_SUCCEED!r}, "
            f"got {value!r}"
        )
    return str(value)


def parse_prune(props: Mapping[str, object]) -> PruneSpec | None:
    """PruneBucket, PruneKeyPrefix, KeepReplacedSeconds; None when PruneBucket is absent.

    Raises:
        RuleError: naming the property: a bad value, a prune without ``OnlyChanged`` (the
            manifests say what each deploy put there), or without waiting for Completed.
    """
    bucket = props.get(rules.PROP_PRUNE_BUCKET)
    if bucket in (None, ""):
        # A raw template may always send the prune properties, with an empty bucket: off.
        return None
    if not isinstance(bucket, str) or not _BUCKET_NAME.match(bucket):
        raise rules.RuleError(
            f"{rules.PROP_PRUNE_BUCKET} must be an S3 bucket name (3 to 63 lower-case letters, "
            f"digits, dots and hyphens), got {bucket!r}"
        )
    only_changed = rules.parse_bool(
        props.get(rules.PROP_ONLY_CHANGED, False), field=rules.PROP_ONLY_CHANGED
    )
    if not only_changed:
        raise rules.RuleError(
            f"{rules.PROP_PRUNE_BUCKET} needs {rules.PROP_ONLY_CHANGED}: true and a "
            f"{rules.PROP_MANIFEST}: the manifests say which files each deploy put there, "
            "and only those are ever pruned"
        )
    waits = rules.parse_bool(
        props.get(rules.PROP_WAIT_FOR_COMPLETION, True), field=rules.PROP_WAIT_FOR_COMPLETION
    )
    if not waits:
        raise rules.RuleError(
            f"{rules.PROP_PRUNE_BUCKET} needs {rules.PROP_WAIT_FOR_COMPLETION}: true: nothing is "
            "pruned before every invalidation is Completed"
        )
    return PruneSpec(
        bucket=bucket,
        key_prefix=normalize_prefix(props.get(rules.PROP_PRUNE_KEY_PREFIX, "")),  # type: ignore[arg-type]
        keep_seconds=validate_keep_seconds(
            props.get(rules.PROP_KEEP_REPLACED_SECONDS, DEFAULT_KEEP_REPLACED_SECONDS)
        ),
    )
