"""End-to-end tier: app.py synthesized once, its handler driven as CloudFormation would."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.cdk_app import synthesize
from localcloud.cloudfront import LocalCloudFront
from localcloud.fault_matrix import BUILD_UMASK
from localcloud.lifecycle import LocalCloudFormation
from localcloud.scenarios import Story

ROOT = Path(__file__).resolve().parents[2]
INVALIDATION_SECONDS = 0.6
#: A folder of assemblies synthesized beforehand, one per app (named after the app file's
#: stem): the CPython 3.14 run (.ci/py314.sh) has no Node for jsii, so the host synthesizes
#: and the 3.14 run deploys what the host built, as a pipeline deploys what it synthesized.
PREBUILT_ENV = "CFP_PREBUILT_ASSEMBLIES"


def synthesized(app: Path, outdir: Path, *, umask: int = -1) -> Path:
    """``app``'s assembly: the prebuilt one when PREBUILT_ENV names a folder, else a fresh synth."""
    prebuilt = os.environ.get(PREBUILT_ENV)
    if prebuilt:
        found = Path(prebuilt) / app.stem
        if not (found / "manifest.json").is_file():
            raise FileNotFoundError(f"{PREBUILT_ENV}={prebuilt} has no assembly for {app.name}")
        return found
    return synthesize(app, outdir, umask=umask)


@pytest.fixture(scope="session")
def app_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # As a locked-down build host would (the fault matrix reads its asset as Lambda does).
    return synthesized(ROOT / "app.py", tmp_path_factory.mktemp("cdk-out"), umask=BUILD_UMASK)


@pytest.fixture
def assembly_copy(app_assembly: Path, tmp_path: Path) -> Path:
    """A private copy of the app's assembly: a test may break its asset, never the session's."""
    return Path(shutil.copytree(app_assembly, tmp_path / "cdk.out", symlinks=False))


@pytest.fixture(scope="module")
def story(app_assembly: Path) -> Iterator[Story]:
    with LocalCloudFront(invalidation_seconds=INVALIDATION_SECONDS) as cloud, \
            LocalCloudFormation(app_assembly, cloud=cloud, service_timeout=60) as stack:
        # The long wait keeps Story's own sizes: sized to leave each leg time on a busy machine.
        yield Story(stack, invalidation_seconds=INVALIDATION_SECONDS, kill_after=0.8)
