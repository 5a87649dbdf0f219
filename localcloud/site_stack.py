"""Deploy a site stack through the local CloudFormation: the peer's upload, then any purge.

For the bench and the demo: one stack of a synthesized app whose ``Custom::CDKBucketDeployment``
(aws-cdk-lib's own handler and AWS CLI layer, see
:mod:`localcloud.cloudformation.bucket_deployment`) and
``Custom::CloudFrontInvalidation`` resources run in dependency order, as CloudFormation runs
them. Each answer is an :class:`~localcloud.cloudformation.lifecycle.Outcome` with
``answered_at`` (when the ResponseURL got it, on the cloud's clock); ``on_outcome`` hears of
each as it is recorded.

    with LocalCloudFront(invalidation_seconds=2) as cloud:
        outs = synthesize_versions([v1_dir, v2_dir], tmp)
        with SiteStack(outs[0], cloud=cloud, stack_name="PeerSite") as site:
            site.deploy("v1")
            outcomes = site.deploy("v2", outs[1])
            print(site.bucket, site.distribution_id, success_at(outcomes))
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from localcloud.cloudformation.bucket_deployment import BUCKET_DEPLOYMENT_TYPE
from localcloud.cloudformation.lifecycle import SITE_RESOURCE_TYPES, LocalCloudFormation, Outcome
from localcloud.cloudfront import LocalCloudFront

__all__ = ["PEER_SITE_APP", "SiteStack", "success_at", "synthesize_versions"]

#: aws-cdk-lib only: a bucket, a distribution, BucketDeployments (see its docstring).
PEER_SITE_APP = Path(__file__).resolve().with_name("peer_site_app.py")


def synthesize_versions(
    site_dirs: Sequence[Path], out_root: Path, app: Path = PEER_SITE_APP
) -> list[Path]:
    """Synthesize ``app`` once per site directory, in one process (see peer_site_app.py);
    the assembly directories, in the same order."""
    outs = [out_root / f"cdk.out.{index}" for index in range(len(site_dirs))]
    env = {
        **os.environ,
        "PEER_SITE_DIRS": os.pathsep.join(str(d) for d in site_dirs),
        "PEER_SITE_OUTS": os.pathsep.join(str(o) for o in outs),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    subprocess.run([sys.executable, str(app)], check=True, env=env, cwd=app.parent)
    return outs


def success_at(outcomes: Sequence[Outcome]) -> float | None:
    """When CloudFormation got the last answer of a deployment, if every answer was
    SUCCESS (None otherwise, or when nothing was sent)."""
    if not outcomes or any(o.status != "SUCCESS" or o.answered_at is None for o in outcomes):
        return None
    return max(o.answered_at for o in outcomes if o.answered_at is not None)


class SiteStack:
    """One stack with a BucketDeployment (and possibly CloudFrontInvalidation resources)
    under the local cloud. ``waiter_delay_scale`` scales the botocore waiter's 20 s delay
    in the handlers (docs/local-cloud.md); keep 1 to measure the peer as it is."""

    def __init__(
        self,
        cdk_out: Path,
        *,
        cloud: LocalCloudFront,
        stack_name: str | None = None,
        waiter_delay_scale: float = 1.0,
        service_timeout: float | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.cloudformation = LocalCloudFormation(
            cdk_out,
            cloud=cloud,
            stack_name=stack_name,
            service_timeout=service_timeout,
            resource_types=SITE_RESOURCE_TYPES,
            waiter_delay_scale=waiter_delay_scale,
        )
        self.cloudformation.on_outcome = on_outcome

    @property
    def bucket(self) -> str:
        """The destination bucket of the stack's (first) BucketDeployment."""
        cfn = self.cloudformation
        for logical_id, resource in cfn.resources.items():
            if resource.spec.resource_type == BUCKET_DEPLOYMENT_TYPE:
                return str(cfn.template_properties(logical_id)["DestinationBucketName"])
        raise LookupError(f"stack {cfn.stack.name} has no {BUCKET_DEPLOYMENT_TYPE}")

    @property
    def distribution_id(self) -> str | None:
        """The stack's (first) distribution in the local CloudFront, if it has one."""
        return next(iter(self.cloudformation.distributions.values()), None)

    def deploy(
        self, step: str, cdk_out: Path | None = None, *, fail_after: bool = False
    ) -> list[Outcome]:
        """One stack deployment; with ``cdk_out``, of that new synth (new content).

        ``fail_after``: another resource fails after these, so CloudFormation rolls them
        back (an Update with the old properties: the peer syncs the old content again).
        """
        if cdk_out is not None:
            self.cloudformation.use_assembly(cdk_out)
        return self.cloudformation.deploy(step, fail_after=fail_after)

    def delete(self, step: str = "delete") -> list[Outcome]:
        return self.cloudformation.delete(step)

    def close(self) -> None:
        self.cloudformation.close()

    def __enter__(self) -> SiteStack:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
