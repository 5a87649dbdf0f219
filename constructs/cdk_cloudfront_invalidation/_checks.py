"""Synth-time checks shared by the construct's props (one rule, one message, every prop)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import jsii
from aws_cdk import Stack, Stage, Token
from aws_cdk import aws_cloudfront as cloudfront
from constructs import Construct, IValidation

from cloudfront_purge.model import rules

T = TypeVar("T")


def sequence_prop(name: str, value: Sequence[T] | None, example: str) -> Sequence[T] | None:
    """``value`` if it is a list (or tuple) or None; else a ValueError naming ``name``.

    A ``str`` is a sequence to Python, so without this check ``source_directories="site"``
    would be read one character at a time (and ``"/"`` hashed as a directory), and
    ``distributions=dist`` would fail deep inside jsii. ``example`` shows the right form.
    """
    if value is None:
        return None
    if isinstance(value, str | bytes):
        raise ValueError(
            f"{name} must be a list such as {example}, not a string: {_shown(value)} would be "
            "read one character at a time"
        )
    if not isinstance(value, Sequence):
        raise ValueError(
            f"{name} must be a list such as {example}, got {type(value).__name__} "
            f"{_shown(value)}"
        )
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- cache-tag items need a CacheTagConfig on the distribution --------------------------
#: The one construct per stack that checks, at synth, the distributions its purges tag.
CACHE_TAG_CHECK_ID = "CloudFrontInvalidationCacheTagCheck"
CACHE_TAG_ADVICE = (
    "add a CacheTagConfig naming the header your origin sends the tags in, e.g. "
    "distribution.node.default_child.add_property_override("
    '"DistributionConfig.CacheTagConfig.HeaderName", "x-amz-meta-cache-tag") '
    "(docs/tags-and-tenants.md)"
)


def app_defined_distribution(
    distribution: cloudfront.IDistribution,
) -> cloudfront.CfnDistribution | None:
    """The CfnDistribution behind ``distribution`` when this app defines it: an L2
    ``Distribution``, or a ``CfnDistribution`` wrapped by ``from_distribution_attributes``
    with its ``attr_id`` (or ``ref``). None for an imported one, whose config only
    CloudFront knows."""
    child = distribution.node.default_child
    if isinstance(child, cloudfront.CfnDistribution):
        return child
    stack = Stack.of(distribution)
    resolved = stack.resolve(distribution.distribution_id)
    logical_id: object = None
    if isinstance(resolved, dict) and len(resolved) == 1:
        ((key, arg),) = resolved.items()
        if key == "Ref":
            logical_id = arg
        elif key == "Fn::GetAtt" and isinstance(arg, list) and arg[1:] == ["Id"]:
            logical_id = arg[0]
    if logical_id is None:
        return None
    for construct in stack.node.find_all():
        if (
            isinstance(construct, cloudfront.CfnDistribution)
            and stack.resolve(construct.logical_id) == logical_id
        ):
            return construct
    return None


def check_cache_tags(
    purge: Construct, paths: Sequence[str], distributions: Sequence[cloudfront.IDistribution]
) -> None:
    """When ``paths`` has tag items, have the stack's CacheTagCheck look at every
    distribution of ``purge`` that this app defines."""
    if not _has_tag_items(paths):
        return
    for distribution in distributions:
        defined = app_defined_distribution(distribution)
        if defined is not None:
            CacheTagCheck.of_stack(purge).add(purge.node.path, distribution.node.path, defined)


def _has_tag_items(paths: Sequence[str]) -> bool:
    # A list token's placeholder element starts with "#{Token[": not a tag item.
    if Token.is_unresolved(list(paths)):
        return False
    return any(
        isinstance(p, str) and not Token.is_unresolved(p) and p.startswith(rules.TAG_PREFIX)
        for p in paths
    )


@jsii.implements(IValidation)
class _CacheTagValidation:
    def __init__(self, check: CacheTagCheck) -> None:
        self._check = check

    def validate(self) -> list[str]:
        return self._check.errors()


class CacheTagCheck(Construct):
    """Refuses, at synth, tag items on a distribution of this app without a CacheTagConfig.

    CloudFront refuses them at deploy (InvalidArgument); the L2 ``Distribution`` has no prop
    for CacheTagConfig, so it is usually an L1 property override, which only the rendered
    template shows: when the L1 props lack it, the stack's template is rendered once
    (a synth without validation) and read.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        #: (the purge's path, the distribution's path as the user named it, its L1)
        self._items: list[tuple[str, str, cloudfront.CfnDistribution]] = []
        self.node.add_validation(_CacheTagValidation(self))

    @classmethod
    def of_stack(cls, scope: Construct) -> CacheTagCheck:
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(CACHE_TAG_CHECK_ID)
        if isinstance(existing, CacheTagCheck):
            return existing
        return cls(stack, CACHE_TAG_CHECK_ID)

    def add(self, purge_path: str, shown: str, distribution: cloudfront.CfnDistribution) -> None:
        self._items.append((purge_path, shown, distribution))

    def errors(self) -> list[str]:
        missing = [item for item in self._items if not _has_cache_tag_config_prop(item[2])]
        if not missing:
            return []
        # Overrides are applied only when the template is rendered.
        stage = Stage.of(self)
        if stage is None:
            return []
        rendered: dict[str, object] = {}
        errors: list[str] = []
        for purge_path, shown, distribution in missing:
            stack = Stack.of(distribution)
            if stack.artifact_id not in rendered:
                assembly = stage.synth(force=True, skip_validation=True)
                rendered[stack.artifact_id] = assembly.get_stack_artifact(
                    stack.artifact_id
                ).template
            template = rendered[stack.artifact_id]
            logical_id = stack.resolve(distribution.logical_id)
            config = (
                _get(template, "Resources", logical_id, "Properties", "DistributionConfig")
            )
            if not isinstance(config, dict) or "CacheTagConfig" in config:
                continue  # a token (Fn::If, a parameter): only CloudFront can tell
            errors.append(
                f"{purge_path}: paths has cache-tag items (#...) but distribution "
                f"{shown} has no CacheTagConfig, so CloudFront would refuse "
                f"the invalidation at deploy; {CACHE_TAG_ADVICE}"
            )
        return errors


def _has_cache_tag_config_prop(distribution: cloudfront.CfnDistribution) -> bool:
    # cfnProperties: the L1's own props (camelCase), as given to CfnDistribution.
    props = jsii.get(distribution, "cfnProperties")
    config = props.get("distributionConfig") if isinstance(props, dict) else None
    return isinstance(config, dict) and config.get("cacheTagConfig") is not None


def _get(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
