"""Cache tags and distribution tenants end to end: examples/tags_and_tenants_app.py
synthesized, its distributions (CacheTagConfig, multi-tenant) and tenant stood up in the
local CloudFront, its handler driven through CloudFormation's protocol."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.cloudformation.lifecycle import LocalCloudFormation
from localcloud.cloudfront import LocalCloudFront
from localcloud.demo import check
from localcloud.scenarios import SCENARIOS, Story
from tests.support.synth import INVALIDATION_SECONDS, ROOT, synthesized


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesized(ROOT / "examples" / "tags_and_tenants_app.py", tmp_path_factory.mktemp("cdk-out"))


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloudFront]:
    with LocalCloudFront(invalidation_seconds=INVALIDATION_SECONDS) as local:
        yield local


def test_a_template_with_a_tenant_purges_the_tenant_on_deploy_and_update(
    assembly: Path, cloud: LocalCloudFront
) -> None:
    with LocalCloudFormation(assembly, cloud=cloud, stack_name="TenantSite", service_timeout=60) as stack:
        (tenant_id,) = stack.distribution_tenants.values()
        story = Story(stack, invalidation_seconds=INVALIDATION_SECONDS)
        outcomes = SCENARIOS["first-deploy"](story) + SCENARIOS["content-change"](story)
    assert check(outcomes) == []
    first, change = outcomes
    for outcome in (first, change):
        (record,) = outcome.invalidations
        assert record.tenant_id == tenant_id and record.paths == ("/*",)
        assert outcome.answered_at is not None and outcome.answered_at >= record.completes_at
        assert outcome.data["DistributionTenantIds"] == tenant_id
        assert outcome.data["DistributionIds"] == ""
    assert first.invalidations[0].caller_reference != change.invalidations[0].caller_reference
    # The tenant's own list holds both; the multi-tenant distribution was never purged directly.
    assert len(cloud.invalidations(tenant_id=tenant_id)) == 2


def test_a_template_purging_by_cache_tag_sends_the_tag_unencoded(assembly: Path, cloud: LocalCloudFront) -> None:
    with LocalCloudFormation(assembly, cloud=cloud, stack_name="TaggedSite", service_timeout=60) as stack:
        (dist,) = stack.distributions.values()
        story = Story(stack, invalidation_seconds=INVALIDATION_SECONDS)
        outcomes = SCENARIOS["first-deploy"](story)
    assert check(outcomes) == []
    (outcome,) = outcomes
    (record,) = outcome.invalidations
    assert record.distribution_id == dist and record.tenant_id is None
    assert record.paths == ("#site-release",)
    assert outcome.data["PathCount"] == "1" and outcome.data["Status"] == "Completed"


def test_the_demo_ends_with_a_tags_and_tenants_step(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from localcloud.demo import main

    # The demo (and the synth it runs) leaves nothing in the temporary directory.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    code = main(["--scenario", "tenants", "--invalidation-seconds", "0.5"])
    assert list(scratch.iterdir()) == []
    out = capsys.readouterr().out
    assert code == 0, out
    assert "== tenants: stack TaggedSite" in out and " #site-release\n" in out
    assert "== tenants: stack TenantSite" in out and "distribution tenants: Tenant dt_" in out
    assert "{" not in out  # readable text, not Python dicts
    # The summary names the stack on each row: both stacks have a "first deploy".
    rows = [line.split(" | ") for line in out.splitlines() if " | " in line]
    assert [r[0].strip() for r in rows if r[1].strip() == "first deploy"] == ["TaggedSite", "TenantSite"]
    assert "4 CloudFormation requests; 4 invalidations; problems: 0" in out
