"""Visitors that load pages through the local CloudFront edge, as browsers do.

A visitor sticks to one POP (``X-Local-Pop``) and a distribution's ``Host``. A page load
fetches an HTML page, then every asset it references: ``<link href>`` (stylesheets,
icons, preloads; not navigation links), ``<script src>``, ``<img src>``, and the
``url()`` references of each stylesheet, one level deep. Elements' ``data-lazy``
attributes name chunks a page loads later (code-split chunks loaded on navigation):
not fetched on load, but by open tabs.

Versions: a page's version is its ``<meta name="build" content="...">``; any other file's
is the first ``build: VERSION`` in it (:mod:`localcloud.traffic.sites` writes both). A file
without a marker has no version and never counts as another version.

Classification of a page load (:func:`classify`):

- ``ok``: the page and every asset answered 200 and carry one version;
- ``broken``: the page or an asset answered anything but 200 (403/404 included, or no
  answer), an asset came back as HTML (an error rewrite such as the single-page-app
  rule answering ``/index.html`` for a deleted script), or an asset has another version
  than the page;
- stale after SUCCESS (:func:`is_stale`, beside the above): the load started at or after
  the moment the deploy's CloudFormation answer was SUCCESS and the page or an asset
  is not the expected (newly deployed) version.

An open-tab load (``kind="open_tab"``) is a page loaded earlier and kept open fetching
one of its lazy chunks later: broken when the chunk answers anything but 200, HTML, or
another version than the tab's page.

:class:`TrafficRunner` runs N visitors on threads, bounded in count and time, and keeps
every load with its timestamps (clock seconds); :func:`summarize` turns them into the
figures a benchmark prints.
"""

from __future__ import annotations

import http.client
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Final, Literal
from urllib.parse import urljoin, urlsplit

from localcloud.clock import Clock, RealClock

__all__ = [
    "Browser",
    "Fetch",
    "PageLoad",
    "TrafficRunner",
    "TrafficSummary",
    "classify",
    "is_stale",
    "summarize",
    "version_of",
]

OK: Final = "ok"
BROKEN: Final = "broken"

_META_RE: Final = re.compile(
    rb"""<meta\s+name=["']build["']\s+content=["']([^"']+)["']""", re.IGNORECASE
)
_COMMENT_RE: Final = re.compile(rb"build:\s*([A-Za-z0-9._-]+)")
_CSS_URL_RE: Final = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
# <link rel> values that name something the page loads, not somewhere it links to.
_LOADED_RELS: Final = frozenset(
    {"stylesheet", "icon", "shortcut", "preload", "modulepreload", "manifest", "apple-touch-icon"}
)


def version_of(body: bytes, content_type: str) -> str | None:
    """The build marker of one file (see module doc), or None."""
    if "html" in content_type.lower() or body.lstrip()[:15].lower().startswith(b"<!doctype html"):
        match = _META_RE.search(body)
    else:
        match = _COMMENT_RE.search(body)
    return match.group(1).decode("ascii", "replace") if match else None


def _looks_html(body: bytes, content_type: str) -> bool:
    head = body.lstrip()[:64].lower()
    return "text/html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html"))


@dataclass(frozen=True)
class Fetch:
    """One answer a visitor got; ``at`` is the clock time the answer arrived."""

    url: str
    status: int  # 0: no answer (connection error, timeout)
    content_type: str
    version: str | None
    is_html: bool
    hit: bool | None  # the edge's X-Local-Cache; None without one
    age: int | None
    at: float


@dataclass(frozen=True)
class PageLoad:
    """A page load (``kind="page"``) or an open tab's lazy fetch (``kind="open_tab"``)."""

    visitor: int
    pop: int
    kind: Literal["page", "open_tab"]
    page: str
    started: float
    finished: float
    page_version: str | None
    fetches: tuple[Fetch, ...]  # page first (for kind="page"), then assets
    lazy: tuple[str, ...] = ()

    @property
    def outcome(self) -> str:
        """``ok`` or ``broken`` (see :func:`classify`)."""
        return classify(self)[0]


