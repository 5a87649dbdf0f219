"""The ResponseURL side of a CloudFormation custom resource, served locally over HTTPS.

CloudFormation hands every custom-resource request a presigned S3 URL (the ResponseURL)
and waits for one PUT of a JSON body to it. :class:`ResponseServer` plays that part:

* it serves HTTPS on 127.0.0.1 (a free port) with a certificate made at start: a small
  local CA, and a server certificate for ``127.0.0.1`` / ``localhost`` signed by it.
  A handler process trusts it through ``SSL_CERT_FILE=<cert_path>`` (see :meth:`env`),
  which ``ssl.create_default_context()`` honours (Python's default context: any
  client that verifies certificates through it trusts the local CA);
* :meth:`new_url` makes one presigned-looking URL per request; the URL carries a
  signature, and a PUT whose signature does not match is refused with 403, as S3 does;
* every PUT is recorded (time, HTTP status answered, raw body). The first PUT that
  is answered 200 is *the* response: it is checked the way CloudFormation checks one
  and each broken rule is kept as a human-readable violation. A later accepted PUT to
  the same URL with a different answer (status, physical id, data) adds the
  violation "responded twice" to the first response, which keeps counting; the same
  answer again only overwrites the object with what it held, as S3 does;
* fault injection: ``new_url(..., fail_first=N, fail_status=500)`` answers the first N
  PUTs of that URL with the given status (as an S3 outage or an expired URL would),
  so tests can check that a handler retries a failed PUT.

As S3 does, any well-signed PUT beyond the injected faults is answered 200 whatever its
body; validating the body is CloudFormation's business and happens after the fact, so
a bad body shows up in :attr:`CfnResponse.violations`, not in the HTTP status.

URLs and bodies are never logged here: a ResponseURL decides a resource's fate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import ipaddress
import json
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from localcloud._service import LocalService, serve_in_thread, stop_serving

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_PHYSICAL_ID_BYTES",
    "CfnResponse",
    "PutAttempt",
    "ResponseServer",
    "validate_response_body",
]

MAX_BODY_BYTES = 4096
MAX_PHYSICAL_ID_BYTES = 1024
_PATH_PREFIX = "/cfn-response/"


@dataclass(frozen=True)
class PutAttempt:
    """One PUT that reached a ResponseURL, whatever it was answered."""

    arrived_at: float
    http_status: int
    raw: bytes


@dataclass
class CfnResponse:
    """The response CloudFormation would act on: the first PUT answered 200.

    ``put_count`` is the number of PUTs the URL had received (injected failures
    included) when this snapshot was taken. ``body`` is the parsed JSON object, or None
    when the body was not a JSON object.
    """

    status: str | None
    reason: str | None
    physical_resource_id: str | None
    data: dict[str, Any] | None
    arrived_at: float
    violations: list[str]
    raw: bytes
    put_count: int
    request_id: str
    no_echo: bool = False
    body: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when CloudFormation would accept the body (no violations)."""
        return not self.violations


@dataclass
class _Expected:
    request_id: str
    stack_id: str | None
    logical_resource_id: str | None


@dataclass
class _Slot:
    token: str
    url: str
    expected: _Expected
    fail_remaining: int
    fail_status: int
    attempts: list[PutAttempt] = field(default_factory=list)
    response: CfnResponse | None = None


def validate_response_body(
    raw: bytes,
    *,
    request_id: str,
    stack_id: str | None = None,
    logical_resource_id: str | None = None,
) -> tuple[dict[str, Any] | None, list[str]]:
    """Check a response body as CloudFormation does. Returns (parsed object, violations).

    ``stack_id`` / ``logical_resource_id`` are only compared when given.
    """
    violations: list[str] = []
    if len(raw) > MAX_BODY_BYTES:
        violations.append(
            f"body is {len(raw)} bytes, over CloudFormation's {MAX_BODY_BYTES}-byte limit"
        )
    try:
        parsed: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        violations.append(f"body is not valid JSON ({exc.__class__.__name__})")
        return None, violations
    if not isinstance(parsed, dict):
        violations.append(f"body is JSON {type(parsed).__name__}, not an object")
        return None, violations
    body: dict[str, Any] = parsed

    status = body.get("Status")
    if status not in ("SUCCESS", "FAILED"):
        violations.append(f"Status must be SUCCESS or FAILED, got {status!r}")

    physical_id = body.get("PhysicalResourceId")
    if not isinstance(physical_id, str) or not physical_id:
        violations.append(
            f"PhysicalResourceId must be a non-empty string, got {physical_id!r}"[:200]
        )
    elif len(physical_id.encode("utf-8")) > MAX_PHYSICAL_ID_BYTES:
        violations.append(
            f"PhysicalResourceId is {len(physical_id.encode('utf-8'))} bytes, "
            f"over the {MAX_PHYSICAL_ID_BYTES}-byte limit"
        )

    expected: list[tuple[str, str | None]] = [
        ("RequestId", request_id),
        ("StackId", stack_id),
        ("LogicalResourceId", logical_resource_id),
    ]
    for key, want in expected:
        if want is None:
            continue
        got = body.get(key)
        if got != want:
            violations.append(f"{key} does not match the request's (got {got!r})"[:200])

    if status == "FAILED":
        reason = body.get("Reason")
        if not isinstance(reason, str) or not reason.strip():
            violations.append("Reason is required when Status is FAILED")

    if "Data" in body and not isinstance(body["Data"], dict):
        violations.append(f"Data must be a JSON object, got {type(body['Data']).__name__}")

    if "NoEcho" in body and not isinstance(body["NoEcho"], bool):
        violations.append(f"NoEcho must be a boolean, got {body['NoEcho']!r}"[:200])
    return body, violations


