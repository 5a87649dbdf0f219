"""What a prune deletes, and what it keeps for later: pure, no AWS (docs/retention.md).

A deploy knows three things: the keys the previous deploy served (its manifest, ``old``),
the keys this deploy serves (``new``), and the prune state (``PruneState``): every key a
deploy of this resource replaced and has not deleted yet, with the time it was replaced.
From them, after every invalidation of the deploy is Completed:

1. A key of ``new`` is live: it leaves the state (a revert or a rollback that brings a file
   back cancels its deletion) and is never deleted.
2. A key of ``old`` that ``new`` lacks was replaced *now*: it enters the state with this
   deploy's time (an older stamp is overwritten, so retention always counts from the moment
   the last page that needed the file stopped being served).
3. A key of the state replaced at least ``keep_seconds`` ago, and in neither ``old`` nor
   ``new``, is deleted. Nothing is deleted when ``old`` is unknown (a Create, or an old
   manifest that cannot be read): a key the previous version served might be among them.
4. Nothing is deleted either when the state missed a deploy: it records the key set of the
   last deploy it saw (``seen``), and ``old`` must be that set. Otherwise a version the
   state never saw may have served (and replaced again) a key whose stamp is older than
   its last use: the prune was off for a while, a state write failed, a purge timed out.
   The state is brought up to date, and the next deploy deletes.
5. Nothing is deleted while another resource's (or pipeline's) state shares the folder
   (``sharing``, listed by ``run``): its manifests may name a key this one replaced, and
   its pages may still load it. The hold says which state and what to do
   (:func:`shared_folder_reason`).

Every key here is a manifest key (relative to the prune prefix); only keys a manifest of
this resource named ever enter the state, so objects someone else wrote are never listed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cloudfront_purge.model.base import CloudFrontPurgeError
from cloudfront_purge.model.prune import STATE_FOLDER, STATE_OBJECT_START

STATE_FORMAT = "cloudfront-purge-prune-state"
STATE_VERSION = 1
#: ``seen`` of a state whose resource answered a deploy without pruning (a purge that timed
#: out under ``OnTimeout: succeed``): never a key set digest, so the next deploy holds.
SEEN_MISSED = "missed"
#: Any name of this form counts as another writer's state, whichever digest it carries.
_STATE_OBJECT_NAME = re.compile(rf"^{STATE_OBJECT_START}[^/]+\.json$")


class PruneStateError(CloudFrontPurgeError, ValueError):
    """A prune state object that is not one this code can read."""


@dataclass(frozen=True)
class PruneState:
    """Keys replaced by a deploy of this resource and not deleted yet -> epoch seconds of
    the deploy that replaced them."""

    replaced: Mapping[str, float] = field(default_factory=dict)
    #: :func:`key_set_digest` of the last deploy's keys that wrote this state ("" if none).
    seen: str = ""
    #: :func:`owner_digest` of the physical resource that last wrote it ("" for the CLI's,
    #: and for states written before the field existed): a Delete of that resource removes
    #: the state, a Delete of the one it replaced does not.
    owner: str = ""

    def __len__(self) -> int:
        return len(self.replaced)


@dataclass(frozen=True)
class PrunePlan:
    """What to delete now, and the state to write once the deletions are done."""

    #: Manifest keys to delete, sorted (deterministic batches).
    delete: tuple[str, ...]
    #: The state after this deploy, assuming every deletion succeeds.
    state: PruneState
    #: Keys kept for their retention (replaced less than ``keep_seconds`` ago, or needed by
    #: the previous version).
    kept: int
    #: Why nothing may be deleted this time, if so.
    hold_reason: str = ""


def plan_prune(
    state: PruneState,
    *,
    old: Collection[str] | None,
    new: Collection[str],
    now: float,
    keep_seconds: float,
    may_delete: bool = True,
    hold_reason: str = "",
    trust_old: bool = True,
    sharing: Sequence[tuple[str, str]] = (),
) -> PrunePlan:
    """The prune of one deploy (module docstring for the rules).

    Args:
        state: the state the previous prune wrote (empty if none).
        old: the previous deploy's manifest keys; None when not known.
        new: this deploy's manifest keys.
        now: epoch seconds of this deploy's prune.
        keep_seconds: how long a replaced key is kept.
        may_delete: False to only update the state (a rollback deletes nothing).
        hold_reason: why ``may_delete`` is False, for the attributes and the log.
        trust_old: whether ``old`` is known to be what this resource served even when the
            state last saw another version (CloudFormation's OldResourceProperties: yes).
            False for a caller's word (the CLI's OLD): then a mismatch schedules none of
            ``old``'s keys, as they may be another site's files.
        sharing: (key, date last written) of every other prune state in this folder; any
            holds the prune, and its reason wins over the others: it lasts until a person
            acts, they go by themselves.
    """
    if sharing:
        may_delete, hold_reason = False, shared_folder_reason(sharing)
    live = set(new)
    needed_only: set[str] = set()
    missed = old is not None and bool(state.seen) and state.seen != key_set_digest(old)
    if missed and not trust_old and old is not None:
        # Kept this deploy (needed below), never scheduled: a leak at worst.
        needed_only, old = set(old), ()
    if missed and may_delete:
        may_delete = False
        hold_reason = (
            "the prune state missed a deploy (it last saw another version than the previous "
            "deploy's): this deploy only reschedules, the next one deletes"
        )
    pending = {k: t for k, t in state.replaced.items() if k not in live}
    for key in old or ():
        if key not in live:
            pending[key] = now
    needed = live | set(old or ()) | needed_only
    if old is None and may_delete:
        may_delete, hold_reason = False, "the previous deploy's manifest is not known"
    if not may_delete:
        # A held deploy cannot tell what was served since the stamps were written (deploys
        # the state missed, a previous version not known, another writer's pages): every
        # pending key counts as replaced now, so its retention runs again from this
        # Completed purge.
        pending = dict.fromkeys(pending, now)
    delete: list[str] = []
    if may_delete:
        delete = sorted(
            key
            for key, replaced_at in pending.items()
            if replaced_at + keep_seconds <= now
            and key not in needed
            and not key.startswith(STATE_FOLDER)
        )
    for key in delete:
        del pending[key]
    return PrunePlan(
        delete=tuple(delete),
        state=PruneState(
            dict(sorted(pending.items())), seen=key_set_digest(live), owner=state.owner
        ),
        kept=len(pending),
        hold_reason="" if may_delete else hold_reason,
    )


def with_left_behind(state: PruneState, left: Mapping[str, float]) -> PruneState:
    """The state with keys whose deletion failed put back (with their own stamps), so the
    next deploy tries them again."""
    return PruneState(
        dict(sorted({**state.replaced, **left}.items())), seen=state.seen, owner=state.owner
    )


def owner_digest(physical_id: str) -> str:
    """What a state records of the physical resource that wrote it: a digest, so the state
    discloses no stack or resource name if it is ever served."""
    return hashlib.sha256(physical_id.encode("utf-8")).hexdigest()[:20]


def is_state_name(name: str) -> bool:
    """Whether ``name`` (a key inside :data:`STATE_FOLDER`) is a prune state object."""
    return bool(_STATE_OBJECT_NAME.match(name))


def shared_folder_reason(others: Sequence[tuple[str, str]]) -> str:
    """Why a prune holds while other writers' states share its folder, and what a person
    does about it (docs/retention.md, "Two writers, one folder"). Under 200 characters for
    the states this code writes, whatever the prefix, so ``PruneProblem`` carries all of
    it: the state is named within its folder (``<prefix>.cloudfront-purge/``); the log
    line names the whole keys.

    Args:
        others: (key, day it was last written, or "") of each other state object, at least
            one.
    """
    key, written = others[0]
    name = key.rpartition("/")[2]
    when = f", written {written}" if written else ""
    more = f", +{len(others) - 1} more" if len(others) > 1 else ""
    return (
        f"another prune state shares this folder ({name}{when}{more}). Give each site its "
        "own prefix, or delete that state if its resource is gone"
    )


def key_set_digest(keys: Collection[str]) -> str:
    """sha256 of the sorted keys: which version a deploy served, whatever their order."""
    digest = hashlib.sha256()
    for key in sorted(set(keys)):
        digest.update(key.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def batches(keys: Iterable[str], size: int) -> Iterable[list[str]]:
    """``keys`` in lists of at most ``size`` (S3 DeleteObjects takes at most 1,000)."""
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def dumps(state: PruneState) -> str:
    """The state object's JSON text (keys sorted: the same state gives the same bytes)."""
    document: dict[str, object] = {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "replaced": dict(sorted(state.replaced.items())),
        "seen": state.seen,
    }
    if state.owner:
        # Optional: a reader of version 1 without it ignores it (and forgets it on a write).
        document["owner"] = state.owner
    return json.dumps(
        document,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def loads(text: str | bytes, *, source: str = "prune state") -> PruneState:
    """Parse a state object.

    Raises:
        PruneStateError: not JSON, not this format or version, or a malformed entry.
    """
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PruneStateError(f"{source} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
        raise PruneStateError(f'{source} is not a prune state (no "format": {STATE_FORMAT!r})')
    if document.get("version") != STATE_VERSION:
        raise PruneStateError(
            f"{source} has version {document.get('version')!r}; this code reads {STATE_VERSION}"
        )
    replaced = document.get("replaced")
    if not isinstance(replaced, dict):
        raise PruneStateError(f'{source}: "replaced" must be an object of key -> epoch seconds')
    for key, stamp in replaced.items():
        if not key or isinstance(stamp, bool) or not isinstance(stamp, int | float):
            raise PruneStateError(f"{source}: entry {key!r} must map to epoch seconds")
    seen = document.get("seen", "")
    if not isinstance(seen, str):
        raise PruneStateError(f'{source}: "seen" must be a string')
    owner = document.get("owner", "")
    if not isinstance(owner, str):
        raise PruneStateError(f'{source}: "owner" must be a string')
    return PruneState({str(k): float(v) for k, v in replaced.items()}, seen=seen, owner=owner)
