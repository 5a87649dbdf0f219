"""The fault matrix's prune cells (localcloud/prune_matrix.py, docs/faults.md "The prune's
faults"): a prune never fails a deploy, never deletes a live file or someone else's object,
and what it leaves behind the next deploy takes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud import prune_matrix as pm
from localcloud.cloudfront import LocalCloudFront

INVALIDATION_SECONDS = 0.4


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return pm.synthesize_versions(tmp_path_factory.mktemp("prune-matrix"))


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloudFront]:
    with LocalCloudFront(invalidation_seconds=INVALIDATION_SECONDS) as local:
        yield local


@pytest.mark.parametrize("fault", pm.PRUNE_FAULTS, ids=lambda f: f.name)
def test_prune_cell(cloud: LocalCloudFront, assemblies: dict[str, Path],
                    fault: pm.PruneFault) -> None:
    row = pm.run_prune_cell(cloud, assemblies, fault, invalidation_seconds=INVALIDATION_SECONDS)
    assert row.live_kept and row.foreign_kept, row
    assert row.problems == [], row
