"""The archives a release uploads: ``python -m build`` makes the sdist and the wheel, as
docs/releasing.md tells a maintainer to, and this checks what a package index and a
packager get from them: one version everywhere, the licence file, the metadata PyPI shows
(classifiers, keywords, project URLs), ``twine check``, and an sdist that builds the same
wheel again on its own, with nothing of the checkout around it.

Builds run without build isolation (hatchling is a dev dependency), so the test needs no
network; the release itself builds isolated (docs/releasing.md). Time: about 10 s.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
import trove_classifiers

import cloudfront_purge
from hatch_build import REPOSITORY_URL_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
#: A repository address as the release workflow would pass it (an example domain, RFC 2606).
REPOSITORY = "https://git.example.org/acme/cdk-cloudfront-invalidation"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """The test run's environment without what would let a build see the checkout."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "CDK_OUTDIR", REPOSITORY_URL_VARIABLE}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def wheel_metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name).decode()


def sdist_member(sdist: Path, relative: str) -> bytes:
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/", 1)[0]
        member = archive.extractfile(f"{top}/{relative}")
        assert member is not None, relative
        return member.read()


def headers(metadata: str) -> Message:
    return Parser().parsestr(metadata, headersonly=True)


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both archives as the release builds them, and a wheel built from the sdist alone."""
    work = tmp_path_factory.mktemp("packaging")
    assert ROOT not in work.parents
    out = work / "dist"
    run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
         "--outdir", str(out), str(ROOT)],
        cwd=work, env=clean_env(**{REPOSITORY_URL_VARIABLE: REPOSITORY}), timeout=300,
    )  # fmt: skip
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    # The sdist unpacked far from the checkout and built with no repository address: what a
    # packager (or pip, installing from the sdist) does.
    unpacked = work / "unpacked"
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
    (source,) = unpacked.iterdir()
    again = work / "again"
    run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(again),
         str(source)],
        cwd=work, env=clean_env(), timeout=300,
    )  # fmt: skip
    (rebuilt,) = again.glob("*.whl")
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/", 1)[0]
        sdist_names = {n.removeprefix(f"{top}/") for n in archive.getnames()}
    return {"work": work, "sdist": sdist, "wheel": wheel, "rebuilt": rebuilt,
            "sdist_names": sdist_names}  # fmt: skip


def test_one_version_in_the_source_both_archives_and_their_names(archives: dict[str, Any]) -> None:
    init = sdist_member(archives["sdist"], "lambda/cloudfront_purge/__init__.py").decode()
    (assignment,) = [
        node for node in ast.parse(init).body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__version__"
    ]  # fmt: skip
    version = ast.literal_eval(assignment.value)
    assert version == cloudfront_purge.__version__
    assert headers(sdist_member(archives["sdist"], "PKG-INFO").decode())["Version"] == version
    assert headers(wheel_metadata(archives["wheel"]))["Version"] == version
    assert archives["sdist"].name == f"cdk_cloudfront_invalidation-{version}.tar.gz"
    assert archives["wheel"].name == f"cdk_cloudfront_invalidation-{version}-py3-none-any.whl"
    # pyproject.toml does not write it a second time.
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]


def test_the_licence_file_ships_in_both_and_matches_the_declared_licence(
    archives: dict[str, Any],
) -> None:
    licence = (ROOT / "LICENSE").read_bytes()
    assert licence.split(b"\n", 4)[1:3] == [
        b"                                 Apache License",
        b"                           Version 2.0, January 2004",
    ]
    assert b"END OF TERMS AND CONDITIONS" in licence
    assert sdist_member(archives["sdist"], "LICENSE") == licence
    with zipfile.ZipFile(archives["wheel"]) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert wheel.read(name) == licence
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    for metadata in (wheel_metadata(archives["wheel"]),
                     sdist_member(archives["sdist"], "PKG-INFO").decode()):  # fmt: skip
        fields = headers(metadata)
        assert fields["License-Expression"] == "Apache-2.0"
        assert fields.get_all("License-File") == ["LICENSE"]
        # PEP 639: the expression replaces the licence classifiers; PyPI refuses both.
        assert not [c for c in fields.get_all("Classifier") or [] if c.startswith("License ::")]


def test_metadata_a_package_index_shows(archives: dict[str, Any]) -> None:
    fields = headers(wheel_metadata(archives["wheel"]))
    classifiers = fields.get_all("Classifier") or []
    unknown = [c for c in classifiers if c not in trove_classifiers.classifiers]
    assert not unknown, f"not trove classifiers (PyPI refuses the upload): {unknown}"
    for wanted in ("Framework :: AWS CDK :: 2", "Typing :: Typed",
                   "Programming Language :: Python :: 3 :: Only"):  # fmt: skip
        assert wanted in classifiers
    # The Python classifiers start at requires-python's lower bound, with no gap.
    (lowest,) = re.findall(r">=3\.(\d+)", fields["Requires-Python"])
    minors = sorted(
        int(c.rsplit(".", 1)[1]) for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )  # fmt: skip
    assert minors and minors[0] == int(lowest)
    assert minors == list(range(minors[0], minors[-1] + 1))
    keywords = fields["Keywords"].split(",")
    assert {"aws-cdk", "cloudfront", "invalidation"} <= set(keywords)
    assert "CloudFront" in fields["Summary"] and "CDK" in fields["Summary"]
    assert fields["Description-Content-Type"] == "text/markdown"
    # The URLs come from the repository address the build was given, pinned to the tag.
    version = fields["Version"]
    assert sorted(fields.get_all("Project-URL") or []) == sorted([
        f"Source, {REPOSITORY}",
        f"Documentation, {REPOSITORY}/blob/v{version}/README.md",
        f"Changelog, {REPOSITORY}/blob/v{version}/CHANGELOG.md",
        f"Issues, {REPOSITORY}/issues",
    ])  # fmt: skip


def test_sdist_holds_what_a_packager_needs_and_no_tests(archives: dict[str, Any]) -> None:
    names = archives["sdist_names"]
    for needed in ("LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "PKG-INFO",
                   "hatch_build.py"):  # fmt: skip
        assert needed in names, needed
    # Every file of both packages, py.typed included.
    for package in (ROOT / "constructs" / "cdk_cloudfront_invalidation",
                    ROOT / "lambda" / "cloudfront_purge"):  # fmt: skip
        sources = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        assert any(p.name == "py.typed" for p in sources)
        for path in sources:
            assert str(path.relative_to(ROOT)) in names, path
    assert sdist_member(archives["sdist"], "CHANGELOG.md") == (ROOT / "CHANGELOG.md").read_bytes()
    tops = {n.split("/", 1)[0] for n in names if n}
    assert tops <= {"constructs", "lambda", "LICENSE", "README.md", "CHANGELOG.md",
                    "pyproject.toml", "PKG-INFO", "hatch_build.py", ".gitignore"}, tops  # fmt: skip
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_sdist_alone_builds_the_same_wheel(archives: dict[str, Any]) -> None:
    """Built from the unpacked sdist with no repository address given: the same files, the
    same metadata, the release's URLs included (kept from the sdist's PKG-INFO)."""
    with zipfile.ZipFile(archives["wheel"]) as first, zipfile.ZipFile(archives["rebuilt"]) as again:
        assert first.namelist() == again.namelist()
        for name in first.namelist():
            assert first.read(name) == again.read(name), name
    assert archives["rebuilt"].name == archives["wheel"].name


def test_twine_check_passes_on_both(archives: dict[str, Any]) -> None:
    # --strict: warnings (a README PyPI cannot render, missing fields) fail too.
    output = run(
        [sys.executable, "-m", "twine", "check", "--strict",
         archives["sdist"].name, archives["wheel"].name],
        cwd=archives["sdist"].parent, env=clean_env(NO_COLOR="1", COLUMNS="200"), timeout=120,
    )  # fmt: skip
    # Colour codes, if twine's console adds any, and its line wrapping.
    output = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", output).split())
    for archive in (archives["sdist"], archives["wheel"]):
        assert f"Checking {archive.name}: PASSED" in output, output
    assert "WARNING" not in output and "ERROR" not in output, output


def test_the_changelog_has_a_section_for_this_version(archives: dict[str, Any]) -> None:
    """A development version collects under Unreleased; a release has its dated section
    (docs/releasing.md, step 2), so a release cannot be built with an unwritten changelog."""
    changelog = sdist_member(archives["sdist"], "CHANGELOG.md").decode()
    sections = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d\d-\d\d))?$", changelog, re.MULTILINE)
    assert sections and sections[0][0] == "Unreleased", sections
    version = cloudfront_purge.__version__
    if ".dev" in version:
        assert version.split(".dev")[0] not in [name for name, _ in sections]
    else:
        assert (version, sections[1][1]) == sections[1] and sections[1][1], sections