def classify(load: PageLoad) -> tuple[str, list[str]]:
    """(``ok`` | ``broken``, the reasons it is broken), per the module doc."""
    reasons: list[str] = []
    fetches = list(load.fetches)
    if load.kind == "page":
        page, fetches = fetches[0], fetches[1:]
        if page.status != 200:
            reasons.append(f"page {page.url} answered {page.status}")
        elif not page.is_html:
            reasons.append(f"page {page.url} is not HTML ({page.content_type})")
    for asset in fetches:
        if asset.status != 200:
            reasons.append(f"{asset.url} answered {asset.status}")
        elif asset.is_html:
            reasons.append(f"{asset.url} answered HTML (an error rewrite)")
        elif (
            asset.version is not None
            and load.page_version is not None
            and asset.version != load.page_version
        ):
            reasons.append(f"{asset.url} is {asset.version}, the page is {load.page_version}")
    return (BROKEN if reasons else OK), reasons


def is_stale(load: PageLoad, *, success_at: float, expected_version: str) -> bool:
    """A page load started at/after SUCCESS that got a file of another version."""
    if load.kind != "page" or load.started < success_at:
        return False
    versions = {load.page_version} | {f.version for f in load.fetches if f.status == 200}
    versions.discard(None)
    return any(v != expected_version for v in versions)


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.assets: list[str] = []
        self.lazy: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v for k, v in attrs if v is not None}
        if "data-lazy" in values:
            self.lazy.append(values["data-lazy"])
        if tag == "link" and "href" in values:
            rels = set(values.get("rel", "").lower().split())
            if rels & _LOADED_RELS:
                self.assets.append(values["href"])
        elif tag in ("script", "img") and "src" in values:
            self.assets.append(values["src"])


def _same_site(base: str, ref: str) -> str | None:
    """The path to fetch for ``ref`` on ``base``'s page, or None if it leaves the site."""
    ref = ref.strip()
    if not ref or ref.startswith(("data:", "mailto:", "javascript:", "#")):
        return None
    parts = urlsplit(urljoin(base, ref))
    if parts.scheme or parts.netloc:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Browser:
    """One visitor's HTTP: every request to ``endpoint_url`` with its Host and POP."""

    def __init__(
        self,
        endpoint_url: str,
        host: str,
        pop: int,
        *,
        clock: Clock | None = None,
        timeout: float = 10.0,
        visitor: int = 0,
    ) -> None:
        """``endpoint_url`` is the LocalCloudFront's; ``host`` a distribution/tenant domain."""
        parts = urlsplit(endpoint_url)
        if not parts.hostname or parts.port is None:
            raise ValueError(f"endpoint_url needs a host and a port (got {endpoint_url!r})")
        self._address = (parts.hostname, parts.port)
        self.host = host
        self.pop = pop
        self.clock: Clock = clock or RealClock()
        self.timeout = timeout
        self.visitor = visitor

    def get(self, path: str) -> tuple[Fetch, bytes]:
        """GET one path through the POP."""
        connection = http.client.HTTPConnection(*self._address, timeout=self.timeout)
        try:
            connection.request(
                "GET", path, headers={"Host": self.host, "X-Local-Pop": str(self.pop)}
            )
            response = connection.getresponse()
            body = response.read()
            status = response.status
            content_type = response.getheader("Content-Type") or ""
            local = response.getheader("X-Local-Cache")
            age = response.getheader("Age")
        except (OSError, http.client.HTTPException):
            body, status, content_type, local, age = b"", 0, "", None, None
        finally:
            connection.close()
        fetch = Fetch(
            url=path,
            status=status,
            content_type=content_type,
            version=version_of(body, content_type) if status == 200 else None,
            is_html=_looks_html(body, content_type),
            hit=None if local is None else local == "hit",
            age=int(age) if age and age.isdigit() else None,
            at=self.clock(),
        )
        return fetch, body

    def load_page(self, path: str) -> PageLoad:
        """The page, then its assets, then its stylesheets' ``url()`` references."""
        started = self.clock()
        page, body = self.get(path)
        fetches = [page]
        lazy: list[str] = []
        if page.status == 200 and page.is_html:
            refs = _Refs()
            refs.feed(body.decode("utf-8", "replace"))
            seen: set[str] = set()
            for ref in refs.assets:
                url = _same_site(path, ref)
                if url is None or url in seen:
                    continue
                seen.add(url)
                asset, asset_body = self.get(url)
                fetches.append(asset)
                if asset.status == 200 and "css" in asset.content_type.lower():
                    text = asset_body.decode("utf-8", "replace")
                    for inner in _CSS_URL_RE.findall(text):
                        inner_url = _same_site(url, inner)
                        if inner_url is not None and inner_url not in seen:
                            seen.add(inner_url)
                            fetches.append(self.get(inner_url)[0])
            lazy = [u for r in refs.lazy if (u := _same_site(path, r)) is not None]
        return PageLoad(
            visitor=self.visitor,
            pop=self.pop,
            kind="page",
            page=path,
            started=started,
            finished=self.clock(),
            page_version=page.version,
            fetches=tuple(fetches),
            lazy=tuple(lazy),
        )

    def load_lazy(self, tab: PageLoad, chunk: str) -> PageLoad:
        """An open tab (an earlier page load) fetches one of its lazy chunks now."""
        started = self.clock()
        fetch, _ = self.get(chunk)
        return PageLoad(
            visitor=self.visitor,
            pop=self.pop,
            kind="open_tab",
            page=tab.page,
            started=started,
            finished=self.clock(),
            page_version=tab.page_version,
            fetches=(fetch,),
            lazy=tab.lazy,
        )


