"""aws-cdk-lib's own BucketDeployment handler, run by the local Lambda with its AWS CLI layer.

``Custom::CDKBucketDeployment`` is backed by a singleton function whose code (``index.py``)
and whose layer (``AwsCliLayer``: the AWS CLI v1 with its own botocore, at ``awscli/aws``)
are both assets of the synthesized assembly. Lambda extracts a function's layers under
``/opt`` (AWS Lambda Developer Guide, "Adding layers to functions"); the handler runs
``/opt/awscli/aws s3 sync --delete ...`` and the CLI script starts with
``#!/var/lang/bin/python``, the runtime's interpreter. Neither path exists on this host,
so exactly two strings change, and nothing else of the peer's code:

1. in a copy of the handler's ``index.py``, the literal ``"/opt/awscli/aws"`` becomes the
   same path under a private directory holding the extracted layers (:func:`mount_layers`);
2. in that directory, a script whose first line is ``#!/var/lang/bin/python`` gets the
   local Lambda's interpreter instead, run with ``-S -E`` so that, as under
   ``/var/lang/bin/python``, only the layer's own packages and the standard library are
   importable (the layer bundles botocore, s3transfer, ...).

Either change fails loudly (:class:`LayerError`) when the string is not found exactly
once, so a new aws-cdk-lib that moves the CLI is noticed, not silently run elsewhere.
The CLI reaches the local S3 through ``AWS_ENDPOINT_URL`` (the layer's botocore honours it
from 1.31 on; :func:`layer_botocore_version` tells which one it bundles).
See docs/local-cloud.md, "The peer's BucketDeployment handler".
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from localcloud._cache import build_once
from localcloud.awslambda.runtime import LambdaFunction
from localcloud.cloudformation.assembly import AssemblyError, StackTemplate
from localcloud.cloudformation.dependencies import direct_dependencies

__all__ = [
    "BUCKET_DEPLOYMENT_TYPE",
    "CLI_IN_HANDLER",
    "LAMBDA_PYTHON_SHEBANG",
    "LayerError",
    "MountedFunction",
    "deletion_order",
    "dependency_order",
    "layer_botocore_version",
    "layer_sources",
    "mount_function",
    "mount_layers",
    "mounted_layers",
]

BUCKET_DEPLOYMENT_TYPE = "Custom::CDKBucketDeployment"
#: The literal the handler's ``aws_command`` runs (aws-cdk-lib's bucket-deployment-handler).
CLI_IN_HANDLER = '"/opt/awscli/aws"'
#: Where Lambda extracts layers, and the layer's path to the CLI within it.
LAYER_ROOT = "/opt"
#: The first line of the layer's scripts: the Lambda runtime's interpreter.
LAMBDA_PYTHON_SHEBANG = b"#!/var/lang/bin/python"
#: Linux reads at most this many bytes of a ``#!`` line (BINPRM_BUF_SIZE in recent kernels).
_SHEBANG_LIMIT = 255
#: botocore reads ``AWS_ENDPOINT_URL`` from this version on (AWS SDKs and Tools Reference
#: Guide, "Service-specific endpoints"); an older CLI would ignore the local endpoint.
MIN_LAYER_BOTOCORE = (1, 31)
_BOTOCORE_INFO = re.compile(r"^botocore-(?P<version>[0-9][^-]*)\.dist-info$")


class LayerError(AssemblyError):
    """A layer or the handler cannot be prepared the documented way (see module doc)."""


# ---------------------------------------------------------------------------------------
# layers of a function, in the assembly


def layer_sources(stack: StackTemplate, function_logical_id: str) -> list[Path]:
    """The staged assets (zip file or directory) of the function's ``Layers``, in order.

    Raises:
        LayerError: a layer that is not an ``AWS::Lambda::LayerVersion`` of the stack,
            or whose content cannot be found in the assembly.
    """
    where = f"{stack.name}/{function_logical_id}"
    layers = stack.resource(function_logical_id).get("Properties", {}).get("Layers", [])
    sources: list[Path] = []
    for layer in layers:
        if not (isinstance(layer, dict) and set(layer) == {"Ref"}):
            raise LayerError(
                f"{where}: layer {json.dumps(layer)} is not a Ref to a LayerVersion of the "
                "stack; only the assembly's own layers can be mounted locally"
            )
        layer_id = str(layer["Ref"])
        resource = stack.resources.get(layer_id)
        if resource is None or resource.get("Type") != "AWS::Lambda::LayerVersion":
            raise LayerError(f"{where}: layer {layer_id} is not an AWS::Lambda::LayerVersion")
        sources.append(_layer_source(stack, layer_id, resource))
    return sources


def _layer_source(stack: StackTemplate, layer_id: str, resource: Mapping[str, Any]) -> Path:
    asset_path = resource.get("Metadata", {}).get("aws:asset:path")
    source: Path | None = None
    if isinstance(asset_path, str):
        source = stack.assembly_dir / asset_path
    else:
        key = resource.get("Properties", {}).get("Content", {}).get("S3Key")
        if isinstance(key, str):
            source = stack.asset_sources.get(key)
    if source is None or not source.exists():
        raise LayerError(
            f"{stack.name}/{layer_id}: the layer's content is not in the assembly "
            f"(looked for {source or 'an aws:asset:path or a matching asset manifest entry'})"
        )
    return source


# ---------------------------------------------------------------------------------------
# mounting


def mount_layers(sources: Sequence[Path], python: str, mount: Path) -> None:
    """Extract ``sources`` into ``mount`` in order (a later layer's file wins, as in
    Lambda), keeping file modes, then point ``#!/var/lang/bin/python`` scripts at
    ``python -S -E``.

    Raises:
        LayerError: a source that is neither a zip nor a directory, an interpreter path
            that cannot be written on a ``#!`` line.
    """
    shebang = f"#!{python} -SE".encode()  # Linux passes one argument: cluster the flags
    if len(shebang) > _SHEBANG_LIMIT or any(c in python for c in " \t\n"):
        raise LayerError(
            f"interpreter {python!r} cannot be written on a #! line (no blanks, at most "
            f"{_SHEBANG_LIMIT} bytes): run the local Lambda from a shorter path"
        )
    mount.mkdir(parents=True, exist_ok=True)
    for source in sources:
        if source.is_dir():
            shutil.copytree(source, mount, dirs_exist_ok=True, symlinks=True)
        elif source.is_file() and zipfile.is_zipfile(source):
            _extract_with_modes(source, mount)
        else:
            raise LayerError(f"layer asset {source} is neither a directory nor a zip")
    for script in _scripts(mount):
        body = script.read_bytes()
        if body.startswith(LAMBDA_PYTHON_SHEBANG + b"\n"):
            script.write_bytes(shebang + body[len(LAMBDA_PYTHON_SHEBANG):])


_DEFAULT_CACHE = Path(__file__).resolve().parents[2] / ".build" / "lambda-layers"


def mounted_layers(
    sources: Sequence[Path], python: str, cache_root: Path | None = None
) -> Path:
    """A directory with ``sources`` mounted by :func:`mount_layers`, built once per set of
    layer assets and interpreter and kept (extracting the 22 MB CLI layer takes seconds).

    A zip layer is known by its content (each new synth stages it at a new path), a
    directory by its path and modification time. Built
    in a temporary sibling and renamed into place: concurrent builders never see half of it.
    """
    root = cache_root or _DEFAULT_CACHE
    identity = [python, *(_layer_identity(src) for src in sources)]
    digest = hashlib.sha256("\n".join(identity).encode()).hexdigest()[:16]
    target = root / digest

    def fill(staging: Path) -> str:
        mount_layers(sources, python, staging / "opt")
        return "\n".join(identity) + "\n"

    return build_once(target, fill) / "opt"


def _layer_identity(source: Path) -> str:
    if source.is_file():
        digest = hashlib.sha256()
        with source.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return f"sha256:{digest.hexdigest()}"
    return f"dir:{source.resolve()}:{source.stat().st_mtime_ns}"


def _extract_with_modes(archive: Path, target: Path) -> None:
    """zipfile drops Unix modes; Lambda keeps them (the CLI must stay executable)."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            path = Path(zipped.extract(info, target))
            mode = (info.external_attr >> 16) & 0o7777
            if mode and not info.is_dir():
                path.chmod(mode | stat.S_IRUSR)


