#!/usr/bin/env python3
"""Example: a static site in a private S3 bucket behind CloudFront, purged on every deploy.

Two stacks on the same hardened bucket and distribution set-up:

- ``SafeStaticSite``, the recommended set-up: ``SafeSiteDeployment`` uploads everything but
  the HTML, then the HTML, purges only what changed and waits, then prunes what earlier
  deploys replaced once its retention has passed (docs/retention.md). Deploys never break a
  page.
- ``StaticSite``: a BucketDeployment that deletes nothing (``prune=False``) and a
  ``CloudFrontInvalidation`` that purges ``/*`` on every content change (the subject of the
  local end-to-end tier, the fault matrix and ``make demo``). Old files stay in the bucket.

    npx cdk deploy SafeStaticSite   # for real (pinned CLI: see package.json)
    make demo               # locally, against the emulated CloudFront
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from cdk_cloudfront_invalidation import CloudFrontInvalidation, SafeSiteDeployment

SITE_DIR = str(Path(__file__).parent / "site")


class SafeStaticSiteStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        bucket, distribution = site_bucket_and_distribution(self)
        site = SafeSiteDeployment(
            self,
            "Site",
            source_directories=[SITE_DIR],
            destination_bucket=bucket,
            distribution=distribution,
        )
        _acknowledge_bucket_deployment(self, site.assets_deployment, bucket)
        cdk.CfnOutput(self, "DistributionDomain", value=distribution.distribution_domain_name)
        cdk.CfnOutput(self, "PruneStatus", value=site.invalidation.prune_status)


class StaticSiteStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        bucket, distribution = site_bucket_and_distribution(self)
        deployment = s3_deployment.BucketDeployment(
            self,
            "Deploy",
            sources=[s3_deployment.Source.asset(SITE_DIR)],
            destination_bucket=bucket,
            # Delete nothing before the purge: edges still serve the old HTML until it is
            # Completed, and that HTML needs its old assets (SafeStaticSite prunes them
            # afterwards, after a retention: docs/retention.md).
            prune=False,
        )
        _acknowledge_bucket_deployment(self, deployment, bucket)
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


def site_bucket_and_distribution(
    stack: cdk.Stack,
) -> tuple[s3.Bucket, cloudfront.Distribution]:
    """The private site bucket, its access logs, and the distribution in front of it."""
    # S3 access-log delivery through a bucket policy instead of the legacy
    # LogDeliveryWrite ACL (cfn-lint W3045); context set here, so plain `python app.py`
    # gets it as well as `cdk synth`.
    stack.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
    # Access logs of the bucket and of the distribution (cdk-nag AwsSolutions-S1 and
    # AwsSolutions-CFR3). CloudFront's standard logs are delivered with an object ACL,
    # so this bucket keeps ACLs (object writer); the public-access block stays on.
    log_bucket = s3.Bucket(
        stack,
        "LogBucket",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
        lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
        removal_policy=cdk.RemovalPolicy.DESTROY,
        auto_delete_objects=True,
    )
    cdk.Validations.of(log_bucket).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-S1",
            reason="This is the access-log bucket itself: its own access logs would have "
            "to go to yet another bucket, with the same finding there.",
        )
    )
    bucket = s3.Bucket(
        stack,
        "SiteBucket",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        server_access_logs_bucket=log_bucket,
        server_access_logs_prefix="s3/",
        removal_policy=cdk.RemovalPolicy.DESTROY,
        auto_delete_objects=True,
    )
    distribution = cloudfront.Distribution(
        stack,
        "Distribution",
        default_root_object="index.html",
        default_behavior=cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        ),
        enable_logging=True,
        log_bucket=log_bucket,
        log_file_prefix="cloudfront/",
    )
    cdk.Validations.of(distribution).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-CFR1",
            reason="A public static site for every country: there is no geographic "
            "restriction to enforce.",
        ),
        cdk.Acknowledgment(
            id="AwsSolutions-CFR2",
            reason="Static files from a private bucket, no forms or API behind them; a WAF "
            "web ACL (billed per month and per request) is left to real deployments.",
        ),
        cdk.Acknowledgment(
            id="AwsSolutions-CFR4",
            reason="The example has no domain of its own and serves on *.cloudfront.net "
            "with CloudFront's default certificate, whose security policy (TLSv1) CloudFront "
            "fixes; a custom domain with an ACM certificate can set TLSv1.2_2021.",
        ),
    )
    return bucket, distribution


def _acknowledge_bucket_deployment(
    stack: cdk.Stack, deployment: s3_deployment.BucketDeployment, bucket: s3.Bucket
) -> None:
    """cdk-nag findings on the function and role aws-cdk-lib's BucketDeployment creates.

    Neither its runtime nor its grants can be set through BucketDeployment's props.
    """
    role = deployment.handler_role
    assert role.node.scope is not None
    function = role.node.scope  # the stack's singleton BucketDeployment function
    cdk.Validations.of(function).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-L1",
            reason="aws-cdk-lib's BucketDeployment picks this runtime (python3.13, a supported "
            "runtime) to match its AWS CLI layer; its props cannot change it.",
        )
    )
    bucket_resource = bucket.node.default_child
    assert isinstance(bucket_resource, s3.CfnBucket)
    site_objects = f"<{stack.get_logical_id(bucket_resource)}.Arn>/*"
    assets = "arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*"
    cdk.Validations.of(role).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            reason="BucketDeployment's own role; the managed policy allows CloudWatch Logs "
            "writes (CreateLogGroup, CreateLogStream, PutLogEvents) and nothing else.",
        ),
        *(
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM5[Action::{action}]",
                reason="BucketDeployment's grants: read the CDK asset bucket, read, write and "
                "delete in the site bucket; the wildcard is CDK's action group "
                "(e.g. s3:GetObject*), limited to those two buckets.",
            )
            for action in (
                "s3:GetObject*",
                "s3:GetBucket*",
                "s3:List*",
                "s3:DeleteObject*",
                "s3:Abort*",
            )
        ),
        cdk.Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::{assets}]",
            reason="Source.asset grants BucketDeployment read on the CDK bootstrap asset "
            "bucket, where the zipped site content is uploaded.",
        ),
        cdk.Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::{site_objects}]",
            reason="BucketDeployment writes and prunes every object of the site bucket: that "
            "bucket holds nothing else.",
        ),
    )


app = cdk.App()
# StaticSite first: the local CloudFormation (make demo, the end-to-end tier, the fault
# matrix) deploys the assembly's first stack that holds the resource.
StaticSiteStack(app, "StaticSite")
SafeStaticSiteStack(app, "SafeStaticSite")
app.synth()
