"""Fixtures every functional test gets."""

from __future__ import annotations

import pytest

from tests.support.cli import CI_VARIABLES


@pytest.fixture(autouse=True)
def no_ci_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    # A CI run id in the environment would stand in for a missing --run-id of the command line.
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
