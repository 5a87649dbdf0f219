"""One scratch folder per synth process, removed when the process exits.

The construct stages files that CDK then copies into the cloud assembly during
``app.synth()``: the Lambda asset and changed-only manifests. Once the process ends they
are no longer needed, so a synth leaves nothing behind in the temporary directory.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

PREFIX = "cloudfront-invalidation-synth-"


@functools.cache
def scratch_dir() -> Path:
    """This process's scratch folder, created on first use and removed at exit."""
    root = Path(tempfile.mkdtemp(prefix=PREFIX))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root
