"""The site manifest: what the construct writes at synth and the handler reads at run time."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cloudfront_purge.changed.manifest import (
    FORMAT_NAME,
    FORMAT_VERSION,
    Manifest,
    ManifestError,
    ManifestVersionError,
    build_manifest,
    dumps,
    loads,
    manifest_digest,
    read_manifest,
    write_manifest,
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_site(root: Path, files: dict[str, bytes]) -> Path:
    for key, data in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_keys_are_relative_posix_paths_and_digests_are_sha256_of_content(tmp_path: Path) -> None:
    site = make_site(
        tmp_path / "site",
        {"index.html": b"<h1>home</h1>", "docs/a b/ü.html": b"x", "empty.txt": b""},
    )
    manifest = build_manifest([site])
    assert dict(manifest.files) == {
        "docs/a b/ü.html": sha(b"x"),
        "empty.txt": sha(b""),
        "index.html": sha(b"<h1>home</h1>"),
    }
    assert manifest.version == FORMAT_VERSION


def test_a_later_directory_wins_on_the_same_key(tmp_path: Path) -> None:
    first = make_site(tmp_path / "one", {"a.html": b"one", "only-one.html": b"1"})
    second = make_site(tmp_path / "two", {"a.html": b"two"})
    files = build_manifest([first, second]).files
    assert files["a.html"] == sha(b"two")
    assert files["only-one.html"] == sha(b"1")


def test_the_text_is_deterministic_and_carries_format_and_version(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", {f"d{i % 3}/f{i}.html": bytes([i]) for i in range(20)})
    text = dumps(build_manifest([site]))
    assert text == dumps(build_manifest([site]))
    document = json.loads(text)
    assert document["format"] == FORMAT_NAME
    assert document["version"] == FORMAT_VERSION
    assert document["digest"] == "sha256"
    assert list(document["files"]) == sorted(document["files"])
    # The same files in another order give the same bytes, so the same digest.
    shuffled = Manifest(dict(reversed(list(build_manifest([site]).files.items()))))
    assert manifest_digest(shuffled) == manifest_digest(build_manifest([site]))


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    manifest = build_manifest([make_site(tmp_path / "s", {"x/y.css": b"body{}"})])
    write_manifest(manifest, tmp_path / "m.json")
    assert read_manifest(tmp_path / "m.json") == manifest


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"nope.*does not exist"):
        build_manifest([tmp_path / "nope"])


def test_a_missing_manifest_file_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot be read"):
        read_manifest(tmp_path / "gone.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "is not JSON"),
        ("[]", "is not a manifest"),
        ('{"format": "other"}', "is not a manifest"),
        (
            '{"format": "cloudfront-purge-manifest", "version": 1, "digest": "md5", "files": {}}',
            "digest must be 'sha256'",
        ),
        (
            '{"format": "cloudfront-purge-manifest", "version": 1, "digest": "sha256", "files": []}',
            '"files" must be an object',
        ),
        (
            '{"format": "cloudfront-purge-manifest", "version": 1, "digest": "sha256", '
            '"files": {"../x": "' + "0" * 64 + '"}}',
            "must be a relative path",
        ),
        (
            '{"format": "cloudfront-purge-manifest", "version": 1, "digest": "sha256", '
            '"files": {"/x": "' + "0" * 64 + '"}}',
            "must be a relative path",
        ),
        (
            '{"format": "cloudfront-purge-manifest", "version": 1, "digest": "sha256", '
            '"files": {"x": "abc"}}',
            "64 lower-case hex",
        ),
    ],
)
def test_what_is_not_a_manifest_of_this_format_is_refused(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        loads(text, source="test manifest")


def test_another_format_version_is_its_own_error() -> None:
    text = json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION + 1, "files": {}})
    with pytest.raises(ManifestVersionError, match="version 2; this code reads version 1") as info:
        loads(text)
    assert info.value.version == FORMAT_VERSION + 1
