"""Named deploy scenarios, each a short story told to the local CloudFormation.

Every scenario brings the stack to the state it needs first (a first deploy, say), so any
subset runs in any order. Content changes are SourceHash changes: what a new synth of
changed site content produces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from localcloud.cloudformation.lifecycle import LocalCloudFormation, Outcome

SOURCE_HASH = "SourceHash"


@dataclass
class Story:
    stack: LocalCloudFormation
    #: How long invalidations normally stay InProgress (restored after long-wait).
    invalidation_seconds: float = 2.0
    #: Invalidation duration for the long-wait scenario, and the function timeout it outlasts.
    #: The local runtime counts process start-up against the timeout and the handler keeps
    #: 2 s back to hand off: 8 s leaves each leg time to work on a busy machine, and an
    #: invalidation at least that long always outlasts the first leg.
    long_invalidation_seconds: float = 10.0
    long_wait_function_timeout: float = 8.0
    #: How far into the first invocation the Lambda dies in the redelivery scenario.
    kill_after: float = 1.0
    _versions: int = 0

    def current_hash(self) -> str | None:
        resource = next(iter(self.stack.resources.values()))
        return None if resource.properties is None else str(resource.properties[SOURCE_HASH])

    def template_hash(self) -> str:
        logical_id = next(iter(self.stack.resources))
        return str(self.stack.template_properties(logical_id)[SOURCE_HASH])

    def new_hash(self) -> str:
        self._versions += 1
        return hashlib.sha256(f"site content v{self._versions}".encode()).hexdigest()

    def ensure_created(self) -> list[Outcome]:
        return [] if self.current_hash() is not None else first_deploy(self)


def first_deploy(story: Story) -> list[Outcome]:
    if story.current_hash() is not None:
        story.stack.delete("delete before a first deploy")
    return story.stack.deploy("first deploy")


def content_change(story: Story) -> list[Outcome]:
    return story.ensure_created() + story.stack.deploy(
        "content change", overrides={SOURCE_HASH: story.new_hash()})


def rollback(story: Story) -> list[Outcome]:
    return story.ensure_created() + story.stack.deploy(
        "update, then another resource fails", overrides={SOURCE_HASH: story.new_hash()},
        fail_after=True)


def revert(story: Story) -> list[Outcome]:
    outcomes = story.ensure_created()
    a = story.current_hash()
    outcomes += story.stack.deploy("revert: A -> B", overrides={SOURCE_HASH: story.new_hash()})
    outcomes += story.stack.deploy("revert: B -> A", overrides={SOURCE_HASH: a})
    return outcomes


def redelivery(story: Story) -> list[Outcome]:
    return story.ensure_created() + story.stack.deploy(
        "Lambda dies mid-wait, event re-delivered", overrides={SOURCE_HASH: story.new_hash()},
        kill_first_invocation_after=story.kill_after)


def long_wait(story: Story) -> list[Outcome]:
    outcomes = story.ensure_created()
    cloud = story.stack.cloud
    story.stack.set_function_timeout(story.long_wait_function_timeout)
    cloud.set_invalidation_seconds(story.long_invalidation_seconds)
    try:
        outcomes += story.stack.deploy(
            f"wait ({story.long_invalidation_seconds:g} s) outlasts one invocation "
            f"({story.long_wait_function_timeout:g} s)",
            overrides={SOURCE_HASH: story.new_hash()})
    finally:
        cloud.set_invalidation_seconds(story.invalidation_seconds)
        story.stack.set_function_timeout(None)
    return outcomes


def delete(story: Story) -> list[Outcome]:
    return story.ensure_created() + story.stack.delete()


SCENARIOS: dict[str, Callable[[Story], list[Outcome]]] = {
    "first-deploy": first_deploy,
    "content-change": content_change,
    "revert": revert,
    "rollback": rollback,
    "redelivery": redelivery,
    "long-wait": long_wait,
    "delete": delete,
}
