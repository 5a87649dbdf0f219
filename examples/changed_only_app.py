#!/usr/bin/env python3
"""Example: purge only what changed, and keep the rest of the cache warm.

A static site in a private S3 bucket behind CloudFront. On each deploy the purge compares
a manifest of the site with the previous deploy's and invalidates the URLs of the files
that changed (docs/changed-only.md).

    npx cdk deploy --app "python3 examples/changed_only_app.py"
    SITE_DIR=path/to/built/site npx cdk deploy --app "python3 examples/changed_only_app.py"
"""

from __future__ import annotations

import os
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from cdk_cloudfront_invalidation import CloudFrontInvalidation

#: The built site; the local demo points it at generated versions of a site.
SITE_DIR = os.environ.get("SITE_DIR", str(Path(__file__).resolve().parent.parent / "site"))


class ChangedOnlySiteStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        bucket = s3.Bucket(
            self,
            "SiteBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                # The URL path is the whole cache key: what changed-only purging assumes.
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            ),
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
            distribution=distribution,
            source_directories=[SITE_DIR],
            only_changed=True,
            max_paths=15,
        )
        purge.node.add_dependency(deployment)
        cdk.CfnOutput(self, "PurgeScope", value=purge.purge_scope)
        cdk.CfnOutput(self, "UnchangedKept", value=purge.unchanged_kept)


app = cdk.App()
ChangedOnlySiteStack(app, "ChangedOnlySite")
app.synth()
