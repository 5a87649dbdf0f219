"""Which resources CloudFormation creates before another (localcloud/cloudformation/dependencies.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localcloud.cloudformation.assembly import AssemblyError, StackTemplate, load_assembly
from localcloud.cloudformation.dependencies import creation_order, dependencies, direct_dependencies
from tests.support.assembly import write_assembly


def _stack(tmp_path: Path, resources: dict[str, Any]) -> StackTemplate:
    return load_assembly(write_assembly(tmp_path / "cdk.out", {"Resources": resources}))[0]


def test_depends_on_and_every_reference_count(tmp_path: Path) -> None:
    stack = _stack(tmp_path, {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Role": {"Type": "AWS::IAM::Role"},
        "Fn": {"Type": "AWS::Lambda::Function",
               "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Config": {"Type": "AWS::Lambda::EventInvokeConfig",
                   "Properties": {"FunctionName": {"Ref": "Fn"}}},
        "Policy": {"Type": "AWS::IAM::Policy",
                   "Properties": {"Doc": {"Fn::Sub": "arn:aws:s3:::${Bucket}/* ${AWS::Region} ${!Literal}"}}},
        "Purge": {"Type": "Custom::X", "DependsOn": ["Policy"],
                  "Properties": {"ServiceToken": {"Fn::GetAtt": "Fn.Arn"}}},
    })
    assert direct_dependencies(stack, "Purge") == {"Policy", "Fn"}
    assert direct_dependencies(stack, "Policy") == {"Bucket"}
    # The config references the function, not the other way round: nothing orders it first.
    assert dependencies(stack, "Purge") == {"Policy", "Bucket", "Fn", "Role"}
    order = creation_order(stack)
    assert order.index("Role") < order.index("Fn") < order.index("Purge")
    assert order.index("Bucket") < order.index("Policy") < order.index("Purge")


def test_a_cycle_is_refused_with_the_resources_named(tmp_path: Path) -> None:
    stack = _stack(tmp_path, {
        "A": {"Type": "AWS::SNS::Topic", "DependsOn": "B"},
        "B": {"Type": "AWS::SNS::Topic", "Properties": {"X": {"Ref": "A"}}},
    })
    with pytest.raises(AssemblyError, match="circular dependency between A, B"):
        creation_order(stack)
