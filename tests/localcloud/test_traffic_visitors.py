"""Visitors' page loads against small generated sites served by the edge.

Each test stages one situation a deploy creates (old HTML cached while its assets are
pruned, a page whose stylesheet changed in place, a deploy nobody purged, an open tab)
and checks how a browser-like visitor's load is classified. ManualClock: no sleeps,
except the one traffic-runner test, which runs real threads for about a second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from localcloud.clock import RealClock, ScaledClock
from localcloud.cloudfront.edge import s3_site_config
from localcloud.traffic.sites import (
    Site,
    multi_page_site,
    put_site,
    single_page_app,
    site_from_directory,
)
from localcloud.traffic.visitors import (
    Browser,
    Fetch,
    PageLoad,
    TrafficRunner,
    classify,
    is_stale,
    summarize,
    version_of,
)
from tests.support.edge import EdgeEnv, edge_env


@pytest.fixture
def env() -> Iterator[EdgeEnv]:
    yield from edge_env()


def deploy(env: EdgeEnv, site: Site, *, prune: bool) -> None:
    """Upload ``site``; with ``prune``, delete every other key (aws s3 sync --delete)."""
    put_site(env.s3, env.bucket, site)
    if prune:
        listed = env.s3.list_objects_v2(Bucket=env.bucket).get("Contents", [])
        for item in listed:
            if item["Key"] not in site.files:
                env.s3.delete_object(Bucket=env.bucket, Key=item["Key"])


def browser(env: EdgeEnv, distribution_id: str, pop: int = 0) -> Browser:
    return Browser(env.cf.endpoint_url, env.cf.edge.host_of(distribution_id), pop, clock=env.clock)


def purge_all(env: EdgeEnv, distribution_id: str, ref: str) -> None:
    env.invalidate(distribution_id, ["/*"], ref)
    env.clock.set(env.cf.invalidations(distribution_id)[-1].completes_at)


def test_version_markers_of_the_generated_sites():
    for site in (multi_page_site("v7", pages=2), single_page_app("v7")):
        for key, file in site.files.items():
            assert version_of(file.body, file.content_type) == "v7", key


def test_a_consistent_page_is_ok_and_every_asset_was_fetched(env):
    dist = env.cf.create_distribution(config=s3_site_config(env.bucket))
    deploy(env, multi_page_site("v1", pages=3), prune=False)
    load = browser(env, dist).load_page("/page-2.html")
    assert classify(load) == ("ok", [])
    assert [f.url for f in load.fetches] == [
        "/page-2.html",
        "/css/site.css",
        "/img/bg.svg",  # the stylesheet's url(), one level deep
        "/js/site.js",
        "/img/logo.svg",
    ]
    assert load.page_version == "v1"


def test_old_html_whose_hashed_assets_were_pruned_is_broken_by_403(env):
    dist = env.cf.create_distribution(config=s3_site_config(env.bucket))
    deploy(env, single_page_app("v1", html_cache_control=None), prune=False)
    visitor = browser(env, dist)
    visitor.get("/")  # this POP holds v1's HTML only
    deploy(env, single_page_app("v2", html_cache_control=None), prune=True)
    outcome, reasons = classify(visitor.load_page("/"))
    assert outcome == "broken"
    assert any("answered 403" in reason for reason in reasons)


def test_spa_rule_turns_a_pruned_script_into_html_and_that_is_broken(env):
    dist = env.cf.create_distribution(config=s3_site_config(env.bucket, spa=True))
    deploy(env, single_page_app("v1", html_cache_control=None), prune=False)
    visitor = browser(env, dist)
    visitor.get("/route-1")
    deploy(env, single_page_app("v2", html_cache_control=None), prune=True)
    load = visitor.load_page("/route-1")
    assert all(f.status == 200 for f in load.fetches)  # every answer "succeeded"
    outcome, reasons = classify(load)
    assert outcome == "broken"
    assert any("answered HTML" in reason for reason in reasons)


def test_a_page_whose_stylesheet_changed_in_place_is_broken_by_mixed_versions(env):
    dist = env.cf.create_distribution(config=s3_site_config(env.bucket))
    deploy(env, multi_page_site("v1"), prune=False)
    visitor = browser(env, dist)
    visitor.get("/")  # old HTML cached; its assets not yet
    deploy(env, multi_page_site("v2"), prune=True)
    outcome, reasons = classify(visitor.load_page("/"))
    assert outcome == "broken"
    assert "/css/site.css is v2, the page is v1" in reasons


def test_stale_after_success_until_the_pop_drops_the_old_version(env):
    dist = env.cf.create_distribution(config=s3_site_config(env.bucket))
    deploy(env, multi_page_site("v1"), prune=False)
    visitor = browser(env, dist, pop=1)
    visitor.load_page("/")
    deploy(env, multi_page_site("v2"), prune=True)
    success_at = env.clock.advance(1)
    cached = visitor.load_page("/")
    assert classify(cached) == ("ok", [])  # consistent, but old
    assert is_stale(cached, success_at=success_at, expected_version="v2")
    purge_all(env, dist, "after")
    fresh = visitor.load_page("/")
    assert fresh.page_version == "v2"
    assert not is_stale(fresh, success_at=success_at, expected_version="v2")


def test_open_tab_breaks_when_its_lazy_chunk_was_pruned(env):
    dist = env.cf.create_distribution(config=s3_site_config(env.bucket, spa=True))
    deploy(env, single_page_app("v1"), prune=False)
    visitor = browser(env, dist, pop=2)
    tab = visitor.load_page("/route-2")
    assert classify(tab)[0] == "ok" and len(tab.lazy) == 3
    visitor.load_lazy(tab, tab.lazy[0])  # one chunk already seen, so cached here
    deploy(env, single_page_app("v2"), prune=True)
    purge_all(env, dist, "deploy-2")
    later = visitor.load_lazy(tab, tab.lazy[1])
    assert later.kind == "open_tab"
    outcome, reasons = classify(later)
    assert outcome == "broken" and "answered HTML" in reasons[0]


def test_open_tab_stays_ok_when_old_chunks_are_kept(env):
    dist = env.cf.create_distribution(config=s3_site_config(env.bucket, spa=True))
    deploy(env, single_page_app("v1"), prune=False)
    visitor = browser(env, dist, pop=2)
    tab = visitor.load_page("/")
    deploy(env, single_page_app("v2"), prune=False)
    purge_all(env, dist, "deploy-2")
    assert classify(visitor.load_lazy(tab, tab.lazy[2])) == ("ok", [])
    assert visitor.load_page("/").page_version == "v2"  # a new load gets the new app


def _load(pop: int, started: float, *, broken: bool, version: str = "v2") -> PageLoad:
    status = 403 if broken else 200
    fetches = (
        Fetch("/", 200, "text/html", version, True, True, None, started),
        Fetch("/a.js", status, "text/javascript", version, False, False, None, started + 0.5),
    )
    return PageLoad(0, pop, "page", "/", started, started + 1, version, fetches)


def test_summary_figures_of_a_run():
    loads = [
        _load(0, 0, broken=False, version="v1"),
        _load(0, 10, broken=True),
        _load(0, 12, broken=True),  # run at POP 0: 10 -> 13
        _load(1, 11, broken=True),  # alone at POP 1: 11 -> 12
        _load(0, 20, broken=False),
        _load(1, 21, broken=False, version="v1"),  # stale after SUCCESS at 20
        _load(1, 30, broken=False),
    ]
    summary = summarize(loads, success_at=20, expected_version="v2", miss_window=10, since=5)
    assert (summary.page_loads, summary.broken) == (7, 3)
    assert summary.longest_broken_run_seconds == 3
    assert summary.stale_after_success == 1
    assert summary.misses_after_success == 2  # the asset fetches at 20.5 and 21.5
    assert summary.all_pops_new_at == 22  # POP 1's stale load finished at 22


def test_traffic_runner_stops_by_itself_and_records_every_load(env):
    dist = env.cf.create_distribution(config=s3_site_config(env.bucket, spa=True))
    site = single_page_app("v1")
    deploy(env, site, prune=False)
    # The server's clock is the ManualClock; the runner paces itself on a scaled real clock.
    runner = TrafficRunner(
        env.cf.endpoint_url,
        env.cf.edge.host_of(dist),
        site.pages,
        visitors=6,
        clock=ScaledClock(0.05),
        think_seconds=(0.5, 1.0),
        open_tab_share=0.5,
        tab_seconds=(1.0, 2.0),
        max_seconds=15.0,
    )
    start = time.monotonic()
    loads = runner.start().wait(timeout=20)
    assert time.monotonic() - start < 5  # 15 clock seconds at factor 0.05, plus slack
    assert not any(t.is_alive() for t in runner._threads)
    pages = [x for x in loads if x.kind == "page"]
    tabs = [x for x in loads if x.kind == "open_tab"]
    assert {x.pop for x in pages} == {0, 1, 2, 3}
    assert tabs and {x.visitor for x in tabs} <= {0, 1, 2}
    summary = summarize(loads)
    assert (summary.broken, summary.open_tab_broken) == (0, 0)


def test_traffic_runner_refuses_an_empty_site():
    with pytest.raises(ValueError, match="at least one page"):
        TrafficRunner("http://127.0.0.1:1", "d.cloudfront.net", [], clock=RealClock())


def test_a_built_site_on_disk_gets_markers_and_loads_ok(env, tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "img").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<!doctype html><html><head><link rel="stylesheet" href="css/a.css"></head>'
        '<body><header>h</header><img src="img/logo.png"></body></html>'
    )
    (tmp_path / "sub" / "index.html").write_text(
        '<!doctype html><html><head><link rel="stylesheet" href="../css/a.css"></head></html>'
    )
    (tmp_path / "css" / "a.css").write_text("body { background: url('../img/bg.svg'); }")
    (tmp_path / "img" / "bg.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"></svg>')
    (tmp_path / "img" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    site = site_from_directory(tmp_path, "v3", cache_control={".html": "max-age=60"})
    assert site.pages == ("/", "/sub/index.html")
    dist = env.cf.create_distribution(config=s3_site_config(env.bucket))
    deploy(env, site, prune=False)
    visitor = browser(env, dist)
    # An S3 REST origin has no index document: /sub/ is a missing key, as on AWS.
    assert visitor.load_page("/sub/").fetches[0].status == 403
    assert site.files["index.html"].cache_control == "max-age=60"
    assert b'<head><meta name="build" content="v3">' in site.files["index.html"].body
    for page in site.pages:
        load = visitor.load_page(page)
        assert classify(load) == ("ok", []), page
        versions = {f.url: f.version for f in load.fetches}
        assert versions.pop("/img/logo.png", None) is None  # binary: no marker
        assert set(versions.values()) == {"v3"}
    assert "/img/logo.png" in [f.url for f in visitor.load_page("/").fetches]
    assert [f.url for f in visitor.load_page("/sub/index.html").fetches] == [
        "/sub/index.html",
        "/css/a.css",
        "/img/bg.svg",
    ]
