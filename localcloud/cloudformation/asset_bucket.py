"""The CDK asset bucket of the local cloud: moto's S3, on the same server as the CloudFront.

``cdk deploy`` publishes a stack's file assets to the bootstrap bucket before CloudFormation
runs; :class:`AssetBucket` does the same for the files a handler reads at run time (the
``packaging: file`` assets a resource names by ``s3://`` URL, such as a changed-only purge's
manifest; ``LocalCloudFormation`` picks them) and the ``packaging: zip`` assets a
BucketDeployment names in ``SourceBucketNames`` / ``SourceObjectKeys`` (a staged directory is
zipped first, as cdk-assets zips it: its files, paths relative to it). Lambda code and
layers are not uploaded: the local Lambda runs them from cdk.out.

:meth:`AssetBucket.delete` removes an object, as ``cdk gc`` removes assets no current
template references. Objects are read back through boto3 against the server, so what the
handler sees is what moto's S3 serves, behind IAM (``localcloud.s3.authorizer``): a deleted object
is 404 NoSuchKey to a role that may ``s3:ListBucket`` the bucket and 403 AccessDenied to
one that may not (the provider's), as on AWS.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import boto3

from localcloud.cloudformation.assembly import FileAsset


class AssetBucket:
    """Publish file assets to moto's S3 at ``endpoint_url`` (a LocalCloudFront's server)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self.region = region
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - dummy key for the local server
        )
        self._buckets: set[str] = set()

    def publish(self, assets: Iterable[FileAsset], refs: Mapping[str, Any]) -> list[str]:
        """Upload every ``packaging: file`` or ``zip`` asset to its bucket and key; their
        s3:// URLs. A ``zip`` asset staged as a directory is zipped on the way."""
        urls: list[str] = []
        for asset in assets:
            if asset.packaging == "file" and asset.source.is_file():
                body = asset.source.read_bytes()
            elif asset.packaging == "zip" and asset.source.is_dir():
                body = zip_directory(asset.source)
            elif asset.packaging == "zip" and zipfile.is_zipfile(asset.source):
                body = asset.source.read_bytes()
            else:
                continue
            bucket = asset.bucket(refs)
            self._ensure_bucket(bucket)
            self._client.put_object(Bucket=bucket, Key=asset.object_key, Body=body)
            urls.append(f"s3://{bucket}/{asset.object_key}")
        return urls

    def delete(self, url: str) -> None:
        """Remove one object (``s3://bucket/key``), as ``cdk gc`` would."""
        bucket, key = _split(url)
        self._client.delete_object(Bucket=bucket, Key=key)

    def exists(self, url: str) -> bool:
        bucket, key = _split(url)
        listed = self._client.list_objects_v2(Bucket=bucket, Prefix=key)
        return any(item["Key"] == key for item in listed.get("Contents", []))

    def create_bucket(self, bucket: str) -> None:
        """Create ``bucket`` (as CloudFormation creates a stack's AWS::S3::Bucket) unless
        it exists."""
        self._ensure_bucket(bucket)

    def _ensure_bucket(self, bucket: str) -> None:
        if bucket in self._buckets:
            return
        existing = {b["Name"] for b in self._client.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            if self.region == "us-east-1":
                self._client.create_bucket(Bucket=bucket)
            else:
                self._client.create_bucket(
                    Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region}
                )
        self._buckets.add(bucket)


def zip_directory(directory: Path) -> bytes:
    """The directory's files in one zip, paths relative to it, in a stable order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            for name in sorted(files):
                path = Path(root) / name
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _split(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not bucket or not key:
        raise ValueError(f"not an s3://bucket/key URL: {url!r}")
    return bucket, key
