"""Cache-tag items and distribution tenant ids: the rules synth time and run time share."""

from __future__ import annotations

import pytest

from cloudfront_purge.model import rules
from cloudfront_purge.model.rules import Batch, RuleError

TENANT = "dt_2yq2uFYMVyIkVWU6FAZ4lw55JXz"
BASE = {"DistributionIds": ["E123"], "SourceHash": "abc123", "ServiceToken": "arn:x"}


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        ("#", "must name a tag after '#'"),
        ("#" + "t" * 257, "257-character tag; CloudFront allows at most 256"),
        ("#sale*", r"may not contain '\*'"),
        ("#a,b", "may not contain a comma"),
        ("#two words", "contains ' '; a tag is visible ASCII only"),
        ("#caf\u00e9", "visible ASCII only"),
        ("#tab\there", "visible ASCII only"),
    ],
)
def test_each_tag_rule_refuses_at_run_time_naming_the_item(item: str, rule: str) -> None:
    with pytest.raises(RuleError, match=rule) as info:
        rules.parse_properties({**BASE, "Paths": ["/ok.html", item]})
    assert "Paths: tag item '#" in str(info.value)


def test_a_tag_at_the_limits_is_accepted_as_written() -> None:
    longest = "#" + "x" * 256
    edge = "#!~product:tv/42"  # characters 33 and 126 are visible ASCII
    spec = rules.parse_properties({**BASE, "Paths": [longest, edge]})
    assert spec.paths == (longest, edge)


def test_a_path_without_slash_or_hash_names_both_prefixes() -> None:
    with pytest.raises(RuleError, match=r"must start with '/' \(or '#' for a cache tag\)"):
        rules.validate_path("index.html")


def test_tags_are_never_url_encoded() -> None:
    # '#', '~', '{' and '|' are RFC 1738 unsafe in a path; in a tag they are the tag itself.
    assert rules.encode_path("#a{b}|c~d") == "#a{b}|c~d"
    assert rules.normalize_paths(["#a{b}|c~d", "/x#y"]) == ["#a{b}|c~d", "/x%23y"]


def test_tags_are_deduplicated_without_case_keeping_the_first_spelling() -> None:
    assert rules.normalize_paths(["#Sale", "/a", "#sale", "#SALE", "#other"]) == [
        "#Sale",
        "/a",
        "#other",
    ]
    # Paths stay case-sensitive.
    assert rules.normalize_paths(["/A", "/a"]) == ["/A", "/a"]


def test_a_wildcard_never_covers_a_tag() -> None:
    assert rules.normalize_paths(["/*", "#release:42", "/index.html"]) == ["/*", "#release:42"]


def test_tags_count_as_individual_items_in_batches() -> None:
    tags = [f"#t{i}" for i in range(2990)]
    files = [f"/f{i}" for i in range(20)]
    batches = rules.plan_batches(rules.normalize_paths(["/w/*", *tags, *files]))
    # 1 wildcard + 2,999 individual items fill the first batch; 3,010 items need two.
    assert [len(b.paths) for b in batches] == [3000, 11]
    first = batches[0]
    assert (first.wildcards, first.files, first.tags) == (1, 2999, 2990)
    assert not rules.is_wildcard("#t1")


def test_construct_and_handler_share_the_tag_rules() -> None:
    # The construct calls validate_paths with field="paths": the same rule, its own name.
    with pytest.raises(RuleError, match=r"^paths: tag item '#a,b' may not contain a comma"):
        rules.validate_paths(["#a,b"], field="paths")


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (["E2QWRUHAPOMQZL"], "is not a CloudFront distribution tenant id"),
        (["dt_"], "is not a CloudFront distribution tenant id"),
        (["dt_abc-def"], "is not a CloudFront distribution tenant id"),
        (["dt_" + "a" * 62], "at most 64 characters"),
        ([42], "is not a CloudFront distribution tenant id"),
        ("dt_abc", "must be a list of distribution tenant ids"),
        ([f"dt_{i}" for i in range(21)], "names 21 distribution tenants; at most 20"),
    ],
)
def test_each_tenant_id_rule_refuses_naming_the_property(value: object, rule: str) -> None:
    with pytest.raises(RuleError, match=rule) as info:
        rules.parse_properties({**BASE, "DistributionTenantIds": value})
    assert str(info.value).startswith("DistributionTenantIds")


def test_tenants_alone_are_a_target_and_duplicates_are_dropped() -> None:
    spec = rules.parse_properties(
        {"SourceHash": "h", "DistributionTenantIds": [TENANT, "dt_x1", TENANT]}
    )
    assert spec.distribution_ids == ()
    assert spec.distribution_tenant_ids == (TENANT, "dt_x1")
    # The construct sends an empty DistributionIds beside tenants.
    spec = rules.parse_properties({"SourceHash": "h", "DistributionIds": [], "DistributionTenantIds": [TENANT]})
    assert spec.distribution_tenant_ids == (TENANT,)


def test_at_least_one_target_is_required() -> None:
    with pytest.raises(RuleError, match="or DistributionTenantIds is required"):
        rules.parse_properties({"SourceHash": "h", "DistributionTenantIds": []})
    with pytest.raises(RuleError, match="or DistributionTenantIds is required"):
        rules.parse_properties({"SourceHash": "h"})
    with pytest.raises(RuleError, match="must name at least one distribution"):
        rules.parse_properties({"SourceHash": "h", "DistributionIds": []})


def test_a_tenant_reference_never_equals_a_distribution_reference() -> None:
    batch = Batch(0, ("/*",))
    common = {"source_hash": "h", "request_id": "r", "batch": batch}
    as_distribution = rules.caller_reference(distribution_id="dt_x1", **common)
    as_tenant = rules.caller_reference(distribution_id="dt_x1", tenant=True, **common)
    assert as_tenant != as_distribution
    # Deterministic per tenant and batch.
    assert as_tenant == rules.caller_reference(distribution_id="dt_x1", tenant=True, **common)
    assert as_tenant != rules.caller_reference(distribution_id="dt_x2", tenant=True, **common)
    other_batch = {**common, "batch": Batch(1, ("/*",))}
    assert as_tenant != rules.caller_reference(distribution_id="dt_x1", tenant=True, **other_batch)


def test_physical_id_changes_with_the_tenants_and_not_without_them() -> None:
    plain = rules.physical_resource_id(stack_id="s", logical_id="L", distribution_ids=["E1"])
    same = rules.physical_resource_id(
        stack_id="s", logical_id="L", distribution_ids=["E1"], distribution_tenant_ids=()
    )
    with_tenant = rules.physical_resource_id(
        stack_id="s", logical_id="L", distribution_ids=["E1"], distribution_tenant_ids=[TENANT]
    )
    assert plain == same != with_tenant


def test_an_empty_string_for_distribution_ids_is_refused_even_beside_tenants() -> None:
    with pytest.raises(RuleError, match="DistributionIds must be a list of distribution ids"):
        rules.parse_properties({"SourceHash": "h", "DistributionIds": "", "DistributionTenantIds": [TENANT]})
