"""Directories built once and kept under ``.build``, safe for builders running at once."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["build_once"]

_DONE = ".complete"


def build_once(target: Path, fill: Callable[[Path], str]) -> Path:
    """``target``, built by ``fill(staging)`` unless a complete one is there already.

    ``fill`` writes into an empty staging directory beside ``target`` and returns what the
    build is (written to the marker file). The staging directory is renamed into place, so a
    concurrent builder never sees half of it; when another builder won the race, its copy is
    kept and this one dropped.
    """
    if (target / _DONE).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        staging.chmod(0o755)
        (staging / _DONE).write_text(fill(staging))
        try:
            staging.rename(target)
        except OSError:
            if not (target / _DONE).exists():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
