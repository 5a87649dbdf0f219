"""CloudFront's edge: points of presence (POPs) that cache a distribution's S3 content.

The local CloudFront answers the invalidation API; this module makes it serve content the
way CloudFront's edge locations do, so what a visitor sees during a deploy can be measured.
Rules and their sources in the CloudFront Developer Guide (docs/local-cloud.md has the
full list):

- Addressing. A request reaches the edge when its ``Host`` is a distribution's domain
  name (``d111111abcdef8.cloudfront.net`` as GetDistribution shows it), one of its
  aliases, or a distribution tenant's domain; every other request goes on to moto. The
  POP is named by the ``X-Local-Pop`` header (``0`` .. ``pops - 1``; absent: ``0``).
  Each POP has its own cache ("How CloudFront delivers content").
- Origin. The distribution's default cache behavior's origin, an S3 bucket
  (``bucket.s3[.region].amazonaws.com``), read from moto's S3 in process with the
  origin's OriginPath prepended ("Origin path"). ``/`` is answered with the
  DefaultRootObject ("Specify a default root object"); the cache key stays the path the
  viewer asked for, so ``/`` and ``/index.html`` are two entries (invalidate both).
  A missing key answers 403, as S3 does for a caller without ``s3:ListBucket`` (S3 API
  Reference, GetObject, "Permissions"): the origin access control set-up aws-cdk makes.
- Lifetime ("Manage how long content stays in the cache (expiration)"): ``s-maxage``
  before ``max-age`` before ``Expires``, bounded by the cache policy's min and max TTL;
  none of them: the default TTL; ``no-cache`` / ``no-store`` / ``private``: not cached
  when min TTL is 0, else cached for min TTL. Managed policies per "Use managed cache
  policies"; a distribution with legacy cache settings uses its MinTTL / DefaultTTL /
  MaxTTL. Query strings are out of the key (none of the managed caching policies puts
  them in).
- Errors ("Control how long CloudFront caches errors", "Generate custom error
  responses"): origin 4xx/5xx answers are cached for the ErrorCachingMinTTL of that
  status in CustomErrorResponses, 10 s without one; a CustomErrorResponse with a
  ResponsePagePath answers that page (fetched through the same cache) with its
  ResponseCode.
- Invalidation ("Invalidate files", "Invalidating content by cache tags"): each POP drops
  matching entries (exact path, ``prefix*``, ``#tag`` through the distribution's
  CacheTagConfig header, case-insensitive) at its own moment inside the invalidation's
  life; the last POP's moment is no later than the moment the status turns Completed. A
  tenant's invalidation drops only that tenant's entries; every tenant has its own
  entries (the stricter reading: the Guide does not say tenants share a cache).
- Headers: ``X-Cache: Hit from cloudfront`` / ``Miss from cloudfront`` / ``Error from
  cloudfront`` (the result types of "Standard logging fields", x-edge-result-type),
  ``Age`` on answers from the cache, and the local server's own ``X-Local-Cache:
  hit|miss`` (also on errors) and ``X-Local-Pop``.

Time comes from the LocalCloudFront's clock (:mod:`localcloud.clock`), so tests move a
manual clock instead of sleeping, and a benchmark scales every lifetime and duration.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import statistics
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import quote
from wsgiref.types import WSGIApplication, WSGIEnvironment

from moto.cloudfront.models import cloudfront_backends
from werkzeug.test import Client
from werkzeug.wrappers import Response

from localcloud.cloudfront.model import InvalidationRecord, InvalidationStore, is_tag

__all__ = [
    "CACHING_DISABLED",
    "CACHING_OPTIMIZED",
    "LEGACY",
    "MANAGED_CACHE_POLICIES",
    "POP_HEADER",
    "TODAY",
    "CachePolicy",
    "Edge",
    "EdgeStats",
    "TimingProfile",
    "cache_lifetime",
    "s3_site_config",
]

POP_HEADER: Final = "X-Local-Pop"
_POP_ENVIRON: Final = "HTTP_X_LOCAL_POP"

#: Managed cache policy ids ("Use managed cache policies").
CACHING_OPTIMIZED: Final = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_OPTIMIZED_UNCOMPRESSED: Final = "b2884449-e4de-46a7-ac36-70bc7f1ddd6d"
CACHING_DISABLED: Final = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"

#: "Control how long CloudFront caches errors": 10 seconds unless configured.
DEFAULT_ERROR_CACHING_MIN_TTL: Final = 10.0
#: At most 50 tags per cached object ("What you need to know when invalidating tags").
MAX_TAGS_PER_OBJECT: Final = 50

_ORIGIN_AUTHORIZATION: Final = (
    "AWS4-HMAC-SHA256 Credential=cloudfront/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=0"
)
_S3_DOMAIN_RE: Final = re.compile(r"^(?P<bucket>.+?)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$")
_MAX_AGE_RE: Final = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_S_MAXAGE_RE: Final = re.compile(r"(?:^|,)\s*s-maxage\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_NO_CACHE_RE: Final = re.compile(r"(?:^|,)\s*(no-cache|no-store|private)\b", re.IGNORECASE)

# Origin headers a viewer sees (S3 object headers); the rest (request ids, Server) stay.
_PASSED_HEADERS: Final = (
    "Content-Type",
    "ETag",
    "Last-Modified",
    "Cache-Control",
    "Expires",
    "Content-Encoding",
    "Content-Language",
    "Content-Disposition",
)


@dataclass(frozen=True)
class CachePolicy:
    """TTL bounds in seconds; ``query_in_key`` puts the query string in the cache key."""

    min_ttl: float
    default_ttl: float
    max_ttl: float
    query_in_key: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.min_ttl <= self.default_ttl <= self.max_ttl:
            raise ValueError(
                f"cache policy TTLs need 0 <= min <= default <= max (got {self.min_ttl}, "
                f"{self.default_ttl}, {self.max_ttl})"
            )


#: "Use managed cache policies": CachingOptimized and its uncompressed twin (min 1 s,
#: default 86,400 s, max 31,536,000 s), CachingDisabled (all 0); no query string in the key.
MANAGED_CACHE_POLICIES: Final[Mapping[str, CachePolicy]] = {
    CACHING_OPTIMIZED: CachePolicy(1, 86_400, 31_536_000),
    CACHING_OPTIMIZED_UNCOMPRESSED: CachePolicy(1, 86_400, 31_536_000),
    CACHING_DISABLED: CachePolicy(0, 0, 0),
}


def cache_lifetime(headers: Mapping[str, str], policy: CachePolicy, now: float) -> float:
    """Seconds CloudFront keeps a 2xx origin answer with these headers under ``policy``.

    "Manage how long content stays in the cache (expiration)", the table for a
    distribution whose min TTL is 0 or above: no-cache / no-store / private first (not
    cached at min TTL 0, else min TTL), then s-maxage, then max-age, then Expires, each
    bounded to [min TTL, max TTL]; with none of them, the default TTL. The min TTL wins
    over no-cache / no-store / private: API Reference, CachePolicyConfig ("If your minimum
    TTL is greater than 0, CloudFront will cache content for at least" that long).
    """
    control = _header(headers, "Cache-Control") or ""
    if _NO_CACHE_RE.search(control):
        return policy.min_ttl
    for pattern in (_S_MAXAGE_RE, _MAX_AGE_RE):
        if match := pattern.search(control):
            return _bounded(float(match.group(1)), policy)
    expires = _header(headers, "Expires")
    if expires:
        try:
            when = email.utils.parsedate_to_datetime(expires).timestamp()
        except (TypeError, ValueError):
            when = now  # RFC 9111 5.3: an invalid Expires means already expired
        return _bounded(max(0.0, when - now), policy)
    return policy.default_ttl


def _bounded(seconds: float, policy: CachePolicy) -> float:
    return min(max(seconds, policy.min_ttl), policy.max_ttl)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lower = name.lower()
    for key, value in headers.items():
        if key.lower() == lower:
            return value
    return None


# -- invalidation timing profiles ---------------------------------------------------------


@dataclass(frozen=True)
class TimingProfile:
    """How long invalidations take, and when each POP drops the entries within that life.

    ``duration(rng)`` draws seconds from creation to Completed; ``effect(u, duration)``
    maps a uniform draw ``u`` in (0, 1) (one per invalidation and POP) to that POP's
    drop moment, seconds after creation; it is capped at ``duration``, so Completed never
    comes before the last POP has dropped.
    """

    name: str
    duration: Callable[[random.Random], float]
    effect: Callable[[float, float], float]

    def invalidation_seconds(self, seed: int = 0) -> Callable[[str, Sequence[str]], float]:
        """A seeded ``invalidation_seconds`` callable for LocalCloudFront."""
        rng = random.Random(f"{self.name}-durations-{seed}")
        lock = threading.Lock()

        def draw(_target: str, _paths: Sequence[str]) -> float:
            with lock:
                return self.duration(rng)

        return draw


_Z95: Final = statistics.NormalDist().inv_cdf(0.95)


def _log_normal(median: float, p95: float) -> Callable[[float], float]:
    sigma = math.log(p95 / median) / _Z95
    normal = statistics.NormalDist()

    def quantile(u: float) -> float:
        return median * math.exp(sigma * normal.inv_cdf(min(max(u, 1e-9), 1 - 1e-9)))

    return quantile


#: AWS What's New, April 2026 ("Amazon CloudFront now supports invalidation by cache
#: tag"): in effect in under 5 s at P95, Completed in under 25 s at P95. The medians
#: (2 s in effect, 10 s Completed) are assumptions, as in the bench's today profile;
#: log-normal because a purge is a product of many small delays.
_TODAY_EFFECT: Final = _log_normal(2.0, 5.0)
_TODAY_DURATION: Final = _log_normal(10.0, 25.0)
TODAY: Final = TimingProfile(
    name="today",
    duration=lambda rng: _TODAY_DURATION(rng.random()),
    effect=lambda u, duration: min(_TODAY_EFFECT(u), duration),
)

#: Field reports of 2021-2025 (aws-cdk issue 15891): seconds to 15 minutes, as the bench's
#: legacy profile (log-uniform over 5 s - 900 s). Nothing says when each POP dropped the
#: entries, so each drops at a uniform moment of the whole life (late is the stricter side).
LEGACY: Final = TimingProfile(
    name="legacy",
    duration=lambda rng: math.exp(rng.uniform(math.log(5.0), math.log(900.0))),
    effect=lambda u, duration: u * duration,
)


# -- the cache ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    distribution_id: str
    tenant_id: str | None


@dataclass
class _Entry:
    """One cached origin answer at one POP."""

    target: _Target
    key: str  # the cache key's path (and query, when the policy keys on it)
    path: str  # the path invalidations are matched against
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: float
    expires_at: float
    tags: frozenset[str]


@dataclass(frozen=True)
class _ErrorRule:
    error_code: int
    page_path: str | None
    response_code: int | None
    min_ttl: float | None


@dataclass(frozen=True)
class _Site:
    """What the edge needs from one distribution's config."""

    bucket: str | None
    origin_path: str
    root_object: str
    policy: CachePolicy | None
    policy_problem: str
    errors: Mapping[int, _ErrorRule]
    tag_header: str | None


@dataclass
class EdgeStats:
    """Counters of one POP (or all of them, summed)."""

    hits: int = 0
    misses: int = 0
    origin_fetches: int = 0
    invalidated: int = 0
    capacity_evictions: int = 0


@dataclass
class _Pop:
    entries: OrderedDict[tuple[_Target, str], _Entry] = field(default_factory=OrderedDict)
    stats: EdgeStats = field(default_factory=EdgeStats)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Matcher:
    """An invalidation's items, ready to match entries quickly."""

    def __init__(self, items: Iterable[str]) -> None:
        self.exact: set[str] = set()
        self.prefixes: list[str] = []
        self.tags: set[str] = set()
        for item in items:
            if is_tag(item):
                self.tags.add(item[1:].lower())
            elif item.endswith("*"):
                self.prefixes.append(item[:-1])
            else:
                self.exact.add(item)

    def matches(self, entry: _Entry) -> bool:
        return (
            entry.path in self.exact
            or any(entry.path.startswith(p) for p in self.prefixes)
            or not self.tags.isdisjoint(entry.tags)
        )


class _Tenant(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def distribution_id(self) -> str: ...
    @property
    def domain(self) -> str: ...


class _Cloud(Protocol):
    """What the edge reads from its LocalCloudFront (a protocol: no import cycle)."""

    account_id: str
    clock: Callable[[], float]
    store: InvalidationStore

    def tenants(self) -> Sequence[_Tenant]: ...
    def cache_tag_header(self, distribution_id: str) -> str | None: ...


class Edge:
    """The POPs of one LocalCloudFront; reached through its HTTP server (see module doc)."""

    def __init__(
        self,
        cloud: _Cloud,
        *,
        pops: int = 4,
        timing: TimingProfile = TODAY,
        capacity: int | None = None,
        seed: int = 0,
    ) -> None:
        """``pops`` caches of at most ``capacity`` entries each (least recently used go).

        ``timing.effect`` places each POP's drop moment within an invalidation's life
        (the durations themselves are the LocalCloudFront's ``invalidation_seconds``).
        """
        if pops < 1:
            raise ValueError(f"pops must be at least 1 (got {pops})")
        if capacity is not None and capacity < 1:
            raise ValueError(f"capacity must be at least 1 entry per POP (got {capacity})")
        self._cloud = cloud
        self.pops = pops
        self.timing = timing
        self.capacity = capacity
        self._seed = seed
        self._pops = [_Pop() for _ in range(pops)]
        self._draws: dict[tuple[str, int], float] = {}
        self._matchers: dict[str, _Matcher] = {}
        self._lock = threading.Lock()
        self._origin: Client | None = None
        #: What a missing key answers: 403 as S3 does without s3:ListBucket (the origin
        #: access control aws-cdk sets up), 404 when the origin may list the bucket.
        self.missing_object_status = 403

    # -- wiring ------------------------------------------------------------------------

    def attach(self, moto_app: WSGIApplication) -> None:
        """Read origins through this moto app (S3 in process, no network hop)."""
        self._origin = Client(moto_app, use_cookies=False)

    @property
    def clock(self) -> Callable[[], float]:
        """The LocalCloudFront's clock."""
        return self._cloud.clock

    # -- what tests and benchmarks inspect ---------------------------------------------

    def drop_times(self, record: InvalidationRecord) -> list[float]:
        """When each POP drops the invalidation's entries (clock seconds), POP order."""
        return [record.create_time + self._offset(record, pop) for pop in range(self.pops)]

    def stats(self, pop: int | None = None) -> EdgeStats:
        """Counters of one POP, or summed over all."""
        pops = self._pops if pop is None else [self._pops[self._check_pop(pop)]]
        total = EdgeStats()
        for one in pops:
            with one.lock:
                for name in vars(total):
                    setattr(total, name, getattr(total, name) + getattr(one.stats, name))
        return total

    def cached_paths(self, pop: int) -> list[str]:
        """Paths with a live entry at the POP now (expired and invalidated ones left out)."""
        now = self.clock()
        state = self._pops[self._check_pop(pop)]
        with state.lock:
            entries = list(state.entries.values())
        return sorted(e.key for e in entries if self._alive(e, pop, now))

    def flush(self) -> None:
        """Empty every POP (counters kept)."""
        for state in self._pops:
            with state.lock:
                state.entries.clear()

    def host_of(self, distribution_id: str) -> str:
        """The domain name GetDistribution shows for the distribution: its edge Host."""
        backend = cloudfront_backends[self._cloud.account_id]["aws"]
        return str(backend.distributions[distribution_id].domain_name)

    # -- HTTP --------------------------------------------------------------------------

    def handle(self, environ: WSGIEnvironment) -> Response | None:
        """Answer a viewer request for a distribution or tenant; None if the Host is not one."""
        host = str(environ.get("HTTP_HOST", "")).split(":", 1)[0].lower()
        target = self._resolve(host) if host else None
        if target is None:
            return None
        raw_pop = str(environ.get(_POP_ENVIRON, "0")).strip()
        if not raw_pop.isdigit() or int(raw_pop) >= self.pops:
            return _text(
                400,
                f"{POP_HEADER} must be a POP number from 0 to {self.pops - 1} (got {raw_pop!r})",
            )
        method = str(environ.get("REQUEST_METHOD", "GET"))
        if method not in ("GET", "HEAD"):
            # The default AllowedMethods are GET and HEAD; CloudFront refuses the rest.
            return _text(403, f"{method} is not an allowed method for this distribution")
        path = str(environ.get("PATH_INFO", "/")).encode("latin-1").decode("utf-8", "replace")
        query = str(environ.get("QUERY_STRING", ""))
        # For HEAD, werkzeug's Response sends the headers (Content-Length included) only.
        return self.serve(target, int(raw_pop), path or "/", query)

    def _resolve(self, host: str) -> _Target | None:
        for tenant in self._cloud.tenants():
            if tenant.domain.lower() == host:
                return _Target(tenant.distribution_id, tenant.id)
        backend = cloudfront_backends[self._cloud.account_id]["aws"]
        for distribution_id, distribution in list(backend.distributions.items()):
            names = {str(distribution.domain_name).lower()}
            aliases = getattr(distribution.distribution_config, "Aliases", {}) or {}
            names.update(a.lower() for a in _items(aliases, "CNAME") if isinstance(a, str))
            if host in names:
                return _Target(str(distribution_id), None)
        return None

    def serve(self, target: _Target, pop: int, path: str, query: str = "") -> Response:
        """One viewer GET at ``pop``: cache, origin, error rules."""
        site = self._site(target.distribution_id)
        if site.policy is None:
            return _text(502, site.policy_problem)
        if site.bucket is None:
            return _text(
                502,
                "the local edge serves only S3 origins (DomainName bucket.s3[.region]."
                "amazonaws.com) and this distribution's default origin is not one",
            )
        origin_key = path
        if path == "/" and site.root_object:
            origin_key = "/" + site.root_object.lstrip("/")
        key = path + ("?" + query if query and site.policy.query_in_key else "")
        entry, hit = self._entry(target, pop, site, key, path, origin_key)
        if entry.status < 400:
            return self._response(entry, entry.status, "Hit" if hit else "Miss", hit, pop)
        rule = site.errors.get(entry.status)
        if rule is not None and rule.page_path:
            page, page_hit = self._entry(
                target, pop, site, rule.page_path, rule.page_path, rule.page_path
            )
            if page.status < 400:
                status = rule.response_code or entry.status
                return self._response(page, status, "Error", hit and page_hit, pop)
        return self._response(entry, entry.status, "Error", hit, pop)

    def _response(self, entry: _Entry, status: int, x_cache: str, hit: bool, pop: int) -> Response:
        headers = dict(entry.headers)
        headers["X-Cache"] = f"{x_cache} from cloudfront"
        headers["X-Local-Cache"] = "hit" if hit else "miss"
        headers[POP_HEADER] = str(pop)
        headers["X-Amz-Cf-Pop"] = f"LOCAL{pop}"
        headers["X-Amz-Cf-Id"] = uuid.uuid4().hex
        headers["Via"] = f"1.1 local{pop}.cloudfront.net (CloudFront)"
        if hit:
            headers["Age"] = str(max(0, int(self.clock() - entry.fetched_at)))
        return Response(entry.body, status=status, headers=headers)

    # -- cache ---------------------------------------------------------------------------

    def _entry(
        self, target: _Target, pop: int, site: _Site, key: str, path: str, origin_key: str
    ) -> tuple[_Entry, bool]:
        state = self._pops[pop]
        now = self.clock()
        with state.lock:
            entry = state.entries.get((target, key))
        if entry is not None:
            if self._alive(entry, pop, now):
                with state.lock:
                    if (target, key) in state.entries:
                        state.entries.move_to_end((target, key))
                    state.stats.hits += 1
                return entry, True
            with state.lock:
                if state.entries.get((target, key)) is entry:
                    del state.entries[(target, key)]
        entry = self._fetch(target, site, key, path, origin_key, now)
        with state.lock:
            state.stats.misses += 1
            state.stats.origin_fetches += 1
            if entry.expires_at > entry.fetched_at:
                state.entries[(target, key)] = entry
                state.entries.move_to_end((target, key))
                while self.capacity is not None and len(state.entries) > self.capacity:
                    state.entries.popitem(last=False)
                    state.stats.capacity_evictions += 1
        return entry, False

    def _alive(self, entry: _Entry, pop: int, now: float) -> bool:
        if now >= entry.expires_at:
            return False
        for record in self._cloud.store.records(entry.target.distribution_id):
            if record.tenant_id != entry.target.tenant_id or record.completes_at < entry.fetched_at:
                continue
            drop = record.create_time + self._offset(record, pop)
            if entry.fetched_at <= drop <= now and self._matcher(record).matches(entry):
                with self._pops[pop].lock:
                    self._pops[pop].stats.invalidated += 1
                return False
        return True

    def _offset(self, record: InvalidationRecord, pop: int) -> float:
        with self._lock:
            u = self._draws.get((record.id, pop))
            if u is None:
                rng = random.Random(f"edge-{self._seed}-{record.id}-{pop}")
                u = self._draws[(record.id, pop)] = rng.uniform(1e-6, 1.0)
        duration = max(0.0, record.completes_at - record.create_time)
        return min(max(0.0, self.timing.effect(u, duration)), duration)

    def _matcher(self, record: InvalidationRecord) -> _Matcher:
        with self._lock:
            matcher = self._matchers.get(record.id)
            if matcher is None:
                matcher = self._matchers[record.id] = _Matcher(record.paths)
            return matcher

    def _fetch(
        self, target: _Target, site: _Site, key: str, path: str, origin_key: str, now: float
    ) -> _Entry:
        assert site.bucket is not None and site.policy is not None  # checked by serve()
        if self._origin is None:
            raise RuntimeError("the edge is not attached to a server; start the LocalCloudFront")
        s3_key = (site.origin_path.rstrip("/") + origin_key).lstrip("/")
        answer = self._origin.get(
            f"/{quote(site.bucket)}/{quote(s3_key)}",
            base_url="http://s3.amazonaws.com/",
            headers={
                "x-moto-account-id": self._cloud.account_id,
                # Signed, as CloudFront signs origin requests with origin access control;
                # moto checks the shape, not the signature, and refuses anonymous reads.
                "Authorization": _ORIGIN_AUTHORIZATION,
            },
        )
        status = answer.status_code
        body = answer.get_data()
        origin_headers = {k: v for k, v in answer.headers.items()}
        if status == 404 and b"NoSuchKey" in body:
            status = self.missing_object_status
            body = (
                b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                b"<Message>Access Denied</Message></Error>"
            )
            origin_headers = {"Content-Type": "application/xml"}
        headers = {
            name: value
            for name in _PASSED_HEADERS
            if (value := _header(origin_headers, name)) is not None
        }
        headers.update(
            {k: v for k, v in origin_headers.items() if k.lower().startswith("x-amz-meta-")}
        )
        if status < 400:
            ttl = cache_lifetime(origin_headers, site.policy, now)
        else:
            rule = site.errors.get(status)
            ttl = (
                rule.min_ttl
                if rule is not None and rule.min_ttl is not None
                else DEFAULT_ERROR_CACHING_MIN_TTL
            )
        tags: frozenset[str] = frozenset()
        if site.tag_header and (raw := _header(origin_headers, site.tag_header)):
            tags = frozenset(
                t.strip().lower() for t in raw.split(",")[:MAX_TAGS_PER_OBJECT] if t.strip()
            )
        return _Entry(
            target=target,
            key=key,
            path=path,
            status=status,
            headers=headers,
            body=body,
            fetched_at=now,
            expires_at=now + ttl,
            tags=tags,
        )

    # -- distribution config -----------------------------------------------------------------

    def _site(self, distribution_id: str) -> _Site:
        backend = cloudfront_backends[self._cloud.account_id]["aws"]
        config: Any = backend.distributions[distribution_id].distribution_config
        behavior = config.DefaultCacheBehavior
        origin = next(
            (o for o in config.Origins["Items"] if o.id == behavior.target_origin_id), None
        )
        bucket = None
        origin_path = ""
        if origin is not None and (m := _S3_DOMAIN_RE.match(str(origin.domain_name))):
            bucket = m["bucket"]
            origin_path = str(origin.origin_path or "")
        policy_id = str(behavior.cache_policy_id or "")
        policy: CachePolicy | None
        problem = ""
        if policy_id:
            policy = MANAGED_CACHE_POLICIES.get(policy_id)
            if policy is None:
                problem = (
                    f"cache policy {policy_id!r} is not one the local edge knows: use a managed "
                    f"policy ({', '.join(MANAGED_CACHE_POLICIES)}) or legacy TTL settings"
                )
        else:
            # Legacy cache settings: the behavior's own MinTTL / DefaultTTL / MaxTTL
            # (CloudFront's defaults 0 / 86,400 / 31,536,000 when absent).
            policy = CachePolicy(
                float(behavior.min_ttl or 0),
                float(behavior.default_ttl or 86_400),
                float(behavior.max_ttl or 31_536_000),
                query_in_key=str(behavior.forwarded_values.query_string).lower() == "true",
            )
        errors: dict[int, _ErrorRule] = {}
        for item in _items(
            getattr(config, "CustomErrorResponses", {}) or {}, "CustomErrorResponse"
        ):
            if not isinstance(item, dict):
                continue
            code = int(item["ErrorCode"])
            page = item.get("ResponsePagePath") or None
            response_code = item.get("ResponseCode")
            min_ttl = item.get("ErrorCachingMinTTL")
            errors[code] = _ErrorRule(
                error_code=code,
                page_path=str(page) if page else None,
                response_code=int(response_code) if response_code not in (None, "") else None,
                min_ttl=float(min_ttl) if min_ttl not in (None, "") else None,
            )
        return _Site(
            bucket=bucket,
            origin_path=origin_path,
            root_object=str(getattr(config, "DefaultRootObject", "") or ""),
            policy=policy,
            policy_problem=problem,
            errors=errors,
            tag_header=self._cloud.cache_tag_header(distribution_id),
        )

    def _check_pop(self, pop: int) -> int:
        if not 0 <= pop < self.pops:
            raise ValueError(f"pop must be from 0 to {self.pops - 1} (got {pop})")
        return pop


def _items(container: Mapping[str, Any], inner: str) -> list[Any]:
    """A config list as moto keeps it: ``Items`` a list, or ``{inner: item or list}``."""
    items = container.get("Items") if isinstance(container, Mapping) else None
    if items is None:
        return []
    if isinstance(items, Mapping):
        items = items.get(inner, [])
    if not isinstance(items, list):
        items = [items]
    return list(items)


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def s3_site_config(
    bucket: str,
    *,
    origin_path: str = "",
    default_root_object: str = "index.html",
    spa: bool = False,
    error_caching_min_ttl: Mapping[int, float] | None = None,
    cache_policy_id: str = CACHING_OPTIMIZED,
    aliases: Sequence[str] = (),
    region: str = "us-east-1",
) -> dict[str, Any]:
    """A DistributionConfig for an S3 site (CallerReference and Comment filled in later).

    ``spa=True`` adds the usual single-page-app rule: 403 and 404 answer ``/index.html``
    with 200. ``error_caching_min_ttl`` sets ErrorCachingMinTTL per status.
    """
    ttl = dict(error_caching_min_ttl or {})
    codes = sorted(set(ttl) | ({403, 404} if spa else set()))
    responses: list[dict[str, Any]] = []
    for code in codes:
        item: dict[str, Any] = {"ErrorCode": code}
        if spa and code in (403, 404):
            item.update(ResponsePagePath="/index.html", ResponseCode="200")
        if code in ttl:
            item["ErrorCachingMinTTL"] = int(ttl[code])
        responses.append(item)
    config: dict[str, Any] = {
        "Enabled": True,
        "DefaultRootObject": default_root_object,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "s3",
                    "DomainName": f"{bucket}.s3.{region}.amazonaws.com",
                    "OriginPath": origin_path,
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "s3",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": cache_policy_id,
        },
        "CustomErrorResponses": {"Quantity": len(responses), "Items": responses},
    }
    if aliases:
        config["Aliases"] = {"Quantity": len(aliases), "Items": list(aliases)}
    return config
