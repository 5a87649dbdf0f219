"""URL mapping rules, one by one, and the diff of two manifests."""

from __future__ import annotations

import pytest

from cloudfront_purge.changed.changes import (
    UrlMapping,
    diff_manifests,
    encode_url,
    site_urls,
    validate_index_document,
    validate_url_prefix,
)
from cloudfront_purge.changed.manifest import Manifest
from cloudfront_purge.model import rules

A, B, C = "a" * 64, "b" * 64, "c" * 64


def urls(key: str, **options: object) -> tuple[str, ...]:
    return UrlMapping(**options).raw_urls(key)  # type: ignore[arg-type]


def test_a_file_is_served_under_the_prefix() -> None:
    assert urls("css/site.css") == ("/css/site.css",)
    assert urls("css/site.css", url_prefix="/docs/") == ("/docs/css/site.css",)


def test_an_index_document_also_changes_its_directory_url() -> None:
    assert urls("guide/index.html") == ("/guide/index.html", "/guide/")
    assert urls("a/b/index.html", url_prefix="/site/") == ("/site/a/b/index.html", "/site/a/b/")


def test_the_root_index_document_changes_the_prefix_itself() -> None:
    assert urls("index.html") == ("/index.html", "/")
    assert urls("index.html", url_prefix="/site/") == ("/site/index.html", "/site/")


def test_only_the_exact_index_name_has_a_directory_form() -> None:
    assert urls("guide/myindex.html") == ("/guide/myindex.html",)
    assert urls("guide/index.htm") == ("/guide/index.htm",)
    assert urls("guide/default.htm", index_document="default.htm") == (
        "/guide/default.htm",
        "/guide/",
    )


def test_no_index_document_means_no_directory_forms() -> None:
    assert urls("guide/index.html", index_document=None) == ("/guide/index.html",)
    assert urls("index.html", index_document=None) == ("/index.html",)


def test_encoding_follows_the_path_rules_once() -> None:
    assert encode_url("/docs/a b/ü.html") == "/docs/a%20b/%C3%BC.html"
    # A "%" or "?" in a file name is part of the name, not an escape or a query.
    assert encode_url("/100%/a?.html") == "/100%25/a%3F.html"
    assert encode_url("/x%41.html") == "/x%2541.html"
    # The engine normalises paths again: that must change nothing (no double encoding).
    paths = [encode_url(u) for u in ("/a b.html", "/100%.html", "/ü/", "/q?.html", "/~x")]
    assert rules.normalize_paths(paths) == paths


@pytest.mark.parametrize("bad", ["", "site", "/site", "site/", "//", "/a//b/", "/a*/", 3, None])
def test_url_prefix_must_start_and_end_with_a_slash(bad: object) -> None:
    with pytest.raises(rules.RuleError, match="url_prefix"):
        validate_url_prefix(bad)


def test_good_url_prefixes() -> None:
    assert validate_url_prefix("/") == "/"
    assert validate_url_prefix("/docs/v2/") == "/docs/v2/"


@pytest.mark.parametrize("bad", ["", "a/index.html", ".", "..", 7])
def test_index_document_must_be_a_file_name(bad: object) -> None:
    with pytest.raises(rules.RuleError, match="index_document"):
        validate_index_document(bad)


def test_mapping_validates_on_construction() -> None:
    with pytest.raises(rules.RuleError, match="url_prefix"):
        UrlMapping(url_prefix="docs")
    assert validate_index_document(None) is None


def test_diff_finds_modified_added_and_deleted_keys() -> None:
    old = Manifest({"same.html": A, "edit.html": A, "gone.html": A})
    new = Manifest({"same.html": A, "edit.html": B, "new.html": C})
    diff = diff_manifests(old, new)
    assert (diff.modified, diff.added, diff.deleted) == (
        ("edit.html",),
        ("new.html",),
        ("gone.html",),
    )
    assert diff.changed == ("edit.html", "gone.html", "new.html")
    assert len(diff) == 3


def test_deleted_files_and_their_directory_forms_are_changed_urls() -> None:
    old = Manifest({"index.html": A, "old/index.html": A, "keep/index.html": A, "keep/x.css": A})
    new = Manifest({"index.html": B, "keep/index.html": A, "keep/x.css": A})
    site = site_urls(diff_manifests(old, new), new, UrlMapping())
    assert site.changed == {"/index.html", "/", "/old/index.html", "/old/"}
    assert site.unchanged == {"/keep/index.html", "/keep/", "/keep/x.css"}


def test_nothing_changed_means_no_changed_urls() -> None:
    same = Manifest({"a.html": A})
    site = site_urls(diff_manifests(same, same), same, UrlMapping())
    assert site.changed == frozenset()
    assert site.unchanged == {"/a.html"}
