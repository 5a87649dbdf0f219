"""localcloud.cloudformation.bucket_deployment: the two strings it changes, and nothing else; the order it
runs custom resources in; properties delivered as strings."""

from __future__ import annotations

import stat
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from localcloud.awslambda.runtime import LambdaFunction
from localcloud.cloudformation.assembly import AssemblyError, StackTemplate
from localcloud.cloudformation.bucket_deployment import (
    CLI_IN_HANDLER,
    LayerError,
    MountedFunction,
    deletion_order,
    dependency_order,
    layer_sources,
    mount_layers,
)
from localcloud.cloudformation.lifecycle import as_delivered

HANDLER = (
    "import subprocess\n"
    "def aws_command(*args):\n"
    f"    aws={CLI_IN_HANDLER} # from AwsCliLayer\n"
    "    subprocess.check_call([aws] + list(args))\n"
)
CLI = b"#!/var/lang/bin/python\nimport awscli.clidriver\n"


def _layer_zip(path: Path, botocore: str = "1.43.61", cli: bytes = CLI) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("awscli/aws")
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        archive.writestr(info, cli)
        archive.writestr(f"awscli/botocore-{botocore}.dist-info/METADATA", "Name: botocore\n")
        archive.writestr("awscli/botocore/__init__.py", "")
    return path


def _function(tmp_path: Path, source: str = HANDLER) -> LambdaFunction:
    task = tmp_path / "asset"
    task.mkdir()
    (task / "index.py").write_text(source)
    return LambdaFunction(name="BucketDeploymentFn", asset_dir=task, handler="index.handler")


def test_mount_rewrites_only_the_cli_path_and_the_interpreter(tmp_path: Path) -> None:
    function = _function(tmp_path)
    layer = _layer_zip(tmp_path / "layer.zip")
    mounted = MountedFunction(function, [layer], sys.executable, layer_cache=tmp_path / "cache")
    try:
        cli = mounted.mount / "awscli" / "aws"
        rewritten = (mounted.function.asset_dir / "index.py").read_text()
        assert rewritten == HANDLER.replace(CLI_IN_HANDLER, f'"{cli}"')
        # The zip's mode survives (Lambda keeps it): the handler can exec the CLI.
        assert cli.stat().st_mode & 0o111
        assert cli.read_bytes() == CLI.replace(
            b"#!/var/lang/bin/python", f"#!{sys.executable} -SE".encode()
        )
        assert (function.asset_dir / "index.py").read_text() == HANDLER  # cdk.out untouched
        # Mounted once: a second function with the same layer reuses the directory.
        again = MountedFunction(function, [layer], sys.executable, layer_cache=tmp_path / "cache")
        assert again.mount == mounted.mount
        again.close()
    finally:
        mounted.close()
    assert not mounted.root.exists()  # the handler copy goes; the layer mount stays cached
    assert cli.exists()


@pytest.mark.parametrize("copies", [0, 2])
def test_a_handler_that_does_not_name_the_cli_once_is_refused(
    tmp_path: Path, copies: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    source = "\n".join([f"A = {CLI_IN_HANDLER}"] * copies) + "\n"
    with pytest.raises(LayerError, match=f"names {CLI_IN_HANDLER} {copies} times"):
        MountedFunction(_function(tmp_path, source), [_layer_zip(tmp_path / "l.zip")],
                        sys.executable, layer_cache=tmp_path / "cache")
    assert not list(scratch.iterdir())  # nothing left behind


def test_a_layer_whose_cli_would_ignore_the_local_endpoint_is_refused(tmp_path: Path) -> None:
    layer = _layer_zip(tmp_path / "old.zip", botocore="1.29.0")
    with pytest.raises(LayerError, match=r"botocore 1\.29\.0.*1\.31 or newer"):
        MountedFunction(_function(tmp_path), [layer], sys.executable,
                        layer_cache=tmp_path / "cache")


def test_a_layer_without_the_cli_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("python/x.py", "")
    with pytest.raises(LayerError, match="no executable awscli/aws"):
        MountedFunction(_function(tmp_path), [empty], sys.executable,
                        layer_cache=tmp_path / "cache")


def test_an_interpreter_path_a_shebang_cannot_hold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LayerError, match="cannot be written on a #! line"):
        mount_layers([_layer_zip(tmp_path / "l.zip")], "/a path/python", tmp_path / "opt")


def _stack(resources: dict[str, Any], tmp_path: Path) -> StackTemplate:
    return StackTemplate(
        name="S", stack_name="S", template={"Resources": resources},
        template_file=tmp_path / "S.template.json", assembly_dir=tmp_path,
    )


def test_layers_are_found_through_their_asset_and_must_be_the_stacks_own(
    tmp_path: Path
) -> None:
    layer = _layer_zip(tmp_path / "asset.abc.zip")
    resources: dict[str, Any] = {
        "Fn": {"Type": "AWS::Lambda::Function",
               "Properties": {"Layers": [{"Ref": "Layer"}]}},
        "Layer": {"Type": "AWS::Lambda::LayerVersion",
                  "Properties": {"Content": {"S3Key": "abc.zip"}}},
        "Other": {"Type": "AWS::Lambda::Function",
                  "Properties": {"Layers": ["arn:aws:lambda:us-east-1:1:layer:x:1"]}},
    }
    stack = _stack(resources, tmp_path)
    stack.asset_sources = {"abc.zip": layer}
    assert layer_sources(stack, "Fn") == [layer]
    with pytest.raises(LayerError, match="only the assembly's own layers"):
        layer_sources(stack, "Other")


def test_custom_resources_run_after_what_they_depend_on_even_through_others(
    tmp_path: Path
) -> None:
    resources: dict[str, Any] = {
        "Purge": {"Type": "Custom::CloudFrontInvalidation", "DependsOn": ["Waiter"]},
        "Waiter": {"Type": "AWS::CloudFormation::WaitCondition",
                   "Properties": {"X": {"Fn::GetAtt": ["Deploy", "DestinationBucketArn"]}}},
        "Deploy": {"Type": "Custom::CDKBucketDeployment"},
        "Alone": {"Type": "Custom::CloudFrontInvalidation"},
    }
    stack = _stack(resources, tmp_path)
    assert dependency_order(stack, ["Purge", "Deploy", "Alone"]) == ["Deploy", "Purge", "Alone"]
    assert deletion_order(stack, ["Deploy", "Purge", "Alone"]) == ["Purge", "Deploy", "Alone"]


def test_a_dependency_cycle_is_an_error(tmp_path: Path) -> None:
    resources: dict[str, Any] = {
        "A": {"Type": "Custom::X", "Properties": {"P": {"Ref": "B"}}},
        "B": {"Type": "Custom::X", "Properties": {"P": {"Fn::Sub": "${A.Arn}"}}},
    }
    with pytest.raises(AssemblyError, match="dependency cycle"):
        dependency_order(_stack(resources, tmp_path), ["A", "B"])


def test_properties_reach_the_handler_as_strings() -> None:
    delivered = as_delivered(
        {"Prune": True, "Retain": False, "Max": 42, "Paths": ["/*", 1.5],
         "Nested": {"On": True}, "Name": "x"}
    )
    assert delivered == {"Prune": "true", "Retain": "false", "Max": "42",
                         "Paths": ["/*", "1.5"], "Nested": {"On": "true"}, "Name": "x"}
