"""Section 2: cold start and asset size.

A cold start here is a fresh ``python -I -S -B`` process whose ``sys.path`` is the
synthesized Lambda asset directory plus a directory holding only boto3 and its
dependencies (``localcloud.awslambda.runtime.build_runtime_dir``), as Lambda's Python runtime
sees it. ``-B``: nothing is compiled into the asset directory, so the asset's modules are
compiled on every start, as from a Lambda zip without ``.pyc`` files; boto3 comes with its
``.pyc`` files, as the runtime's does.

Two figures per process: the import alone, timed inside the child (``perf_counter``
around the import), and process start to ready, timed by the parent (spawn until the
child's line arrives on its stdout; includes interpreter start-up, the same for both).
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: Lambda's init imports the handler string's module: the provider's entry point, which in
#: turn loads the real handler (crhelper, boto3, the engine).
HANDLER_IMPORT = "import cloudfront_purge.function.entry"
FLOOR_IMPORT = 'import boto3; boto3.client("cloudfront")'
_BUCKET_DEPLOYMENT_HANDLER = (
    "package/custom-resource-handlers/dist/aws-s3-deployment/bucket-deployment-handler/"
)
_AWSCLI_LAYER = "package/lib/layer.zip"

_CHILD = """
import sys, time
t0 = time.perf_counter()
sys.path[:0] = {paths!r}
{code}
t1 = time.perf_counter()
sys.stdout.write(repr(t1 - t0) + "\\n")
sys.stdout.flush()
import os
os._exit(0)
"""


@dataclass(frozen=True)
class Timing:
    import_seconds: float
    ready_seconds: float


@dataclass(frozen=True)
class ColdStart:
    runs: int
    handler: list[Timing]
    floor: list[Timing]

    @staticmethod
    def _median(values: Sequence[Timing], attr: str) -> float:
        return float(statistics.median(getattr(v, attr) for v in values))

    @property
    def handler_import(self) -> float:
        return self._median(self.handler, "import_seconds")

    @property
    def floor_import(self) -> float:
        return self._median(self.floor, "import_seconds")

    @property
    def handler_ready(self) -> float:
        return self._median(self.handler, "ready_seconds")

    @property
    def floor_ready(self) -> float:
        return self._median(self.floor, "ready_seconds")


def child_env() -> dict[str, str]:
    """What Lambda gives the process that matters here: a region and credentials."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "LANG": "C.UTF-8",
    }


def time_once(code: str, paths: Sequence[str], *, cwd: str) -> Timing:
    """One fresh process: the import's own time, and spawn-to-ready as the parent sees it."""
    script = _CHILD.format(paths=list(paths), code=code)
    started = time.perf_counter()
    with subprocess.Popen(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, "-I", "-S", "-B", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        cwd=cwd,
        text=True,
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        ready = time.perf_counter() - started
        _, err = process.communicate(timeout=60)
    if process.returncode != 0 or not line.strip():
        raise RuntimeError(f"cold-start child failed ({process.returncode}): {err.strip()[-2000:]}")
    return Timing(import_seconds=float(line), ready_seconds=ready)


def measure(asset_dir: str, runtime_dir: str, *, runs: int, warmup: int = 1) -> ColdStart:
    """``runs`` of each, interleaved (handler, floor, handler, ...), after warm-up runs."""
    paths = [asset_dir, runtime_dir]
    handler: list[Timing] = []
    floor: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as cwd:
        for _ in range(warmup):
            time_once(HANDLER_IMPORT, paths, cwd=cwd)
            time_once(FLOOR_IMPORT, paths, cwd=cwd)
        for _ in range(runs):
            handler.append(time_once(HANDLER_IMPORT, paths, cwd=cwd))
            floor.append(time_once(FLOOR_IMPORT, paths, cwd=cwd))
    pycache = [p for p in Path(asset_dir).rglob("__pycache__")]
    if pycache:
        raise RuntimeError(f"the asset dir got compiled files: {pycache[0]}")
    return ColdStart(runs=runs, handler=handler, floor=floor)


def zipped_size(directory: str | Path) -> int:
    """Bytes of a deflate zip of the directory (no __pycache__), as CDK would upload it."""
    root = Path(directory)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(root).as_posix())
    return len(buffer.getvalue())


@dataclass(frozen=True)
class PeerAsset:
    """aws-cdk BucketDeployment's handler asset, zipped, and the AWS CLI layer it adds."""

    handler_zipped: int | None
    handler_files: tuple[str, ...]
    layer_zipped: int | None
    source: str


def bucket_deployment_asset() -> PeerAsset:
    """Find BucketDeployment's handler inside aws-cdk-lib's jsii tarball and zip it.

    The handler (``bucket-deployment-handler/index.py``) runs with an AWS CLI layer
    (``aws_cdk.asset_awscli_v1``: ``layer.zip``), which is reported apart.
    """
    import aws_cdk

    jsii_dir = Path(aws_cdk.__file__).parent / "_jsii"
    tarballs = sorted(jsii_dir.glob("aws-cdk-lib@*.jsii.tgz"))
    handler_zipped: int | None = None
    files: list[str] = []
    source = "not found"
    if tarballs:
        buffer = io.BytesIO()
        with (
            tarfile.open(tarballs[-1]) as tar,
            zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith(_BUCKET_DEPLOYMENT_HANDLER):
                    data = tar.extractfile(member)
                    assert data is not None
                    name = member.name[len(_BUCKET_DEPLOYMENT_HANDLER) :]
                    archive.writestr(name, data.read())
                    files.append(name)
        if files:
            handler_zipped = len(buffer.getvalue())
            source = f"{tarballs[-1].name}:{_BUCKET_DEPLOYMENT_HANDLER}"
    layer_zipped: int | None = None
    # aws_cdk.asset_awscli_v1 is a namespace package installed beside aws_cdk.
    for tgz in sorted((jsii_dir.parent / "asset_awscli_v1" / "_jsii").glob("*.jsii.tgz")):
        with tarfile.open(tgz) as tar:
            for member in tar.getmembers():
                if member.name == _AWSCLI_LAYER:
                    layer_zipped = member.size
    return PeerAsset(
        handler_zipped=handler_zipped,
        handler_files=tuple(files),
        layer_zipped=layer_zipped,
        source=source,
    )


def asset_listing(asset_dir: str) -> list[str]:
    root = Path(asset_dir)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def to_json(result: ColdStart) -> str:
    return json.dumps(
        {
            "handler": [t.__dict__ for t in result.handler],
            "floor": [t.__dict__ for t in result.floor],
        }
    )
