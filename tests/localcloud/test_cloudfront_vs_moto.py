"""The local CloudFront is never more lenient than stock moto 5.2.5.

Each request goes, unchanged, to an unmodified ``moto.server.ThreadedMotoServer`` and to
a LocalCloudFront. Whatever stock moto refuses, ours must refuse too (with a 4xx and
CloudFront's XML error, never a 5xx crash), so a test suite that passes here cannot pass
on a request a stricter server rejects (an empty ``Marker``, for one: stock moto refuses it).
Where ours is stricter than moto, it follows AWS's CloudFront API Reference; the other
test modules pin those rules.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from localcloud.cloudfront import LocalCloudFront
from localcloud.cloudfront.server import minimal_distribution_config

NS = 'xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"'
# Signed for CloudFront as botocore would sign it; neither server checks the signature.
AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/cloudfront/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


def batch_xml(
    items: list[str], ref: str, quantity: int | str | None = None, extra: str = ""
) -> bytes:
    paths = "".join(f"<Path>{item}</Path>" for item in items)
    count = len(items) if quantity is None else quantity
    return (
        f'<?xml version="1.0"?><InvalidationBatch {NS}><Paths><Quantity>{count}</Quantity>'
        f"<Items>{paths}</Items></Paths><CallerReference>{ref}</CallerReference>{extra}"
        "</InvalidationBatch>"
    ).encode()


# name -> (method, path under /2020-05-31 with {d} for the distribution, body)
REQUESTS: dict[str, tuple[str, str, bytes | None]] = {
    "list, empty Marker": ("GET", "/distribution/{d}/invalidation?Marker=", None),
    "list, Marker no page gave": ("GET", "/distribution/{d}/invalidation?Marker=INOTANID", None),
    "list, MaxItems not a number": ("GET", "/distribution/{d}/invalidation?MaxItems=abc", None),
    "list, MaxItems empty": ("GET", "/distribution/{d}/invalidation?MaxItems=", None),
    "list, MaxItems 1.5": ("GET", "/distribution/{d}/invalidation?MaxItems=1.5", None),
    "list, MaxItems negative": ("GET", "/distribution/{d}/invalidation?MaxItems=-1", None),
    "list, MaxItems 0": ("GET", "/distribution/{d}/invalidation?MaxItems=0", None),
    "list, unknown distribution": ("GET", "/distribution/ENOSUCH/invalidation", None),
    "get, unknown distribution": ("GET", "/distribution/ENOSUCH/invalidation/I1", None),
    "get, unknown invalidation": ("GET", "/distribution/{d}/invalidation/INOSUCH", None),
    "create, unknown distribution": (
        "POST",
        "/distribution/ENOSUCH/invalidation",
        batch_xml(["/a"], "r"),
    ),
    "create, empty body": ("POST", "/distribution/{d}/invalidation", b""),
    "create, malformed XML": ("POST", "/distribution/{d}/invalidation", b"<InvalidationBatch>"),
    "create, wrong root element": ("POST", "/distribution/{d}/invalidation", f"<X {NS}/>".encode()),
    "create, Quantity above Items": (
        "POST",
        "/distribution/{d}/invalidation",
        batch_xml(["/a", "/b"], "q3", quantity=3),
    ),
    "create, Quantity not a number": (
        "POST",
        "/distribution/{d}/invalidation",
        batch_xml(["/a"], "qa", quantity="abc"),
    ),
    "create, no CallerReference": (
        "POST",
        "/distribution/{d}/invalidation",
        f"<InvalidationBatch {NS}><Paths><Quantity>1</Quantity><Items><Path>/a</Path>"
        "</Items></Paths></InvalidationBatch>".encode(),
    ),
    "create, empty CallerReference": (
        "POST",
        "/distribution/{d}/invalidation",
        batch_xml(["/a"], ""),
    ),
    "create, no Paths": (
        "POST",
        "/distribution/{d}/invalidation",
        f"<InvalidationBatch {NS}><CallerReference>np</CallerReference>"
        "</InvalidationBatch>".encode(),
    ),
    "create, zero items": ("POST", "/distribution/{d}/invalidation", batch_xml([], "z")),
    "create, no Quantity": (
        "POST",
        "/distribution/{d}/invalidation",
        f"<InvalidationBatch {NS}><Paths><Items><Path>/a</Path></Items></Paths>"
        "<CallerReference>nq</CallerReference></InvalidationBatch>".encode(),
    ),
    "create, path without slash": (
        "POST",
        "/distribution/{d}/invalidation",
        batch_xml(["a.html"], "bp"),
    ),
    "create, empty path": ("POST", "/distribution/{d}/invalidation", batch_xml([""], "ep")),
    "create, PUT instead of POST": (
        "PUT",
        "/distribution/{d}/invalidation",
        batch_xml(["/a"], "p"),
    ),
    "delete an invalidation": ("DELETE", "/distribution/{d}/invalidation/I1", None),
    "create, valid": ("POST", "/distribution/{d}/invalidation", batch_xml(["/a"], "ok")),
}


class Server:
    """One server under comparison: its endpoint, a client and a distribution of its own."""

    def __init__(self, name: str, endpoint_url: str) -> None:
        self.name = name
        self.endpoint_url = endpoint_url
        self.client = boto3.client(
            "cloudfront",
            endpoint_url=endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        created = self.client.create_distribution(
            DistributionConfig=minimal_distribution_config(
                f"compare-{name}-{uuid.uuid4()}", "stock comparison"
            )
        )
        self.distribution_id = str(created["Distribution"]["Id"])

    def send(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        # Content-Type set, else urllib sends a form type that moto reads as a form post.
        request = urllib.request.Request(
            f"{self.endpoint_url}/2020-05-31{path.format(d=self.distribution_id)}",
            data=body,
            method=method,
            headers={"Authorization": AUTH, "Content-Type": "text/xml"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:  # closed here, not by a finalizer (a ResourceWarning on 3.14)
                return error.code, error.read()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Server, Server]]:
    stock = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    stock.start()
    try:
        host, port = stock.get_host_and_port()
        with LocalCloudFront(invalidation_seconds=0.3) as ours:
            yield Server("stock", f"http://{host}:{port}"), Server("ours", ours.endpoint_url)
    finally:
        stock.stop()


@pytest.mark.parametrize("name", list(REQUESTS))
def test_ours_refuses_whatever_stock_moto_refuses(servers, name):
    stock, ours = servers
    method, path, body = REQUESTS[name]
    stock_status, _ = stock.send(method, path, body)
    our_status, our_body = ours.send(method, path, body)
    if stock_status >= 400:
        assert 400 <= our_status < 500, (name, stock_status, our_status, our_body[:300])
        if our_status != 404 or b"<ErrorResponse" in our_body:  # moto's own 404s are empty
            assert b"<ErrorResponse" in our_body
    if name == "create, valid":  # the harness itself sends acceptable requests
        assert (stock_status, our_status) == (201, 201)


def test_the_empty_marker_through_boto3_is_refused_by_both(servers):
    # What a client that passes Marker="" on its first ListInvalidations page sends.
    for server in servers:
        with pytest.raises(ClientError) as info:
            server.client.list_invalidations(DistributionId=server.distribution_id, Marker="")
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, server.name


def test_both_page_with_the_marker_they_gave(servers):
    # Markers are opaque to a client: each server takes back the NextMarker it gave
    # (moto's is a token, ours the last Id as AWS documents), with no Marker on page 1.
    for server in servers:
        for n in range(3):
            server.client.create_invalidation(
                DistributionId=server.distribution_id,
                InvalidationBatch={
                    "Paths": {"Quantity": 1, "Items": [f"/page/{n}"]},
                    "CallerReference": f"page-{n}",
                },
            )
        paginator = server.client.get_paginator("list_invalidations")
        pages = list(
            paginator.paginate(
                DistributionId=server.distribution_id, PaginationConfig={"PageSize": 1}
            )
        )
        ids = [i["Id"] for p in pages for i in p["InvalidationList"].get("Items", [])]
        assert len(pages) >= 3, server.name
        assert len(set(ids)) == len(ids) >= 3, server.name
