"""The cover: every changed URL purged, the fewest unchanged objects evicted, within budget.

Property-based: random sites and random deploys, checked against a brute force that tries
every set of directory wildcards on trees small enough to enumerate.
"""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudfront_purge.changed.changes import UrlMapping, diff_manifests, encode_url, site_urls
from cloudfront_purge.changed.cover import (
    DEFAULT_MAX_PATHS,
    MAX_WILDCARDS,
    choose_paths,
    evicted_by,
    validate_max_paths,
)
from cloudfront_purge.changed.manifest import Manifest
from cloudfront_purge.model import rules

DIGESTS = ["0" * 64, "1" * 64, "2" * 64]
keys = st.builds(
    lambda dirs, name: "/".join([*dirs, name]),
    # Small enough for the brute force to try every set of wildcards.
    st.lists(st.sampled_from(["a", "b", "c d"]), max_size=2),
    st.sampled_from(["index.html", "x.html", "ü.css"]),
)
sites = st.dictionaries(keys, st.sampled_from(DIGESTS), max_size=14)


def covers(paths: tuple[str, ...], url: str) -> bool:
    encoded = encode_url(url)
    return any(encoded.startswith(p[:-1]) if p.endswith("*") else encoded == p for p in paths)


def directories(urls: set[str]) -> list[str]:
    out = set()
    for url in urls:
        for i, ch in enumerate(url):
            if ch == "/":
                out.add(url[: i + 1])
    return sorted(out)


def brute_force(changed: set[str], unchanged: set[str], budget: int) -> tuple[int, int]:
    """(fewest evictions, fewest wildcards among those) over every wildcard set that fits."""
    candidates = directories(changed)
    best: tuple[int, int] | None = None
    for size in range(min(budget, MAX_WILDCARDS, len(candidates)) + 1):
        for chosen in itertools.combinations(candidates, size):
            left = [u for u in changed if not any(u.startswith(d) for d in chosen)]
            if size + len(left) > budget:
                continue
            evicted = sum(1 for u in unchanged if any(u.startswith(d) for d in chosen))
            if best is None or (evicted, size) < best:
                best = (evicted, size)
    assert best is not None
    return best


@settings(max_examples=250, deadline=None)
@given(old=sites, new=sites, budget=st.integers(1, 5), prefix=st.sampled_from(["/", "/s/"]))
def test_random_deploys_are_covered_optimally_within_budget(
    old: dict[str, str], new: dict[str, str], budget: int, prefix: str
) -> None:
    mapping = UrlMapping(url_prefix=prefix)
    site = site_urls(diff_manifests(Manifest(old), Manifest(new)), Manifest(new), mapping)
    cover = choose_paths(site.changed, site.unchanged, max_paths=budget)

    # Every changed URL is purged; nothing is left stale.
    assert all(covers(cover.paths, url) for url in site.changed)
    # The budget and the wildcard limit hold; wildcards are directory prefixes only.
    assert len(cover.paths) <= budget
    wildcards = [p for p in cover.paths if "*" in p]
    assert len(wildcards) == cover.wildcards <= MAX_WILDCARDS
    assert all(p.endswith("/*") for p in wildcards)
    assert all(rules.validate_path(p) == p for p in cover.paths)
    # The reported evictions are what the paths really evict.
    assert cover.evicted == evicted_by(cover.paths, site.unchanged)
    # No cover within the budget evicts fewer (and none that evicts as few uses fewer wildcards).
    if site.changed:
        assert (cover.evicted, cover.wildcards) == brute_force(
            set(site.changed), set(site.unchanged), budget
        )
    else:
        assert cover.paths == ()


@settings(max_examples=100, deadline=None)
@given(old=sites, new=sites, budget=st.integers(1, 6), seed=st.integers(0, 1000))
def test_output_is_deterministic_whatever_the_input_order(
    old: dict[str, str], new: dict[str, str], budget: int, seed: int
) -> None:
    site = site_urls(diff_manifests(Manifest(old), Manifest(new)), Manifest(new), UrlMapping())
    first = choose_paths(sorted(site.changed), sorted(site.unchanged), max_paths=budget)
    changed, unchanged = list(site.changed), list(site.unchanged)
    random.Random(seed).shuffle(changed)
    random.Random(seed + 1).shuffle(unchanged)
    assert choose_paths(changed, unchanged, max_paths=budget) == first
    assert list(first.paths) == sorted(first.paths)


def test_when_every_changed_url_fits_no_wildcard_is_used() -> None:
    changed = {f"/docs/p{i}.html" for i in range(10)}
    unchanged: set[str] = set()  # even a wildcard evicting nothing is not preferred
    cover = choose_paths(changed, unchanged, max_paths=10)
    assert cover.wildcards == 0
    assert set(cover.paths) == changed


def test_a_directory_wildcard_when_the_budget_is_short() -> None:
    changed = {f"/assets/app-{i}.js" for i in range(40)} | {"/about/index.html", "/about/"}
    unchanged = {"/index.html", "/", "/blog/post.html", "/assets/logo.png"}
    cover = choose_paths(changed, unchanged, max_paths=3)
    assert cover.paths == ("/about/", "/about/index.html", "/assets/*")
    assert cover.evicted == 1  # logo.png, the one unchanged object under /assets/


def test_everything_wildcard_only_as_a_last_resort() -> None:
    changed = {"/a/x.html", "/b/y.html", "/c/z.html"}
    unchanged = {"/a/k.html", "/b/k.html"}
    # Two paths cannot hold three directories: "/*" evicts both unchanged objects.
    assert choose_paths(changed, unchanged, max_paths=2).paths == ("/*",)
    # Under a prefix, the deepest wildcard that covers as much wins over "/*".
    prefixed = {"/site" + u for u in changed}
    assert choose_paths(prefixed, set(), max_paths=1).paths == ("/site/*",)


def test_never_more_than_15_wildcards() -> None:
    # 40 directories of 10 changed files each: 25 paths are not enough without wildcards.
    changed = {f"/d{d:02}/f{f}.html" for d in range(40) for f in range(10)}
    unchanged = {f"/d{d:02}/keep.html" for d in range(40)}
    cover = choose_paths(changed, unchanged, max_paths=25)
    assert cover.wildcards <= 15 and len(cover.paths) <= 25
    assert all(covers(cover.paths, url) for url in changed)


def test_nothing_changed_nothing_purged() -> None:
    assert choose_paths([], ["/a.html"]).paths == ()


def test_paths_are_encoded_once() -> None:
    cover = choose_paths({"/a b/ü.html", "/a b/100%.html"}, set(), max_paths=1)
    assert cover.paths == ("/a%20b/*",)
    exact = choose_paths({"/a b/ü.html", "/a b/100%.html"}, set(), max_paths=2)
    assert exact.paths == ("/a%20b/%C3%BC.html", "/a%20b/100%25.html")


@pytest.mark.parametrize("bad", [0, -1, 3001, "ten", 1.5, True, None])
def test_max_paths_must_be_a_whole_number_within_one_batch(bad: object) -> None:
    with pytest.raises(rules.RuleError, match="max_paths"):
        validate_max_paths(bad)


def test_max_paths_accepts_cloudformation_strings_and_has_a_default() -> None:
    assert validate_max_paths("40") == 40
    assert validate_max_paths(3000) == 3000
    assert 1 <= DEFAULT_MAX_PATHS <= 3000


def test_a_changed_url_with_a_star_is_refused() -> None:
    with pytest.raises(rules.RuleError, match="'\\*'"):
        choose_paths({"/a*.html", "/b.html"}, set(), max_paths=1)
