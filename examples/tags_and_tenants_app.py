#!/usr/bin/env python3
"""Example: purge by cache tag, and purge a distribution tenant.

Two stacks:

- ``TaggedSite``: a BucketDeployment stores every object with the S3 metadata entry
  ``cache-tag: site-release``, which S3 serves as the header ``x-amz-meta-cache-tag``; the
  distribution's CacheTagConfig names that header (an L1 property override: the L2
  ``Distribution`` has no prop for it), and the construct purges ``#site-release``: every
  object tagged with it, whatever its path.
- ``TenantSite``: a multi-tenant distribution (ConnectionMode ``tenant-only``, again an L1
  override) with one ``CfnDistributionTenant``; the construct purges that tenant through
  ``CreateInvalidationForDistributionTenant``.

    npx cdk deploy --app "python3 examples/tags_and_tenants_app.py" --all
    make demo        # its last step deploys both stacks locally
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from cdk_cloudfront_invalidation import CloudFrontInvalidation

SITE_DIR = str(Path(__file__).resolve().parent.parent / "site")
#: The tag every object of this release carries, and the header S3 serves it in.
RELEASE_TAG = "site-release"
CACHE_TAG_HEADER = "x-amz-meta-cache-tag"


def _distribution(scope: Construct, bucket: s3.IBucket) -> cloudfront.Distribution:
    return cloudfront.Distribution(
        scope,
        "Distribution",
        default_root_object="index.html",
        default_behavior=cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        ),
    )


def _l1(distribution: cloudfront.Distribution) -> cloudfront.CfnDistribution:
    resource = distribution.node.default_child
    assert isinstance(resource, cloudfront.CfnDistribution)
    return resource


class TaggedSiteStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        bucket = s3.Bucket(self, "SiteBucket", enforce_ssl=True)
        distribution = _distribution(self, bucket)
        _l1(distribution).add_property_override(
            "DistributionConfig.CacheTagConfig.HeaderName", CACHE_TAG_HEADER
        )
        deployment = s3_deployment.BucketDeployment(
            self,
            "Deploy",
            sources=[s3_deployment.Source.asset(SITE_DIR)],
            destination_bucket=bucket,
            metadata={"cache-tag": RELEASE_TAG},
        )
        purge = CloudFrontInvalidation(
            self,
            "Purge",
            distribution=distribution,
            paths=[f"#{RELEASE_TAG}"],
            source_directories=[SITE_DIR],
        )
        purge.node.add_dependency(deployment)


class TenantSiteStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        bucket = s3.Bucket(self, "SiteBucket", enforce_ssl=True)
        distribution = _distribution(self, bucket)
        _l1(distribution).add_property_override("DistributionConfig.ConnectionMode", "tenant-only")
        tenant = cloudfront.CfnDistributionTenant(
            self,
            "Tenant",
            distribution_id=distribution.distribution_id,
            domains=["shop.example.com"],
            name="shop",
        )
        deployment = s3_deployment.BucketDeployment(
            self,
            "Deploy",
            sources=[s3_deployment.Source.asset(SITE_DIR)],
            destination_bucket=bucket,
        )
        purge = CloudFrontInvalidation(
            self,
            "Purge",
            distribution_tenants=[tenant],
            paths=["/*"],
            source_directories=[SITE_DIR],
        )
        purge.node.add_dependency(deployment)


app = cdk.App()
TaggedSiteStack(app, "TaggedSite")
TenantSiteStack(app, "TenantSite")
app.synth()
