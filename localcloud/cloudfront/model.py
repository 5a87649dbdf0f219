"""The invalidation model: records, item rules, in-progress limits, idempotent references.

Knows nothing of HTTP or XML. Rules come from CloudFront's Developer Guide:

- "Specifying the files to invalidate": a path starts with ``/``, ``*`` only as its last
  character, at most 4,000 characters.
- "What you need to know when invalidating tags": a tag item starts with ``#``; the tag is
  visible ASCII (33-126) without commas, at most 256 characters, no ``*`` wildcard; tag
  and path items mix in one batch; each tag item counts as one invalidation path toward
  the concurrent limits (here: the 3,000 individual items, not the 15 wildcards).
- "Concurrent invalidation request maximum": 3,000 individual files and 15 wildcard
  paths in progress at one time per distribution; over it, TooManyInvalidationsInProgress.
"""

from __future__ import annotations

import random
import string
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from localcloud.cloudfront.errors import (
    TOO_MANY_FILES_MESSAGE,
    TOO_MANY_WILDCARDS_MESSAGE,
    CloudFrontError,
)

__all__ = [
    "COMPLETED",
    "IN_PROGRESS",
    "Batch",
    "InvalidationRecord",
    "InvalidationStore",
    "item_problem",
]

IN_PROGRESS: Final = "InProgress"
COMPLETED: Final = "Completed"

MAX_PATH_LENGTH: Final = 4000
MAX_TAG_LENGTH: Final = 256
TAG_PREFIX: Final = "#"

# CloudFront gives no item in its message; ours names the item to save a debugging session.
BAD_PATHS_MESSAGE: Final = "Your request contains one or more invalid invalidation paths."
_REUSED_REFERENCE_MESSAGE: Final = (
    "Your request contains a caller reference that was used for a previous invalidation "
    "batch for the same distribution."
)

Duration = float | Callable[[str, Sequence[str]], float]


def is_tag(item: str) -> bool:
    """A cache-tag item (``#product:tv``) rather than a path."""
    return item.startswith(TAG_PREFIX)


def is_wildcard(item: str) -> bool:
    """A wildcard path: limited separately (15 in progress) from individual items."""
    return not is_tag(item) and item.endswith("*")


def item_problem(item: str) -> str | None:
    """Why CloudFront would refuse one ``Paths.Items`` entry (path or tag), or None."""
    if is_tag(item):
        tag = item[len(TAG_PREFIX) :]
        if not tag:
            return "a tag item names a tag after '#'"
        if len(tag) > MAX_TAG_LENGTH:
            return f"a tag is at most {MAX_TAG_LENGTH} characters (this one has {len(tag)})"
        if "*" in tag:
            return "a tag item takes no '*' wildcard"
        if "," in tag:
            return "a tag contains no commas"
        if any(not 33 <= ord(char) <= 126 for char in tag):
            return "a tag is visible ASCII only (characters 33-126, no spaces)"
        return None
    if not item.startswith("/"):
        return "a path must start with '/' (or '#' for a cache tag)"
    if "*" in item[:-1]:
        return "'*' is allowed only as the last character"
    if len(item) > MAX_PATH_LENGTH:
        return f"a path is at most {MAX_PATH_LENGTH} characters (this one has {len(item)})"
    return None


