"""End-to-end tier: app.py synthesized once, its handler driven as CloudFormation would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.cloudfront import LocalCloudFront
from localcloud.demo import synthesize
from localcloud.lifecycle import LocalCloudFormation
from localcloud.scenarios import Story

ROOT = Path(__file__).resolve().parents[2]
INVALIDATION_SECONDS = 0.6
#: The long-wait scenario's function timeout. The local runtime counts process start-up and
#: imports against it (stricter than Lambda, whose Init phase has its own limit), and the
#: handler keeps at least 2 s back to hand off; a few seconds of start-up on a busy machine
#: must still leave each leg time to call CloudFront. The construct itself pins 15 minutes.
LONG_WAIT_FUNCTION_TIMEOUT = 8.0
#: Longer than the first leg can run (timeout minus the 2 s hand-off margin), whatever the
#: start-up took, so the first leg always hands off.
LONG_WAIT_SECONDS = LONG_WAIT_FUNCTION_TIMEOUT


@pytest.fixture(scope="session")
def app_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(ROOT / "app.py", tmp_path_factory.mktemp("cdk-out"))


@pytest.fixture(scope="module")
def story(app_assembly: Path) -> Iterator[Story]:
    with LocalCloudFront(invalidation_seconds=INVALIDATION_SECONDS) as cloud, \
            LocalCloudFormation(app_assembly, cloud=cloud, service_timeout=60) as stack:
        yield Story(stack, invalidation_seconds=INVALIDATION_SECONDS,
                    long_invalidation_seconds=LONG_WAIT_SECONDS,
                    long_wait_function_timeout=LONG_WAIT_FUNCTION_TIMEOUT, kill_after=0.8)
