"""Read a synthesized CDK cloud assembly (``cdk.out``): stacks, custom resources, providers.

* :func:`load_assembly` reads ``manifest.json`` (and nested assemblies of CDK Stages) and
  returns the stack templates.
* :func:`find_custom_resources` lists the custom resources of one type in a stack, each with
  the Lambda function that backs it (its ServiceToken followed through ``Fn::GetAtt``,
  ``Ref`` to a version/alias, or ``Fn::ImportValue`` to another stack's export) as a
  :class:`~localcloud.awslambda.runtime.LambdaFunction` ready for
  :class:`~localcloud.awslambda.runtime.LocalLambda`.
* :func:`resolve` evaluates the intrinsic functions a template uses for property values
  (``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::Sub``,
  ``Fn::Base64``, ``Fn::ImportValue``), given substitutes for the resources.

The function's code directory is found from its ``aws:asset:path`` metadata (written when
the ``aws:cdk:enable-asset-metadata`` context is true, which the CDK CLI sets) or, failing
that, by matching ``Code.S3Key`` against the stack's asset manifest (``*.assets.json``),
which a plain ``App(outdir=...).synth()`` also writes. Inline code (``Code.ZipFile``) is
written to a temporary directory as ``index.py``.
"""

from __future__ import annotations

import atexit
import base64
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.awslambda.runtime import LambdaFunction

__all__ = [
    "PSEUDO_PARAMETERS",
    "AssemblyError",
    "CustomResourceSpec",
    "EventInvokeSpec",
    "FileAsset",
    "StackTemplate",
    "UnresolvedReferenceError",
    "cfn_stringify",
    "find_custom_resources",
    "find_event_invoke_configs",
    "load_assembly",
    "pseudo_refs",
    "resolve",
]

#: Pseudo parameters ``resolve`` knows without being told (``refs`` may override them).
PSEUDO_PARAMETERS: dict[str, Any] = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NotificationARNs": [],
}

_STACK_TYPE = "aws:cloudformation:stack"
_NESTED_TYPE = "cdk:cloud-assembly"
_ASSET_MANIFEST_TYPE = "cdk:asset-manifest"
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class AssemblyError(Exception):
    """The assembly cannot be read or does not hold what was asked for."""


class UnresolvedReferenceError(AssemblyError, LookupError):
    """An intrinsic function names something ``refs`` has no value for."""

    def __init__(self, reference: str, hint: str) -> None:
        super().__init__(f"cannot resolve {reference}: {hint}")
        self.reference = reference


@dataclass(frozen=True)
class FileAsset:
    """One file asset of the stack's asset manifest and where CDK would publish it."""

    source: Path
    """The staged file (``packaging: file``) or directory (``zip``) in cdk.out."""
    packaging: str
    bucket_name: str
    """As the manifest writes it: ``${AWS::AccountId}`` and ``${AWS::Region}`` unresolved."""
    object_key: str

    def bucket(self, refs: Mapping[str, Any]) -> str:
        """The bucket name with the pseudo parameters of ``refs`` filled in."""
        return _SUB_VAR.sub(lambda m: str(refs.get(m.group(1), m.group(0))), self.bucket_name)


@dataclass(eq=False)
class StackTemplate:
    """One stack of the assembly. ``name`` is the artifact id (``Stage/Stack`` inside a
    Stage), ``stack_name`` the CloudFormation stack name."""

    name: str
    stack_name: str
    template: dict[str, Any]
    template_file: Path
    assembly_dir: Path
    asset_sources: dict[str, Path] = field(default_factory=dict, repr=False)
    """Asset manifest entries: object key (and asset hash) -> source path in cdk.out."""
    file_assets: list[FileAsset] = field(default_factory=list, repr=False)
    """Every destination of every file asset of the stack's asset manifests."""
    assembly: list[StackTemplate] = field(default_factory=list, repr=False)
    """Every stack of the same assembly, this one included (for cross-stack imports)."""

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template.get("Resources", {})
        return resources

    @property
    def outputs(self) -> dict[str, Any]:
        outputs: dict[str, Any] = self.template.get("Outputs", {})
        return outputs

    def resource(self, logical_id: str) -> dict[str, Any]:
        try:
            resource: dict[str, Any] = self.resources[logical_id]
        except KeyError:
            raise AssemblyError(f"stack {self.name} has no resource {logical_id!r}") from None
        return resource


