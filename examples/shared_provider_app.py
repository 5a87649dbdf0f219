#!/usr/bin/env python3
"""Example: one provider stack serves other stacks and plain CloudFormation templates.

``CloudFrontInvalidationProvider`` exports its ServiceToken; a template that purges
imports it with ``!ImportValue`` (see ``examples/raw-cloudformation.yaml``), and so does the
CDK stack ``SiteRelease`` below. IAM stays least-privilege: the provider may invalidate
exactly the distributions named in the ``distributionIds`` context, so adding one is a
redeploy of the provider stack. So is reading the status of the stacks it serves
(``cloudformation:DescribeStacks``, rollback detection), granted by stack name.

    npx cdk deploy --app "python3 examples/shared_provider_app.py" \\
        -c distributionIds=E2QWRUHAPOMQZL,E1EXAMPLE2345 --all
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from constructs import Construct

from cdk_cloudfront_invalidation import CloudFrontInvalidationProvider
from cloudfront_purge.model import rules

#: The name other stacks give to Fn::ImportValue; raw-cloudformation.yaml defaults to it.
SERVICE_TOKEN_EXPORT = "CloudFrontInvalidation-ServiceToken"  # noqa: S105 - an export name
SITE_DIR = str(Path(__file__).resolve().parent.parent / "site")


class InvalidationProviderStack(cdk.Stack):
    """The shared provider: one function, its ServiceToken exported, distributions granted,
    and the status of the stacks it serves readable (``consumer_stacks``, by name)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        distribution_ids: Sequence[str],
        consumer_stacks: Sequence[str] = (),
        export_name: str = SERVICE_TOKEN_EXPORT,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        # consumer_stacks: without DescribeStacks on a consumer stack, its rollback is
        # taken for a normal update, and a purge that fails then leaves it
        # UPDATE_ROLLBACK_FAILED (README, "Troubleshooting"). Names, not stack ids: the
        # consumers import this stack's export, so a reference back would be a cycle.
        self.provider = CloudFrontInvalidationProvider.of_stack(self)
        self.provider.export_service_token(export_name)
        self.provider.grant_distribution_ids(distribution_ids)
        self.provider.grant_rollback_detection(consumer_stacks)


class SiteReleaseStack(cdk.Stack):
    """Another team's stack: purges through the shared provider, with no function of its own."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        distribution_ids: Sequence[str],
        export_name: str = SERVICE_TOKEN_EXPORT,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        purge = cdk.CustomResource(
            self,
            "Purge",
            service_token=cdk.Fn.import_value(export_name),
            resource_type="Custom::CloudFrontInvalidation",
            # Answer within 30 minutes; CloudFormation gives up 2 minutes after that.
            service_timeout=cdk.Duration.minutes(32),
            properties={
                "DistributionIds": list(distribution_ids),
                "Paths": ["/index.html", "/assets/*"],
                # Changes whenever the site's files change: the purge runs on that update.
                "SourceHash": cdk.FileSystem.fingerprint(SITE_DIR),
                "WaitForCompletion": "true",
                "TimeoutSeconds": "1800",
            },
        )
        cdk.CfnOutput(self, "InvalidationId", value=purge.get_att_string("InvalidationId"))
        cdk.CfnOutput(self, "Status", value=purge.get_att_string("Status"))


def distribution_ids_from_context(app: cdk.App) -> list[str]:
    """The ``distributionIds`` context: comma-separated distribution ids.

    Raises:
        ValueError: the context is missing or names something that is not a distribution id.
    """
    raw = app.node.try_get_context("distributionIds")
    if not raw:
        raise ValueError(
            "give the distributions the shared provider may purge: "
            "-c distributionIds=E2QWRUHAPOMQZL[,E...]"
        )
    ids = [part.strip() for part in str(raw).split(",") if part.strip()]
    try:
        rules.validate_distribution_ids(ids, field="distributionIds")
    except rules.RuleError as exc:
        raise ValueError(str(exc)) from exc
    return ids


def main() -> None:
    app = cdk.App()
    distribution_ids = distribution_ids_from_context(app)
    release_stack_name = "SiteRelease"
    provider_stack = InvalidationProviderStack(
        app,
        "CloudFrontInvalidationProvider",
        distribution_ids=distribution_ids,
        consumer_stacks=[release_stack_name],
    )
    release = SiteReleaseStack(app, release_stack_name, distribution_ids=distribution_ids)
    # Fn::ImportValue is not a CDK reference: deploy the exporting stack first.
    release.add_stack_dependency(provider_stack)
    app.synth()


if __name__ == "__main__":
    main()
