#!/usr/bin/env python3
"""The CDK apps of the "visitors" section: one site, three ways to deploy it.

Synthesizes one cloud assembly per job, all in one process (the CDK's start-up dominates a
synth, so jobs share it). ``VISITOR_JOBS`` is a JSON list of jobs::

    [{"setup": "peer", "site_dir": "/tmp/v1", "spa": true, "out": "/tmp/out.peer.v1"}, ...]

Every assembly holds one stack, ``VisitorSite``: a private bucket, a distribution in front
of it (origin access control, ``index.html`` as default root object; with ``spa`` the
single-page-app rule, 403 and 404 answered with ``/index.html`` and status 200), and the
set-up's deployment:

- ``peer``: ``BucketDeployment(distribution=...)``: prune on, its own invalidation of ``/*``
  and its waiter, as aws-cdk-lib documents it;
- ``purge``: ``BucketDeployment`` (prune on) then ``CloudFrontInvalidation`` of ``/*``,
  as this project's app.py did before the safe set-up;
- ``safe``: ``SafeSiteDeployment`` (assets first, pages last, nothing deleted, only what
  changed purged and waited for, replaced files pruned after retention).
"""

from __future__ import annotations

import json
import os
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment

STACK = "VisitorSite"
PEER = "peer"
PURGE = "purge"
SAFE = "safe"
SETUPS = (PEER, PURGE, SAFE)


def site_app(setup: str, site_dir: str, spa: bool, outdir: str) -> cdk.App:
    if setup not in SETUPS:
        raise SystemExit(f"VISITOR_JOBS: setup {setup!r} is not one of {', '.join(SETUPS)}")
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, STACK)
    bucket = s3.Bucket(stack, "SiteBucket", block_public_access=s3.BlockPublicAccess.BLOCK_ALL)
    # The single-page-app rule: a client-side route (no such key: S3 answers 403 to an
    # origin without ListBucket) is answered with the app's page.
    errors = (
        [
            cloudfront.ErrorResponse(
                http_status=status, response_http_status=200, response_page_path="/index.html"
            )
            for status in (403, 404)
        ]
        if spa
        else None
    )
    distribution = cloudfront.Distribution(
        stack,
        "Distribution",
        default_root_object="index.html",
        default_behavior=cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(bucket)
        ),
        error_responses=errors,
    )
    source = s3_deployment.Source.asset(site_dir)
    if setup == PEER:
        s3_deployment.BucketDeployment(
            stack,
            "Deploy",
            sources=[source],
            destination_bucket=bucket,
            distribution=distribution,
        )
    elif setup == PURGE:
        from cdk_cloudfront_invalidation import CloudFrontInvalidation

        deployment = s3_deployment.BucketDeployment(
            stack, "Deploy", sources=[source], destination_bucket=bucket
        )
        purge = CloudFrontInvalidation(
            stack,
            "Purge",
            distribution=distribution,
            paths=["/*"],
            source_directories=[site_dir],
        )
        purge.node.add_dependency(deployment)
    else:
        from cdk_cloudfront_invalidation import SafeSiteDeployment

        SafeSiteDeployment(
            stack,
            "Site",
            source_directories=[site_dir],
            destination_bucket=bucket,
            distribution=distribution,
        )
    return app


def main() -> None:
    jobs: list[dict[str, Any]] = json.loads(os.environ["VISITOR_JOBS"])
    for job in jobs:
        site_app(str(job["setup"]), str(job["site_dir"]), bool(job["spa"]), str(job["out"])).synth()


if __name__ == "__main__":
    main()
