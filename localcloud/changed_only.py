"""The changed-only story: two versions of a site, each synthesized, deployed in turn.

``examples/changed_only_app.py`` is synthesized once per version of a generated site
(``SITE_DIR`` points it at each), then the local CloudFormation deploys version 1, then
version 2 (a content change: a couple of pages edited, a post added, one removed), and
can roll back to version 1. The handler reads the manifests from the local asset bucket,
exactly as it would from the CDK bootstrap bucket.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from localcloud.cdk_app import synthesize
from localcloud.cloudformation.lifecycle import LocalCloudFormation, Outcome, ProgressFn
from localcloud.cloudfront import LocalCloudFront

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "changed_only_app.py"
#: The stack APP defines; deployed by name, so a rename fails here rather than mislabel.
STACK_NAME = "ChangedOnlySite"
SECTIONS = ("guide", "reference", "tutorials", "api")
PAGES_PER_SECTION = 12
POSTS = 10


@dataclass(frozen=True)
class SiteVersions:
    """The synthesized assemblies of the two versions, and their site directories."""

    v1: Path
    v2: Path
    site_v1: Path
    site_v2: Path


def write_site(root: Path, version: int) -> Path:
    """A small documentation site: sections of pages, a blog, hashed assets.

    Version 2 edits two guide pages, adds a post and removes the first one (so the blog's
    index changes too). Everything else is byte for byte the same.
    """
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(ROOT / "site", root)
    script = b"console.log('site');\n"
    digest = hashlib.sha256(script).hexdigest()[:8]
    _write(root / "assets" / f"app.{digest}.js", script.decode())
    for section in SECTIONS:
        pages = [f"page-{n}.html" for n in range(1, PAGES_PER_SECTION + 1)]
        _write(root / "docs" / section / "index.html", _page(section, "".join(pages)))
        for page in pages:
            edited = version >= 2 and section == "guide" and page in ("page-3.html", "page-4.html")
            _write(root / "docs" / section / page,
                   _page(f"{section}/{page}", "revised" if edited else "first edition"))
    posts = list(range(2 if version >= 2 else 1, POSTS + (2 if version >= 2 else 1)))
    for n in posts:
        _write(root / "blog" / f"post-{n}.html", _page(f"post {n}", f"post number {n}"))
    _write(root / "blog" / "index.html", _page("blog", " ".join(str(n) for n in posts)))
    return root


def synthesize_versions(workdir: Path) -> SiteVersions:
    """Write both versions and synthesize the example app for each."""
    site_v1 = write_site(workdir / "site-v1", 1)
    site_v2 = write_site(workdir / "site-v2", 2)
    v1 = synthesize(APP, workdir / "cdk-out-v1", env={"SITE_DIR": str(site_v1)})
    v2 = synthesize(APP, workdir / "cdk-out-v2", env={"SITE_DIR": str(site_v2)})
    return SiteVersions(v1=v1, v2=v2, site_v1=site_v1, site_v2=site_v2)


def _page(title: str, body: str) -> str:
    return f"<!doctype html><title>{title}</title><main>{body}</main>\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def run(cloud: LocalCloudFront, workdir: Path, on_progress: ProgressFn | None = None,
        out: TextIO | None = None) -> list[Outcome]:
    """The demo's changed-only step: deploy v1, then v2, then a change that lands in no file."""
    versions = synthesize_versions(workdir)
    outcomes: list[Outcome] = []
    with LocalCloudFormation(versions.v1, cloud=cloud, on_progress=on_progress,
                             stack_name=STACK_NAME) as stack:
        outcomes += stack.deploy("changed-only: first deploy (v1)")
        stack.use_assembly(versions.v2)
        outcomes += stack.deploy("changed-only: content change (v1 -> v2)")
        outcomes += stack.deploy("changed-only: only TimeoutSeconds changes",
                                 overrides={"TimeoutSeconds": "900"})
    if out is not None:
        for outcome in outcomes:
            print(describe(outcome), file=out)
    return outcomes


def describe(outcome: Outcome) -> str:
    """One line: what the deploy purged, and how many cached objects it kept."""
    data = outcome.data
    paths = sorted({p for record in outcome.invalidations for p in record.paths})
    changed = data.get("ChangedFiles")
    kept = data.get("UnchangedKept")
    shown = paths if len(paths) <= 8 else f"{paths[:8]} ..."
    return (f"  {outcome.step}: scope {data.get('PurgeScope', '?')}"
            + (f", {changed} file(s) changed" if changed else "")
            + f", {len(paths)} path(s) purged {shown}"
            + (f", {kept} cached object(s) kept" if kept else "")
            + f"\n    reason: {data.get('ScopeReason', '')}")