def _make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """Write a local CA and a server certificate (127.0.0.1, localhost) signed by it.

    Returns (ca_cert, server_chain, server_key). A CA + leaf pair (rather than one
    self-signed leaf) also satisfies the stricter X.509 checks that newer Pythons
    turn on in ``ssl.create_default_context()``.
    """
    now = dt.datetime.now(dt.UTC)
    not_before = now - dt.timedelta(minutes=5)
    not_after = now + dt.timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localcloud test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    ca_path = directory / "ca.pem"
    chain_path = directory / "server-chain.pem"
    key_path = directory / "server-key.pem"
    pem = serialization.Encoding.PEM
    ca_path.write_bytes(ca_cert.public_bytes(pem))
    chain_path.write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return ca_path, chain_path, key_path


class _TLSServer(http.server.ThreadingHTTPServer):
    """Threading HTTP server that does the TLS handshake in each request's thread.

    Wrapping the listening socket instead would run handshakes in the accept loop,
    where one stuck client would block every other one.
    """

    daemon_threads = True
    owner: ResponseServer
    tls_context: ssl.SSLContext

    def finish_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        if not isinstance(request, socket.socket):
            return
        sock = request
        sock.settimeout(15)
        try:
            tls = self.tls_context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            return  # e.g. a client that does not trust our CA: nothing to record
        try:
            _Handler(tls, client_address, self)
        finally:
            tls.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _TLSServer
    server_version = "AmazonS3"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        return  # never print URLs: a ResponseURL is a secret

    def _reply(self, status: int, body: bytes = b"", content_type: str = "application/xml") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _s3_error(self, status: int, code: str, message: str) -> None:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ).encode()
        self._reply(status, body)

    def do_PUT(self) -> None:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self._s3_error(411, "MissingContentLength", "You must provide the Content-Length.")
            return
        try:
            length = int(length_header)
        except ValueError:
            self._s3_error(400, "BadRequest", "Invalid Content-Length.")
            return
        raw = self.rfile.read(length) if length > 0 else b""
        owner = self.server.owner
        status, code, message = owner._record_put(self.path, raw, owner.clock())
        if status == 200:
            self._reply(200)
        else:
            self._s3_error(status, code, message)

    def _not_allowed(self) -> None:
        self._s3_error(405, "MethodNotAllowed", "The specified method is not allowed.")

    do_GET = _not_allowed  # noqa: N815
    do_POST = _not_allowed  # noqa: N815
    do_DELETE = _not_allowed  # noqa: N815
    do_HEAD = _not_allowed  # noqa: N815


