#!/usr/bin/env python3
"""A CDK app of aws-cdk-lib alone: a site deployed by the peer's BucketDeployment.

Synthesizes one cloud assembly per site version, in one process (the CDK's start-up
dominates a synth, so versions share it):

    PEER_SITE_DIRS=v1:v2 PEER_SITE_OUTS=out1:out2 python localcloud/peer_site_app.py

(``os.pathsep``-separated, pairwise). Each assembly holds three stacks, each with an S3
bucket and a ``BucketDeployment`` of the version's directory:

* ``PeerSite``: a CloudFront distribution in front of the bucket and
  ``BucketDeployment(distribution=...)``: prune on, its own invalidation of ``/*`` and its
  waiter, as aws-cdk-lib documents and as people deploy it;
* ``PeerSitePlain``: no distribution, prune on (the default);
* ``PeerSiteNoPrune``: no distribution, ``prune=False``.

It imports nothing from this project's product: the local cloud judges the peer with it.
"""

from __future__ import annotations

import os

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment

#: Stack names, shared with the tests and the bench.
WITH_DISTRIBUTION = "PeerSite"
PLAIN = "PeerSitePlain"
NO_PRUNE = "PeerSiteNoPrune"


def site_app(site_dir: str, outdir: str) -> cdk.App:
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, WITH_DISTRIBUTION)
    bucket = s3.Bucket(stack, "SiteBucket")
    distribution = cloudfront.Distribution(
        stack,
        "Distribution",
        default_root_object="index.html",
        default_behavior=cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(bucket)
        ),
    )
    s3_deployment.BucketDeployment(
        stack,
        "Deploy",
        sources=[s3_deployment.Source.asset(site_dir)],
        destination_bucket=bucket,
        distribution=distribution,
    )
    plain = cdk.Stack(app, PLAIN)
    s3_deployment.BucketDeployment(
        plain,
        "Deploy",
        sources=[s3_deployment.Source.asset(site_dir)],
        destination_bucket=s3.Bucket(plain, "SiteBucket"),
    )
    no_prune = cdk.Stack(app, NO_PRUNE)
    s3_deployment.BucketDeployment(
        no_prune,
        "Deploy",
        sources=[s3_deployment.Source.asset(site_dir)],
        destination_bucket=s3.Bucket(no_prune, "SiteBucket"),
        prune=False,
    )
    return app


def main() -> None:
    dirs = os.environ["PEER_SITE_DIRS"].split(os.pathsep)
    outs = os.environ["PEER_SITE_OUTS"].split(os.pathsep)
    if len(dirs) != len(outs):
        raise SystemExit(
            f"PEER_SITE_DIRS has {len(dirs)} entries and PEER_SITE_OUTS {len(outs)}: "
            "give one output directory per site directory"
        )
    for site_dir, outdir in zip(dirs, outs, strict=True):
        site_app(site_dir, outdir).synth()


if __name__ == "__main__":
    main()
