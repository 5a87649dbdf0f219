"""The local CloudFront's cache-tag items and distribution tenants.

Tag rules: CloudFront Developer Guide, "What you need to know when invalidating tags".
Tenant operations: botocore's CloudFront service model (CreateInvalidationFor-,
GetInvalidationFor-, ListInvalidationsForDistributionTenant). moto 5.2.5 has neither.
"""

from __future__ import annotations

import re

import pytest

from localcloud.cloudfront import LocalCloudFront
from tests.support.localcloud_cloudfront import (
    create,
    create_for_tenant,
    error_of,
    wait_until,
)

TAG_HEADER = "x-amz-meta-cache-tag"


@pytest.fixture
def tagged(cf: LocalCloudFront) -> str:
    return cf.create_distribution("tagged", cache_tag_header=TAG_HEADER)


@pytest.fixture
def tenant(cf: LocalCloudFront) -> str:
    return cf.create_distribution_tenant(domain="shop.example.com", cache_tag_header=TAG_HEADER)


# Cache tags ----------------------------------------------------------------------------


def test_tag_and_path_items_mix_in_one_batch(cf, client, tagged):
    items = ["#product:electronics", "/index.html", "#Brand:Example", "/img/*"]
    created = create(client, tagged, items, "tags-1")["Invalidation"]
    assert created["InvalidationBatch"]["Paths"]["Items"] == items  # kept as sent
    (record,) = cf.invalidations(tagged)
    assert (record.tag_count, record.wildcard_count, record.file_count) == (2, 1, 3)


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ("#", "names a tag after '#'"),
        ("#" + "t" * 257, "at most 256 characters"),
        ("#release*", "no '*' wildcard"),
        ("#a,b", "no commas"),
        ("#two words", "visible ASCII"),
        ("#caf\u00e9", "visible ASCII"),
        ("#tab\there", "visible ASCII"),
    ],
)
def test_malformed_tag_is_refused_naming_the_item(cf, client, tagged, item, why):
    code, message, status = error_of(lambda: create(client, tagged, ["/ok", item], "bad-tag"))
    assert (code, status) == ("InvalidArgument", 400)
    assert repr(item[:200]) in message
    assert why in message
    assert cf.invalidations(tagged) == []


def test_longest_tag_and_every_visible_character_are_accepted(client, tagged):
    visible = "".join(chr(c) for c in range(33, 127) if chr(c) not in ",*")
    items = ["#" + "t" * 256, "#" + visible]
    made = create(client, tagged, items, "edge-tags")["Invalidation"]
    assert made["InvalidationBatch"]["Paths"]["Items"] == items


def test_tags_are_refused_on_a_distribution_without_cache_tag_config(cf, client):
    plain = cf.create_distribution("no tags")
    code, message, status = error_of(lambda: create(client, plain, ["#release:42"], "t"))
    assert (code, status) == ("InvalidArgument", 400)
    assert "'#release:42'" in message
    assert "CacheTagConfig" in message
    create(client, plain, ["/release/42"], "paths-still-work")


def test_tags_count_against_the_individual_item_limit_not_the_wildcards():
    with LocalCloudFront(
        invalidation_seconds=60, max_files_in_progress=3, max_wildcards_in_progress=1
    ) as cf:
        client = cf.client(max_attempts=1)
        dist = cf.create_distribution(cache_tag_header=TAG_HEADER)
        create(client, dist, ["#a", "#b", "/one.html"], "full")
        code, _, _ = error_of(lambda: create(client, dist, ["#c"], "one-more-tag"))
        assert code == "TooManyInvalidationsInProgress"
        create(client, dist, ["/*"], "wildcards-are-separate")
        cf.complete_now(distribution_id=dist)
        create(client, dist, ["#c"], "after-completion")


# Distribution tenants -------------------------------------------------------------------


def test_tenant_ids_and_arns_are_shaped_like_cloudfronts(cf, tenant):
    assert re.fullmatch(r"dt_[0-9A-Za-z]{27}", tenant)
    (record,) = cf.tenants()
    assert (record.id, record.domain) == (tenant, "shop.example.com")
    assert cf.tenant_arn(tenant) == f"arn:aws:cloudfront::123456789012:distribution-tenant/{tenant}"
    assert cf.create_distribution_tenant(record.distribution_id, "b.example.com") != tenant
    assert len(cf.tenants(record.distribution_id)) == 2


def test_tenant_invalidation_is_in_progress_then_completed(cf, client, tenant):
    # Long enough that the GET right after the create still sees InProgress under load.
    cf.set_invalidation_seconds(2.0)
    created = create_for_tenant(client, tenant, ["/index.html", "#release:42"], "t-1")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    inv = created["Invalidation"]
    assert inv["Status"] == "InProgress"
    assert created["Location"].endswith(f"/distribution-tenant/{tenant}/invalidation/{inv['Id']}")

    def status() -> str:
        got = client.get_invalidation_for_distribution_tenant(
            DistributionTenantId=tenant, Id=inv["Id"]
        )
        return str(got["Invalidation"]["Status"])

    assert status() == "InProgress"
    wait_until(lambda: status() == "Completed")
    (record,) = cf.invalidations(tenant_id=tenant)
    assert (record.id, record.tenant_id, record.target_id) == (inv["Id"], tenant, tenant)
    assert cf.invalidations(record.distribution_id) == [record]  # it purged that cache


