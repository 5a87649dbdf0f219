"""The benchmark run's options, shared by ``python -m bench`` and its sections."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Options"]


@dataclass(frozen=True)
class Options:
    quick: bool
    factor: float
    scale_factor: float
    count: int
    duration_high: float
    concurrency: int
    seed: int
    cold_runs: int
    synth_runs: int
    synth_many: int
    scale_sizes: tuple[int, ...]
    scale_wait_sizes: tuple[int, ...]
    scale_duration: float
    account_stacks: int
    account_duration: float
    sections: tuple[str, ...]
    out: Path
    write_committed: bool
    #: Replace only the sections run in bench/RESULTS.md (``--update-committed``).
    update_committed: bool = False
