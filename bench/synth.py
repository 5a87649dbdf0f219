"""Section 4: synth time and Lambda functions for 1 vs many CloudFrontInvalidation instances.

Each synth runs in a fresh ``python -m bench.synth_child`` process (jsii starts its Node
kernel anew each time) into a temporary directory.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SynthRun:
    instances: int
    process_seconds: float
    synth_seconds: float
    construct_seconds: float
    lambda_functions: int
    custom_resources: int
    resources: int
    template_bytes: int


def synth_once(instances: int) -> SynthRun:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.synth_child", str(instances), outdir],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=600,
            check=False,
        )
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"synth of {instances} failed: {done.stderr.strip()[-2000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return SynthRun(
        instances=instances,
        process_seconds=elapsed,
        synth_seconds=float(data["synth_s"]),
        construct_seconds=float(data["construct_s"]),
        lambda_functions=int(data["lambda_functions"]),
        custom_resources=int(data["custom_resources"]),
        resources=int(data["resources"]),
        template_bytes=int(data["template_bytes"]),
    )


@dataclass(frozen=True)
class SynthResult:
    one: list[SynthRun]
    many: list[SynthRun]

    @staticmethod
    def median(runs: list[SynthRun], attr: str) -> float:
        return statistics.median(float(getattr(r, attr)) for r in runs)


def measure(many: int, *, runs: int) -> SynthResult:
    """``runs`` synths of 1 and of ``many`` instances, interleaved."""
    one: list[SynthRun] = []
    lots: list[SynthRun] = []
    for _ in range(runs):
        one.append(synth_once(1))
        lots.append(synth_once(many))
    return SynthResult(one=one, many=lots)
