"""Build hook: the project URLs a package index shows, relative to the repository.

The documentation (README.md), the changelog (CHANGELOG.md) and the issue tracker live in
the repository, whose public address this checkout cannot know. The release workflow
says it, in ``CDK_CLOUDFRONT_INVALIDATION_REPOSITORY_URL`` (for GitHub Actions:
``${{ github.server_url }}/${{ github.repository }}``), and this hook derives the URLs
from it; a build without it carries no Project-URL at all rather than a guessed host
(docs/releasing.md, "Project URLs").

Documentation and Changelog point at the release's tag (``v<version>``), so they describe
the code in the archive, not whatever the default branch holds later. The paths follow
GitHub's layout (``/blob/<ref>/<file>``, ``/issues``).

A wheel built from the sdist keeps the sdist's URLs: hatchling takes dynamic fields from
the sdist's PKG-INFO, and this hook leaves a ``urls`` it finds untouched.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from hatchling.metadata.plugin.interface import MetadataHookInterface

#: Set by the release workflow to the repository's web address, e.g. https://host/owner/repo.
REPOSITORY_URL_VARIABLE = "CDK_CLOUDFRONT_INVALIDATION_REPOSITORY_URL"


def project_urls(repository_url: str, version: str) -> dict[str, str]:
    """The Project-URLs for a release of ``version`` from the repository at ``repository_url``.

    Raises:
        ValueError: the address is not an https URL with a host and a path (PyPI refuses
            other URLs at upload, long after the build).
    """
    base = repository_url.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.netloc or parts.path in ("", "/") or parts.query:
        message = (
            f"{REPOSITORY_URL_VARIABLE} must be the repository's https address, such as "
            f"https://<host>/<owner>/<repository>, got {repository_url!r}"
        )
        raise ValueError(message)
    tag = f"v{version}"
    return {
        "Source": base,
        "Documentation": f"{base}/blob/{tag}/README.md",
        "Changelog": f"{base}/blob/{tag}/CHANGELOG.md",
        "Issues": f"{base}/issues",
    }


class RepositoryUrlsHook(MetadataHookInterface):
    """Fills ``urls`` from :data:`REPOSITORY_URL_VARIABLE`, or leaves it out."""

    PLUGIN_NAME = "custom"

    def update(self, metadata: dict[str, Any]) -> None:
        if "urls" in metadata:  # from the sdist's PKG-INFO: keep what the release said
            return
        repository_url = os.environ.get(REPOSITORY_URL_VARIABLE, "")
        if repository_url.strip():
            metadata["urls"] = project_urls(repository_url, str(metadata["version"]))
