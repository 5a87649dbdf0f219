"""The local CloudFront's edge: what a viewer gets from each POP.

Rules: CloudFront Developer Guide, "Manage how long content stays in the cache
(expiration)", "Use managed cache policies", "Control how long CloudFront caches errors",
"Generate custom error responses", "Invalidate files", "Invalidating content by cache
tags"; docs/local-cloud.md lists them. Time is a ManualClock moved by hand: no sleeps.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator

import pytest

from localcloud.cloudfront.edge import (
    CACHING_DISABLED,
    LEGACY,
    TODAY,
    s3_site_config,
)
from tests.support.edge import EdgeEnv, edge_env

DAY = 86_400
YEAR = 31_536_000
TAG_HEADER = "x-amz-meta-cache-tag"


@pytest.fixture
def env() -> Iterator[EdgeEnv]:
    yield from edge_env()


def site(env: EdgeEnv, **config: object) -> str:
    """A distribution over the env's bucket; returns its edge Host."""
    distribution_id = env.cf.create_distribution(config=s3_site_config(env.bucket, **config))  # type: ignore[arg-type]
    return env.cf.edge.host_of(distribution_id)


def distribution_of(env: EdgeEnv, host: str) -> str:
    # Every page: one worker's emulator may hold more distributions than a page (100).
    pages = env.client.get_paginator("list_distributions").paginate()
    (distribution_id,) = [
        d
        for page in pages
        for d in page["DistributionList"].get("Items", [])
        if d["DomainName"] == host
    ]
    return str(distribution_id["Id"])


# Lifetimes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cache_control", "lifetime"),
    [
        ("max-age=0", 1),  # below CachingOptimized's min TTL: min TTL
        (f"max-age={YEAR * 2}", YEAR),  # above its max TTL: max TTL
        (None, DAY),  # none: its default TTL
        ("max-age=30", 30),  # within the bounds: as the origin says
        ("max-age=5, s-maxage=120", 120),  # s-maxage first for a shared cache
        ("no-store", 1),  # min TTL > 0: cached for min TTL even so
        ("private", 1),
        ("no-cache", 1),
    ],
)
def test_lifetime_is_the_origins_bounded_by_the_cache_policy(env, cache_control, lifetime):
    host = site(env)
    extra = {"CacheControl": cache_control} if cache_control else {}
    env.put("a.css", "/* build: v1 */", ContentType="text/css", **extra)
    first = env.get(host, "/a.css")
    assert (first.status, first.x_cache, first.text) == (
        200,
        "Miss from cloudfront",
        "/* build: v1 */",
    )
    env.put("a.css", "/* build: v2 */", ContentType="text/css", **extra)

    env.clock.advance(lifetime - 0.5)
    cached = env.get(host, "/a.css")
    assert (cached.x_cache, cached.text) == ("Hit from cloudfront", "/* build: v1 */")

    env.clock.advance(0.5)
    expired = env.get(host, "/a.css")
    assert (expired.x_cache, expired.text) == ("Miss from cloudfront", "/* build: v2 */")


def test_no_store_is_not_cached_when_min_ttl_is_zero(env):
    host = site(env, cache_policy_id=CACHING_DISABLED)
    env.put("a.css", "one", CacheControl="no-store")
    assert env.get(host, "/a.css").x_cache == "Miss from cloudfront"
    env.put("a.css", "two", CacheControl="no-store")
    again = env.get(host, "/a.css")
    assert (again.x_cache, again.text) == ("Miss from cloudfront", "two")


def test_age_counts_seconds_since_the_fetch_and_the_query_is_not_in_the_key(env):
    host = site(env)
    env.put("app.js", "x", ContentType="application/javascript")
    miss = env.get(host, "/app.js?v=1")
    assert miss.x_cache == "Miss from cloudfront" and "age" not in miss.headers
    env.clock.advance(7.4)
    hit = env.get(host, "/app.js?v=2")  # CachingOptimized keeps query strings out of the key
    assert (hit.x_cache, hit.headers["age"]) == ("Hit from cloudfront", "7")


def test_head_answers_the_headers_without_the_body(env):
    host = site(env)
    env.put("a.txt", "hello", ContentType="text/plain")
    head = env.get(host, "/a.txt", method="HEAD")
    assert (head.status, head.headers["content-length"], head.body) == (200, "5", b"")
    assert env.get(host, "/a.txt", method="POST").status == 403  # GET and HEAD only


def test_root_is_the_default_root_object_under_the_origin_path(env):
    host = site(env, origin_path="/releases/v1")
    env.put("releases/v1/index.html", "<!doctype html><p>v1</p>", ContentType="text/html")
    env.put("index.html", "<!doctype html><p>outside</p>", ContentType="text/html")
    root = env.get(host, "/")
    assert (root.status, root.text) == (200, "<!doctype html><p>v1</p>")
    assert root.headers["content-type"] == "text/html"


