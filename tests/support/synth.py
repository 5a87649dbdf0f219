"""The project's apps synthesized for the end-to-end tier, or taken prebuilt."""

from __future__ import annotations

import os
from pathlib import Path

from localcloud.cdk_app import synthesize

ROOT = Path(__file__).resolve().parents[2]
INVALIDATION_SECONDS = 0.6
#: A folder of assemblies synthesized beforehand, one per app (named after the app file's
#: stem): the CPython 3.14 run (.ci/py314.sh) has no Node for jsii, so the host synthesizes
#: and the 3.14 run deploys what the host built, as a pipeline deploys what it synthesized.
PREBUILT_ENV = "CFP_PREBUILT_ASSEMBLIES"


def synthesized(app: Path, outdir: Path, *, umask: int = -1) -> Path:
    """``app``'s assembly: the prebuilt one when PREBUILT_ENV names a folder, else a fresh synth."""
    prebuilt = os.environ.get(PREBUILT_ENV)
    if prebuilt:
        found = Path(prebuilt) / app.stem
        if not (found / "manifest.json").is_file():
            raise FileNotFoundError(f"{PREBUILT_ENV}={prebuilt} has no assembly for {app.name}")
        return found
    return synthesize(app, outdir, umask=umask)
