"""The runtime directory of the local Lambda: what ``/var/runtime`` holds, nothing else.

The Lambda Python runtime ships boto3 and its dependencies beside the standard library,
and awslambdaric, its runtime interface client (which sets up the function's logging);
a handler that imports anything its asset does not bundle fails with
``Runtime.ImportModuleError``. The directory holds symlinks into this interpreter's
site-packages.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

from localcloud._cache import build_once

__all__ = ["RUNTIME_MODULES", "build_runtime_dir"]

#: What ``import boto3; boto3.client(...)`` loads beyond the standard library (checked by
#: running it under ``python -I -S`` and listing ``sys.modules``), then the runtime client.
RUNTIME_MODULES: tuple[str, ...] = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "urllib3",
    "six",
    # The runtime interface client and what its bootstrap imports (its native
    # ``runtime_client`` is optional there and not needed here: no Runtime API).
    "awslambdaric",
    "simplejson",
)


_DEFAULT_CACHE = Path(__file__).resolve().parents[2] / ".build" / "lambda-runtime"


def build_runtime_dir(cache_root: Path | None = None) -> Path:
    """Build (once) a directory holding only boto3 and its dependencies, as symlinks.

    The directory name is a hash of the interpreter and the linked paths, so a changed
    venv gets a new one. Built in a temporary sibling and renamed into place, so
    concurrent builders never see half a directory.
    """
    root = cache_root or _DEFAULT_CACHE
    links: dict[str, Path] = {}
    dists = importlib.metadata.packages_distributions()
    for module in RUNTIME_MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{module} is not installed in {sys.prefix}: the runtime needs it")
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
        else:
            source = Path(spec.origin)
        links[source.name] = source
        for dist_name in dists.get(module, []):
            normalized = re.sub(r"[-_.]+", "_", dist_name)
            for info in source.parent.glob(f"{normalized}-*.dist-info"):
                links[info.name] = info
    digest = hashlib.sha256(
        "\n".join(
            [sys.executable, sys.version, *(f"{k}={v}" for k, v in sorted(links.items()))]
        ).encode()
    ).hexdigest()[:16]
    target = root / f"py{sys.version_info[0]}{sys.version_info[1]}-{digest}"

    def fill(staging: Path) -> str:
        for name, source in links.items():
            (staging / name).symlink_to(source, target_is_directory=source.is_dir())
        return "\n".join(sorted(links)) + "\n"

    return build_once(target, fill)