@dataclass
class TrafficRunner:
    """``visitors`` threads loading ``pages`` of ``host`` over ``pops`` POPs.

    Visitor ``i`` uses POP ``i % pops``. Between loads it thinks for a uniform draw from
    ``think_seconds`` (clock seconds). The first ``open_tab_share`` of visitors keep
    their first page open and then, every ``tab_seconds`` draw, fetch its next lazy
    chunk (an ``open_tab`` load); a page with no lazy chunk makes them plain visitors.
    ``zipf`` (s > 0) makes page popularity long-tailed: page k has weight 1/k**s.
    It stops by itself after ``max_seconds`` of clock time, ``max_loads`` loads in all,
    or ``max_real_seconds`` of real time, whichever comes first; :meth:`stop` ends it
    sooner.
    """

    endpoint_url: str
    host: str
    pages: Sequence[str]
    visitors: int = 50
    pops: int = 4
    clock: Clock = field(default_factory=RealClock)
    think_seconds: tuple[float, float] = (0.5, 2.0)
    open_tab_share: float = 0.0
    tab_seconds: tuple[float, float] = (5.0, 15.0)
    zipf: float | None = None
    max_seconds: float = 60.0
    max_loads: int = 100_000
    max_real_seconds: float = 600.0
    seed: int = 0
    on_load: Callable[[PageLoad], None] | None = None
    _loads: list[PageLoad] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if not self.pages:
            raise ValueError("TrafficRunner needs at least one page")
        if self.visitors < 1 or self.pops < 1:
            raise ValueError("TrafficRunner needs visitors >= 1 and pops >= 1")
        if not 0 <= self.open_tab_share <= 1:
            raise ValueError(f"open_tab_share is a share from 0 to 1 (got {self.open_tab_share})")
        self._weights = (
            [1 / (k**self.zipf) for k in range(1, len(self.pages) + 1)] if self.zipf else None
        )

    def start(self) -> TrafficRunner:
        """Start every visitor thread."""
        if self._threads:
            raise RuntimeError("already started")
        self._deadline = self.clock() + self.max_seconds
        self._real_deadline = time.monotonic() + self.max_real_seconds
        tabs = round(self.visitors * self.open_tab_share)
        for i in range(self.visitors):
            thread = threading.Thread(
                target=self._visit, args=(i, i < tabs), name=f"visitor-{i}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> list[PageLoad]:
        """Stop the visitors (each finishes its current load); return every load."""
        self._stop.set()
        return self.wait(timeout)

    def wait(self, timeout: float | None = None) -> list[PageLoad]:
        """Wait until the visitors stop by themselves (or ``timeout``); return the loads."""
        end = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if end is None else max(0.0, end - time.monotonic()))
        return self.loads()

    def loads(self) -> list[PageLoad]:
        """Every load so far, in the order they finished."""
        with self._lock:
            return list(self._loads)

    def __enter__(self) -> TrafficRunner:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _running(self) -> bool:
        if self._stop.is_set() or self.clock() >= self._deadline:
            return False
        if time.monotonic() >= self._real_deadline:
            return False
        with self._lock:
            return len(self._loads) < self.max_loads

    def _pause(self, seconds: float) -> None:
        """Sleep ``seconds`` of clock time, cut short by the deadline or :meth:`stop`."""
        end = min(self.clock() + seconds, self._deadline)
        while not self._stop.is_set() and (left := end - self.clock()) > 0:
            self.clock.sleep(min(left, 0.25))

    def _record(self, load: PageLoad) -> None:
        with self._lock:
            self._loads.append(load)
        if self.on_load is not None:
            self.on_load(load)

    def _visit(self, index: int, keeps_tab: bool) -> None:
        rng = random.Random(f"visitor-{self.seed}-{index}")
        browser = Browser(
            self.endpoint_url, self.host, index % self.pops, clock=self.clock, visitor=index
        )
        # Spread the first loads over one think time, as visitors do not arrive at once.
        self._pause(rng.uniform(0, self.think_seconds[1]))
        tab: PageLoad | None = None
        chunk = 0
        while self._running():
            if tab is not None:
                self._pause(rng.uniform(*self.tab_seconds))
                if not self._running():
                    break
                self._record(browser.load_lazy(tab, tab.lazy[chunk % len(tab.lazy)]))
                chunk += 1
                continue
            page = rng.choices(list(self.pages), weights=self._weights)[0]
            load = browser.load_page(page)
            self._record(load)
            if keeps_tab and load.lazy and load.outcome == OK:
                tab = load
                continue
            self._pause(rng.uniform(*self.think_seconds))


