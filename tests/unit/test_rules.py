"""The rules synth time and run time share: paths, batches, references, properties."""

from __future__ import annotations

import pytest

from cloudfront_purge.model import rules
from cloudfront_purge.model.rules import Batch, RuleError

BASE = {"DistributionIds": ["E123"], "SourceHash": "abc123", "ServiceToken": "arn:x"}


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("index.html", "must start with '/'"),
        ("/img/*.png", "'*' only as its last character"),
        ("/" + "a" * 4000, "at most 4000"),
        (42, "must be a string"),
    ],
)
def test_bad_path_is_named_with_the_rule_it_broke(path: object, rule: str) -> None:
    with pytest.raises(RuleError, match=rule) as info:
        rules.validate_path(path)
    assert str(path)[:20] in str(info.value) or isinstance(path, int)


def test_empty_and_non_list_paths_are_refused() -> None:
    with pytest.raises(RuleError, match="must not be empty"):
        rules.validate_paths([])
    with pytest.raises(RuleError, match="must be a list"):
        rules.validate_paths("/index.html")


def test_encoding_touches_only_unsafe_and_non_ascii() -> None:
    assert rules.encode_path("/a b/ü.html") == "/a%20b/%C3%BC.html"
    assert rules.encode_path("/x~y/[1].html") == "/x%7Ey/%5B1%5D.html"
    # Safe characters, query strings and existing escapes are left alone: encoding them
    # would change the cache key and purge nothing.
    assert rules.encode_path("/a/b-c_d.e?v=1&w=2") == "/a/b-c_d.e?v=1&w=2"
    assert rules.encode_path("/a%20b") == "/a%20b"
    assert rules.encode_path("/100%") == "/100%25"


def test_normalise_drops_duplicates_and_covered_paths_keeping_order() -> None:
    assert rules.normalize_paths(["/b", "/img/a.png", "/img/*", "/b", "/img/x*"]) == ["/b", "/img/*"]
    assert rules.normalize_paths(["/a", "/*", "/z/*"]) == ["/*"]
    # A wildcard does not cover itself, and case matters.
    assert rules.normalize_paths(["/IMG/a", "/img/*"]) == ["/IMG/a", "/img/*"]


def test_batches_respect_both_in_progress_limits() -> None:
    files = [f"/f{i}" for i in range(7001)]
    wilds = [f"/w{i}/*" for i in range(31)]
    batches = rules.plan_batches(files + wilds)
    assert len(batches) == 3
    assert all(b.files <= 3000 and b.wildcards <= 15 for b in batches)
    assert sum(len(b.paths) for b in batches) == 7032
    assert [b.index for b in batches] == [0, 1, 2]


def test_caller_reference_is_deterministic_per_request_and_new_per_request() -> None:
    batch = Batch(0, ("/*",))
    ref = rules.caller_reference(source_hash="deadbeefcafe0123", request_id="r1", distribution_id="E1", batch=batch)
    again = rules.caller_reference(source_hash="deadbeefcafe0123", request_id="r1", distribution_id="E1", batch=batch)
    other_request = rules.caller_reference(source_hash="deadbeefcafe0123", request_id="r2", distribution_id="E1", batch=batch)
    other_dist = rules.caller_reference(source_hash="deadbeefcafe0123", request_id="r1", distribution_id="E2", batch=batch)
    other_paths = rules.caller_reference(source_hash="deadbeefcafe0123", request_id="r1", distribution_id="E1", batch=Batch(0, ("/a",)))
    assert ref == again
    assert len({ref, other_request, other_dist, other_paths}) == 4
    assert ref.startswith("deadbeefcafe-")
    assert len(ref) < 64 and ref.isascii()


def test_physical_id_is_stable_for_the_same_distributions() -> None:
    a = rules.physical_resource_id(stack_id="s", logical_id="Purge", distribution_ids=["E1", "E2"])
    b = rules.physical_resource_id(stack_id="s", logical_id="Purge", distribution_ids=["E2", "E1"])
    c = rules.physical_resource_id(stack_id="s", logical_id="Purge", distribution_ids=["E1"])
    assert a == b != c
    assert a.startswith("Purge-")


def test_properties_arrive_as_strings_and_are_coerced() -> None:
    spec = rules.parse_properties(
        {**BASE, "Paths": ["/a b", "/a b"], "WaitForCompletion": "false", "TimeoutSeconds": "90",
         "InvalidateOnCreate": "TRUE", "ServiceTimeout": "210"}
    )
    assert spec.paths == ("/a%20b",)
    assert spec.wait_for_completion is False
    assert spec.timeout_seconds == 90
    assert spec.invalidate_on_create is True
    single = rules.parse_properties({"DistributionId": "E9", "SourceHash": "h"})
    assert single.distribution_ids == ("E9",)
    assert single.paths == ("/*",)
    assert single.timeout_seconds == rules.DEFAULT_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"SourceHash": "h"}, "DistributionIds .* is required"),
        ({**BASE, "DistributionId": "E1"}, "not both"),
        ({**BASE, "DistributionIds": []}, "at least one distribution"),
        ({**BASE, "DistributionIds": "E1"}, "must be a list of distribution ids"),
        ({**BASE, "DistributionIds": ["arn:aws:evil"]}, "is not a CloudFront distribution id"),
        ({**BASE, "Paths": []}, "Paths must not be empty"),
        ({**BASE, "Paths": "/*"}, "Paths must be a list"),
        ({**BASE, "Paths": ["nope"]}, "'nope' must start with '/'"),
        ({**BASE, "WaitForCompletion": "yes"}, "WaitForCompletion must be true or false"),
        ({**BASE, "TimeoutSeconds": "soon"}, "TimeoutSeconds must be a number"),
        ({**BASE, "TimeoutSeconds": "7200"}, "TimeoutSeconds is 7200 seconds; it must be between"),
        ({**BASE, "TimeoutSeconds": "nan"}, "TimeoutSeconds must be a number"),
        ({**BASE, "SourceHash": ""}, "SourceHash is required"),
        ({**BASE, "Pathz": ["/*"]}, "unknown property Pathz"),
        ({**BASE, "Paths": ["/x"] * 100_001}, "at most 100000"),
    ],
)
def test_bad_properties_fail_naming_the_property(props: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        rules.parse_properties(props)


def test_no_batch_holds_more_than_3000_paths_even_with_wildcards() -> None:
    paths = rules.normalize_paths([f"/f/{i}.js" for i in range(3000)] + [f"/w{i}/*" for i in range(15)])
    batches = rules.plan_batches(paths)
    assert max(len(b.paths) for b in batches) <= 3000
    assert sum(len(b.paths) for b in batches) == 3015


def test_existing_escapes_are_kept_as_written() -> None:
    assert rules.encode_path("/caf%c3%a9") == "/caf%c3%a9"


def test_the_wait_ends_before_cloudformations_service_timeout() -> None:
    # A raw template with ServiceTimeout 600 and the default TimeoutSeconds (1800).
    spec = rules.parse_properties({**BASE, "ServiceTimeout": "600"})
    assert spec.timeout_seconds == 600 - 120
    assert rules.parse_properties({**BASE, "ServiceTimeout": "60"}).timeout_seconds == 48
    with pytest.raises(RuleError, match="ServiceTimeout must be a number"):
        rules.parse_properties({**BASE, "ServiceTimeout": "soon"})
