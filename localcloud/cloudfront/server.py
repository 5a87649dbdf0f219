"""The local CloudFront server: moto over real HTTP, with CloudFront's invalidations.

moto 5.2.5 serves CloudFront, but its invalidations are unlike AWS: status "COMPLETED"
at once (the botocore waiter never succeeds), no CallerReference idempotency, no
in-progress limits, oldest-first lists, no path validation, and no distribution tenants.
Code that waits for an invalidation, retries it or splits paths cannot be tested
against that.

This module runs moto's server in process over real HTTP, so boto3 code reaches it
through ``AWS_ENDPOINT_URL`` with no code switch, and puts a WSGI middleware in front
of moto's app. The middleware answers the invalidation operations itself
(CreateInvalidation, GetInvalidation, ListInvalidations and their
``...ForDistributionTenant`` variants) with CloudFront's behaviour and XML, and hands
every other request (CreateDistribution, GetDistribution, S3, ...) to moto unchanged.
Distributions are moto's: one created through boto3 against the server is visible here.
Distribution tenants, multi-tenant distributions and cache-tag configurations are this
server's own (moto has none): create them with :meth:`LocalCloudFront.create_distribution`
and :meth:`LocalCloudFront.create_distribution_tenant`.

moto internals this depends on (moto is pinned to 5.2.5 in pyproject for that reason):

- ``moto.moto_server.werkzeug_app.DomainDispatcherApplication``, ``create_backend_app``
  and ``MotoRequestHandler``: the same pieces ``ThreadedMotoServer`` builds its server
  from. We build the server ourselves because ThreadedMotoServer creates its app inside
  a private method and gives no way to wrap it.
- ``moto.cloudfront.models.cloudfront_backends[account]["aws"].distributions``: a dict
  keyed by distribution id, read to answer NoSuchDistribution.
- moto picks the account from ``MOTO_ACCOUNT_ID``, then the ``x-moto-account-id``
  header, then the access key. The middleware sets the header on every request it
  passes on (when absent), so distributions land in ``account_id``.

moto's backends are module-level state: every LocalCloudFront in one process (and any
``mock_aws`` there) shares the same distributions. Invalidations, tenants, faults and
counters belong to each LocalCloudFront.
"""

from __future__ import annotations

import os
import random
import re
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Self
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import boto3
from botocore.config import Config
from moto.cloudfront.models import cloudfront_backends
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from localcloud._service import LocalService, serve_in_thread, stop_serving
from localcloud.cloudfront import wire
from localcloud.cloudfront.edge import TODAY, Edge, TimingProfile
from localcloud.cloudfront.errors import CloudFrontError
from localcloud.cloudfront.faults import (
    CREATE,
    CREATE_FOR_TENANT,
    DISTRIBUTION,
    DISTRIBUTION_TENANT,
    GET,
    GET_FOR_TENANT,
    LIST,
    LIST_FOR_TENANT,
    FaultInjector,
)
from localcloud.cloudfront.model import (
    Duration,
    InvalidationRecord,
    InvalidationStore,
    check_items,
)
from localcloud.cloudfront.rates import AccountRates
from localcloud.iam.authorizer import Authorizer, access_key_from_headers
from localcloud.s3.authorizer import guard_s3
from localcloud.s3.faults import S3DeleteDenial

__all__ = ["DistributionTenant", "LocalCloudFront"]

_API: Final = "/2020-05-31"
# REST paths of botocore's CloudFront service model (2020-05-31).
_INVALIDATIONS_RE: Final = re.compile(
    r"^/2020-05-31/(?P<kind>distribution|distribution-tenant)/(?P<target>[^/]+)/invalidation/?$"
)
_INVALIDATION_RE: Final = re.compile(
    r"^/2020-05-31/(?P<kind>distribution|distribution-tenant)/(?P<target>[^/]+)"
    r"/invalidation/(?P<inv>[^/]+)$"
)
# Any other request about one distribution (GetDistribution, UpdateDistribution, ...):
# only looked at so that FaultInjector.deny() covers it too.
_DISTRIBUTION_RE: Final = re.compile(r"^/2020-05-31/distribution/(?P<dist>[^/]+)(?:/|$)")

