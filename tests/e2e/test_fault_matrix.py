"""Every lifecycle event under every fault, and every bad input, through the local
CloudFormation. Nothing is lost, nothing is duplicated, nothing hangs, no request
gets two different answers, and a rollback never fails because of the cache."""

from __future__ import annotations

import pytest

from localcloud import fault_matrix as fm
from localcloud.scenarios import Story


def _id(case: tuple[str, fm.Fault]) -> str:
    return f"{case[0]}-{case[1].name}"


@pytest.mark.parametrize("case", fm.cells(), ids=_id)
def test_cell(story: Story, case: tuple[str, fm.Fault]) -> None:
    event, fault = case
    row = fm.run_cell(story.stack, story, event, fault)
    assert row.lost == 0, row
    assert row.duplicates == 0, row
    assert row.conflicting == 0, row
    assert row.problems == [], row
