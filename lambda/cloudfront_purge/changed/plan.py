"""Decide what one deploy purges: only what changed, or everything when it cannot be sure.

One pure function, :func:`plan_purge`, used by the handler and the command-line tool. It
never purges less than what changed: whenever the diff cannot be trusted it returns the
full scope (the resource's ``paths``, ``/*`` by default) with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cloudfront_purge.changed.changes import UrlMapping, diff_manifests, site_urls
from cloudfront_purge.changed.cover import DEFAULT_MAX_PATHS, choose_paths
from cloudfront_purge.changed.manifest import Manifest, ManifestError, ManifestVersionError
from cloudfront_purge.model import rules

SCOPE_CHANGED = "changed"
SCOPE_FULL = "full"

REASON_CREATE = "Create: there is no earlier deploy to compare with"
REASON_NO_OLD_MANIFEST = "the previous deploy recorded no manifest"
REASON_UNCHANGED = "no file changed"


#: The scope of an Update that purges nothing because nothing it purges for changed.
SCOPE_NONE = "none"
#: Properties that say how to purge, not what or for which content: an Update that
#: changes only these (a new timeout, say) purges nothing. Any other property, known or
#: not, counts as a change of what to purge (docs/design.md, "Updates that purge nothing").
HOW_PROPS = frozenset(
    {
        rules.PROP_TIMEOUT_SECONDS,
        rules.PROP_WAIT_FOR_COMPLETION,
        rules.PROP_INVALIDATE_ON_CREATE,
        rules.PROP_ONLY_CHANGED,
        rules.PROP_MAX_PATHS,
        rules.PROP_ONLY_IN_ROLLBACK,
        *rules.CLOUDFORMATION_PROPS,
    }
)
REASON_SETTINGS_ONLY = (
    "only settings changed ({changed}): not the content identity, the paths or the targets, "
    "so nothing is purged"
)


def settings_only_change(new: Mapping[str, object], old: Mapping[str, object]) -> str | None:
    """The changed properties when an Update changes only ``HOW_PROPS``; None when it
    changes what to purge (or nothing at all: a re-sent Update purges as before).

    A rollback is an Update with old and new swapped, so it answers the same."""
    keys = set(new) | set(old)
    changed = sorted(k for k in keys if new.get(k) != old.get(k))
    if not changed or any(k not in HOW_PROPS for k in changed):
        return None
    return REASON_SETTINGS_ONLY.format(changed=", ".join(changed))


@dataclass(frozen=True)
class PurgePlan:
    """What to purge and why; the handler returns these as attributes.

    ``changed_files`` and ``unchanged_kept`` are None when they cannot be known (no
    readable old manifest, or full-scope paths other than ``/*``).
    """

    scope: str
    reason: str
    paths: tuple[str, ...]
    changed_files: int | None
    unchanged_kept: int | None
    evicted: int | None

    @property
    def is_full(self) -> bool:
        return self.scope == SCOPE_FULL


def plan_purge(
    *,
    request_type: str,
    new: Manifest,
    old: Manifest | ManifestError | None,
    mapping: UrlMapping,
    old_mapping: UrlMapping | None,
    full_paths: Sequence[str],
    max_paths: int = DEFAULT_MAX_PATHS,
) -> PurgePlan:
    """The purge for one Create or Update.

    Args:
        request_type: "Create" or "Update" (a rollback is an Update with old and new
            swapped, so it purges the reverse diff by the same rules).
        new: the manifest of the content being deployed.
        old: the previous deploy's manifest; the ManifestError met reading it (missing,
            unreadable, another format version); or None when none was recorded.
        mapping: the URL options of this deploy; ``old_mapping`` those of the previous one.
        full_paths: what a full purge submits (the resource's ``paths``).
        max_paths: the path budget of a changed-scope purge.

    Raises:
        ValueError: a request type other than Create or Update.
    """
    if request_type not in ("Create", "Update"):
        raise ValueError(f"only Create and Update purge, not {request_type!r}")

    def full(reason: str, changed_files: int | None = None) -> PurgePlan:
        return full_plan(reason, full_paths, changed_files)

    if request_type == "Create":
        return full(REASON_CREATE)
    if old is None:
        return full(REASON_NO_OLD_MANIFEST)
    if isinstance(old, ManifestVersionError):
        return full(f"the manifest format changed: {old}")
    if isinstance(old, ManifestError):
        return full(f"the previous manifest cannot be used: {old}")
    if old.version != new.version:
        return full(f"the manifest format changed: version {old.version} before, {new.version} now")
    diff = diff_manifests(old, new)
    if old_mapping != mapping:
        return full(
            f"the URL mapping changed ({_show(old_mapping)} before, {_show(mapping)} now), "
            "so every URL may have moved",
            len(diff),
        )
    urls = site_urls(diff, new, mapping)
    starred = sorted(u for u in urls.changed if "*" in u)
    if starred:
        return full(
            f"changed file {starred[0]!r} has '*' in its name, which no invalidation path can "
            "name exactly",
            len(diff),
        )
    if not urls.changed:
        return PurgePlan(SCOPE_CHANGED, REASON_UNCHANGED, (), 0, len(urls.unchanged), 0)
    cover = choose_paths(urls.changed, urls.unchanged, max_paths=max_paths)
    return PurgePlan(
        scope=SCOPE_CHANGED,
        reason=(
            f"{len(diff)} file(s) changed ({len(diff.modified)} modified, {len(diff.added)} "
            f"added, {len(diff.deleted)} deleted): {len(urls.changed)} URL(s) in "
            f"{len(cover.paths)} path(s), {cover.wildcards} wildcard(s)"
        ),
        paths=cover.paths,
        changed_files=len(diff),
        unchanged_kept=len(urls.unchanged) - cover.evicted,
        evicted=cover.evicted,
    )


def full_plan(
    reason: str, full_paths: Sequence[str], changed_files: int | None = None
) -> PurgePlan:
    """Purge ``full_paths`` (the resource's ``paths``) for ``reason``."""
    return PurgePlan(
        scope=SCOPE_FULL,
        reason=reason,
        paths=tuple(full_paths),
        changed_files=changed_files,
        unchanged_kept=0 if "/*" in full_paths else None,
        evicted=None,
    )


def _show(mapping: UrlMapping | None) -> str:
    if mapping is None:
        return "none recorded"
    return f"url_prefix={mapping.url_prefix!r}, index_document={mapping.index_document!r}"
