"""Synthesize a CDK app as ``cdk synth`` would: the demo, the scenarios and the tests share it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["synthesize"]


def synthesize(
    app: Path, outdir: Path, env: Mapping[str, str] | None = None, *, umask: int = -1
) -> Path:
    """Run the CDK app as ``cdk synth`` would, into ``outdir`` (``env``: added variables;
    under ``umask``, if given)."""
    env = {**os.environ, **(env or {}), "CDK_OUTDIR": str(outdir),
           "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run([sys.executable, str(app)], check=True, env=env, cwd=app.parent, umask=umask)
    return outdir
