#!/usr/bin/env python3
"""The safe set-up for a static site: upload, purge and wait, then prune after retention.

SafeSiteDeployment uploads with aws-cdk-lib's BucketDeployment (everything but the HTML
first, then the HTML, neither deleting anything), purges only what changed and waits for
Completed, then deletes files earlier deploys replaced once keep_replaced_files has passed
(docs/retention.md). SITE_DIR (environment) points it at another built site.
"""

import os
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_cloudfront_invalidation import SafeSiteDeployment

SITE_DIR = os.environ.get("SITE_DIR", str(Path(__file__).resolve().parent.parent / "site"))


class SafeSiteStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        bucket = s3.Bucket(
            self,
            "SiteBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
        )
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
            ),
        )
        SafeSiteDeployment(
            self,
            "Site",
            source_directories=[SITE_DIR],
            destination_bucket=bucket,
            distribution=distribution,
            # Replaced files stay this long for pages still cached or open (the default).
            keep_replaced_files=cdk.Duration.days(7),
        )


app = cdk.App()
SafeSiteStack(app, "SafeSite")
app.synth()
