"""The first Create of a new stack reaches the provider only after its EventInvokeConfig (its
retries and on-failure destination) exists: the template says so, and the local
CloudFormation holds the config back from a resource that does not depend on it, as
CloudFormation may create the two in parallel."""

from __future__ import annotations

import json
from pathlib import Path

from localcloud.awslambda.runtime import AsyncConfig
from localcloud.cloudformation.assembly import load_assembly
from localcloud.cloudformation.dependencies import creation_order, dependencies
from localcloud.cloudformation.lifecycle import RESOURCE_TYPE, LocalCloudFormation, Progress
from localcloud.cloudfront import LocalCloudFront

INVOKE_CONFIG = "AWS::Lambda::EventInvokeConfig"


def _logical_ids(template: dict, kind: str) -> list[str]:  # type: ignore[type-arg]
    return [lid for lid, r in template["Resources"].items() if r["Type"] == kind]


def test_the_purge_depends_on_its_providers_invoke_config(app_assembly: Path) -> None:
    # Every stack of app.py that purges (StaticSite, SafeStaticSite).
    stacks = [s for s in load_assembly(app_assembly) if _logical_ids(s.template, RESOURCE_TYPE)]
    assert stacks
    for stack in stacks:
        configs = _logical_ids(stack.template, INVOKE_CONFIG)
        provider_config = [c for c in configs  # the one with an on-failure destination
                           if "DestinationConfig" in stack.template["Resources"][c]["Properties"]]
        assert provider_config, (stack.name, configs)
        order = creation_order(stack)
        # SafeStaticSite has two (the rollback-only purge and the pruning one): each waits.
        for purge in _logical_ids(stack.template, RESOURCE_TYPE):
            assert set(provider_config) <= dependencies(stack, purge), (stack.name, purge)
            assert all(order.index(c) < order.index(purge) for c in provider_config), purge


def _first_create(cdk_out: Path) -> tuple[list[AsyncConfig | None], AsyncConfig | None, str]:
    """The provider's async config as seen while its first Create runs, and afterwards."""
    seen: list[AsyncConfig | None] = []
    with LocalCloudFront(invalidation_seconds=0.3) as cloud, \
            LocalCloudFormation(cdk_out, cloud=cloud, service_timeout=60) as stack:
        (resource,) = stack.resources.values()
        name = resource.function.name

        def watch(_progress: Progress) -> None:
            seen.append(stack.lambda_.async_config(name))

        stack.on_progress = watch
        assert stack.lambda_.async_config(name) is None  # nothing is created before a deploy
        (create,) = stack.deploy("first deploy")
        return seen, stack.lambda_.async_config(name), create.status


def test_the_first_create_runs_with_the_on_failure_destination(app_assembly: Path) -> None:
    seen, after, status = _first_create(app_assembly)
    assert status == "SUCCESS"
    assert seen and all(c is not None and c.on_failure for c in seen)
    assert after is not None and after.on_failure


def test_without_the_dependency_the_first_create_runs_without_it(assembly_copy: Path) -> None:
    for template_file in assembly_copy.glob("*.template.json"):  # every stack of app.py
        template = json.loads(template_file.read_text())
        configs = set(_logical_ids(template, INVOKE_CONFIG))
        for lid in _logical_ids(template, RESOURCE_TYPE):
            resource = template["Resources"][lid]
            resource["DependsOn"] = [d for d in resource.get("DependsOn", []) if d not in configs]
        template_file.write_text(json.dumps(template))
    seen, after, status = _first_create(assembly_copy)
    assert status == "SUCCESS"
    assert seen and all(c is None for c in seen)  # as CloudFormation may: not created yet
    assert after is not None and after.on_failure  # created by the end of the deployment
