"""CDK app for the whole-request sections: ``python -m bench.request_app OUTDIR``.

One stack, one provider function (the construct shares it), as a user would write it:

- ``Site``: one distribution purged by ``RESOURCES_ON_ONE`` resources (``Purge00`` ...),
  each with its own source hash and path; ``Purge00`` also serves the one-at-a-time runs.
- ``Fan0`` ... ``Fan4``: ``FAN_OUT`` distributions purged by the one resource ``FanOut``.

Synthesized in a child process so the benchmark's own process never loads jsii.
"""

from __future__ import annotations

import sys

STACK = "BenchRequest"
RESOURCES_ON_ONE = 20
FAN_OUT = 5
SITE = "Site"
FAN_OUT_RESOURCE = "FanOut"


def resource_id(index: int) -> str:
    return f"Purge{index:02d}"


def fan_distribution_id(index: int) -> str:
    return f"Fan{index}"


def main(argv: list[str]) -> int:
    outdir = argv[1]
    import aws_cdk as cdk
    from aws_cdk import aws_cloudfront as cloudfront
    from aws_cdk import aws_cloudfront_origins as origins

    from cdk_cloudfront_invalidation import CloudFrontInvalidation

    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, STACK, env=cdk.Environment(account="123456789012", region="us-east-1"))

    def distribution(logical_id: str) -> cloudfront.Distribution:
        return cloudfront.Distribution(
            stack,
            logical_id,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin("origin.example.com")
            ),
        )

    site = distribution(SITE)
    for i in range(RESOURCES_ON_ONE):
        CloudFrontInvalidation(
            stack,
            resource_id(i),
            distribution=site,
            paths=[f"/section-{i}/*"],
            source_hash=f"content-{i:02d}",
        )
    CloudFrontInvalidation(
        stack,
        FAN_OUT_RESOURCE,
        distributions=[distribution(fan_distribution_id(i)) for i in range(FAN_OUT)],
        paths=["/*"],
        source_hash="fan-out",
    )
    app.synth()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
