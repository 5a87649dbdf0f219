"""The purge scope: only what changed, or everything (with the reason) when unsure."""

from __future__ import annotations

import json

import pytest

from cloudfront_purge.changed.changes import UrlMapping
from cloudfront_purge.changed.manifest import FORMAT_NAME, Manifest, ManifestError, loads
from cloudfront_purge.changed.plan import SCOPE_CHANGED, SCOPE_FULL, plan_purge

A, B = "a" * 64, "b" * 64
V1 = Manifest({"index.html": A, "guide/index.html": A, "guide/a.html": A, "css/s.css": A})
V2 = Manifest(
    {"index.html": A, "guide/index.html": B, "guide/a.html": A, "css/s.css": A, "new.html": B}
)
MAPPING = UrlMapping()


def plan(**overrides: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "request_type": "Update",
        "new": V2,
        "old": V1,
        "mapping": MAPPING,
        "old_mapping": MAPPING,
        "full_paths": ["/*"],
        "max_paths": 15,
    }
    arguments.update(overrides)
    return plan_purge(**arguments)  # type: ignore[arg-type]


def test_an_update_purges_only_the_changed_urls() -> None:
    result = plan()
    assert result.scope == SCOPE_CHANGED
    assert result.paths == ("/guide/", "/guide/index.html", "/new.html")
    assert result.changed_files == 2
    assert result.unchanged_kept == 4  # /, /index.html, /guide/a.html, /css/s.css
    assert result.evicted == 0
    assert "2 file(s) changed (1 modified, 1 added, 0 deleted)" in result.reason


def test_a_rollback_purges_the_reverse_diff() -> None:
    result = plan(new=V1, old=V2)
    assert result.scope == SCOPE_CHANGED
    # The added page is deleted again: its cached copy must go too.
    assert result.paths == ("/guide/", "/guide/index.html", "/new.html")


def test_a_change_in_no_file_purges_nothing() -> None:
    result = plan(old=V2)
    assert (result.scope, result.paths, result.changed_files) == (SCOPE_CHANGED, (), 0)
    assert result.reason == "no file changed"


def test_create_purges_everything() -> None:
    result = plan(request_type="Create", old=None)
    assert (result.scope, result.paths, result.unchanged_kept) == (SCOPE_FULL, ("/*",), 0)
    assert result.reason.startswith("Create")


def test_no_recorded_manifest_purges_everything() -> None:
    result = plan(old=None, full_paths=["/index.html", "/guide/*"])
    assert result.scope == SCOPE_FULL
    assert result.paths == ("/index.html", "/guide/*")
    assert result.unchanged_kept is None  # not "/*": what it keeps is unknown
    assert "recorded no manifest" in result.reason


def test_an_unreadable_old_manifest_purges_everything_and_says_why() -> None:
    error = ManifestError("manifest 's3://b/k.json' cannot be read: NoSuchKey")
    result = plan(old=error)
    assert result.scope == SCOPE_FULL
    assert "cannot be used" in result.reason and "NoSuchKey" in result.reason


def test_another_format_version_purges_everything() -> None:
    text = json.dumps({"format": FORMAT_NAME, "version": 99, "digest": "sha256", "files": {}})
    with pytest.raises(ManifestError) as info:
        loads(text, source="old manifest")
    result = plan(old=info.value)
    assert result.scope == SCOPE_FULL
    assert "format changed" in result.reason and "99" in result.reason


@pytest.mark.parametrize(
    "old_mapping",
    [UrlMapping(url_prefix="/site/"), UrlMapping(index_document=None), None],
)
def test_changed_url_options_purge_everything(old_mapping: UrlMapping | None) -> None:
    result = plan(old_mapping=old_mapping)
    assert result.scope == SCOPE_FULL
    assert "URL mapping changed" in result.reason
    assert result.changed_files == 2


def test_a_star_in_a_changed_file_name_purges_everything() -> None:
    result = plan(new=Manifest({**V1.files, "a*b.html": B}))
    assert result.scope == SCOPE_FULL
    assert "'*'" in result.reason


def test_a_tight_budget_uses_a_wildcard_and_counts_what_it_evicts() -> None:
    result = plan(max_paths=2)
    assert result.scope == SCOPE_CHANGED
    assert len(result.paths) <= 2
    assert result.evicted is not None and result.unchanged_kept is not None
    assert result.paths == ("/guide/*", "/new.html")
    assert (result.evicted, result.unchanged_kept) == (1, 3)  # /guide/a.html goes too


def test_delete_is_not_planned() -> None:
    with pytest.raises(ValueError, match="Delete"):
        plan(request_type="Delete")
