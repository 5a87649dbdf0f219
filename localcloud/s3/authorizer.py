"""S3 as IAM lets a role see it, in front of moto's S3.

For a request signed with a registered role's key (:class:`~localcloud.iam.authorizer.
Authorizer`), the object operations are authorized first: ``GET``/``HEAD`` on an object is
``s3:GetObject`` on ``arn:aws:s3:::<bucket>/<key>``, ``GET`` on a bucket ``s3:ListBucket``
on ``arn:aws:s3:::<bucket>``, ``PUT``/``DELETE`` on an object ``s3:PutObject`` /
``s3:DeleteObject``, and ``POST`` on a bucket with ``?delete`` (DeleteObjects) is
``s3:DeleteObject`` on every key it names, refused whole if any one is denied (stricter than
S3, which reports a per-key error). ``s3:ListBucket`` carries the request's ``prefix`` as
the ``s3:prefix`` condition key (Service Authorization Reference, Amazon S3 condition
keys). Anything else from such a role is refused (stricter than guessing).
Then, as S3 does, a missing key answers 404 ``NoSuchKey`` only to a caller that may
``s3:ListBucket`` on the bucket, and 403 ``AccessDenied`` to any other (Amazon S3 API
Reference, GetObject, "Permissions"). Path-style addressing only: what botocore uses for
an IP endpoint such as the local server's.
"""

from __future__ import annotations

import io
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from localcloud.iam.authorizer import Authorizer, access_key_from_headers

__all__ = ["guard_s3", "s3_action"]

_SIGNED_FOR_S3 = "/s3/aws4_request"
#: Query parameters of ListObjects / ListObjectsV2 (Amazon S3 API Reference); a GET on a
#: bucket with any other (?location, ?versioning, ...) is another action: refused.
_LIST_PARAMETERS = frozenset({
    "list-type", "prefix", "delimiter", "marker", "max-keys", "continuation-token",
    "start-after", "encoding-type", "fetch-owner",
})


def s3_action(method: str, path: str, query: str) -> tuple[str, str] | None:
    """(action, resource ARN) of a path-style S3 request; None if not one this maps."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return None
    if key:
        if query:  # a subresource (?tagging, ?acl, ?uploads, ...): not an object read
            return None
        actions = {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "PUT": "s3:PutObject",
                   "DELETE": "s3:DeleteObject"}
        action = actions.get(method)
        return (action, f"arn:aws:s3:::{bucket}/{key}") if action else None
    keys = {part.split("=", 1)[0] for part in query.split("&") if part}
    if method == "GET" and keys <= _LIST_PARAMETERS:
        return "s3:ListBucket", f"arn:aws:s3:::{bucket}"
    if method == "POST" and keys == {"delete"}:
        return _DELETE_OBJECTS, f"arn:aws:s3:::{bucket}"
    return None


#: Not an IAM action: DeleteObjects is authorized as s3:DeleteObject on each key it names.
_DELETE_OBJECTS = "DeleteObjects"


def _delete_objects(
    app: WSGIApplication,
    authorizer: Authorizer,
    key_id: str | None,
    account: str,
    bucket_arn: str,
    environ: WSGIEnvironment,
    start_response: StartResponse,
) -> Iterable[bytes]:
    """DeleteObjects: s3:DeleteObject on every key in the request body, then moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        root = ET.fromstring(body)  # noqa: S314 - the local test harness's own request
    except ET.ParseError:
        return _access_denied(start_response, "DeleteObjects with an unreadable body: refused")
    keys = [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Key"]
    for key in keys:
        denial = authorizer.denial(key_id, "s3:DeleteObject", f"{bucket_arn}/{key}", account)
        if denial is not None:
            return _access_denied(start_response, denial)
    return app(environ, start_response)


def _access_denied(start_response: StartResponse, message: str) -> Iterable[bytes]:
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        f"<Message>{_escape(message)}</Message><RequestId>{request_id}</RequestId></Error>"
    ).encode()
    start_response(
        "403 Forbidden",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body))),
         ("x-amz-request-id", request_id)],
    )
    return [body]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def guard_s3(
    app: WSGIApplication, authorizer: Authorizer, account: Callable[[], str]
) -> WSGIApplication:
    """``app`` (moto) behind IAM for the S3 requests of registered roles."""

    def guarded(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        auth = str(environ.get("HTTP_AUTHORIZATION", ""))
        key_id = access_key_from_headers(None, auth)
        if _SIGNED_FOR_S3 not in auth or authorizer.principal(key_id) is None:
            return app(environ, start_response)
        method = str(environ.get("REQUEST_METHOD", "GET"))
        mapped = s3_action(method, str(environ.get("PATH_INFO", "")),
                           str(environ.get("QUERY_STRING", "")))
        if mapped is None:
            return _access_denied(start_response, f"localcloud does not authorize {method} "
                                  f"{environ.get('PATH_INFO')} for a role: refused")
        action, resource = mapped
        query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")),
                                      keep_blank_values=True)
        if action == _DELETE_OBJECTS:
            return _delete_objects(app, authorizer, key_id, account(), resource, environ,
                                   start_response)
        context = {"s3:prefix": query["prefix"][0]} if "prefix" in query else None
        denial = authorizer.denial(key_id, action, resource, account(), context)
        if denial is not None:
            return _access_denied(start_response, denial)
        if action != "s3:GetObject":
            return app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: object = None
        ) -> Callable[[bytes], object]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        body = b"".join(app(environ, capture))
        missing = captured["status"].startswith("404") and (
            method == "HEAD" or b"NoSuchKey" in body
        )
        if missing:
            bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
            if authorizer.denial(key_id, "s3:ListBucket", f"arn:aws:s3:::{bucket}", account()):
                # S3 hides whether the key exists from a caller that may not list the bucket.
                denied = _access_denied(start_response, "Access Denied")
                return [] if method == "HEAD" else denied
        start_response(captured["status"], captured["headers"])
        return [body]

    return guarded