def _scripts(mount: Path) -> Iterable[Path]:
    """Regular files one or two levels down (``awscli/aws``, ``bin/x``): where layers keep
    their commands. Packages deeper down are imported, not executed."""
    for first in mount.iterdir():
        candidates = list(first.iterdir()) if first.is_dir() else [first]
        for path in candidates:
            if path.is_file() and not path.is_symlink() and path.stat().st_mode & 0o111:
                yield path


def layer_botocore_version(mount: Path) -> str | None:
    """The botocore version the mounted AWS CLI bundles (None: no CLI there)."""
    cli = mount / "awscli"
    if not cli.is_dir():
        return None
    for entry in cli.iterdir():
        match = _BOTOCORE_INFO.match(entry.name)
        if match:
            return match.group("version")
    return None


class MountedFunction:
    """A BucketDeployment function with its layers under a private directory.

    ``function`` is the function to register: the handler copied, with the one path
    rewritten. :meth:`close` removes the copy (the mounted layers stay cached, see
    :func:`mounted_layers`; ``layer_cache`` chooses where).
    """

    def __init__(
        self,
        function: LambdaFunction,
        layers: Sequence[Path],
        python: str,
        *,
        layer_cache: Path | None = None,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="localcloud-bucket-deployment-"))
        try:
            self.mount = mounted_layers(layers, python, layer_cache)
            cli = self.mount / "awscli" / "aws"
            if not (cli.is_file() and cli.stat().st_mode & 0o111):
                raise LayerError(
                    f"function {function.name}: its layers hold no executable awscli/aws "
                    f"(the handler runs {CLI_IN_HANDLER})"
                )
            _check_endpoint_support(self.mount, function.name)
            task = self.root / "task"
            shutil.copytree(function.asset_dir, task, symlinks=True)
            _rewrite_cli_path(task / "index.py", cli, function.name)
            self.function = replace(function, asset_dir=task)
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _check_endpoint_support(mount: Path, name: str) -> None:
    version = layer_botocore_version(mount)
    parts = tuple(int(p) for p in re.findall(r"\d+", version or "")[:2])
    if version is None or parts < MIN_LAYER_BOTOCORE:
        wanted = ".".join(str(p) for p in MIN_LAYER_BOTOCORE)
        raise LayerError(
            f"function {name}: the layer's AWS CLI bundles botocore {version or '(none found)'}; "
            f"it needs {wanted} or newer to honour AWS_ENDPOINT_URL and reach the local S3"
        )


