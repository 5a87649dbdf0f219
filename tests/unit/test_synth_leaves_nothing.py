"""A synth leaves nothing in the temporary directory: the Lambda asset and the
changed-only manifest are staged in a folder removed at exit, after CDK copied them into
cdk.out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_synth_leaves_the_temporary_directory_as_it_found_it(tmp_path: Path) -> None:
    scratch, out = tmp_path / "tmp", tmp_path / "cdk.out"
    scratch.mkdir()
    # changed_only_app.py stages both: the provider's asset and a manifest.
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "changed_only_app.py")],
        check=True, capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "TMPDIR": str(scratch), "CDK_OUTDIR": str(out),
             "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"},
    )
    assets = sorted(p.name for p in out.iterdir() if p.name.startswith("asset."))
    assert any(name.endswith(".cfpurge-manifest") for name in assets)
    assert any((out / name / "cloudfront_purge" / "function" / "entry.py").is_file()
               for name in assets)
    assert sorted(os.listdir(scratch)) == []