@dataclass(eq=False)
class CustomResourceSpec:
    """A custom resource of the template and the Lambda function behind it."""

    logical_id: str
    resource_type: str
    properties: dict[str, Any]
    """The template's Properties, raw (intrinsic functions and ServiceToken included)."""
    service_timeout: int | None
    """``ServiceTimeout`` in seconds, when the template sets it as a literal."""
    provider: LambdaFunction
    provider_logical_id: str
    stack: StackTemplate = field(repr=False)
    provider_stack: StackTemplate = field(repr=False)
    resource: dict[str, Any] = field(repr=False, default_factory=dict)
    """The whole template entry (DependsOn, DeletionPolicy, ...)."""

    @property
    def deletion_policy(self) -> str:
        return str(self.resource.get("DeletionPolicy", "Delete"))

    def resolve_properties(
        self, refs: Mapping[str, Any], *, service_token: str | None = None
    ) -> dict[str, Any]:
        """Properties with intrinsics resolved through ``refs`` (see :func:`resolve`).

        ``service_token`` replaces the ServiceToken (e.g. the ARN of the locally
        registered function) instead of resolving it.
        """
        raw = dict(self.properties)
        if service_token is not None:
            raw["ServiceToken"] = service_token
        resolved = resolve(raw, {**pseudo_refs(self.stack), **refs})
        if not isinstance(resolved, dict):  # pragma: no cover - a dict resolves to a dict
            raise AssemblyError(f"{self.logical_id}: properties did not resolve to an object")
        return resolved


def pseudo_refs(
    stack: StackTemplate, *, region: str | None = None, account_id: str | None = None
) -> dict[str, Any]:
    """Pseudo parameters for one stack: the defaults plus AWS::StackName / AWS::StackId."""
    region = region or str(PSEUDO_PARAMETERS["AWS::Region"])
    account_id = account_id or str(PSEUDO_PARAMETERS["AWS::AccountId"])
    return {
        **PSEUDO_PARAMETERS,
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::StackName": stack.stack_name,
        "AWS::StackId": (
            f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack.stack_name}/"
            "00000000-0000-0000-0000-000000000000"
        ),
    }


# ---------------------------------------------------------------------------------------
# loading


def load_assembly(cdk_out: Path) -> list[StackTemplate]:
    """Stacks of the cloud assembly in ``cdk_out``, nested (Stage) assemblies included."""
    stacks: list[StackTemplate] = []
    _load_into(Path(cdk_out), stacks, prefix="")
    for stack in stacks:
        stack.assembly = stacks
    return stacks


def _read_json(path: Path) -> Any:  # noqa: ANN401 - JSON documents are untyped
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssemblyError(f"{path} does not exist") from None
    except ValueError as exc:
        raise AssemblyError(f"{path} is not valid JSON: {exc}") from None


def _load_into(directory: Path, stacks: list[StackTemplate], prefix: str) -> None:
    manifest = _read_json(directory / "manifest.json")
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    for artifact_id, artifact in artifacts.items():
        kind = artifact.get("type")
        properties = artifact.get("properties", {})
        if kind == _NESTED_TYPE:
            nested = properties.get("directoryName")
            if nested:
                _load_into(directory / nested, stacks, prefix=f"{prefix}{artifact_id}/")
            continue
        if kind != _STACK_TYPE:
            continue
        template_file = directory / properties["templateFile"]
        template = _read_json(template_file)
        asset_sources: dict[str, Path] = {}
        file_assets: list[FileAsset] = []
        for dependency in artifact.get("dependencies", []):
            dep = artifacts.get(dependency, {})
            if dep.get("type") == _ASSET_MANIFEST_TYPE:
                manifest_file = directory / dep["properties"]["file"]
                asset_sources.update(_asset_sources(directory, manifest_file))
                file_assets += _file_assets(directory, manifest_file)
        stacks.append(
            StackTemplate(
                name=f"{prefix}{artifact_id}",
                stack_name=str(properties.get("stackName", artifact_id)),
                template=template,
                template_file=template_file,
                assembly_dir=directory,
                asset_sources=asset_sources,
                file_assets=file_assets,
            )
        )