def _rewrite_cli_path(index: Path, cli: Path, name: str) -> None:
    try:
        source = index.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LayerError(f"function {name}: no index.py in its asset") from None
    found = source.count(CLI_IN_HANDLER)
    if found != 1:
        raise LayerError(
            f"function {name}: index.py names {CLI_IN_HANDLER} {found} times, expected once; "
            "this aws-cdk-lib's handler is not the one docs/local-cloud.md describes"
        )
    index.write_text(source.replace(CLI_IN_HANDLER, json.dumps(str(cli))), encoding="utf-8")


def mount_function(
    stack: StackTemplate,
    function: LambdaFunction,
    function_logical_id: str,
    python: str,
    *,
    layer_cache: Path | None = None,
) -> MountedFunction:
    """:class:`MountedFunction` for the function ``function_logical_id`` of ``stack``."""
    return MountedFunction(
        function, layer_sources(stack, function_logical_id), python, layer_cache=layer_cache
    )


# ---------------------------------------------------------------------------------------
# order


def dependency_order(stack: StackTemplate, logical_ids: Sequence[str]) -> list[str]:
    """``logical_ids`` in an order CloudFormation could create them: each after every
    other one it depends on (``DependsOn``, ``Ref``, ``Fn::GetAtt``, directly or through
    resources outside the list); template order otherwise. Delete in the reverse.

    Raises:
        AssemblyError: a dependency cycle among them.
    """
    wanted = set(logical_ids)
    needs = {lid: _reaches(stack, lid, wanted) for lid in logical_ids}
    ordered: list[str] = []
    remaining = list(logical_ids)
    while remaining:
        ready = next((lid for lid in remaining if needs[lid] <= set(ordered)), None)
        if ready is None:
            raise AssemblyError(f"{stack.name}: dependency cycle among {sorted(remaining)}")
        ordered.append(ready)
        remaining.remove(ready)
    return ordered


def _reaches(stack: StackTemplate, start: str, wanted: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(_direct(stack, start))
    while todo:
        lid = todo.pop()
        if lid in seen or lid == start:
            continue
        seen.add(lid)
        if lid not in wanted:
            todo += _direct(stack, lid)
    return seen & wanted


def _direct(stack: StackTemplate, logical_id: str) -> set[str]:
    if logical_id not in stack.resources:
        return set()
    return direct_dependencies(stack, logical_id)


def deletion_order(stack: StackTemplate, logical_ids: Sequence[str]) -> list[str]:
    """``logical_ids`` in an order CloudFormation could delete them: each before what it
    depends on; template order otherwise."""
    wanted = set(logical_ids)
    needs = {lid: _reaches(stack, lid, wanted) for lid in logical_ids}
    ordered: list[str] = []
    remaining = list(logical_ids)
    while remaining:
        ready = next(
            (lid for lid in remaining if not any(lid in needs[o] for o in remaining if o != lid)),
            None,
        )
        if ready is None:
            raise AssemblyError(f"{stack.name}: dependency cycle among {sorted(remaining)}")
        ordered.append(ready)
        remaining.remove(ready)
    return ordered