def test_tenant_reference_is_idempotent_and_scoped_to_the_tenant(cf, client, tenant):
    first = create_for_tenant(client, tenant, ["/a"], "deploy-7")["Invalidation"]
    again = create_for_tenant(client, tenant, ["/a"], "deploy-7")["Invalidation"]
    assert again["Id"] == first["Id"]
    code, _, status = error_of(lambda: create_for_tenant(client, tenant, ["/b"], "deploy-7"))
    assert (code, status) == ("InvalidationBatchAlreadyExists", 409)
    (mine,) = cf.tenants()
    other = cf.create_distribution_tenant(mine.distribution_id, "other.example.com")
    assert create_for_tenant(client, other, ["/b"], "deploy-7")["Invalidation"]["Id"] != first["Id"]


def test_tenant_list_is_newest_first_and_paginates(client, tenant):
    ids = [
        create_for_tenant(client, tenant, [f"/p{i}"], f"r{i}")["Invalidation"]["Id"]
        for i in range(5)
    ]
    paginator = client.get_paginator("list_invalidations_for_distribution_tenant")
    pages = list(paginator.paginate(Id=tenant, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    seen = [item["Id"] for page in pages for item in page["InvalidationList"].get("Items", [])]
    assert seen == list(reversed(ids))
    code, _, status = error_of(
        lambda: client.list_invalidations_for_distribution_tenant(Id=tenant, Marker="")
    )
    assert (code, status) == ("InvalidArgument", 400)


def test_unknown_tenant_is_entity_not_found(client, tenant):
    unknown = "dt_" + "0" * 27
    for call in (
        lambda: create_for_tenant(client, unknown, ["/a"], "r"),
        lambda: client.get_invalidation_for_distribution_tenant(
            DistributionTenantId=unknown, Id="I1"
        ),
        lambda: client.list_invalidations_for_distribution_tenant(Id=unknown),
    ):
        code, _, status = error_of(call)
        assert (code, status) == ("EntityNotFound", 404)
    code, _, status = error_of(
        lambda: client.get_invalidation_for_distribution_tenant(
            DistributionTenantId=tenant, Id="INOSUCH"
        )
    )
    assert (code, status) == ("NoSuchInvalidation", 404)


def test_plain_operations_on_a_multi_tenant_distribution_say_no_such_distribution(
    cf, client, tenant
):
    (record,) = cf.tenants()
    for call in (
        lambda: create(client, record.distribution_id, ["/a"], "plain"),
        lambda: client.list_invalidations(DistributionId=record.distribution_id),
        lambda: client.get_invalidation(DistributionId=record.distribution_id, Id="I1"),
    ):
        code, _, status = error_of(call)
        assert (code, status) == ("NoSuchDistribution", 404)
    assert client.get_distribution(Id=record.distribution_id)["Distribution"]["Id"]


def test_a_tenant_needs_a_multi_tenant_distribution(cf):
    plain = cf.create_distribution()
    with pytest.raises(ValueError, match="not a multi-tenant distribution"):
        cf.create_distribution_tenant(plain, "a.example.com")


def test_tenants_of_one_distribution_share_its_in_progress_limits():
    with LocalCloudFront(invalidation_seconds=60, max_wildcards_in_progress=2) as cf:
        client = cf.client(max_attempts=1)
        first = cf.create_distribution_tenant(domain="a.example.com")
        parent = cf.tenants()[0].distribution_id
        second = cf.create_distribution_tenant(parent, "b.example.com")
        elsewhere = cf.create_distribution_tenant(domain="c.example.com")
        create_for_tenant(client, first, ["/a/*", "/b/*"], "fill")
        code, _, _ = error_of(lambda: create_for_tenant(client, second, ["/c/*"], "over"))
        assert code == "TooManyInvalidationsInProgress"
        create_for_tenant(client, elsewhere, ["/c/*"], "another-distribution")
        assert cf.complete_now(tenant_id=first) == 1
        create_for_tenant(client, second, ["/c/*"], "after")


def test_tenant_tags_follow_the_distributions_cache_tag_config(cf, client):
    plain_tenant = cf.create_distribution_tenant(domain="plain.example.com")
    code, message, _ = error_of(lambda: create_for_tenant(client, plain_tenant, ["#x"], "t"))
    assert (code, "CacheTagConfig" in message) == ("InvalidArgument", True)


def test_faults_and_counters_cover_tenant_operations(cf, client, tenant):
    cf.faults.on_call("CreateInvalidationForDistributionTenant", 1, "Throttling")
    assert error_of(lambda: create_for_tenant(client, tenant, ["/a"], "r"))[0] == "Throttling"
    inv = create_for_tenant(client, tenant, ["/a"], "r")["Invalidation"]
    client.get_invalidation_for_distribution_tenant(DistributionTenantId=tenant, Id=inv["Id"])
    client.list_invalidations_for_distribution_tenant(Id=tenant)
    assert cf.call_counts() == {
        "CreateInvalidationForDistributionTenant": 2,
        "GetInvalidationForDistributionTenant": 1,
        "ListInvalidationsForDistributionTenant": 1,
    }
    assert cf.get_calls(inv["Id"]) == 1

    cf.faults.deny(tenant)
    code, message, status = error_of(
        lambda: client.list_invalidations_for_distribution_tenant(Id=tenant)
    )
    assert (code, status) == ("AccessDenied", 403)
    assert f":distribution-tenant/{tenant} " in message
    assert "cloudfront:ListInvalidationsForDistributionTenant" in message
    cf.faults.allow(tenant)
    client.list_invalidations_for_distribution_tenant(Id=tenant)
