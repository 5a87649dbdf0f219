"""Issue 4's matrix: every lifecycle event under every fault, and every bad input, through
the local CloudFormation. Nothing is lost, nothing is duplicated, nothing hangs."""

from __future__ import annotations

import pytest

from localcloud import fault_matrix as fm
from localcloud.scenarios import Story

SURVIVABLE = [(event, fault) for fault in fm.SURVIVABLE for event in fm.EVENTS]
TERMINAL = [(event, fault) for fault in fm.TERMINAL for event in ("Create", "Update")]
BAD_INPUT = [("Create", fault) for fault in fm.BAD_INPUT]


def _id(case: tuple[str, fm.Fault]) -> str:
    return f"{case[0]}-{case[1].name}"


@pytest.mark.parametrize("case", SURVIVABLE + TERMINAL + BAD_INPUT, ids=_id)
def test_cell(story: Story, case: tuple[str, fm.Fault]) -> None:
    event, fault = case
    row = fm.run_cell(story.stack, story, event, fault)
    assert row.lost == 0, row
    assert row.duplicates == 0, row
    assert row.answered.split(", ")[0] == fault.expect, row
    for word in fault.reason_has:
        assert word in row.reason, row
    if fault.expect == "FAILED" and not fault.arm.__name__ == "<lambda>":
        assert row.seconds < 10, row
    assert row.ok, row