def test_each_pop_has_its_own_cache(env):
    host = site(env)
    env.put("a.css", "v1")
    assert env.get(host, "/a.css", pop=0).x_cache == "Miss from cloudfront"
    assert env.get(host, "/a.css", pop=0).x_cache == "Hit from cloudfront"
    env.put("a.css", "v2")
    other = env.get(host, "/a.css", pop=3)
    assert (other.x_cache, other.text) == ("Miss from cloudfront", "v2")
    assert env.get(host, "/a.css", pop=0).text == "v1"


def test_a_pop_number_out_of_range_is_refused_naming_the_header(env):
    host = site(env)
    answer = env.get(host, "/a.css", pop=4)
    assert answer.status == 400
    assert "X-Local-Pop must be a POP number from 0 to 3" in answer.text


# Errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 404])
def test_a_missing_object_is_cached_10_seconds_then_fetched_again(env, status):
    # 403 without s3:ListBucket (the origin access control default), 404 with it.
    env.cf.edge.missing_object_status = status
    host = site(env)
    missing = env.get(host, "/new.html")
    assert (missing.status, missing.x_cache) == (status, "Error from cloudfront")
    env.put("new.html", "<!doctype html>new", ContentType="text/html")
    env.clock.advance(9.9)
    still = env.get(host, "/new.html")
    assert (still.status, still.headers["x-local-cache"]) == (status, "hit")
    env.clock.advance(0.1)
    found = env.get(host, "/new.html")
    assert (found.status, found.text) == (200, "<!doctype html>new")


def test_error_caching_min_ttl_per_status_from_custom_error_responses(env):
    host = site(env, error_caching_min_ttl={403: 2})
    assert env.get(host, "/late.js").status == 403
    env.put("late.js", "ok")
    env.clock.advance(1.9)
    assert env.get(host, "/late.js").status == 403
    env.clock.advance(0.1)
    assert env.get(host, "/late.js").status == 200


@pytest.mark.parametrize("status", [403, 404])
def test_spa_rule_answers_index_html_with_200_even_for_a_missing_script(env, status):
    env.cf.edge.missing_object_status = status
    host = site(env, spa=True)
    env.put("index.html", "<!doctype html>app", ContentType="text/html")
    route = env.get(host, "/settings/profile")
    assert (route.status, route.text, route.x_cache) == (
        200,
        "<!doctype html>app",
        "Error from cloudfront",
    )
    script = env.get(host, "/assets/gone-1234.js")  # the trap: HTML where a script was
    assert (script.status, script.headers["content-type"]) == (200, "text/html")


def test_without_error_rules_a_missing_script_stays_403(env):
    host = site(env)
    env.put("index.html", "<!doctype html>app", ContentType="text/html")
    assert env.get(host, "/assets/gone-1234.js").status == 403


# Invalidations ---------------------------------------------------------------------------


def _cache_everywhere(env: EdgeEnv, host: str, paths: list[str]) -> None:
    for pop in range(env.cf.edge.pops):
        for path in paths:
            env.get(host, path, pop)


def test_each_pop_drops_at_its_own_moment_and_completed_comes_after_the_last(env):
    host = site(env)
    distribution_id = distribution_of(env, host)
    env.put("page.html", "v1")
    _cache_everywhere(env, host, ["/page.html"])
    env.put("page.html", "v2")
    invalidation_id = env.invalidate(distribution_id, ["/page.html"], "deploy-2")
    (record,) = env.cf.invalidations(distribution_id)
    drops = env.cf.edge.drop_times(record)
    assert len(set(drops)) == 4 and max(drops) <= record.completes_at

    order = sorted(range(4), key=lambda pop: drops[pop])
    first, last = order[0], order[-1]
    env.clock.set((drops[first] + drops[last]) / 2)
    assert env.get(host, "/page.html", first).text == "v2"  # dropped here already
    assert env.get(host, "/page.html", last).text == "v1"  # not yet here
    assert env.status(distribution_id, invalidation_id) == "InProgress"

    env.clock.set(max(drops))
    assert {env.get(host, "/page.html", pop).text for pop in range(4)} == {"v2"}
    env.clock.set(record.completes_at)
    assert env.status(distribution_id, invalidation_id) == "Completed"


def test_completed_is_never_reported_while_a_pop_still_serves_the_old_object(env):
    host = site(env)
    distribution_id = distribution_of(env, host)
    for round_ in range(5):
        env.put("page.html", f"v{round_}")
        _cache_everywhere(env, host, ["/page.html"])
        env.put("page.html", f"v{round_ + 1}")
        invalidation_id = env.invalidate(distribution_id, ["/page.html"], f"r{round_}")
        record = env.cf.invalidations(distribution_id)[-1]
        moments = sorted(env.cf.edge.drop_times(record))
        for moment in [*moments, record.completes_at]:
            env.clock.set(moment - 0.001)
            served = {env.get(host, "/page.html", pop).text for pop in range(4)}
            if env.status(distribution_id, invalidation_id) == "Completed":
                assert served == {f"v{round_ + 1}"}
        env.clock.set(record.completes_at)
        assert env.status(distribution_id, invalidation_id) == "Completed"


