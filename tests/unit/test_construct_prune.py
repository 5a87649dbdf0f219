"""Synth of the prune props and SafeSiteDeployment: properties, IAM scoping, the rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment

from cdk_cloudfront_invalidation import CloudFrontInvalidation, SafeSiteDeployment
from cloudfront_purge.model import prune, rules

ROOT = Path(__file__).resolve().parents[2]
SITE = str(ROOT / "site")


def make_stack(origin_path: str | None = None) -> tuple[cdk.Stack, s3.Bucket, cloudfront.Distribution]:
    stack = cdk.Stack(cdk.App(), "Test")
    bucket = s3.Bucket(stack, "Site")
    dist = cloudfront.Distribution(
        stack, "D",
        default_behavior=cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(bucket, origin_path=origin_path)
        ),
    )
    return stack, bucket, dist


def template(stack: cdk.Stack) -> assertions.Template:
    return assertions.Template.from_stack(stack)


def custom_properties(stack: cdk.Stack) -> dict[str, Any]:
    (resource,) = template(stack).find_resources(rules.RESOURCE_TYPE).values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def statements(stack: cdk.Stack) -> list[dict[str, Any]]:
    found = []
    for policy in template(stack).find_resources("AWS::IAM::Policy").values():
        found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_prune_props_are_sent_with_their_defaults() -> None:
    stack, bucket, dist = make_stack()
    purge = CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                                   only_changed=True, prune_bucket=bucket)
    props = custom_properties(stack)
    assert props[rules.PROP_PRUNE_BUCKET] == {"Ref": stack.get_logical_id(bucket.node.default_child)}  # type: ignore[arg-type]
    assert props[rules.PROP_PRUNE_KEY_PREFIX] == ""
    assert props[rules.PROP_KEEP_REPLACED_SECONDS] == str(7 * 86400)
    assert props[rules.PROP_ON_TIMEOUT] == "fail"
    assert json.dumps(stack.resolve(purge.prune_status)) == json.dumps(
        {"Fn::GetAtt": [stack.get_logical_id(purge.resource.node.default_child), "PruneStatus"]})  # type: ignore[arg-type]
    # What the handler parses is what the construct sent.
    spec = prune.parse_prune({**props, rules.PROP_PRUNE_BUCKET: "site-bucket"})
    assert spec == prune.PruneSpec("site-bucket", "", 7 * 86400)


def test_without_prune_the_template_is_unchanged() -> None:
    stack, _bucket, dist = make_stack()
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE])
    assert not set(custom_properties(stack)) & rules.KNOWN_PROPS - {
        rules.PROP_DISTRIBUTION_IDS, rules.PROP_PATHS, rules.PROP_SOURCE_HASH,
        rules.PROP_WAIT_FOR_COMPLETION, rules.PROP_TIMEOUT_SECONDS, rules.PROP_INVALIDATE_ON_CREATE,
    }


def test_on_timeout_succeed_alone_is_sent() -> None:
    stack, _bucket, dist = make_stack()
    CloudFrontInvalidation(stack, "P", distribution=dist, source_hash="abc", on_timeout="succeed")
    props = custom_properties(stack)
    assert props[rules.PROP_ON_TIMEOUT] == "succeed" and rules.PROP_PRUNE_BUCKET not in props


def test_iam_is_scoped_to_the_bucket_and_prefix() -> None:
    stack, bucket, dist = make_stack(origin_path="/www")
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                           only_changed=True, prune_bucket=bucket, prune_key_prefix="www",
                           keep_replaced_files=cdk.Duration.days(2))
    assert custom_properties(stack)[rules.PROP_PRUNE_KEY_PREFIX] == "www/"
    s3_statements = [s for s in statements(stack) if any(a.startswith("s3:") for a in actions(s))
                     and "cfpurge-manifest" not in json.dumps(s)]
    by_action = {a: s for s in s3_statements for a in actions(s)}
    assert set(by_action) == {"s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:ListBucket"}
    assert "/www/*" in json.dumps(by_action["s3:DeleteObject"]["Resource"])
    assert "/www/.cloudfront-purge/*" in json.dumps(by_action["s3:PutObject"]["Resource"])
    assert "/www/.cloudfront-purge/*" in json.dumps(by_action["s3:GetObject"]["Resource"])
    listing = by_action["s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["www/.cloudfront-purge/*"]}}
    for statement in s3_statements:
        assert "*" not in json.dumps(statement["Resource"]).replace("/www/*", "").replace(
            "/www/.cloudfront-purge/*", "")
        assert not any(a.endswith("*") for a in actions(statement))


def test_a_shared_provider_grants_a_raw_templates_prune_once() -> None:
    from cdk_cloudfront_invalidation import CloudFrontInvalidationProvider

    stack = cdk.Stack(cdk.App(), "Provider")
    provider = CloudFrontInvalidationProvider.of_stack(stack)
    bucket = s3.Bucket.from_bucket_name(stack, "Raw", "raw-site")
    provider.grant_prune(bucket, "www")
    provider.grant_prune(bucket, "www/")  # the same folder: nothing added
    deletes = [s for s in statements(stack) if "s3:DeleteObject" in actions(s)]
    assert len(deletes) == 1 and ":s3:::raw-site/www/*" in json.dumps(deletes[0]["Resource"])
    with pytest.raises(ValueError, match="key_prefix '/www' must not start with '/'"):
        provider.grant_prune(bucket, "/www")


def test_an_imported_bucket_is_granted_by_name() -> None:
    stack = cdk.Stack(cdk.App(), "Test")
    bucket = s3.Bucket.from_bucket_name(stack, "Imported", "my-site")
    dist = cloudfront.Distribution.from_distribution_attributes(
        stack, "D", distribution_id="E1EXAMPLE", domain_name="x.cloudfront.net")
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                           only_changed=True, prune_bucket=bucket)
    assert custom_properties(stack)[rules.PROP_PRUNE_BUCKET] == "my-site"
    assert ":s3:::my-site/*" in json.dumps([s for s in statements(stack)
                                             if "s3:DeleteObject" in actions(s)])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"only_changed": False}, "prune_bucket needs only_changed=True"),
        ({"wait_for_completion": False}, "prune_bucket needs wait_for_completion=True"),
        ({"prune_key_prefix": "/site"}, "prune_key_prefix '/site' must not start with '/'"),
        ({"prune_key_prefix": "a//b"}, "prune_key_prefix 'a//b' must not hold empty"),
        # IAM reads * and ? in a resource ARN as wildcards: "site*/" would grant "site-b/".
        ({"prune_key_prefix": "site*"}, r"prune_key_prefix 'site\*' must not hold '\*' or '\?'"),
        ({"prune_key_prefix": "a?/b"}, r"prune_key_prefix 'a\?/b' must not hold '\*' or '\?'"),
        ({"keep_replaced_files": cdk.Duration.millis(1500)},
         "keep_replaced_files must be whole seconds"),
        ({"keep_replaced_files": cdk.Duration.days(4000)},
         "keep_replaced_files must be whole seconds from 0 to"),
        ({"on_timeout": "ignore"}, "on_timeout must be 'fail'"),
    ],
)
def test_bad_prune_props_fail_at_synth_naming_the_prop(kwargs: dict[str, Any], message: str) -> None:
    stack, bucket, dist = make_stack()
    options: dict[str, Any] = {"only_changed": True, "prune_bucket": bucket, **kwargs}
    with pytest.raises(ValueError, match=message):
        CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE], **options)


def test_prefix_or_retention_without_a_bucket_fails() -> None:
    stack, _bucket, dist = make_stack()
    with pytest.raises(ValueError, match="prune_key_prefix and keep_replaced_files are used with prune_bucket"):
        CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                               only_changed=True, prune_key_prefix="site/")


def test_a_prefix_that_does_not_match_the_origin_path_fails_at_synth() -> None:
    stack, bucket, dist = make_stack(origin_path="/site")
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                           only_changed=True, prune_bucket=bucket, prune_key_prefix="other")
    with pytest.raises(Exception, match=r"prune_key_prefix 'other/' does not match .* under 'site/'"):
        template(stack)


def test_a_prefix_that_matches_origin_path_and_url_prefix_synthesizes() -> None:
    stack, bucket, dist = make_stack(origin_path="/site")
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                           only_changed=True, url_prefix="/docs/", prune_bucket=bucket,
                           prune_key_prefix="site/docs/")
    assert custom_properties(stack)[rules.PROP_PRUNE_KEY_PREFIX] == "site/docs/"


def test_a_bucket_deployment_that_prunes_the_same_place_fails_at_synth() -> None:
    stack, bucket, dist = make_stack()
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                           only_changed=True, prune_bucket=bucket)
    # Defined after the purge: the check runs once the whole app exists.
    s3_deployment.BucketDeployment(stack, "Deploy", sources=[s3_deployment.Source.asset(SITE)],
                                   destination_bucket=bucket)
    with pytest.raises(Exception, match=r"prune_bucket: BucketDeployment Test/Deploy prunes the same bucket"):
        template(stack)


def test_a_bucket_deployment_with_prune_false_or_elsewhere_is_fine() -> None:
    stack, bucket, dist = make_stack()
    other = s3.Bucket(stack, "Other")
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                           only_changed=True, prune_bucket=bucket)
    s3_deployment.BucketDeployment(stack, "Deploy", sources=[s3_deployment.Source.asset(SITE)],
                                   destination_bucket=bucket, prune=False)
    s3_deployment.BucketDeployment(stack, "Elsewhere", sources=[s3_deployment.Source.asset(SITE)],
                                   destination_bucket=other)
    template(stack).resource_count_is(rules.RESOURCE_TYPE, 1)


def test_two_purges_pruning_the_same_folder_fail_at_synth() -> None:
    stack, bucket, dist = make_stack()
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                           only_changed=True, prune_bucket=bucket)
    CloudFrontInvalidation(stack, "Q", distribution=dist, source_directories=[SITE],
                           only_changed=True, prune_bucket=bucket, prune_key_prefix="docs/")
    with pytest.raises(Exception, match=r"prune_bucket: Test/Q prunes the same bucket under 'docs/', overlapping ''"):
        template(stack)


def test_a_bucket_deployment_in_another_stack_is_another_bucket() -> None:
    # Both stacks' buckets have the same logical id: a Ref means nothing across stacks.
    stack, bucket, dist = make_stack()
    other_stack = cdk.Stack(stack.node.scope, "Other")  # type: ignore[arg-type]
    other = s3.Bucket(other_stack, "Site")
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                           only_changed=True, prune_bucket=bucket)
    s3_deployment.BucketDeployment(other_stack, "Deploy",
                                   sources=[s3_deployment.Source.asset(SITE)],
                                   destination_bucket=other)
    template(stack).resource_count_is(rules.RESOURCE_TYPE, 1)


def test_safe_site_deployment_uploads_entry_documents_last_then_purges_and_prunes() -> None:
    stack, bucket, dist = make_stack()
    site = SafeSiteDeployment(stack, "Web", source_directories=[SITE],
                              destination_bucket=bucket, distribution=dist)
    found = template(stack).find_resources("Custom::CDKBucketDeployment")
    by_id = {k: v for k, v in found.items()}
    assets = next(v for k, v in by_id.items() if k.startswith("WebAssets"))
    entry = next((k, v) for k, v in by_id.items() if k.startswith("WebEntryDocuments"))
    assert assets["Properties"]["Prune"] is False and entry[1]["Properties"]["Prune"] is False
    assert assets["Properties"]["Exclude"] == ["*.html"]
    assert entry[1]["Properties"]["Exclude"] == ["*"] and entry[1]["Properties"]["Include"] == ["*.html"]
    assets_id = next(k for k in by_id if k.startswith("WebAssets"))
    assert assets_id in entry[1]["DependsOn"]
    purges = template(stack).find_resources(rules.RESOURCE_TYPE)
    (purge_id, purge) = next((k, v) for k, v in purges.items() if k.startswith("WebPurge"))
    assert {assets_id, entry[0]} <= set(purge["DependsOn"])
    # Step 0: a rollback-only purge the uploads depend on, so that in a rollback (reverse
    # dependency order) it purges after the old files are back; it never prunes.
    (rollback_id, rollback) = next(
        (k, v) for k, v in purges.items() if k.startswith("WebRollbackPurge")
    )
    assert rollback["Properties"][rules.PROP_ONLY_IN_ROLLBACK] == "true"
    assert rules.PROP_PRUNE_BUCKET not in rollback["Properties"]
    assert rollback["Properties"][rules.PROP_MANIFEST] == purge["Properties"][rules.PROP_MANIFEST]
    assert rollback_id in assets["DependsOn"]
    assert "WebPurge" not in " ".join(rollback.get("DependsOn", []))
    assert purge["Properties"][rules.PROP_ONLY_CHANGED] == "true"
    assert rules.PROP_PRUNE_BUCKET in purge["Properties"]
    assert site.invalidation.node.path.endswith("Web/Purge") and purge_id.startswith("WebPurge")


def test_only_in_rollback_with_prune_fails_at_synth() -> None:
    stack, bucket, dist = make_stack()
    with pytest.raises(ValueError, match="only_in_rollback=True purges during rollbacks only"):
        CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                               only_changed=True, prune_bucket=bucket, only_in_rollback=True)


def test_only_in_rollback_must_be_a_boolean_at_synth() -> None:
    stack, _bucket, dist = make_stack()
    with pytest.raises(ValueError, match="only_in_rollback must be True or False"):
        CloudFrontInvalidation(stack, "P", distribution=dist, source_hash="h",
                               only_in_rollback="yes")  # type: ignore[arg-type]


def test_two_stacks_pruning_one_shared_bucket_fail_at_synth() -> None:
    # The site stack owns the bucket; a second stack prunes it too (a cross-stack reference).
    stack, bucket, dist = make_stack()
    other_stack = cdk.Stack(stack.node.scope, "Other")  # type: ignore[arg-type]
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                           only_changed=True, prune_bucket=bucket)
    imported = cloudfront.Distribution.from_distribution_attributes(
        other_stack, "D", distribution_id="E2QWRUHAPOMQZL", domain_name="d.cloudfront.net")
    CloudFrontInvalidation(other_stack, "Q", distribution=imported,
                           source_directories=[SITE], only_changed=True, prune_bucket=bucket,
                           prune_key_prefix="docs/")
    with pytest.raises(Exception, match=r"Other/Q prunes the same bucket under 'docs/', overlapping ''"):
        template(other_stack)