@dataclass(frozen=True)
class TrafficSummary:
    """What a deploy under traffic looked like to visitors (clock seconds)."""

    page_loads: int
    broken: int
    broken_share: float
    open_tab_loads: int
    open_tab_broken: int
    longest_broken_run_seconds: float
    stale_after_success: int
    misses_after_success: int
    all_pops_new_at: float | None


def summarize(
    loads: Sequence[PageLoad],
    *,
    success_at: float | None = None,
    expected_version: str | None = None,
    miss_window: float = 60.0,
    since: float | None = None,
) -> TrafficSummary:
    """The figures of a run.

    - ``longest_broken_run_seconds``: per POP (a visitor sees only its own), loads in
      start order; a run is consecutive broken page loads, from the first one's start to
      the last one's finish; the longest over all POPs.
    - ``stale_after_success`` and ``misses_after_success`` (page and asset answers not
      from the cache within ``miss_window`` s after SUCCESS) need ``success_at``;
      staleness needs ``expected_version`` too.
    - ``all_pops_new_at``: the clock time from which every POP's page loads (those
      started at/after ``since``) were all ok and all ``expected_version``: per POP the
      finish of its last load that was not, else ``since`` (or its first load); the
      latest over POPs. None if a POP's last load was still not, or no expected version.
    """
    pages = sorted((x for x in loads if x.kind == "page"), key=lambda x: x.started)
    tabs = [x for x in loads if x.kind == "open_tab"]
    broken = sum(1 for x in pages if x.outcome == BROKEN)
    longest = 0.0
    for pop in {x.pop for x in pages}:
        run_start: float | None = None
        for load in (x for x in pages if x.pop == pop):
            if load.outcome == BROKEN:
                run_start = load.started if run_start is None else run_start
                longest = max(longest, load.finished - run_start)
            else:
                run_start = None
    stale = misses = 0
    if success_at is not None:
        if expected_version is not None:
            stale = sum(
                1
                for x in pages
                if is_stale(x, success_at=success_at, expected_version=expected_version)
            )
        misses = sum(
            1
            for x in pages
            for f in x.fetches
            if f.hit is False and success_at <= f.at < success_at + miss_window
        )
    new_at: float | None = None
    if expected_version is not None:
        ends: list[float | None] = []
        for pop in sorted({x.pop for x in pages}):
            own = [x for x in pages if x.pop == pop and (since is None or x.started >= since)]
            if not own:
                continue

            def new(load: PageLoad) -> bool:
                versions = {load.page_version} | {f.version for f in load.fetches}
                versions.discard(None)
                return load.outcome == OK and versions == {expected_version}

            bad = [x for x in own if not new(x)]
            if not bad:
                ends.append(since if since is not None else own[0].started)
            elif bad[-1] is own[-1]:
                ends.append(None)
            else:
                ends.append(bad[-1].finished)
        if ends and all(e is not None for e in ends):
            new_at = max(e for e in ends if e is not None)
    return TrafficSummary(
        page_loads=len(pages),
        broken=broken,
        broken_share=broken / len(pages) if pages else 0.0,
        open_tab_loads=len(tabs),
        open_tab_broken=sum(1 for x in tabs if x.outcome == BROKEN),
        longest_broken_run_seconds=longest,
        stale_after_success=stale,
        misses_after_success=misses,
        all_pops_new_at=new_at,
    )