# Roughly which IAM action a request passed on to moto needs, for the AccessDenied text.
_DISTRIBUTION_ACTIONS: Final = {"PUT": "UpdateDistribution", "DELETE": "DeleteDistribution"}

# (kind in the path, method, with an invalidation id) -> operation
_OPERATIONS: Final = {
    (DISTRIBUTION, "POST", False): CREATE,
    (DISTRIBUTION, "GET", False): LIST,
    (DISTRIBUTION, "GET", True): GET,
    (DISTRIBUTION_TENANT, "POST", False): CREATE_FOR_TENANT,
    (DISTRIBUTION_TENANT, "GET", False): LIST_FOR_TENANT,
    (DISTRIBUTION_TENANT, "GET", True): GET_FOR_TENANT,
}

# Distribution tenant ids as CloudFront shows them (AWS CLI reference examples such as
# ``dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB``): ``dt_`` and 27 letters and digits.
_TENANT_ID_LENGTH: Final = 27


@dataclass(frozen=True)
class DistributionTenant:
    """A distribution tenant of a multi-tenant distribution (this server's own record)."""

    id: str
    distribution_id: str
    name: str
    domain: str


class _QuietRequestHandler(MotoRequestHandler):
    """moto's handler without werkzeug's one-line-per-request access log on stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Drop access-log lines; errors are still logged by werkzeug."""


