"""Stacks deployed at once into one account, under CloudFront's account-wide request rates
(localcloud/account_scale.py; docs/faults.md, "Account scale", runs 50 of each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.account_scale import deploy_at_once, ideal_seconds
from localcloud.cloudfront.faults import CREATE
from localcloud.cloudfront.rates import RateLimit
from localcloud.fault_matrix import account_runs

STACKS = 6


def test_the_ideal_follows_the_create_rate_and_the_wildcard_limit() -> None:
    rate = RateLimit(per_second=0.5, burst=1)
    assert ideal_seconds(1, rate, 40) == 40
    assert ideal_seconds(50, rate, 40) == 98 + 40  # one create every 2 s
    # One distribution: the 16th create waits for the 1st to complete (at most 15 at once).
    assert ideal_seconds(16, rate, 40, max_in_progress=15) == 40 + 40
    # Waves of 15: the 31st waits for the 16th (created at 40 s), and so on: 128 + 40.
    assert ideal_seconds(50, rate, 40, max_in_progress=15) == 168
    assert ideal_seconds(3, RateLimit(per_second=0.5, burst=3), 10) == 10  # a burst passes


@pytest.mark.parametrize("shared", [False, True], ids=["own distributions", "one distribution"])
def test_stacks_deployed_at_once_all_succeed_once_despite_throttling(
    app_assembly: Path, shared: bool
) -> None:
    run = deploy_at_once(app_assembly, stacks=STACKS, shared_distribution=shared,
                         invalidation_seconds=0.6, service_timeout=120)
    assert run.answers == {"SUCCESS": STACKS}, run.reasons
    assert (run.invalidations, run.duplicates, run.lost, run.timed_out) == (STACKS, 0, 0, 0)
    assert run.throttled.get(CREATE, 0) > 0  # the account's rate was met, and survived
    assert run.last_success is not None and run.last_success >= run.ideal


def test_the_fault_matrix_runs_both_account_rows(app_assembly: Path) -> None:
    runs = account_runs(app_assembly, stacks=3, invalidation_seconds=0.3)
    assert [r.shared_distribution for r in runs] == [False, True]
    assert all(r.ok for r in runs), [r.reasons for r in runs]
