"""hatch_build.py: the project URLs come from the repository address the release gives, or
are left out; a malformed address fails the build naming the variable."""

from __future__ import annotations

from typing import Any

import pytest

from hatch_build import REPOSITORY_URL_VARIABLE, RepositoryUrlsHook, project_urls

REPOSITORY = "https://git.example.org/acme/cdk-cloudfront-invalidation"


def hook() -> RepositoryUrlsHook:
    return RepositoryUrlsHook(".", {})


def test_urls_are_relative_to_the_repository_and_pinned_to_the_release_tag() -> None:
    assert project_urls(REPOSITORY + "/", "1.2.0") == {
        "Source": REPOSITORY,
        "Documentation": f"{REPOSITORY}/blob/v1.2.0/README.md",
        "Changelog": f"{REPOSITORY}/blob/v1.2.0/CHANGELOG.md",
        "Issues": f"{REPOSITORY}/issues",
    }


def test_without_a_repository_address_the_metadata_has_no_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(REPOSITORY_URL_VARIABLE, raising=False)
    metadata: dict[str, Any] = {"version": "1.2.0"}
    hook().update(metadata)
    assert "urls" not in metadata
    monkeypatch.setenv(REPOSITORY_URL_VARIABLE, "   ")
    hook().update(metadata)
    assert "urls" not in metadata


def test_the_address_from_the_environment_fills_the_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REPOSITORY_URL_VARIABLE, REPOSITORY)
    metadata: dict[str, Any] = {"version": "1.2.0"}
    hook().update(metadata)
    assert metadata["urls"]["Changelog"] == f"{REPOSITORY}/blob/v1.2.0/CHANGELOG.md"


def test_urls_already_in_the_metadata_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wheel built from the sdist: hatchling read the URLs from its PKG-INFO."""
    monkeypatch.setenv(REPOSITORY_URL_VARIABLE, "https://elsewhere.example.org/fork/repo")
    metadata: dict[str, Any] = {"version": "1.2.0", "urls": {"Source": REPOSITORY}}
    hook().update(metadata)
    assert metadata["urls"] == {"Source": REPOSITORY}


@pytest.mark.parametrize(
    "address",
    [
        "git.example.org/acme/repo",  # no scheme
        "http://git.example.org/acme/repo",  # not https
        "https://git.example.org",  # no repository path
        "https://git.example.org/",
        "https:///acme/repo",  # no host
        "https://git.example.org/acme/repo?tab=readme",
    ],
)
def test_a_malformed_address_fails_the_build_naming_the_variable(address: str) -> None:
    with pytest.raises(ValueError, match=REPOSITORY_URL_VARIABLE) as caught:
        project_urls(address, "1.2.0")
    assert "https://<host>/<owner>/<repository>" in str(caught.value)
    assert repr(address) in str(caught.value)