def test_an_object_fetched_during_the_invalidation_is_dropped_too(env):
    host = site(env)
    distribution_id = distribution_of(env, host)
    env.put("page.html", "v1")
    env.invalidate(distribution_id, ["/page.html"], "early")
    (record,) = env.cf.invalidations(distribution_id)
    drop = env.cf.edge.drop_times(record)[2]
    env.clock.set(drop - 0.01)
    env.get(host, "/page.html", 2)  # cached before this POP dropped
    env.put("page.html", "v2")
    env.clock.set(drop)
    assert env.get(host, "/page.html", 2).text == "v2"


def test_wildcard_drops_the_prefix_only(env):
    host = site(env)
    distribution_id = distribution_of(env, host)
    paths = ["/docs/a.html", "/docs/sub/b.html", "/docsearch.html", "/other.html"]
    for path in paths:
        env.put(path.lstrip("/"), "v1")
    _cache_everywhere(env, host, paths)
    for path in paths:
        env.put(path.lstrip("/"), "v2")
    env.invalidate(distribution_id, ["/docs/*"], "wild")
    env.clock.set(env.cf.invalidations(distribution_id)[0].completes_at)
    for pop in range(4):
        served = {path: env.get(host, path, pop).text for path in paths}
        assert served == {
            "/docs/a.html": "v2",
            "/docs/sub/b.html": "v2",
            "/docsearch.html": "v1",
            "/other.html": "v1",
        }


def test_tag_drops_objects_whose_tag_header_names_it_case_insensitively(env):
    distribution_id = env.cf.create_distribution(
        config=s3_site_config(env.bucket), cache_tag_header=TAG_HEADER
    )
    host = env.cf.edge.host_of(distribution_id)
    env.put("shoes.html", "v1", Metadata={"cache-tag": "product,Shoes"})
    env.put("hats.html", "v1", Metadata={"cache-tag": "product,hats"})
    env.put("plain.html", "v1")
    paths = ["/shoes.html", "/hats.html", "/plain.html"]
    _cache_everywhere(env, host, paths)
    assert env.get(host, "/shoes.html").headers[TAG_HEADER] == "product,Shoes"
    for path in paths:
        env.put(path.lstrip("/"), "v2")
    env.invalidate(distribution_id, ["#SHOES"], "tag")
    env.clock.set(env.cf.invalidations(distribution_id)[0].completes_at)
    for pop in range(4):
        assert [env.get(host, p, pop).text for p in paths] == ["v2", "v1", "v1"]


def test_a_tenants_invalidation_drops_only_that_tenants_entries(env):
    distribution_id = env.cf.create_distribution(
        config=s3_site_config(env.bucket), multi_tenant=True
    )
    shop = env.cf.create_distribution_tenant(distribution_id, "shop.example.com")
    env.cf.create_distribution_tenant(distribution_id, "blog.example.com")
    env.put("index.html", "v1")
    for host in ("shop.example.com", "blog.example.com"):
        assert env.get(host, "/").text == "v1"
    env.put("index.html", "v2")
    env.client.create_invalidation_for_distribution_tenant(
        Id=shop,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "t"},
    )
    env.clock.set(env.cf.invalidations(tenant_id=shop)[0].completes_at)
    assert env.get("shop.example.com", "/").text == "v2"
    assert env.get("blog.example.com", "/").text == "v1"


def test_least_recently_used_entries_leave_a_full_pop():
    for small in edge_env(edge_capacity=2):
        host = site(small)
        for name in ("a", "b", "c"):
            small.put(name, "v1")
        small.get(host, "/a")
        small.get(host, "/b")
        small.get(host, "/a")  # a is now the most recently used
        small.get(host, "/c")  # evicts b
        assert small.cf.edge.cached_paths(0) == ["/a", "/c"]
        assert small.cf.edge.stats(0).capacity_evictions == 1


# Timing profiles -------------------------------------------------------------------------


def _offsets(profile, count: int) -> tuple[list[float], list[float]]:
    durations = [profile.duration(random.Random(i)) for i in range(count)]
    rng = random.Random(7)
    effects = [profile.effect(rng.random(), d) for d in durations]
    return durations, effects


def test_today_profile_in_effect_under_5_s_and_completed_under_25_s_at_p95():
    durations, effects = _offsets(TODAY, 2000)
    assert 22 <= statistics.quantiles(durations, n=20)[-1] <= 28
    assert statistics.quantiles(effects, n=20)[-1] <= 5.2
    assert all(e <= d for e, d in zip(effects, durations, strict=True))


def test_legacy_profile_spans_seconds_to_15_minutes_and_drops_within_the_life():
    durations, effects = _offsets(LEGACY, 2000)
    assert 5 <= min(durations) and max(durations) <= 900
    assert statistics.median(durations) > 60  # minutes, not seconds, for half of them
    assert all(0 <= e <= d for e, d in zip(effects, durations, strict=True))
