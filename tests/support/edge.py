"""Helpers for the tests of the edge and of the visitors (tests/localcloud; not a test module)."""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3

from localcloud.clock import ManualClock
from localcloud.cloudfront import LocalCloudFront

INVALIDATION_SECONDS = 20.0  # clock seconds; the clock is moved by hand


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def x_cache(self) -> str:
        return self.headers.get("x-cache", "")


@dataclass
class EdgeEnv:
    cf: LocalCloudFront
    clock: ManualClock
    s3: Any
    client: Any
    bucket: str

    def put(self, key: str, body: str, **extra: Any) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode(), **extra)

    def get(
        self,
        host: str,
        path: str,
        pop: int = 0,
        headers: Mapping[str, str] = {},
        method: str = "GET",
    ) -> Answer:
        parts = urlsplit(self.cf.endpoint_url)
        assert parts.hostname is not None and parts.port is not None
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            connection.request(
                method, path, headers={"Host": host, "X-Local-Pop": str(pop), **headers}
            )
            response = connection.getresponse()
            return Answer(
                response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
            )
        finally:
            connection.close()

    def invalidate(self, distribution_id: str, paths: list[str], ref: str) -> str:
        created = self.client.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": ref,
            },
        )
        return str(created["Invalidation"]["Id"])

    def status(self, distribution_id: str, invalidation_id: str) -> str:
        answer = self.client.get_invalidation(DistributionId=distribution_id, Id=invalidation_id)
        return str(answer["Invalidation"]["Status"])


def edge_env(**options: Any) -> Iterator[EdgeEnv]:
    clock = ManualClock()
    with LocalCloudFront(
        clock=clock,
        invalidation_seconds=options.pop("invalidation_seconds", INVALIDATION_SECONDS),
        **options,
    ) as cf:
        s3 = boto3.client(
            "s3",
            endpoint_url=cf.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        # moto's S3 is process-wide state: a bucket of its own per test.
        bucket = f"site-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        yield EdgeEnv(cf=cf, clock=clock, s3=s3, client=cf.client(max_attempts=1), bucket=bucket)
