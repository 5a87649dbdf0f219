"""The provider's Lambda asset: what of ``cloudfront_purge`` it holds, and how it is staged.

It is built at synth without Docker and without network: the run-time modules of
``cloudfront_purge`` plus the installed crhelper are copied into a staging directory. CDK
hashes the asset by content, so two synths of the same code give the same hash, and the
asset holds only what runs in Lambda (boto3 comes with the runtime).
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import crhelper

import cloudfront_purge
from cdk_cloudfront_invalidation._scratch import scratch_dir

#: What of cloudfront_purge does not run in Lambda: a folder rule, so a module added to any
#: other folder ships without a list to keep in step.
NOT_IN_ASSET = ("cli",)
#: Modes of the staged asset, whatever the build host's umask: Lambda runs the code as a
#: user that is not the file owner, so files must be world-readable (AWS Lambda Developer
#: Guide, "Deploying Python Lambda functions with .zip file archives").
ASSET_FILE_MODE = 0o644
ASSET_DIR_MODE = 0o755


def runtime_files(package_dir: Path) -> list[Path]:
    """The package's Python files that the Lambda asset holds, relative to ``package_dir``."""
    return sorted(
        path.relative_to(package_dir)
        for path in package_dir.rglob("*.py")
        if path.relative_to(package_dir).parts[0] not in NOT_IN_ASSET
    )


@functools.cache
def handler_asset_dir() -> str:
    """Stage the Lambda asset once per process and return its directory.

    It lives in the process's scratch folder, removed at exit: CDK copies the asset into
    the cloud assembly (``cdk.out``) at synth, so nothing is left in the temporary directory.
    """
    staging = scratch_dir() / "asset"
    staging.mkdir()
    package_dir = Path(cloudfront_purge.__file__).parent
    target = staging / "cloudfront_purge"
    for relative in runtime_files(package_dir):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package_dir / relative, target / relative)
    crhelper_dir = Path(crhelper.__file__).parent
    shutil.copytree(
        crhelper_dir,
        staging / "crhelper",
        ignore=lambda _dir, names: [n for n in names if not n.endswith(".py")],
    )
    normalize_modes(staging)
    return str(staging)


def normalize_modes(root: Path) -> None:
    """Files 0644, folders 0755 under ``root`` (itself included), whatever the umask was.

    CDK copies these modes into the asset, and a 0600 file is unreadable by Lambda's
    runtime user: the function could not even start.
    """
    root.chmod(ASSET_DIR_MODE)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            (Path(folder) / name).chmod(ASSET_DIR_MODE)
        for name in files:
            (Path(folder) / name).chmod(ASSET_FILE_MODE)
