#!/usr/bin/env python3
"""Example: a static site in a private S3 bucket behind CloudFront, purged on every deploy.

    npx cdk deploy          # for real (pinned CLI: see package.json)
    make demo               # locally, against the emulated CloudFront
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from cdk_cloudfront_invalidation import CloudFrontInvalidation

from constructs import Construct

SITE_DIR = str(Path(__file__).parent / "site")


class StaticSiteStack(cdk.Stack):
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
            paths=["/*"],
            source_directories=[SITE_DIR],
        )
        # Purge only after the new content is in the bucket.
        purge.node.add_dependency(deployment)
        cdk.CfnOutput(self, "DistributionDomain", value=distribution.distribution_domain_name)
        cdk.CfnOutput(self, "InvalidationId", value=purge.invalidation_id)


app = cdk.App()
StaticSiteStack(app, "StaticSite")
app.synth()
