"""A new user's first mistakes are refused at synth with a message naming the prop:
a str where a list is expected, cache-tag items on a distribution of the app
that has no CacheTagConfig."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets

from cdk_cloudfront_invalidation import CloudFrontInvalidation

ROOT = Path(__file__).resolve().parents[2]
SITE = str(ROOT / "site")


def make_stack() -> tuple[cdk.Stack, cloudfront.Distribution]:
    stack = cdk.Stack(cdk.App(), "Test")
    bucket = s3.Bucket(stack, "B")
    dist = cloudfront.Distribution(stack, "D", default_behavior=cloudfront.BehaviorOptions(
        origin=origins.S3BucketOrigin.with_origin_access_control(bucket)))
    return stack, dist


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("source_directories", SITE),
        ("paths", "/index.html"),
        ("distribution_tenants", "dt_2wjDZi3hD1ivOXf6rpZzNHkbMd9"),
        ("assets", "asset"),
        ("distributions", "E2QWRUHAPOMQZL"),
    ],
)
def test_a_string_where_a_list_is_expected_names_the_prop(prop: str, value: str) -> None:
    stack, dist = make_stack()
    kwargs: dict[str, Any] = {"source_hash": "v1", "distribution": dist, prop: value}
    if prop == "distributions":
        del kwargs["distribution"]
    with pytest.raises(ValueError, match=rf"^{prop} must be a list such as .*not a string"):
        CloudFrontInvalidation(stack, "P", **kwargs)


def test_a_single_object_where_a_list_is_expected_names_the_prop() -> None:
    stack, dist = make_stack()
    asset = s3_assets.Asset(stack, "A", path=SITE)
    with pytest.raises(ValueError, match=r"^distributions must be a list such as \[distribution\]"):
        CloudFrontInvalidation(stack, "P", distributions=dist, source_hash="v1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^assets must be a list such as \[asset\], got Asset"):
        CloudFrontInvalidation(stack, "Q", distribution=dist, assets=asset)  # type: ignore[arg-type]


def test_tuples_are_lists_too() -> None:
    stack, dist = make_stack()
    CloudFrontInvalidation(stack, "P", distributions=(dist,), source_directories=(SITE,),
                           paths=("/index.html",))
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties("Custom::CloudFrontInvalidation", {"Paths": ["/index.html"]})


def _synth_error(stack: cdk.Stack) -> str:
    # jsii wraps the ValidationError in its own exception type.
    with pytest.raises(Exception) as caught:
        cdk.Stage.of(stack).synth()  # type: ignore[union-attr]
    return str(caught.value)


def test_tag_items_on_an_app_distribution_without_cache_tag_config_fail_at_synth() -> None:
    stack, dist = make_stack()
    CloudFrontInvalidation(stack, "Purge", distribution=dist, paths=["#release"],
                           source_hash="v1")
    message = _synth_error(stack)
    assert "Test/Purge: paths has cache-tag items" in message
    assert "distribution Test/D has no CacheTagConfig" in message
    assert 'add_property_override("DistributionConfig.CacheTagConfig.HeaderName"' in message


def test_tag_items_pass_when_an_override_adds_the_cache_tag_config_even_later() -> None:
    stack, dist = make_stack()
    CloudFrontInvalidation(stack, "Purge", distribution=dist, paths=["#release"],
                           source_hash="v1")
    l1 = dist.node.default_child
    assert isinstance(l1, cloudfront.CfnDistribution)
    # Added after the purge was declared: the check reads the rendered template.
    l1.add_property_override("DistributionConfig.CacheTagConfig.HeaderName", "x-cache-tag")
    cdk.Stage.of(stack).synth()  # type: ignore[union-attr]


def test_tag_items_on_an_l1_distribution_with_and_without_cache_tag_config() -> None:
    stack = cdk.Stack(cdk.App(), "L1")

    def l1(name: str, tags: bool) -> cloudfront.CfnDistribution:
        return cloudfront.CfnDistribution(stack, name, distribution_config=cloudfront.CfnDistribution.DistributionConfigProperty(
            enabled=True,
            default_cache_behavior=cloudfront.CfnDistribution.DefaultCacheBehaviorProperty(
                target_origin_id="o", viewer_protocol_policy="allow-all"),
            origins=[cloudfront.CfnDistribution.OriginProperty(
                id="o", domain_name="example.com",
                custom_origin_config=cloudfront.CfnDistribution.CustomOriginConfigProperty(
                    origin_protocol_policy="https-only"))],
            cache_tag_config=cloudfront.CfnDistribution.CacheTagConfigProperty(
                header_name="x-cache-tag") if tags else None,
        ))

    tagged, plain = l1("Tagged", True), l1("Plain", False)
    for name, dist in (("WithTags", tagged), ("Without", plain)):
        as_l2 = cloudfront.Distribution.from_distribution_attributes(
            stack, f"{name}Ref", distribution_id=dist.attr_id, domain_name=dist.attr_domain_name)
        # Wrapped by its attr_id: the check finds the CfnDistribution behind it.
        CloudFrontInvalidation(stack, name, distribution=as_l2, paths=["#release"],
                               source_hash="v1")
    message = _synth_error(stack)
    assert "L1/Without: paths has cache-tag items" in message
    assert "distribution L1/WithoutRef has no CacheTagConfig" in message
    assert "WithTags" not in message


def test_imported_distributions_keep_the_run_time_check() -> None:
    stack = cdk.Stack(cdk.App(), "Imported")
    dist = cloudfront.Distribution.from_distribution_attributes(
        stack, "D", distribution_id="E2QWRUHAPOMQZL", domain_name="d111111abcdef8.cloudfront.net")
    CloudFrontInvalidation(stack, "Purge", distribution=dist, paths=["#release"], source_hash="v1")
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties("Custom::CloudFrontInvalidation", {"Paths": ["#release"]})


# --- a consumer of a shared provider ------------------------------------------------------
SHARED_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:shared-provider"


def imported(stack: cdk.Stack) -> cloudfront.IDistribution:
    return cloudfront.Distribution.from_distribution_attributes(
        stack, "D", distribution_id="E2QWRUHAPOMQZL", domain_name="")


def test_a_consumer_declares_the_resource_against_an_imported_token_with_no_function() -> None:
    stack = cdk.Stack(cdk.App(), "Consumer")
    purge = CloudFrontInvalidation(stack, "Purge", distribution=imported(stack),
                                   service_token=cdk.Fn.import_value("Shared-ServiceToken"),
                                   paths=["/index.html"], source_directories=[SITE])
    assert purge.provider is None
    template = assertions.Template.from_stack(stack)
    template.resource_count_is("AWS::Lambda::Function", 0)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.has_resource_properties("Custom::CloudFrontInvalidation", {
        "ServiceToken": {"Fn::ImportValue": "Shared-ServiceToken"},
        "DistributionIds": ["E2QWRUHAPOMQZL"], "Paths": ["/index.html"],
        "TimeoutSeconds": "1800", "ServiceTimeout": "1920",
    })


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"paths": ["index.html"]}, "must start with '/'"),
        ({"source_directories": SITE}, "^source_directories must be a list"),
        ({"timeout": cdk.Duration.hours(2)}, "timeout"),
        ({"service_token": ""}, "^service_token must be the shared provider's ServiceToken"),
        ({"service_token": "my-provider"}, "^service_token must be a Lambda function ARN"),
    ],
)
def test_a_consumer_gets_the_same_synth_time_checks(kwargs: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(cdk.App(), "Consumer")
    settings: dict[str, Any] = {"service_token": SHARED_TOKEN, "source_hash": "v1", **kwargs}
    with pytest.raises(ValueError, match=message):
        CloudFrontInvalidation(stack, "Purge", distribution=imported(stack), **settings)


def test_a_misspelt_prop_fails_at_once_not_at_deploy() -> None:
    # The bare CustomResource the README used to show took {"Path": [...]} until deploy time.
    stack = cdk.Stack(cdk.App(), "Consumer")
    with pytest.raises(TypeError, match="path"):
        CloudFrontInvalidation(stack, "Purge", distribution=imported(stack),  # type: ignore[call-arg]
                               service_token=SHARED_TOKEN, source_hash="v1", path=["/*"])


# --- log groups and cdk destroy -----------------------------------------------------------


def _deletion_policies(stack: cdk.Stack) -> list[str]:
    groups = assertions.Template.from_stack(stack).find_resources("AWS::Logs::LogGroup")
    return sorted(g["DeletionPolicy"] for g in groups.values())


def test_log_groups_are_kept_by_default_and_removed_when_asked() -> None:
    stack, dist = make_stack()
    CloudFrontInvalidation(stack, "Purge", distribution=dist, source_hash="v1")
    assert _deletion_policies(stack) == ["Retain", "Retain"]

    stack, dist = make_stack()
    CloudFrontInvalidation(stack, "PA", distribution=dist, source_hash="v1",
                           log_removal_policy=cdk.RemovalPolicy.DESTROY)
    # A second instance that says nothing keeps the stack's choice.
    CloudFrontInvalidation(stack, "PB", distribution=dist, source_hash="v2")
    assert _deletion_policies(stack) == ["Delete", "Delete"]


def test_instances_of_one_stack_must_agree_on_the_log_removal_policy() -> None:
    stack, dist = make_stack()
    CloudFrontInvalidation(stack, "PA", distribution=dist, source_hash="v1",
                           log_removal_policy=cdk.RemovalPolicy.DESTROY)
    with pytest.raises(ValueError, match=r"^log_removal_policy: the stack's provider already has"):
        CloudFrontInvalidation(stack, "PB", distribution=dist, source_hash="v2",
                               log_removal_policy=cdk.RemovalPolicy.RETAIN)
    with pytest.raises(ValueError, match=r"^log_removal_policy must be a RemovalPolicy"):
        CloudFrontInvalidation(stack, "PC", distribution=dist, source_hash="v3",
                               log_removal_policy="destroy")  # type: ignore[arg-type]


def test_a_consumer_of_a_shared_provider_cannot_set_its_log_policy() -> None:
    stack = cdk.Stack(cdk.App(), "Consumer")
    with pytest.raises(ValueError, match=r"^log_removal_policy applies to this stack's own provider"):
        CloudFrontInvalidation(stack, "Purge", distribution=imported(stack), source_hash="v1",
                               service_token=SHARED_TOKEN,
                               log_removal_policy=cdk.RemovalPolicy.DESTROY)
