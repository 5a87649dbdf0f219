"""The manifest of a site: every file's key (relative path) and the sha256 of its content.

Standard library only: the construct builds the manifest at synth, the handler and the
command-line tool read it at run time, and both sides import this one module.

Format (JSON, UTF-8, keys sorted, no whitespace, so the same tree always gives the same
bytes and the same digest)::

    {"format": "cloudfront-purge-manifest", "version": 1, "digest": "sha256",
     "files": {"css/site.css": "<64 hex>", "index.html": "<64 hex>"}}

Keys use "/" whatever the operating system, never start with "/" and never contain "."
or ".." components. The URL mapping options (url prefix, index document) are NOT in the
manifest: they travel as resource properties, so changing them never changes the manifest,
and the handler compares them itself. The format name and version are enough to tell a
manifest this code cannot read from one it can.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cloudfront_purge.model.base import CloudFrontPurgeError

FORMAT_NAME = "cloudfront-purge-manifest"
#: Bump on any change to the meaning of the manifest; a mismatch makes the handler purge
#: everything rather than trust a diff between two different formats.
FORMAT_VERSION = 1
DIGEST_ALGORITHM = "sha256"
_DIGEST_LENGTH = 64
_HEX = frozenset("0123456789abcdef")
_CHUNK = 1 << 20


class ManifestError(CloudFrontPurgeError, ValueError):
    """A manifest is missing, unreadable, or not one this code understands."""


class ManifestVersionError(ManifestError):
    """A readable manifest of another format version: its keys cannot be trusted here."""

    def __init__(self, source: str, version: object) -> None:
        super().__init__(
            f"{source} has manifest format version {version!r}; this code reads version "
            f"{FORMAT_VERSION}"
        )
        self.version = version


@dataclass(frozen=True)
class Manifest:
    """Key -> content digest (lower-case hex sha256) for every file of a site."""

    files: Mapping[str, str]
    version: int = FORMAT_VERSION

    def __len__(self) -> int:
        return len(self.files)


def build_manifest(directories: Iterable[str | os.PathLike[str]]) -> Manifest:
    """Hash every file under the directories; a later directory's file wins on the same key,
    as when several sources are copied into one bucket in order.

    Symbolic links to files are read through (their content is what gets served); links to
    directories are not followed (a link loop must not hang a synth).

    Raises:
        ManifestError: a directory is missing, or a file cannot be read.
    """
    files: dict[str, str] = {}
    for directory in directories:
        root = Path(directory)
        if not root.is_dir():
            raise ManifestError(f"source directory {str(root)!r} does not exist or is not a folder")
        for key, path in _walk(root):
            files[key] = file_digest(path)
    return Manifest(files=dict(sorted(files.items())))


def _walk(root: Path) -> Iterable[tuple[str, str]]:
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            raise ManifestError(f"cannot list {folder!r}: {exc}") from exc
        for entry in entries:
            key = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, f"{key}/"))
            elif entry.is_file(follow_symlinks=True):
                yield key, entry.path


def file_digest(path: str | os.PathLike[str]) -> str:
    # Plain file descriptors: most site files are small, and for them the buffered file
    # object (or hashlib.file_digest) costs three times as much per file as the hashing.
    digest = hashlib.new(DIGEST_ALGORITHM)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            while chunk := os.read(fd, _CHUNK):
                digest.update(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ManifestError(f"cannot read {os.fspath(path)!r}: {exc}") from exc
    return digest.hexdigest()


def dumps(manifest: Manifest) -> str:
    """The canonical JSON text: the same manifest always gives the same bytes."""
    document = {
        "format": FORMAT_NAME,
        "version": manifest.version,
        "digest": DIGEST_ALGORITHM,
        "files": dict(sorted(manifest.files.items())),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def manifest_digest(manifest: Manifest) -> str:
    """sha256 of the canonical text: a content identity for the whole site."""
    return hashlib.sha256(dumps(manifest).encode("utf-8")).hexdigest()


def loads(text: str | bytes, *, source: str = "manifest") -> Manifest:
    """Parse a manifest; ``source`` names it in errors (a file name, an S3 URL).

    Raises:
        ManifestVersionError: a manifest of another format version.
        ManifestError: anything else that is not a manifest of this format.
    """
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{source} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ManifestError(f'{source} is not a manifest (no "format": {FORMAT_NAME!r})')
    version = document.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ManifestVersionError(source, version)
    if document.get("digest") != DIGEST_ALGORITHM:
        raise ManifestError(f"{source}: digest must be {DIGEST_ALGORITHM!r}")
    files = document.get("files")
    if not isinstance(files, dict):
        raise ManifestError(f'{source}: "files" must be an object of key -> digest')
    for key, digest in files.items():
        _check_entry(source, key, digest)
    return Manifest(files=dict(sorted(files.items())), version=version)


def _check_entry(source: str, key: str, digest: object) -> None:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ManifestError(
            f"{source}: key {key!r} must be a relative path without empty, '.' or '..' parts"
        )
    if not isinstance(digest, str) or len(digest) != _DIGEST_LENGTH or not set(digest) <= _HEX:
        raise ManifestError(f"{source}: the digest of {key!r} must be 64 lower-case hex digits")


def write_manifest(manifest: Manifest, path: str | os.PathLike[str]) -> None:
    Path(path).write_text(dumps(manifest) + "\n", encoding="utf-8")


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read a manifest file; a missing or unreadable file is a ManifestError too."""
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise ManifestError(f"manifest {str(path)!r} cannot be read: {exc}") from exc
    return loads(text, source=f"manifest {str(path)!r}")