@dataclass(frozen=True)
class Batch:
    """A parsed InvalidationBatch: the CallerReference and the items in order."""

    caller_reference: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class InvalidationRecord:
    """One invalidation as this server keeps it; what benchmarks and tests inspect.

    ``distribution_id`` is the distribution whose cache it purges; for an invalidation
    made through a distribution tenant it is the tenant's multi-tenant distribution, and
    ``tenant_id`` names the tenant. Times are epoch seconds (``time.time()``), so a
    benchmark can compare them with its own clock readings directly.
    """

    id: str
    distribution_id: str
    caller_reference: str
    paths: tuple[str, ...]
    create_time: float
    completes_at: float
    tenant_id: str | None = None

    @property
    def target_id(self) -> str:
        """The id the request named: the tenant's, else the distribution's."""
        return self.tenant_id or self.distribution_id

    def status(self, now: float | None = None) -> str:
        """``InProgress`` until ``completes_at``, then ``Completed`` (CloudFront's case)."""
        return (
            COMPLETED if (time.time() if now is None else now) >= self.completes_at else IN_PROGRESS
        )

    @property
    def wildcard_count(self) -> int:
        """Wildcard paths are limited separately from file paths (15 vs 3,000 in progress)."""
        return sum(1 for p in self.paths if is_wildcard(p))

    @property
    def tag_count(self) -> int:
        """Cache-tag items; each counts as one individual item toward the limits."""
        return sum(1 for p in self.paths if is_tag(p))

    @property
    def file_count(self) -> int:
        """Items that count against the 3,000 in-progress limit: file paths and tags."""
        return len(self.paths) - self.wildcard_count


