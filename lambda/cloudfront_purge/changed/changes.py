"""What a deploy changed, as URLs: diff two manifests and map keys through the URL options.

Standard library only (the construct validates the options at synth with these functions).

Assumption, documented in docs/changed-only.md: the cache key is the URL path. A cache
policy that adds query strings, headers or cookies to the key caches several objects per
path, and invalidating ``/a.html`` leaves ``/a.html?v=2`` cached.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cloudfront_purge.changed.manifest import Manifest
from cloudfront_purge.model import rules

DEFAULT_URL_PREFIX = "/"
DEFAULT_INDEX_DOCUMENT = "index.html"
#: Characters of a file name that mean something else in a URL path: served, they arrive
#: percent-encoded, so the cache key (and the invalidation path) holds the escape.
_KEY_ESCAPES = {"%": "%25", "?": "%3F"}


def validate_url_prefix(value: object, *, field: str = "url_prefix") -> str:
    """Where the directories' root is served: starts and ends with "/" ("/", "/site/")."""
    if not isinstance(value, str) or not value.startswith("/") or not value.endswith("/"):
        raise rules.RuleError(
            f"{field} must start and end with '/' (such as '/' or '/docs/'), got {value!r}"
        )
    if "*" in value or "//" in value:
        raise rules.RuleError(f"{field} {value!r} must not contain '*' or an empty segment '//'")
    rules.validate_path(value, field=field)
    return value


def validate_index_document(value: object, *, field: str = "index_document") -> str | None:
    """A file name such as "index.html", or None for no directory forms."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or "/" in value or value in (".", ".."):
        raise rules.RuleError(
            f"{field} must be a file name without '/' (such as 'index.html'), or None for no "
            f"directory URLs, got {value!r}"
        )
    return value


@dataclass(frozen=True)
class UrlMapping:
    """How keys become URL paths. Compared as a whole between two deploys."""

    url_prefix: str = DEFAULT_URL_PREFIX
    index_document: str | None = DEFAULT_INDEX_DOCUMENT

    def __post_init__(self) -> None:
        validate_url_prefix(self.url_prefix)
        validate_index_document(self.index_document)

    def raw_urls(self, key: str) -> tuple[str, ...]:
        """The URL paths (not yet encoded) whose response is this file: the file's own URL,
        then the directory form ``/dir/`` when the file is the index document."""
        url = self.url_prefix + key
        if self.index_document is None:
            return (url,)
        name = key.rsplit("/", 1)[-1]
        if name != self.index_document:
            return (url,)
        return (url, url[: len(url) - len(name)])


def encode_url(raw: str) -> str:
    """Encode a URL path built from file names, once: "%" and "?" in a name are escaped
    first (they would otherwise read as an escape and a query), then the project's path
    rules encode the rest. ``rules.encode_path`` keeps existing escapes, so encoding the
    result again changes nothing."""
    escaped = "".join(_KEY_ESCAPES.get(ch, ch) for ch in raw)
    return rules.encode_path(escaped)


@dataclass(frozen=True)
class Diff:
    """Keys that differ between two manifests, each tuple sorted."""

    modified: tuple[str, ...]
    added: tuple[str, ...]
    deleted: tuple[str, ...]

    @property
    def changed(self) -> tuple[str, ...]:
        return tuple(sorted((*self.modified, *self.added, *self.deleted)))

    def __len__(self) -> int:
        return len(self.modified) + len(self.added) + len(self.deleted)


def diff_manifests(old: Manifest, new: Manifest) -> Diff:
    old_files, new_files = old.files, new.files
    # Set operations on the (key, digest) pairs run in C: a 100,000-file site in milliseconds.
    differ = {key for key, _ in new_files.items() - old_files.items()}
    modified = differ & old_files.keys()
    added = differ - modified
    deleted = old_files.keys() - new_files.keys()
    return Diff(tuple(sorted(modified)), tuple(sorted(added)), tuple(sorted(deleted)))


@dataclass(frozen=True)
class SiteUrls:
    """Raw URL paths the deploy touches, and those of the new site it leaves as they were.

    A deleted file's URL is changed (its cached copy must go); an unchanged URL is one of
    the new site whose response is the same as before, directory forms included.
    """

    changed: frozenset[str]
    unchanged: frozenset[str]


def site_urls(diff: Diff, new: Manifest, mapping: UrlMapping) -> SiteUrls:
    changed_keys = set(diff.changed)
    changed = frozenset(_urls(changed_keys, mapping))
    unchanged = frozenset(_urls(new.files.keys() - changed_keys, mapping))
    return SiteUrls(changed=changed, unchanged=unchanged - changed)


def _urls(keys: Iterable[str], mapping: UrlMapping) -> list[str]:
    prefix, index = mapping.url_prefix, mapping.index_document
    urls = [prefix + key for key in keys]
    if index is not None:
        # The directory form of every index document: "/d/index.html" -> "/d/".
        tail = "/" + index
        cut = len(index)
        urls += [url[:-cut] for url in urls if url.endswith(tail)]
    return urls
