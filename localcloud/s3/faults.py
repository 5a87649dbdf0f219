"""S3 faults on demand for the local cloud's S3 (moto): deletions denied or throttled.

AWS answers a DeleteObject, or every key of a DeleteObjects, with ``AccessDenied`` when the
caller's policy lacks ``s3:DeleteObject`` on the key (Amazon S3 API Reference, DeleteObjects:
"Permissions" and "Errors"). moto grants everything; :class:`S3DeleteDenial` lets a test take
the permission away for chosen buckets, as a missing grant or a bucket policy would.
Whole-request denial is what S3 does for DeleteObject; for DeleteObjects, S3 answers 200 with
one ``<Error>`` per key, which is what this answers too.
"""

from __future__ import annotations

import threading
import uuid
from urllib.parse import parse_qs, unquote
from wsgiref.types import WSGIEnvironment
from xml.etree import ElementTree

from werkzeug.wrappers import Response

_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


class S3DeleteDenial:
    """Buckets whose object deletions are denied; thread-safe (the server is threaded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: set[str] = set()
        self._throttled: set[str] = set()

    def deny(self, bucket: str) -> None:
        with self._lock:
            self._buckets.add(bucket)

    def throttle(self, bucket: str) -> None:
        """Every deletion request answers 503 SlowDown (S3's request-rate answer, Amazon S3
        API Reference, "Error responses"), however often it is retried."""
        with self._lock:
            self._throttled.add(bucket)

    def allow(self, bucket: str) -> None:
        with self._lock:
            self._buckets.discard(bucket)
            self._throttled.discard(bucket)

    def _denied(self, bucket: str) -> bool:
        with self._lock:
            return bucket in self._buckets

    def _slow(self, bucket: str) -> bool:
        with self._lock:
            return bucket in self._throttled

    def response(self, environ: WSGIEnvironment) -> Response | None:
        """The denial of this request, or None to let moto answer it (path-style requests:
        the local server is addressed by IP, so the bucket is the first path segment)."""
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("POST", "DELETE"):
            return None
        path = unquote(str(environ.get("PATH_INFO", ""))).lstrip("/")
        bucket, _, key = path.partition("/")
        query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        request_id = uuid.uuid4().hex.upper()[:16]
        deletion = (method == "DELETE" and key) or (method == "POST" and "delete" in query)
        if bucket and deletion and self._slow(bucket):
            body = (
                '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                "<Message>Please reduce your request rate.</Message>"
                f"<RequestId>{request_id}</RequestId></Error>"
            )
            return Response(body, status=503, content_type="application/xml")
        if not bucket or not self._denied(bucket):
            return None
        if method == "DELETE" and key and "uploadId" not in query:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                f"<Message>Access Denied</Message><RequestId>{request_id}</RequestId></Error>"
            )
            return Response(body, status=403, content_type="application/xml")
        if method == "POST" and not key and "delete" in query:
            keys = _requested_keys(environ)
            errors = "".join(
                f"<Error><Key>{_escape(k)}</Key><Code>AccessDenied</Code>"
                "<Message>Access Denied</Message></Error>"
                for k in keys
            )
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="{_S3_NS}">'
                f"{errors}</DeleteResult>"
            )
            return Response(body, status=200, content_type="application/xml")
        return None


def _requested_keys(environ: WSGIEnvironment) -> list[str]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    root = ElementTree.fromstring(raw)  # noqa: S314 - the test's own botocore request
    return [
        element.text or ""
        for element in root.iter()
        if element.tag.rsplit("}", 1)[-1] == "Key"
    ]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