class InvalidationStore:
    """Every invalidation one local CloudFront holds; thread-safe.

    Limits are counted per distribution: invalidations made through the tenants of a
    multi-tenant distribution share its limits (see :meth:`create`).
    """

    def __init__(
        self,
        *,
        duration: Duration,
        max_files_in_progress: int,
        max_wildcards_in_progress: int,
        reused_reference_error: bool,
        seed: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.max_files_in_progress = max_files_in_progress
        self.max_wildcards_in_progress = max_wildcards_in_progress
        self.reused_reference_error = reused_reference_error
        self._duration: Duration = duration
        self._lock = threading.RLock()
        self._ids = random.Random(f"invalidation-ids-{seed}")
        self._ids_used: set[str] = set()
        self._records: list[InvalidationRecord] = []  # oldest first
        self._by_id: dict[tuple[str, str], InvalidationRecord] = {}
        self._by_reference: dict[tuple[str, str], InvalidationRecord] = {}

    def set_duration(self, value: Duration) -> None:
        """How long invalidations created from now on stay InProgress."""
        with self._lock:
            self._duration = value

    def records(
        self, distribution_id: str | None = None, *, tenant_id: str | None = None
    ) -> list[InvalidationRecord]:
        """Invalidations so far, oldest first, optionally for one distribution or tenant."""
        with self._lock:
            return [
                r
                for r in self._records
                if (distribution_id is None or r.distribution_id == distribution_id)
                and (tenant_id is None or r.tenant_id == tenant_id)
            ]

    def _draw_duration(self, target_id: str, paths: tuple[str, ...]) -> float:
        duration = self._duration
        seconds = duration(target_id, paths) if callable(duration) else duration
        return max(0.0, float(seconds))

    def _new_id(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        while True:
            candidate = "I" + "".join(self._ids.choice(alphabet) for _ in range(13))
            if candidate not in self._ids_used:
                self._ids_used.add(candidate)
                return candidate

    def create(
        self, distribution_id: str, batch: Batch, *, tenant_id: str | None = None
    ) -> InvalidationRecord:
        """Create, or return the earlier invalidation for a reused CallerReference.

        A CallerReference is scoped to what the request named (the distribution, or the
        tenant). The in-progress limits are counted over the whole distribution, its
        tenants included: the Developer Guide's "Concurrent invalidation request maximum"
        states them per distribution and says nothing of tenants (nor does the API
        Reference for CreateInvalidationForDistributionTenant), so this server takes the
        stricter reading that the tenants of one multi-tenant distribution share them.
        """
        target_id = tenant_id or distribution_id
        with self._lock:
            now = self.clock()
            earlier = self._by_reference.get((target_id, batch.caller_reference))
            if earlier is not None:
                if self.reused_reference_error:
                    raise CloudFrontError("InvalidArgument", _REUSED_REFERENCE_MESSAGE)
                if earlier.paths != batch.paths:
                    raise CloudFrontError(
                        "InvalidationBatchAlreadyExists",
                        f"Invalidation batch already exists with CallerReference "
                        f"{batch.caller_reference!r} and different paths (as {earlier.id}).",
                    )
                return earlier
            in_progress = [
                r
                for r in self._records
                if r.distribution_id == distribution_id and r.status(now) == IN_PROGRESS
            ]
            new_wildcards = sum(1 for p in batch.paths if is_wildcard(p))
            new_files = len(batch.paths) - new_wildcards
            busy_files = sum(r.file_count for r in in_progress)
            busy_wildcards = sum(r.wildcard_count for r in in_progress)
            if new_wildcards and busy_wildcards + new_wildcards > self.max_wildcards_in_progress:
                raise CloudFrontError("TooManyInvalidationsInProgress", TOO_MANY_WILDCARDS_MESSAGE)
            if new_files and busy_files + new_files > self.max_files_in_progress:
                raise CloudFrontError("TooManyInvalidationsInProgress", TOO_MANY_FILES_MESSAGE)
            record = InvalidationRecord(
                id=self._new_id(),
                distribution_id=distribution_id,
                caller_reference=batch.caller_reference,
                paths=batch.paths,
                create_time=now,
                completes_at=now + self._draw_duration(target_id, batch.paths),
                tenant_id=tenant_id,
            )
            self._records.append(record)
            self._by_id[(target_id, record.id)] = record
            self._by_reference[(target_id, batch.caller_reference)] = record
            return record

    def get(self, target_id: str, invalidation_id: str) -> InvalidationRecord:
        """The invalidation the distribution or tenant made, or NoSuchInvalidation."""
        with self._lock:
            record = self._by_id.get((target_id, invalidation_id))
        if record is None:
            raise CloudFrontError("NoSuchInvalidation")
        return record

    def page(
        self, target_id: str, marker: str | None, max_items: int
    ) -> tuple[list[InvalidationRecord], str | None]:
        """One page, newest first: (items, next marker or None)."""
        with self._lock:
            newest_first = [r for r in reversed(self._records) if r.target_id == target_id]
        start = 0
        if marker is not None:
            ids = [r.id for r in newest_first]
            if marker not in ids:
                raise CloudFrontError("InvalidArgument", f"The Marker {marker!r} is not valid.")
            start = ids.index(marker) + 1
        page = newest_first[start : start + max_items]
        truncated = start + len(page) < len(newest_first)
        return page, (page[-1].id if truncated and page else None)

    def complete_now(
        self,
        *,
        distribution_id: str | None = None,
        invalidation_id: str | None = None,
        tenant_id: str | None = None,
    ) -> int:
        """Make in-progress invalidations Completed at once; return how many changed."""
        with self._lock:
            now = self.clock()
            changed = 0
            for index, record in enumerate(self._records):
                if record.status(now) != IN_PROGRESS:
                    continue
                if distribution_id is not None and record.distribution_id != distribution_id:
                    continue
                if tenant_id is not None and record.tenant_id != tenant_id:
                    continue
                if invalidation_id is not None and record.id != invalidation_id:
                    continue
                done = replace(record, completes_at=now)
                self._records[index] = done
                self._by_id[(done.target_id, done.id)] = done
                self._by_reference[(done.target_id, done.caller_reference)] = done
                changed += 1
            return changed


def check_items(paths: Sequence[str], *, tags_enabled: bool) -> None:
    """Refuse a batch whose items CloudFront would refuse, naming the first bad item.

    Tag items on a distribution without a CacheTagConfig: the Developer Guide ("What you
    need to know when invalidating tags", "Opt-in required") says only that tag
    invalidation works only on distributions with a CacheTagConfig, not whether such a
    request is refused or accepted and ignored. Accepting it would report a purge that
    purged nothing, so this server takes the stricter reading and refuses it.
    """
    if not paths:
        raise CloudFrontError("InvalidArgument", "The invalidation batch contains no paths.")
    for item in paths:
        problem = item_problem(item)
        if problem is None and is_tag(item) and not tags_enabled:
            problem = "tag items need a distribution with a CacheTagConfig"
        if problem:
            raise CloudFrontError(
                "InvalidArgument", f"{BAD_PATHS_MESSAGE} {item[:200]!r}: {problem}"
            )
