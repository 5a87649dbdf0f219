"""End-to-end tier: app.py synthesized once, its handler driven as CloudFormation would."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.cloudformation.lifecycle import LocalCloudFormation
from localcloud.cloudfront import LocalCloudFront
from localcloud.fault_matrix import BUILD_UMASK
from localcloud.scenarios import Story
from tests.support.synth import INVALIDATION_SECONDS, ROOT, synthesized


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