def _asset_sources(directory: Path, manifest_file: Path) -> dict[str, Path]:
    manifest = _read_json(manifest_file)
    sources: dict[str, Path] = {}
    for asset_id, entry in manifest.get("files", {}).items():
        source_path = entry.get("source", {}).get("path")
        if not source_path:
            continue
        path = directory / source_path
        sources[asset_id] = path
        for destination in entry.get("destinations", {}).values():
            key = destination.get("objectKey")
            if isinstance(key, str):
                sources[key] = path
    return sources


def _file_assets(directory: Path, manifest_file: Path) -> list[FileAsset]:
    assets: list[FileAsset] = []
    for entry in _read_json(manifest_file).get("files", {}).values():
        source = entry.get("source", {})
        if not source.get("path"):
            continue  # built by a command at publish time: nothing staged to publish
        for destination in entry.get("destinations", {}).values():
            bucket, key = destination.get("bucketName"), destination.get("objectKey")
            if isinstance(bucket, str) and isinstance(key, str):
                assets.append(
                    FileAsset(
                        source=directory / source["path"],
                        packaging=str(source.get("packaging", "file")),
                        bucket_name=bucket,
                        object_key=key,
                    )
                )
    return assets


# ---------------------------------------------------------------------------------------
# custom resources and providers


