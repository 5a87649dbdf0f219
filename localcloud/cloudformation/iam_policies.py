"""The identity policies a synthesized template gives a Lambda function's role.

A role's permissions are its inline ``Policies``, every ``AWS::IAM::Policy`` and
``AWS::IAM::ManagedPolicy`` of the template that names it in ``Roles``, and its
``ManagedPolicyArns`` (AWS CloudFormation User Guide, AWS::IAM::Role, AWS::IAM::Policy).
An AWS managed policy's content is not in the template: it is refused rather than guessed
(the provider attaches none).

:func:`physical_refs` gives every resource of a template a physical name and ARN, as
CloudFormation would after creating it, so the policies can be resolved without a deploy;
a local cloud that did deploy passes its own values (distribution ids, function ARNs)
instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from localcloud.cloudformation.assembly import AssemblyError, StackTemplate, pseudo_refs, resolve
from localcloud.iam import NamedPolicy

__all__ = ["function_role", "physical_refs", "role_arn", "role_policies"]

_ROLE = "AWS::IAM::Role"
_POLICY = "AWS::IAM::Policy"
_MANAGED_POLICY = "AWS::IAM::ManagedPolicy"


def _suffix(stack: StackTemplate, logical_id: str, length: int = 12) -> str:
    return hashlib.sha256(f"{stack.stack_name}/{logical_id}".encode()).hexdigest()[:length].upper()


def physical_refs(stack: StackTemplate) -> dict[str, Any]:
    """Ref and Fn::GetAtt values for the resources a role policy names, made up the way
    CloudFormation makes physical names (stack name, logical id, a unique suffix)."""
    refs: dict[str, Any] = dict(pseudo_refs(stack))
    region = str(refs["AWS::Region"])
    account = str(refs["AWS::AccountId"])
    for logical_id, resource in stack.resources.items():
        kind = resource.get("Type")
        name = f"{stack.stack_name}-{logical_id}"[:48] + "-" + _suffix(stack, logical_id)
        if kind == "AWS::Lambda::Function":
            refs[logical_id] = name
            refs[f"{logical_id}.Arn"] = f"arn:aws:lambda:{region}:{account}:function:{name}"
        elif kind == "AWS::Logs::LogGroup":
            refs[logical_id] = name
            # The Arn attribute of a log group ends in ":*" (AWS::Logs::LogGroup, Return values).
            refs[f"{logical_id}.Arn"] = f"arn:aws:logs:{region}:{account}:log-group:{name}:*"
        elif kind == "AWS::S3::Bucket":
            bucket = name.lower()
            refs[logical_id] = bucket
            refs[f"{logical_id}.Arn"] = f"arn:aws:s3:::{bucket}"
        elif kind == "AWS::CloudFront::Distribution":
            distribution_id = "E" + _suffix(stack, logical_id, 13)
            refs[logical_id] = refs[f"{logical_id}.Id"] = distribution_id
        elif kind == "AWS::CloudFront::DistributionTenant":
            tenant_id = "dt_" + _suffix(stack, logical_id, 24).lower()
            refs[logical_id] = refs[f"{logical_id}.Id"] = tenant_id
            refs[f"{logical_id}.Arn"] = (
                f"arn:aws:cloudfront::{account}:distribution-tenant/{tenant_id}"
            )
        elif kind == _ROLE:
            refs[logical_id] = name
            refs[f"{logical_id}.Arn"] = f"arn:aws:iam::{account}:role/{name}"
        elif kind in (_POLICY, _MANAGED_POLICY):
            refs[logical_id] = name
    return refs


def function_role(stack: StackTemplate, function_logical_id: str) -> str:
    """The logical id of the role a function of the template runs as."""
    role = (stack.resource(function_logical_id).get("Properties") or {}).get("Role")
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        target = role["Fn::GetAtt"]
        logical_id = target[0] if isinstance(target, list) else str(target).split(".")[0]
        if stack.resources.get(logical_id, {}).get("Type") == _ROLE:
            return str(logical_id)
    raise AssemblyError(
        f"{stack.name}/{function_logical_id}: Role is not a role of this template ({role!r})"
    )


def role_arn(stack: StackTemplate, role_logical_id: str, refs: Mapping[str, Any]) -> str:
    return str(resolve({"Fn::GetAtt": [role_logical_id, "Arn"]}, refs))


def _names_role(roles: object, role_logical_id: str) -> bool:
    return isinstance(roles, list) and any(
        isinstance(r, dict) and r.get("Ref") == role_logical_id for r in roles
    )


def role_policies(
    stack: StackTemplate, role_logical_id: str, refs: Mapping[str, Any]
) -> list[NamedPolicy]:
    """Every identity policy the template gives the role, intrinsics resolved with ``refs``.

    Raises:
        AssemblyError: the role has a managed policy ARN (its content is not in the
            template), or a policy names something ``refs`` cannot resolve.
    """
    props = stack.resource(role_logical_id).get("Properties") or {}
    managed = props.get("ManagedPolicyArns")
    if managed:
        raise AssemblyError(
            f"{stack.name}/{role_logical_id}: ManagedPolicyArns {managed!r} cannot be "
            "evaluated from the template (their documents are not in it)"
        )
    policies: list[NamedPolicy] = []
    for inline in props.get("Policies") or []:
        policies.append(
            NamedPolicy(
                f"{role_logical_id}/{inline.get('PolicyName')}",
                resolve(inline["PolicyDocument"], refs),
            )
        )
    for logical_id, resource in stack.resources.items():
        if resource.get("Type") not in (_POLICY, _MANAGED_POLICY):
            continue
        policy_props = resource.get("Properties") or {}
        if _names_role(policy_props.get("Roles"), role_logical_id):
            policies.append(NamedPolicy(logical_id, resolve(policy_props["PolicyDocument"], refs)))
    return policies