def _is_cloudfront(environ: WSGIEnvironment) -> bool:
    """True unless the request is signed for another service (moto serves them all)."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    return match is None or match.group(1) == "cloudfront"


def _xml_response(body: bytes, status: int, headers: dict[str, str]) -> Response:
    return Response(body, status=status, content_type="text/xml", headers=headers)


def _error_response(error: CloudFrontError, request_id: str) -> Response:
    return _xml_response(
        wire.error_xml(error, request_id), error.status, {"x-amz-request-id": request_id}
    )


def minimal_distribution_config(reference: str, comment: str) -> dict[str, Any]:
    """The smallest DistributionConfig CloudFront (and stock moto) accept: one custom origin."""
    return {
        "CallerReference": reference,
        "Comment": comment,
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "origin",
                    "DomainName": "origin.example.com",
                    "CustomOriginConfig": {
                        "HTTPPort": 80,
                        "HTTPSPort": 443,
                        "OriginProtocolPolicy": "https-only",
                    },
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "origin",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
    }


class LocalCloudFront(LocalService):
    """moto's CloudFront over real HTTP, with CloudFront's invalidation behaviour.

    Invalidations stay ``InProgress`` for ``invalidation_seconds`` (a number, or a
    callable ``(distribution_or_tenant_id, paths) -> seconds`` for a spread), then read
    ``Completed``; status is computed from the clock on each read. CallerReference
    reuse, in-progress limits, path and cache-tag validation, newest-first paginated
    lists and NoSuchDistribution / NoSuchInvalidation / EntityNotFound answer as
    CloudFront does, for distributions and distribution tenants alike. ``faults`` makes
    calls fail on demand; ``calls()`` counts them for benchmarks. Thread-safe: the
    server answers each connection on its own thread.
    """

    def __init__(
        self,
        *,
        invalidation_seconds: Duration = 2.0,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        max_files_in_progress: int = 3000,
        max_wildcards_in_progress: int = 15,
        reused_reference_error: bool = False,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        quiet: bool = True,
        clock: Callable[[], float] = time.time,
        pops: int = 4,
        edge_timing: TimingProfile = TODAY,
        edge_capacity: int | None = None,
        rate_limits: AccountRates | None = None,
    ) -> None:
        """Configure; nothing listens until :meth:`start`.

        ``reused_reference_error=True`` answers any CallerReference reuse with the
        ``InvalidArgument`` reported from the field instead of the documented
        idempotent reply, so a handler can be tested against both. ``port=0`` picks a
        free port. ``quiet`` drops the per-request access log. ``clock`` (epoch seconds,
        see :mod:`localcloud.clock`) times invalidations and the edge; ``pops``,
        ``edge_timing`` and ``edge_capacity`` shape the edge (:mod:`.edge`). ``rate_limits``:
        the account-wide request rates (``AccountRates()`` for CloudFront's, see
        :mod:`localcloud.cloudfront.rates`); None, no throttling.
        """
        self.account_id = account_id
        self.region = region
        self.faults = FaultInjector(seed)
        #: IAM for the roles a local deploy registers (localcloud.iam): their invalidation
        #: calls and S3 reads are evaluated against their policies; other callers are not.
        self.iam = Authorizer()
        #: Deny object deletions in chosen buckets of the same server's S3 (a test's fault).
        self.s3_delete_denial = S3DeleteDenial()
        self.rates = rate_limits
        self.store = InvalidationStore(
            duration=invalidation_seconds,
            max_files_in_progress=max_files_in_progress,
            max_wildcards_in_progress=max_wildcards_in_progress,
            reused_reference_error=reused_reference_error,
            seed=seed,
            clock=clock,
        )
        self.clock = clock
        self.edge = Edge(self, pops=pops, timing=edge_timing, capacity=edge_capacity, seed=seed)
        self._host = host
        self._port = port
        self._quiet = quiet
        self._lock = threading.RLock()
        self._tenant_ids = random.Random(f"tenant-ids-{seed}")
        self._tenants: dict[str, DistributionTenant] = {}
        self._multi_tenant: set[str] = set()
        self._cache_tag_headers: dict[str, str] = {}
        self._calls: dict[str, int] = {}
        self._get_calls: dict[str, int] = {}
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint_url = ""

    # -- settings shared with the store ----------------------------------------------

    @property
    def max_files_in_progress(self) -> int:
        """In-progress individual items (files and tags) per distribution (3,000 on AWS)."""
        return self.store.max_files_in_progress

    @max_files_in_progress.setter
    def max_files_in_progress(self, value: int) -> None:
        self.store.max_files_in_progress = value

    @property
    def max_wildcards_in_progress(self) -> int:
        """In-progress wildcard paths per distribution (15 on AWS)."""
        return self.store.max_wildcards_in_progress

    @max_wildcards_in_progress.setter
    def max_wildcards_in_progress(self, value: int) -> None:
        self.store.max_wildcards_in_progress = value

    @property
    def reused_reference_error(self) -> bool:
        """Whether a reused CallerReference answers the field-reported InvalidArgument."""
        return self.store.reused_reference_error

    @reused_reference_error.setter
    def reused_reference_error(self, value: bool) -> None:
        self.store.reused_reference_error = value

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Self:
        """Listen on ``host:port`` in a daemon thread; sets :attr:`endpoint_url`."""
        if self._server is not None:
            raise RuntimeError("already started")
        handler = _QuietRequestHandler if self._quiet else MotoRequestHandler
        moto_app = DomainDispatcherApplication(create_backend_app)
        self.edge.attach(moto_app)
        self._server = make_server(
            self._host,
            self._port,
            self._middleware(moto_app),
            threaded=True,
            request_handler=handler,
        )
        port = self._server.server_address[1]
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host  # noqa: S104
        self.endpoint_url = f"http://{host}:{port}"
        self._thread = serve_in_thread(
            self._server, f"localcloud-cloudfront-{port}", poll_interval=0.05
        )
        return self

    def stop(self) -> None:
        """Stop listening and free the port. Idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        stop_serving(server, thread)
        self.iam.close()

    # -- helpers for callers -------------------------------------------------------

    def _require_started(self) -> None:
        if not self.endpoint_url:
            raise RuntimeError("call start() first")

    def env(self) -> dict[str, str]:
        """Environment that points boto3 / the AWS CLI at this server with dummy keys."""
        self._require_started()
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, *, max_attempts: int | None = None) -> Any:  # noqa: ANN401 - boto3 client
        """A boto3 CloudFront client for this server.

        ``max_attempts=1`` switches botocore's retries off, so a test sees an injected
        fault itself instead of botocore quietly retrying it.
        """
        self._require_started()
        config = Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts}
            if max_attempts is not None
            else None
        )
        return boto3.client(
            "cloudfront",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - dummy key for the local server
            config=config,
        )

    def create_distribution(
        self,
        comment: str = "local",
        *,
        cache_tag_header: str | None = None,
        multi_tenant: bool = False,
        config: dict[str, Any] | None = None,
    ) -> str:
        """Create a minimal distribution through boto3 against the server; return its Id.

        ``cache_tag_header`` gives it a CacheTagConfig with that HeaderName (for an S3
        origin, ``x-amz-meta-cache-tag``), so ``#tag`` items are accepted; without one
        they are refused. ``multi_tenant=True`` makes it a multi-tenant distribution,
        invalidated only through its tenants (:meth:`create_distribution_tenant`).
        moto 5.2.5 knows neither setting, so this server keeps them. ``config`` is a whole
        DistributionConfig (e.g. :func:`.edge.s3_site_config`) instead of the minimal one.
        """
        if cache_tag_header is not None and not cache_tag_header.strip():
            raise ValueError("cache_tag_header must name a header")
        reference = f"localcloud-{uuid.uuid4()}"
        response = self.client().create_distribution(
            DistributionConfig={"CallerReference": reference, "Comment": comment, **config}
            if config is not None
            else minimal_distribution_config(reference, comment)
        )
        distribution_id = str(response["Distribution"]["Id"])
        with self._lock:
            if cache_tag_header is not None:
                self._cache_tag_headers[distribution_id] = cache_tag_header
            if multi_tenant:
                self._multi_tenant.add(distribution_id)
        return distribution_id

    def create_distribution_tenant(
        self,
        distribution_id: str | None = None,
        domain: str = "www.example.com",
        *,
        name: str | None = None,
        cache_tag_header: str | None = None,
    ) -> str:
        """Create a distribution tenant; return its id (``dt_`` and 27 letters and digits).

        ``distribution_id`` names a multi-tenant distribution made by
        ``create_distribution(multi_tenant=True)``; None creates one (with
        ``cache_tag_header`` as its CacheTagConfig, if given). Tenants use their
        distribution's CacheTagConfig and share its in-progress limits.
        """
        if distribution_id is None:
            distribution_id = self.create_distribution(
                "localcloud multi-tenant", cache_tag_header=cache_tag_header, multi_tenant=True
            )
        elif cache_tag_header is not None:
            raise ValueError("cache_tag_header applies only when a distribution is created here")
        with self._lock:
            if distribution_id not in self._multi_tenant:
                raise ValueError(
                    f"distribution {distribution_id!r} is not a multi-tenant distribution of "
                    "this server; create it with create_distribution(multi_tenant=True)"
                )
            alphabet = string.ascii_letters + string.digits
            while True:
                tenant_id = "dt_" + "".join(
                    self._tenant_ids.choice(alphabet) for _ in range(_TENANT_ID_LENGTH)
                )
                if tenant_id not in self._tenants:
                    break
            self._tenants[tenant_id] = DistributionTenant(
                id=tenant_id,
                distribution_id=distribution_id,
                name=name or f"tenant-{len(self._tenants) + 1}",
                domain=domain,
            )
        return tenant_id

    def cache_tag_header(self, distribution_id: str) -> str | None:
        """The distribution's CacheTagConfig HeaderName, or None without one."""
        with self._lock:
            return self._cache_tag_headers.get(distribution_id)

    def tenants(self, distribution_id: str | None = None) -> list[DistributionTenant]:
        """Distribution tenants created so far, optionally of one distribution."""
        with self._lock:
            return [
                t
                for t in self._tenants.values()
                if distribution_id is None or t.distribution_id == distribution_id
            ]

    def tenant_arn(self, tenant_id: str) -> str:
        """The tenant's ARN: ``arn:aws:cloudfront::<account>:distribution-tenant/<id>``."""
        return f"arn:aws:cloudfront::{self.account_id}:{DISTRIBUTION_TENANT}/{tenant_id}"

    def set_invalidation_seconds(self, value: Duration) -> None:
        """Change how long invalidations created from now on stay InProgress."""
        self.store.set_duration(value)

    def invalidations(
        self, distribution_id: str | None = None, *, tenant_id: str | None = None
    ) -> list[InvalidationRecord]:
        """Invalidations created so far, oldest first, optionally for one distribution.

        A multi-tenant distribution's list holds its tenants' invalidations (they purge
        its cache); ``tenant_id`` narrows it to one tenant's.
        """
        return self.store.records(distribution_id, tenant_id=tenant_id)

    def calls(self, operation: str) -> int:
        """How many requests for ``operation`` arrived, faulted or not (0 if none)."""
        with self._lock:
            return self._calls.get(operation, 0)

    def get_calls(self, invalidation_id: str) -> int:
        """How many Get requests (either flavour) named this invalidation: a poll count."""
        with self._lock:
            return self._get_calls.get(invalidation_id, 0)

    def call_counts(self) -> dict[str, int]:
        """A snapshot of every operation's call count."""
        with self._lock:
            return dict(self._calls)

    def reset_counters(self) -> None:
        """Zero the call counters (not the invalidations), e.g. between benchmark rounds."""
        with self._lock:
            self._calls.clear()
            self._get_calls.clear()

    def complete_now(
        self,
        *,
        distribution_id: str | None = None,
        invalidation_id: str | None = None,
        tenant_id: str | None = None,
    ) -> int:
        """Make in-progress invalidations Completed at once; return how many changed.

        Lets a test free in-progress capacity or end a wait at a chosen moment instead
        of sleeping through the configured duration.
        """
        return self.store.complete_now(
            distribution_id=distribution_id, invalidation_id=invalidation_id, tenant_id=tenant_id
        )

    def distribution_exists(self, distribution_id: str, account_id: str | None = None) -> bool:
        """Whether moto knows the distribution in the account (this server's by default)."""
        backend = cloudfront_backends[account_id or self.account_id]["aws"]
        return distribution_id in backend.distributions

    # -- WSGI ----------------------------------------------------------------------

    def _middleware(self, moto_app: WSGIApplication) -> WSGIApplication:
        """The WSGI app the server runs: our invalidation operations, else moto."""

        guarded = guard_s3(moto_app, self.iam, lambda: self.account_id)

        def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            environ.setdefault("HTTP_X_MOTO_ACCOUNT_ID", self.account_id)
            path = environ.get("PATH_INFO", "")
            method = environ.get("REQUEST_METHOD", "GET")
            if (edge_response := self.edge.handle(environ)) is not None:
                return edge_response(environ, start_response)
            if path.startswith(_API + "/distribution") and _is_cloudfront(environ):
                response = self._handle(environ, path, method)
                if response is not None:
                    return response(environ, start_response)
            if (denied := self.s3_delete_denial.response(environ)) is not None:
                return denied(environ, start_response)
            return guarded(environ, start_response)

        return app

    def _account_for(self, environ: WSGIEnvironment) -> str:
        """The account moto will use for this request (same precedence as moto)."""
        return os.environ.get("MOTO_ACCOUNT_ID") or str(environ.get("HTTP_X_MOTO_ACCOUNT_ID"))

    def _handle(self, environ: WSGIEnvironment, path: str, method: str) -> Response | None:
        """Answer an invalidation operation, or a denied distribution; None passes to moto."""
        request_id = str(uuid.uuid4())
        account = self._account_for(environ)
        invalidation_id = ""
        if m := _INVALIDATION_RE.match(path):
            invalidation_id = m["inv"]
        else:
            m = _INVALIDATIONS_RE.match(path)
        operation = (
            _OPERATIONS.get((m["kind"], method, bool(invalidation_id))) if m is not None else None
        )
        if m is None or operation is None:
            if d := _DISTRIBUTION_RE.match(path):
                action = _DISTRIBUTION_ACTIONS.get(method, "GetDistribution")
                denial = self.faults.denial(d["dist"], action, account)
                return _error_response(denial, request_id) if denial else None
            return None
        kind, target_id = m["kind"], m["target"]

        with self._lock:
            self._calls[operation] = self._calls.get(operation, 0) + 1
            if invalidation_id:
                self._get_calls[invalidation_id] = self._get_calls.get(invalidation_id, 0) + 1
        try:
            fault = self.faults.decide(operation)  # first, so every call is numbered
            if self.rates is not None:
                self.rates.check(account, operation)
            denial = self.faults.denial(
                target_id, operation, account, resource_type=kind, invalidation=True
            )
            if denial is not None:
                raise denial
            # The role's own policies, evaluated (the faults above stay on top of them).
            resource = f"arn:aws:cloudfront::{account}:{kind}/{target_id}"
            key_id = access_key_from_headers(None, str(environ.get("HTTP_AUTHORIZATION", "")))
            if iam_denial := self.iam.denial(key_id, f"cloudfront:{operation}", resource, account):
                raise CloudFrontError("AccessDenied", iam_denial)
            if fault is not None and not fault.after:
                raise fault.error()
            distribution_id, tenant_id = self._resolve(kind, target_id, account)
            response = self._perform(
                operation, distribution_id, tenant_id, invalidation_id, environ, request_id
            )
            if fault is not None:
                raise fault.error()
            return response
        except CloudFrontError as error:
            return _error_response(error, request_id)

    def _resolve(self, kind: str, target_id: str, account: str) -> tuple[str, str | None]:
        """(distribution id, tenant id or None) for the request, or the not-found error.

        Plain invalidation operations on a multi-tenant distribution answer
        NoSuchDistribution, as reported from the field for CreateInvalidation (not
        documented); Get and List answer the same here, the stricter choice.
        """
        if kind == DISTRIBUTION_TENANT:
            with self._lock:
                tenant = self._tenants.get(target_id)
            if tenant is None:
                raise CloudFrontError(
                    "EntityNotFound", f"The distribution tenant {target_id!r} was not found."
                )
            return tenant.distribution_id, tenant.id
        with self._lock:
            multi_tenant = target_id in self._multi_tenant
        if multi_tenant or not self.distribution_exists(target_id, account):
            raise CloudFrontError("NoSuchDistribution")
        return target_id, None

    def _perform(
        self,
        operation: str,
        distribution_id: str,
        tenant_id: str | None,
        invalidation_id: str,
        environ: WSGIEnvironment,
        request_id: str,
    ) -> Response:
        request = Request(environ)
        headers = {"x-amz-request-id": request_id}
        target_id = tenant_id or distribution_id
        if operation in (CREATE, CREATE_FOR_TENANT):
            batch = wire.parse_batch(request.get_data())
            with self._lock:
                tags_enabled = distribution_id in self._cache_tag_headers
            check_items(batch.paths, tags_enabled=tags_enabled)
            record = self.store.create(distribution_id, batch, tenant_id=tenant_id)
            kind = DISTRIBUTION_TENANT if tenant_id else DISTRIBUTION
            location = (
                f"{request.host_url.rstrip('/')}{_API}/{kind}/{target_id}/invalidation/{record.id}"
            )
            return _xml_response(
                wire.invalidation_xml(record, self.clock()), 201, {**headers, "Location": location}
            )
        if operation in (GET, GET_FOR_TENANT):
            record = self.store.get(target_id, invalidation_id)
            if self.faults.hidden(target_id, record.create_time, self.clock()):
                raise CloudFrontError("NoSuchInvalidation")
            return _xml_response(wire.invalidation_xml(record, self.clock()), 200, headers)
        marker, max_items = wire.parse_list_query(
            request.args.get("Marker"), request.args.get("MaxItems")
        )
        page, next_marker = self.store.page(target_id, marker, max_items)
        body = wire.invalidation_list_xml(
            page, marker=marker, next_marker=next_marker, max_items=max_items, now=self.clock()
        )
        return _xml_response(body, 200, headers)