def _is_custom_type(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or (
        resource_type == "AWS::CloudFormation::CustomResource"
    )


def find_custom_resources(
    stack: StackTemplate,
    resource_type: str | None = "Custom::CloudFrontInvalidation",
    *,
    refs: Mapping[str, Any] | None = None,
) -> list[CustomResourceSpec]:
    """Custom resources of ``resource_type`` (None: every custom resource) in ``stack``.

    ``refs`` (see :func:`resolve`) is used only for provider environment variables whose
    values are intrinsic functions; without it such a variable is an error naming it.
    """
    specs: list[CustomResourceSpec] = []
    for logical_id, resource in stack.resources.items():
        rtype = resource.get("Type", "")
        if resource_type is None:
            if not _is_custom_type(rtype):
                continue
        elif rtype != resource_type:
            continue
        properties: dict[str, Any] = dict(resource.get("Properties", {}))
        if "ServiceToken" not in properties:
            raise AssemblyError(f"{stack.name}/{logical_id}: custom resource without ServiceToken")
        where = f"{stack.name}/{logical_id}"
        provider_stack, provider_id = _provider_function(stack, properties["ServiceToken"], where)
        provider = _lambda_function(provider_stack, provider_id, refs or {})
        specs.append(
            CustomResourceSpec(
                logical_id=logical_id,
                resource_type=rtype,
                properties=properties,
                service_timeout=_service_timeout(properties.get("ServiceTimeout"), where),
                provider=provider,
                provider_logical_id=provider_id,
                stack=stack,
                provider_stack=provider_stack,
                resource=resource,
            )
        )
    return specs


@dataclass(eq=False)
class EventInvokeSpec:
    """An ``AWS::Lambda::EventInvokeConfig``: a function's asynchronous invocation rules."""

    logical_id: str
    function_logical_id: str
    retry_attempts: int
    """``MaximumRetryAttempts`` (Lambda's default when absent: 2)."""
    max_event_age_seconds: int
    """``MaximumEventAgeInSeconds`` (Lambda's default when absent: 21600)."""
    on_failure: LambdaFunction | None
    """The on-failure destination, when it is a function of the assembly."""
    on_failure_logical_id: str | None


def find_event_invoke_configs(
    stack: StackTemplate, refs: Mapping[str, Any] | None = None
) -> list[EventInvokeSpec]:
    """The stack's ``AWS::Lambda::EventInvokeConfig`` resources on its own functions.

    Raises:
        AssemblyError: a config whose function or destination is not a function of the
            stack, or whose numbers are not whole numbers.
    """
    specs: list[EventInvokeSpec] = []
    for logical_id, resource in stack.resources.items():
        if resource.get("Type") != "AWS::Lambda::EventInvokeConfig":
            continue
        where = f"{stack.name}/{logical_id}"
        props: dict[str, Any] = resource.get("Properties", {})
        qualifier = props.get("Qualifier", "$LATEST")
        if qualifier != "$LATEST":
            raise AssemblyError(f"{where}: only Qualifier $LATEST runs locally, got {qualifier!r}")
        function_ref = _named_resource(props.get("FunctionName"), where)
        _, function_id = _follow_to_function(stack, function_ref, where)
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        on_failure: LambdaFunction | None = None
        on_failure_id: str | None = None
        if destination is not None:
            destination_ref = _named_resource(destination, where)
            _, on_failure_id = _follow_to_function(stack, destination_ref, where)
            on_failure = _lambda_function(stack, on_failure_id, refs or {})
        specs.append(
            EventInvokeSpec(
                logical_id=logical_id,
                function_logical_id=function_id,
                retry_attempts=_whole(props.get("MaximumRetryAttempts", 2), where),
                max_event_age_seconds=_whole(props.get("MaximumEventAgeInSeconds", 21600), where),
                on_failure=on_failure,
                on_failure_logical_id=on_failure_id,
            )
        )
    return specs


def _named_resource(value: Any, where: str) -> str:  # noqa: ANN401 - a template expression
    """The logical id a ``Ref`` or ``Fn::GetAtt .Arn`` names."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            return _getatt_parts(arg)[0]
    raise AssemblyError(
        f"{where}: expected a Ref or Fn::GetAtt to a function, got {json.dumps(value)}"
    )


def _whole(value: Any, where: str) -> int:  # noqa: ANN401
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise AssemblyError(f"{where}: expected a whole number, got {json.dumps(value)}")
    try:
        return int(value)
    except ValueError:
        raise AssemblyError(f"{where}: expected a whole number, got {value!r}") from None


def _service_timeout(value: Any, where: str) -> int | None:  # noqa: ANN401
    if value is None:
        return None
    if isinstance(value, bool):
        raise AssemblyError(f"{where}: ServiceTimeout must be a number, got {value!r}")
    if isinstance(value, int | str):
        try:
            return int(value)
        except ValueError:
            pass
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return None  # an intrinsic: only known at deploy time
    raise AssemblyError(f"{where}: ServiceTimeout must be a whole number, got {value!r}")


def _provider_function(
    stack: StackTemplate,
    token: Any,  # noqa: ANN401 - a template expression
    where: str,
) -> tuple[StackTemplate, str]:
    """(stack, logical id) of the AWS::Lambda::Function a ServiceToken expression names."""
    if isinstance(token, dict) and len(token) == 1:
        ((key, arg),) = token.items()
        if key == "Fn::GetAtt":
            logical_id, attribute = _getatt_parts(arg)
            if attribute != "Arn":
                raise AssemblyError(f"{where}: ServiceToken is Fn::GetAtt {logical_id}.{attribute}")
            return _follow_to_function(stack, logical_id, where)
        if key == "Ref":
            return _follow_to_function(stack, str(arg), where)
        if key == "Fn::ImportValue":
            export = resolve(arg, pseudo_refs(stack))
            for other in stack.assembly or [stack]:
                for output_id, output in other.outputs.items():
                    name = output.get("Export", {}).get("Name")
                    if name is None:
                        continue
                    if resolve(name, pseudo_refs(other)) == export:
                        return _provider_function(
                            other, output.get("Value"), f"{other.name} output {output_id}"
                        )
            raise AssemblyError(
                f"{where}: ServiceToken imports {export!r}, which no stack of the assembly exports"
            )
    if isinstance(token, str):
        match = re.match(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)", token)
        if match:
            for other in stack.assembly or [stack]:
                for logical_id, resource in other.resources.items():
                    if resource.get("Type") == "AWS::Lambda::Function" and resource.get(
                        "Properties", {}
                    ).get("FunctionName") == match.group(1):
                        return other, logical_id
        raise AssemblyError(
            f"{where}: ServiceToken {token!r} names no Lambda function of the assembly"
        )
    raise AssemblyError(f"{where}: unsupported ServiceToken {json.dumps(token)}")


def _follow_to_function(
    stack: StackTemplate, logical_id: str, where: str
) -> tuple[StackTemplate, str]:
    resource = stack.resources.get(logical_id)
    if resource is None:
        raise AssemblyError(
            f"{where}: ServiceToken names {logical_id!r}, not in stack {stack.name}"
        )
    rtype = resource.get("Type")
    if rtype == "AWS::Lambda::Function":
        return stack, logical_id
    if rtype in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
        target = resource.get("Properties", {}).get("FunctionName")
        if isinstance(target, dict) and len(target) == 1:
            ((key, arg),) = target.items()
            if key == "Ref":
                return _follow_to_function(stack, str(arg), where)
            if key == "Fn::GetAtt":
                return _follow_to_function(stack, _getatt_parts(arg)[0], where)
        raise AssemblyError(f"{where}: cannot follow {rtype} {logical_id} to its function")
    raise AssemblyError(
        f"{where}: ServiceToken points at {logical_id} of type {rtype}; only Lambda-backed "
        "custom resources can run locally"
    )


def _lambda_function(
    stack: StackTemplate, logical_id: str, refs: Mapping[str, Any]
) -> LambdaFunction:
    resource = stack.resource(logical_id)
    props: dict[str, Any] = resource.get("Properties", {})
    where = f"{stack.name}/{logical_id}"
    handler = props.get("Handler")
    if not isinstance(handler, str):
        raise AssemblyError(
            f"{where}: the function has no literal Handler (image functions cannot run locally)"
        )
    name = props.get("FunctionName")
    variables = props.get("Environment", {}).get("Variables", {})
    environment: dict[str, str] = {}
    scope = {**pseudo_refs(stack), **refs}
    for key, value in variables.items():
        try:
            environment[key] = cfn_stringify(resolve(value, scope))
        except UnresolvedReferenceError as exc:
            raise UnresolvedReferenceError(
                exc.reference,
                f"environment variable {key} of function {where} needs it: pass refs=",
            ) from None
    asset_dir = _code_dir(stack, logical_id, resource)
    logging_config = _logging_config(props.get("LoggingConfig"), where)
    try:
        return LambdaFunction(
            name=name if isinstance(name, str) else logical_id,
            asset_dir=asset_dir,
            handler=handler,
            timeout_seconds=float(props.get("Timeout", 3)),
            environment=environment,
            memory_mb=int(props.get("MemorySize", 128)),
            runtime=props.get("Runtime"),
            **logging_config,
        )
    except ValueError as exc:  # a value Lambda would refuse, e.g. a log level on Text
        raise AssemblyError(f"{where}: {exc}") from None


def _logging_config(config: object, where: str) -> dict[str, str]:
    """The ``LoggingConfig`` keys the local Lambda honours, as literal strings."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise AssemblyError(f"{where}: LoggingConfig must be an object, got {config!r}")
    fields = {
        "LogFormat": "log_format",
        "ApplicationLogLevel": "application_log_level",
        "SystemLogLevel": "system_log_level",
    }
    found: dict[str, str] = {}
    for key, name in fields.items():
        value = config.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise AssemblyError(
                f"{where}: LoggingConfig.{key} must be a literal string, got {value!r}"
            )
        found[name] = value
    return found


#: Folders made for inline and zipped function code; removed when the process exits, so a
#: test run or a demo leaves nothing in the temporary directory.
_SCRATCH: list[Path] = []


def _scratch(prefix: str) -> Path:
    if not _SCRATCH:
        atexit.register(_remove_scratch)
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    _SCRATCH.append(directory)
    return directory


def _remove_scratch() -> None:
    while _SCRATCH:
        shutil.rmtree(_SCRATCH.pop(), ignore_errors=True)


def _code_dir(stack: StackTemplate, logical_id: str, resource: dict[str, Any]) -> Path:
    where = f"{stack.name}/{logical_id}"
    code = resource.get("Properties", {}).get("Code", {})
    source: Path | None = None
    asset_path = resource.get("Metadata", {}).get("aws:asset:path")
    if isinstance(asset_path, str):
        source = stack.assembly_dir / asset_path  # an absolute path stays absolute
    elif isinstance(code.get("S3Key"), str):
        key = code["S3Key"]
        source = stack.asset_sources.get(key) or next(
            (path for asset_id, path in stack.asset_sources.items() if asset_id in key), None
        )
    elif isinstance(code.get("ZipFile"), str):
        directory = _scratch(f"localcloud-inline-{logical_id}-")
        (directory / "index.py").write_text(code["ZipFile"], encoding="utf-8")
        return directory
    if source is None:
        raise AssemblyError(
            f"{where}: cannot find the function's code in the assembly (no aws:asset:path "
            "metadata, no matching asset manifest entry, no inline code)"
        )
    if source.is_dir():
        return source
    if source.is_file() and zipfile.is_zipfile(source):
        directory = _scratch(f"localcloud-asset-{logical_id}-")
        with zipfile.ZipFile(source) as archive:
            archive.extractall(directory)
        return directory
    raise AssemblyError(f"{where}: asset {source} is missing or is not a directory or zip")


# ---------------------------------------------------------------------------------------
# intrinsic functions


class _NoValue:
    """AWS::NoValue: removes the property or list element that holds it."""


_NO_VALUE = _NoValue()


def cfn_stringify(value: Any) -> str:  # noqa: ANN401
    """A scalar as CloudFormation passes it to a custom resource or environment: a string
    (``true``/``false`` for booleans, ``42`` for numbers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise AssemblyError(f"expected a scalar, got {json.dumps(value)}")


def _getatt_parts(arg: Any) -> tuple[str, str]:  # noqa: ANN401
    if isinstance(arg, str) and "." in arg:
        logical_id, attribute = arg.split(".", 1)
        return logical_id, attribute
    if isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg):
        return arg[0], arg[1]
    raise AssemblyError(f"malformed Fn::GetAtt argument {json.dumps(arg)}")


def _lookup(refs: Mapping[str, Any], key: str, reference: str, hint: str) -> Any:  # noqa: ANN401
    if key in refs:
        return refs[key]
    if key in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[key]
    raise UnresolvedReferenceError(reference, hint)


def resolve(value: Any, refs: Mapping[str, Any]) -> Any:  # noqa: ANN401
    """Evaluate the intrinsic functions in ``value``, recursively.

    ``refs`` maps a logical id (for ``Ref``), ``"LogicalId.Attribute"`` (for
    ``Fn::GetAtt``), a parameter or pseudo parameter name, or ``"Fn::ImportValue:<export>"``
    to its value. AWS::Partition/Region/AccountId/URLSuffix/NotificationARNs have defaults
    (:data:`PSEUDO_PARAMETERS`); ``AWS::NoValue`` removes the element that holds it.
    Anything else unknown raises :class:`UnresolvedReferenceError` naming it.
    """
    result = _resolve(value, refs)
    return None if result is _NO_VALUE else result


def _resolve(value: Any, refs: Mapping[str, Any]) -> Any:  # noqa: ANN401
    if isinstance(value, list):
        items = [_resolve(item, refs) for item in value]
        return [item for item in items if item is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" or key.startswith("Fn::"):
            return _intrinsic(key, arg, refs)
    resolved = {k: _resolve(v, refs) for k, v in value.items()}
    return {k: v for k, v in resolved.items() if v is not _NO_VALUE}


def _as_str(value: Any, context: str) -> str:  # noqa: ANN401
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise AssemblyError(f"{context}: expected a string, got {json.dumps(value)}")


def _intrinsic(key: str, arg: Any, refs: Mapping[str, Any]) -> Any:  # noqa: ANN401
    if key == "Ref":
        name = _as_str(_resolve(arg, refs), "Ref")
        if name == "AWS::NoValue":
            return _NO_VALUE
        return _lookup(refs, name, f"Ref {name}", f"add {name!r} to refs")
    if key == "Fn::GetAtt":
        if isinstance(arg, list) and len(arg) == 2:
            arg = [arg[0], _as_str(_resolve(arg[1], refs), "Fn::GetAtt")]
        logical_id, attribute = _getatt_parts(arg)
        ref_key = f"{logical_id}.{attribute}"
        return _lookup(refs, ref_key, f"Fn::GetAtt {ref_key}", f"add {ref_key!r} to refs")
    if key == "Fn::Join":
        if not (isinstance(arg, list) and len(arg) == 2):
            raise AssemblyError(f"malformed Fn::Join {json.dumps(arg)}")
        delimiter = _as_str(_resolve(arg[0], refs), "Fn::Join delimiter")
        parts = _resolve(arg[1], refs)
        if not isinstance(parts, list):
            raise AssemblyError(f"Fn::Join needs a list, got {json.dumps(parts)}")
        return delimiter.join(_as_str(p, "Fn::Join") for p in parts)
    if key == "Fn::Select":
        if not (isinstance(arg, list) and len(arg) == 2):
            raise AssemblyError(f"malformed Fn::Select {json.dumps(arg)}")
        index = int(_as_str(_resolve(arg[0], refs), "Fn::Select index"))
        items = _resolve(arg[1], refs)
        if not isinstance(items, list) or not 0 <= index < len(items):
            raise AssemblyError(f"Fn::Select index {index} out of range of {json.dumps(items)}")
        return items[index]
    if key == "Fn::Split":
        if not (isinstance(arg, list) and len(arg) == 2):
            raise AssemblyError(f"malformed Fn::Split {json.dumps(arg)}")
        delimiter = _as_str(_resolve(arg[0], refs), "Fn::Split delimiter")
        return _as_str(_resolve(arg[1], refs), "Fn::Split source").split(delimiter)
    if key == "Fn::Sub":
        return _sub(arg, refs)
    if key == "Fn::Base64":
        text = _as_str(_resolve(arg, refs), "Fn::Base64")
        return base64.b64encode(text.encode()).decode()
    if key == "Fn::ImportValue":
        name = _as_str(_resolve(arg, refs), "Fn::ImportValue")
        ref_key = f"Fn::ImportValue:{name}"
        return _lookup(refs, ref_key, f"Fn::ImportValue {name}", f"add {ref_key!r} to refs")
    raise AssemblyError(f"intrinsic function {key} is not supported by resolve()")


def _sub(arg: Any, refs: Mapping[str, Any]) -> str:  # noqa: ANN401
    if isinstance(arg, str):
        template, variables = arg, {}
    elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
        template = arg[0]
        raw_vars = arg[1] if isinstance(arg[1], dict) else {}
        variables = {k: _resolve(v, refs) for k, v in raw_vars.items()}
    else:
        raise AssemblyError(f"malformed Fn::Sub {json.dumps(arg)}")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return _as_str(variables[name], f"Fn::Sub ${{{name}}}")
        if "." in name and not name.startswith("AWS::"):
            value = _lookup(refs, name, f"Fn::GetAtt {name}", f"add {name!r} to refs")
        else:
            value = _lookup(refs, name, f"Ref {name}", f"add {name!r} to refs")
        return _as_str(value, f"Fn::Sub ${{{name}}}")

    return _SUB_VAR.sub(replace, template)