class ResponseServer(LocalService):
    """A local stand-in for CloudFormation's ResponseURL endpoint (HTTPS, 127.0.0.1).

    Use as a context manager, or call :meth:`start` / :meth:`stop`::

        with ResponseServer() as responses:
            event["ResponseURL"] = responses.new_url(event)   # event has RequestId...
            ... run the handler with env=responses.env() ...
            resp = responses.wait(event["RequestId"], timeout=10)
    """

    def __init__(
        self, *, host: str = "127.0.0.1", clock: Callable[[], float] = time.time
    ) -> None:
        self._host = host
        #: Stamps each PUT's ``arrived_at``: the local CloudFront's clock, so an answer
        #: compares with invalidation times (docs/local-cloud.md, Time).
        self.clock = clock
        self._cond = threading.Condition()
        self._slots_by_token: dict[str, _Slot] = {}
        self._slots_by_request: dict[str, _Slot] = {}
        self._secret = secrets.token_bytes(32)
        self._tmpdir: Path | None = None
        self._httpd: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._cert_path: Path | None = None
        self.unmatched_puts = 0
        """PUTs to a path no URL was made for (answered 403)."""

    # lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._tmpdir = Path(tempfile.mkdtemp(prefix="localcloud-responses-"))
        ca_path, chain_path, key_path = _make_certificates(self._tmpdir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(chain_path, key_path)
        httpd = _TLSServer((self._host, 0), _Handler)
        httpd.owner = self
        httpd.tls_context = context
        self._httpd = httpd
        self._cert_path = ca_path
        self._thread = serve_in_thread(httpd, "localcloud-responses")
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        thread, self._thread = self._thread, None
        stop_serving(httpd, thread)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        with self._cond:
            self._cond.notify_all()


    # addresses -------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._require_httpd().server_address[1])

    @property
    def base_url(self) -> str:
        return f"https://{self._host}:{self.port}"

    @property
    def cert_path(self) -> Path:
        """PEM file of the CA that signed the server certificate: set SSL_CERT_FILE to it."""
        if self._cert_path is None:
            raise RuntimeError("ResponseServer is not started")
        return self._cert_path

    def env(self) -> dict[str, str]:
        """Environment a handler process needs to trust this server."""
        return {"SSL_CERT_FILE": str(self.cert_path)}

    # requests --------------------------------------------------------------------

    def new_url(
        self,
        request: str | Mapping[str, Any],
        *,
        fail_first: int = 0,
        fail_status: int = 500,
    ) -> str:
        """Make the ResponseURL for one CloudFormation request.

        ``request`` is either the request's event (a mapping with ``RequestId`` and,
        normally, ``StackId`` and ``LogicalResourceId``: the response must echo all
        three) or just a RequestId string (then only RequestId is checked). A RequestId
        gets one URL: asking twice is an error, as a CloudFormation request id is unique.

        ``fail_first``/``fail_status``: answer the first N PUTs with that HTTP status.
        """
        if isinstance(request, str):
            expected = _Expected(request_id=request, stack_id=None, logical_resource_id=None)
        else:
            request_id = request.get("RequestId")
            if not isinstance(request_id, str) or not request_id:
                raise ValueError("the event has no RequestId")
            stack_id = request.get("StackId")
            logical_id = request.get("LogicalResourceId")
            expected = _Expected(
                request_id=request_id,
                stack_id=stack_id if isinstance(stack_id, str) else None,
                logical_resource_id=logical_id if isinstance(logical_id, str) else None,
            )
        if fail_first < 0:
            raise ValueError("fail_first must be >= 0")
        if not 400 <= fail_status <= 599:
            raise ValueError("fail_status must be an HTTP error status (4xx or 5xx)")
        token = secrets.token_urlsafe(24)
        now = time.gmtime()
        query = urllib.parse.urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", now),
                "X-Amz-SignedHeaders": "host",
                "X-Amz-Expires": "7200",
                "X-Amz-Credential": (
                    f"AKIALOCALCLOUD/{time.strftime('%Y%m%d', now)}/us-east-1/s3/aws4_request"
                ),
                "X-Amz-Signature": self._sign(token),
            }
        )
        url = f"{self.base_url}{_PATH_PREFIX}{token}?{query}"
        with self._cond:
            if expected.request_id in self._slots_by_request:
                raise ValueError(
                    f"a ResponseURL was already made for RequestId {expected.request_id}"
                )
            slot = _Slot(
                token=token,
                url=url,
                expected=expected,
                fail_remaining=fail_first,
                fail_status=fail_status,
            )
            self._slots_by_token[token] = slot
            self._slots_by_request[expected.request_id] = slot
        return url

    def inject_failures(self, url_or_request_id: str, count: int, status: int = 500) -> None:
        """Answer the next ``count`` PUTs of this URL with ``status`` (fault injection)."""
        with self._cond:
            slot = self._slot(url_or_request_id)
            slot.fail_remaining = count
            slot.fail_status = status

    def wait(self, url_or_request_id: str, timeout: float) -> CfnResponse | None:
        """Block until the URL has its response (first PUT answered 200), or timeout.

        Returns a snapshot, or None on timeout.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            slot = self._slot(url_or_request_id)
            while slot.response is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._httpd is None:
                    return None
                self._cond.wait(remaining)
            return self._snapshot(slot)

    def response(self, url_or_request_id: str) -> CfnResponse | None:
        """The response so far (a snapshot), without waiting."""
        with self._cond:
            slot = self._slot(url_or_request_id)
            return None if slot.response is None else self._snapshot(slot)

    def put_count(self, url_or_request_id: str) -> int:
        with self._cond:
            return len(self._slot(url_or_request_id).attempts)

    def attempts(self, url_or_request_id: str) -> list[PutAttempt]:
        """Every PUT the URL received, in order, with the HTTP status it was answered."""
        with self._cond:
            return list(self._slot(url_or_request_id).attempts)

    def urls(self) -> list[str]:
        with self._cond:
            return [slot.url for slot in self._slots_by_token.values()]

    # internals -------------------------------------------------------------------

    def _require_httpd(self) -> _TLSServer:
        if self._httpd is None:
            raise RuntimeError("ResponseServer is not started")
        return self._httpd

    def _sign(self, token: str) -> str:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()

    def _slot(self, url_or_request_id: str) -> _Slot:
        slot = self._slots_by_request.get(url_or_request_id)
        if slot is None:
            path = urllib.parse.urlsplit(url_or_request_id).path
            if path.startswith(_PATH_PREFIX):
                slot = self._slots_by_token.get(path[len(_PATH_PREFIX) :])
        if slot is None:
            raise KeyError("no ResponseURL was made for this URL or RequestId")
        return slot

    @staticmethod
    def _snapshot(slot: _Slot) -> CfnResponse:
        assert slot.response is not None
        return replace(
            slot.response,
            violations=list(slot.response.violations),
            put_count=len(slot.attempts),
        )

    def _record_put(self, target: str, raw: bytes, arrived_at: float) -> tuple[int, str, str]:
        """Record one PUT; returns (HTTP status, S3 error code, message) to answer."""
        split = urllib.parse.urlsplit(target)
        token = split.path[len(_PATH_PREFIX) :] if split.path.startswith(_PATH_PREFIX) else ""
        with self._cond:
            slot = self._slots_by_token.get(token)
            if slot is None:
                self.unmatched_puts += 1
                return 403, "AccessDenied", "Access Denied"
            signature = urllib.parse.parse_qs(split.query).get("X-Amz-Signature", [""])[0]
            if not hmac.compare_digest(signature, self._sign(token)):
                slot.attempts.append(PutAttempt(arrived_at, 403, raw))
                self._cond.notify_all()
                return (
                    403,
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature "
                    "you provided.",
                )
            if slot.fail_remaining > 0:
                slot.fail_remaining -= 1
                slot.attempts.append(PutAttempt(arrived_at, slot.fail_status, raw))
                self._cond.notify_all()
                return slot.fail_status, "InternalError", "Injected failure (localcloud)."
            first = next((a.raw for a in slot.attempts if a.http_status == 200), None)
            slot.attempts.append(PutAttempt(arrived_at, 200, raw))
            if slot.response is not None:
                # The same answer again (an event Lambda delivered twice, both copies done)
                # overwrites the object with what it held: nothing CloudFormation could see.
                if first is None or answer_key(first) != answer_key(raw):
                    slot.response.violations.append(
                        "responded twice: another, different response arrived "
                        f"{arrived_at - slot.response.arrived_at:.3f} s after the first "
                        "(CloudFormation acts on the first only)"
                    )
            else:
                slot.response = self._parse(slot, raw, arrived_at)
            self._cond.notify_all()
            return 200, "", ""

    @staticmethod
    def _parse(slot: _Slot, raw: bytes, arrived_at: float) -> CfnResponse:
        body, violations = validate_response_body(
            raw,
            request_id=slot.expected.request_id,
            stack_id=slot.expected.stack_id,
            logical_resource_id=slot.expected.logical_resource_id,
        )
        body = body or {}
        status = body.get("Status")
        reason = body.get("Reason")
        physical_id = body.get("PhysicalResourceId")
        data = body.get("Data")
        return CfnResponse(
            status=status if isinstance(status, str) else None,
            reason=reason if isinstance(reason, str) else None,
            physical_resource_id=physical_id if isinstance(physical_id, str) else None,
            data=data if isinstance(data, dict) else None,
            arrived_at=arrived_at,
            violations=violations,
            raw=raw,
            put_count=len(slot.attempts),
            request_id=slot.expected.request_id,
            no_echo=body.get("NoEcho") is True,
            body=body if body else None,
        )


def answer_key(raw: bytes) -> str:
    """What CloudFormation reads from a response body, for comparing two of them."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
    if not isinstance(body, dict):
        return repr(body)
    fields = ("Status", "PhysicalResourceId", "Data")
    return json.dumps({k: body.get(k) for k in fields}, sort_keys=True)
