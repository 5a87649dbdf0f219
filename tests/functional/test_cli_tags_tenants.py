"""cloudfront-invalidate with cache tags (``-p '#tag'``) and distribution tenants
(``--distribution-tenant-id``), against the local CloudFront."""

from __future__ import annotations

import json

import pytest

from localcloud.cloudfront import LocalCloudFront
from tests.support.cli import rows, run


@pytest.fixture
def tenant(cf: LocalCloudFront) -> str:
    return cf.create_distribution_tenant(cache_tag_header="x-amz-meta-cache-tag")


def test_purge_a_tenant_by_tag_and_path_waits_for_completed(cf: LocalCloudFront, tenant: str) -> None:
    result = run(cf, "purge", "--distribution-tenant-id", tenant, "-p", "#Release", "-p", "#release",
                 "-p", "/index.html", "--run-id", "r1")
    assert result.code == 0, result.err
    (record,) = cf.invalidations(tenant_id=tenant)
    assert record.status() == "Completed"
    assert sorted(record.paths) == ["#Release", "/index.html"]
    assert rows(result.out) == [[tenant, record.id, "Completed", record.caller_reference]]
    assert f"distribution tenant {tenant} {record.id} completed: Completed" in result.err


def test_a_tenant_and_a_distribution_in_one_run_are_told_apart_in_json(cf: LocalCloudFront, tenant: str) -> None:
    dist = cf.create_distribution()
    result = run(cf, "purge", "-d", dist, "--distribution-tenant-id", tenant, "--run-id", "r", "--json")
    assert result.code == 0, result.err
    items = json.loads(result.out)["invalidations"]
    assert [i.get("distribution_id") for i in items] == [dist, None]
    assert [i.get("distribution_tenant_id") for i in items] == [None, tenant]
    (record,) = cf.invalidations(tenant_id=tenant)
    assert items[1]["id"] == record.id


def test_the_same_run_id_twice_makes_one_tenant_invalidation(cf: LocalCloudFront, tenant: str) -> None:
    first = run(cf, "purge", "--distribution-tenant-id", tenant, "--run-id", "pipeline-7")
    again = run(cf, "purge", "--distribution-tenant-id", tenant, "--run-id", "pipeline-7")
    assert first.code == again.code == 0
    assert len(cf.invalidations(tenant_id=tenant)) == 1


def test_list_and_show_a_tenants_invalidations(cf: LocalCloudFront, tenant: str) -> None:
    assert run(cf, "purge", "--distribution-tenant-id", tenant, "-p", "#sale").code == 0
    (record,) = cf.invalidations(tenant_id=tenant)
    listed = run(cf, "list", "--distribution-tenant-id", tenant)
    assert listed.code == 0 and rows(listed.out)[0][:2] == [record.id, "Completed"]
    shown = run(cf, "show", "--distribution-tenant-id", tenant, record.id)
    assert shown.code == 0 and "  #sale" in shown.out


def test_an_unknown_tenant_fails_naming_it_with_advice(cf: LocalCloudFront) -> None:
    result = run(cf, "purge", "--distribution-tenant-id", "dt_unknown42", "--run-id", "r")
    assert result.code == 1
    assert "distribution tenant dt_unknown42" in result.err and "EntityNotFound" in result.err
    assert "check the distribution tenant id" in result.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["purge", "--distribution-tenant-id", "E2QWRUHAPOMQZL"],
         "--distribution-tenant-id: 'E2QWRUHAPOMQZL' is not a CloudFront distribution tenant id"),
        (["purge", "--distribution-tenant-id", "dt_abc", "-p", "#a,b"], "--path: tag item '#a,b' may not contain a comma"),
        (["purge", "--distribution-tenant-id", "dt_abc", "-p", "#a*"], "--path: tag item '#a*' may not contain '*'"),
        (["list", "-d", "E1", "--distribution-tenant-id", "dt_abc"], "not allowed with argument"),
    ],
)
def test_bad_tenant_or_tag_input_exits_2_naming_it(cf: LocalCloudFront, argv: list[str], message: str) -> None:
    result = run(cf, *argv)
    assert result.code == 2
    assert message in result.err
    assert cf.invalidations() == []
