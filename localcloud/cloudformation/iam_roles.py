"""The roles of a locally deployed stack, registered with the local services' IAM.

A function of the template runs with credentials of its role (``Role`` of the
``AWS::Lambda::Function``); the role's policies are read from the deployed template and
resolved with the deploy's own values (the local CloudFront's distribution and tenant ids,
the local Lambda's function ARNs), so a grant missing from the template answers
AccessDenied here as it would on AWS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from localcloud.awslambda.model import LambdaFunction
from localcloud.cloudformation.assembly import AssemblyError, StackTemplate
from localcloud.cloudformation.iam_policies import (
    function_role,
    physical_refs,
    role_arn,
    role_policies,
)
from localcloud.iam.authorizer import Authorizer, Principal, access_key_for

__all__ = ["RoleBinding", "bind_role", "register_roles"]


@dataclass(frozen=True)
class RoleBinding:
    """A function of a stack, the role it runs as, and that role's access key id."""

    stack_name: str
    function_logical_id: str
    role_logical_id: str
    access_key_id: str
    function_name: str


def bind_role(
    stack: StackTemplate, function_logical_id: str, function: LambdaFunction
) -> tuple[LambdaFunction, RoleBinding | None]:
    """The function with its role's credentials, and the binding to register.

    A function whose role is not a role of the template (an imported role ARN) keeps the
    dummy credentials: its policies are not in the template, so nothing is evaluated.
    """
    try:
        role = function_role(stack, function_logical_id)
    except AssemblyError:
        return function, None
    key = access_key_for(f"{stack.stack_name}/{role}")
    binding = RoleBinding(stack.name, function_logical_id, role, key, function.name)
    return replace(function, access_key_id=key), binding


def register_roles(
    authorizer: Authorizer,
    bindings: Iterable[RoleBinding],
    stacks: Iterable[StackTemplate],
    deployed_refs: Mapping[str, Any],
    function_arns: Mapping[tuple[str, str], str],
) -> None:
    """Register every binding's role with its policies, resolved with the deploy's values.

    ``deployed_refs``: Ref/GetAtt values the deploy made (distribution and tenant ids);
    ``function_arns``: (stack name, function logical id) -> the local function's ARN.
    """
    by_name = {stack.name: stack for stack in stacks}
    for binding in bindings:
        stack = by_name[binding.stack_name]
        refs: dict[str, Any] = {**physical_refs(stack), **deployed_refs}
        for (stack_name, logical_id), arn in function_arns.items():
            if stack_name == stack.name:
                refs[f"{logical_id}.Arn"] = arn
                refs[logical_id] = arn.rsplit(":", 1)[-1]
        authorizer.register(
            binding.access_key_id,
            Principal(
                role_arn=role_arn(stack, binding.role_logical_id, refs),
                policies=tuple(role_policies(stack, binding.role_logical_id, refs)),
                session=binding.function_name,
            ),
        )
