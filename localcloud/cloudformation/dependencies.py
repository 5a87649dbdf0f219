"""Which resources of a template CloudFormation must create before a given one.

CloudFormation creates a resource only after the resources it depends on: those named in its
``DependsOn`` and those its properties reference (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``).
Resources with no such relation may be created in parallel, in any order (CloudFormation
User Guide, "DependsOn attribute"). A local CloudFormation that wants to be as strict as the
real one must therefore assume that anything outside a resource's dependencies does not
exist yet when that resource is created.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from localcloud.cloudformation.assembly import AssemblyError, StackTemplate

__all__ = ["creation_order", "dependencies", "direct_dependencies"]

_SUB_NAME = re.compile(r"\$\{([^!}][^}]*)\}")


def _referenced(value: Any, found: set[str]) -> None:  # noqa: ANN401 - a template expression
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(m.split(".", 1)[0] for m in _SUB_NAME.findall(str(text)))
                if isinstance(inner, list) and len(inner) > 1:
                    _referenced(inner[1], found)
            else:
                _referenced(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _referenced(inner, found)


def direct_dependencies(stack: StackTemplate, logical_id: str) -> set[str]:
    """The resources ``logical_id`` names in DependsOn or references in its properties."""
    resource = stack.resources[logical_id]
    depends_on = resource.get("DependsOn", [])
    found = {depends_on} if isinstance(depends_on, str) else set(depends_on)
    _referenced(resource.get("Properties", {}), found)
    return found & set(stack.resources)


def dependencies(stack: StackTemplate, logical_id: str) -> set[str]:
    """Every resource CloudFormation creates before ``logical_id`` (the transitive closure)."""
    seen: set[str] = set()
    todo = [logical_id]
    while todo:
        for dep in direct_dependencies(stack, todo.pop()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def creation_order(stack: StackTemplate) -> list[str]:
    """The resources in an order CloudFormation may create them (dependencies first).

    Raises:
        AssemblyError: the dependencies form a cycle (CloudFormation refuses such a template).
    """
    waiting = {lid: direct_dependencies(stack, lid) for lid in stack.resources}
    order: list[str] = []
    while waiting:
        ready = sorted(lid for lid, deps in waiting.items() if not deps - set(order))
        if not ready:
            raise AssemblyError(
                f"{stack.name}: circular dependency between {', '.join(sorted(waiting))}"
            )
        order += ready
        for lid in ready:
            del waiting[lid]
    return order
