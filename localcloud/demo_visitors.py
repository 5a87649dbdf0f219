"""Light traffic around each deploy step of ``make demo``: what visitors saw, in one line.

The demo's stack (app.py) is deployed by the local CloudFormation with SourceHash
changes standing for new site content (localcloud/scenarios.py); its BucketDeployment is
not run there. So that visitors see content change, each step's content version is put
in a bucket the stack's distribution serves before the step's deploy, the way the
stack's BucketDeployment runs before its purge (the purge depends on it): a generated
multi-page site (:func:`localcloud.traffic.sites.multi_page_site`) whose every file says which
version it is (each version has the same keys, changed in place; keys a version does not
have would be deleted, as a pruning sync does). A SourceHash
seen before (a revert) puts that version back; a rolled-back step puts nothing (the content
stays). Visitors (few, on every POP) load pages from before the upload until a moment
after the answer; the line gives page loads, broken loads and stale loads after SUCCESS
(localcloud/traffic/visitors.py). ``python -m bench --sections visitors`` measures the real
BucketDeployment handler under heavier traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from localcloud.cloudformation.lifecycle import LocalCloudFormation, Outcome
from localcloud.cloudfront import LocalCloudFront
from localcloud.cloudfront.edge import s3_site_config
from localcloud.site_stack import success_at
from localcloud.traffic.sites import Site, multi_page_site, put_site
from localcloud.traffic.visitors import TrafficRunner, summarize

__all__ = ["DemoVisitors"]

SOURCE_HASH = "SourceHash"
BUCKET = "demo-site-content"


class DemoVisitors:
    """Serves every distribution of ``stack`` from one demo bucket and wraps its deploys."""

    def __init__(
        self,
        cloud: LocalCloudFront,
        stack: LocalCloudFormation,
        out: TextIO,
        *,
        visitors: int = 6,
        pages: int = 6,
        lead_seconds: float = 1.0,
        tail_seconds: float = 2.0,
    ) -> None:
        self.cloud = cloud
        self.stack = stack
        self.out = out
        self.visitors = visitors
        self.pages = pages
        self.lead_seconds = lead_seconds
        self.tail_seconds = tail_seconds
        self.s3 = self._s3()
        self.s3.create_bucket(Bucket=BUCKET)
        self.versions: dict[str, str] = {}
        self.current: Site | None = None
        client = cloud.client()
        self.hosts: list[str] = []
        for distribution_id in stack.distributions.values():
            current = client.get_distribution_config(Id=distribution_id)
            config = current["DistributionConfig"]
            client.update_distribution(
                Id=distribution_id,
                IfMatch=current["ETag"],
                DistributionConfig={
                    "CallerReference": config["CallerReference"],
                    "Comment": config.get("Comment", ""),
                    **s3_site_config(BUCKET),
                },
            )
            self.hosts.append(cloud.edge.host_of(distribution_id))

    def _s3(self) -> Any:  # noqa: ANN401 - a boto3 client
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.cloud.endpoint_url,
            region_name=self.cloud.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - dummy key for the local server
        )

    def _version_for(self, overrides: Mapping[str, Any] | None) -> str:
        source_hash = (overrides or {}).get(SOURCE_HASH)
        if source_hash is None:
            logical_id = next(iter(self.stack.resources))
            source_hash = self.stack.template_properties(logical_id).get(SOURCE_HASH)
        return self.versions.setdefault(str(source_hash), f"v{len(self.versions) + 1}")

    def _sync(self, version: str) -> Site:
        """``aws s3 sync --delete`` of the version: new files, then the others removed."""
        site = multi_page_site(version, pages=self.pages)
        put_site(self.s3, BUCKET, site)
        listed = self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        for key in {str(item["Key"]) for item in listed} - set(site.files):
            self.s3.delete_object(Bucket=BUCKET, Key=key)
        return site

    def around(self, deploy: Callable[..., list[Outcome]]) -> Callable[..., list[Outcome]]:
        """``deploy`` (LocalCloudFormation.deploy) with the upload and traffic around it."""

        def deploy_with_visitors(step: str, **kwargs: Any) -> list[Outcome]:  # noqa: ANN401
            if not self.hosts:
                return deploy(step, **kwargs)
            rolled_back = bool(kwargs.get("fail_after"))
            version = self._version_for(kwargs.get("overrides"))
            if self.current is None:  # the very first content: before any traffic
                self.current = self._sync(version)
            site = self.current
            runner = TrafficRunner(
                self.cloud.endpoint_url,
                self.hosts[0],
                site.pages,
                visitors=self.visitors,
                pops=self.cloud.edge.pops,
                think_seconds=(0.3, 1.0),
                max_seconds=600.0,
                max_real_seconds=600.0,
            )
            runner.start()
            time.sleep(self.lead_seconds)
            if not rolled_back and version != site.version:
                self.current = site = self._sync(version)
            outcomes = deploy(step, **kwargs)
            success = success_at(outcomes)
            time.sleep(self.tail_seconds)
            loads = runner.stop()
            summary = summarize(loads, success_at=success, expected_version=site.version)
            note = " (rolled back: content unchanged)" if rolled_back else ""
            # On a terminal the demo's live line has no newline yet: end it first.
            print(
                ("\n" if self.out.isatty() else "")
                + f"  visitors [{step}]: content {site.version}{note}; {summary.page_loads} "
                f"page loads, {summary.broken} broken, {summary.stale_after_success} stale "
                "after SUCCESS" + ("" if success is not None else " (no SUCCESS)"),
                file=self.out,
                flush=True,
            )
            return outcomes

        return deploy_with_visitors
