#!/usr/bin/env python3
"""Example: one provider stack serves other stacks and plain CloudFormation templates.

``CloudFrontInvalidationProvider`` exports its ServiceToken; a template that purges
imports it with ``!ImportValue`` (see ``examples/raw-cloudformation.yaml``), and so does the
CDK stack ``SiteRelease`` below, through ``CloudFrontInvalidation(service_token=...)`` (the
same props and synth-time checks, no function of its own). IAM stays least-privilege: the
provider may invalidate exactly the distributions named in the ``distributionIds`` context,
and read the status of exactly the consuming stacks (rollback detection), so adding either
is a redeploy of the provider stack.

    npx cdk deploy --app "python3 examples/shared_provider_app.py" \\
        -c distributionIds=E2QWRUHAPOMQZL,E1EXAMPLE2345 --all
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from constructs import Construct

from cdk_cloudfront_invalidation import CloudFrontInvalidation, CloudFrontInvalidationProvider
from cloudfront_purge.model import rules

#: The name other stacks give to Fn::ImportValue; raw-cloudformation.yaml defaults to it.
SERVICE_TOKEN_EXPORT = "CloudFrontInvalidation-ServiceToken"  # noqa: S105 - an export name
SITE_DIR = str(Path(__file__).resolve().parent.parent / "site")
#: The stacks that purge through the shared provider.
CONSUMER_STACKS = ("SiteRelease",)


class InvalidationProviderStack(cdk.Stack):
    """The shared provider: one function, its ServiceToken exported, distributions granted."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        distribution_ids: Sequence[str],
        consumer_stacks: Sequence[str] = CONSUMER_STACKS,
        export_name: str = SERVICE_TOKEN_EXPORT,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        # grant_rollback_detection: DescribeStacks on each consuming stack, so their
        # rollbacks never fail because of the cache (docs/troubleshooting.md). Names, not
        # stack ids: the consumers import this stack's export, so a reference back would
        # be a cycle.
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
        distributions = [
            # Only the id is used (the provider stack holds the grant); give the domain
            # name when you know it.
            cloudfront.Distribution.from_distribution_attributes(
                self, f"Distribution{index}", distribution_id=distribution_id, domain_name=""
            )
            for index, distribution_id in enumerate(distribution_ids)
        ]
        purge = CloudFrontInvalidation(
            self,
            "Purge",
            service_token=cdk.Fn.import_value(export_name),
            distributions=distributions,
            paths=["/index.html", "/assets/*"],
            # Changes whenever the site's files change: the purge runs on that update.
            source_directories=[SITE_DIR],
        )
        cdk.CfnOutput(self, "InvalidationId", value=purge.invalidation_id)
        cdk.CfnOutput(self, "Status", value=purge.status)


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
    provider_stack = InvalidationProviderStack(
        app, "CloudFrontInvalidationProvider", distribution_ids=distribution_ids
    )
    release = SiteReleaseStack(app, "SiteRelease", distribution_ids=distribution_ids)
    # Fn::ImportValue is not a CDK reference: deploy the exporting stack first.
    release.add_stack_dependency(provider_stack)
    app.synth()


if __name__ == "__main__":
    main()
