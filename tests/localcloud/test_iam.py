"""The local cloud's computed IAM (localcloud.iam): a role registered with the local
CloudFront gets from CloudFront and S3 what its policies allow, decided by the evaluator,
and a missing object reads as S3 answers it for the grants the role has."""

from __future__ import annotations

from typing import Any, Literal

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.cloudfront import LocalCloudFront
from localcloud.iam import NamedPolicy
from localcloud.iam.authorizer import Principal, access_key_for
from localcloud.s3.authorizer import s3_action

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/provider-role"
BUCKET = "cdk-hnb659fds-assets-123456789012-us-east-1"


def policy(*statements: dict[str, Any]) -> NamedPolicy:
    return NamedPolicy("test", {"Version": "2012-10-17", "Statement": list(statements)})


def client_as(cf: LocalCloudFront, service: Literal["cloudfront", "s3"], key: str) -> Any:
    factory: Any = boto3.client
    return factory(
        service,
        endpoint_url=cf.endpoint_url,
        region_name=cf.region,
        aws_access_key_id=key,
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def batch(reference: str) -> dict[str, Any]:
    return {"Paths": {"Quantity": 1, "Items": ["/index.html"]}, "CallerReference": reference}


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error: dict[str, Any] = dict(caught.value.response["Error"])
    error["status"] = caught.value.response["ResponseMetadata"]["HTTPStatusCode"]
    return error


def test_invalidations_follow_the_role_policy(cf: LocalCloudFront) -> None:
    granted, other = cf.create_distribution("granted"), cf.create_distribution("other")
    key = access_key_for("test/provider-role")
    cf.iam.register(key, Principal(ROLE, [policy({
        "Effect": "Allow",
        "Action": ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
        "Resource": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{granted}",
    })], session="fn"))
    cloudfront = client_as(cf, "cloudfront", key)
    created = cloudfront.create_invalidation(DistributionId=granted, InvalidationBatch=batch("a"))
    assert created["Invalidation"]["Status"] == "InProgress"
    denied = error_of(cloudfront.create_invalidation, DistributionId=other,
                      InvalidationBatch=batch("b"))
    assert denied["Code"] == "AccessDenied" and denied["status"] == 403
    assert denied["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/provider-role/fn is not authorized to "
        f"perform: cloudfront:CreateInvalidation on resource: arn:aws:cloudfront::{ACCOUNT}:"
        f"distribution/{other} because no identity-based policy allows the "
        "cloudfront:CreateInvalidation action"
    )
    # Granted Create and Get, not List.
    assert error_of(cloudfront.list_invalidations, DistributionId=granted)["Code"] == "AccessDenied"
    # Another key (the harness's own) is not evaluated.
    assert cf.client().list_invalidations(DistributionId=other)["InvalidationList"]
    # The iam_lag fault stays on top of a grant.
    cf.faults.iam_lag(granted, 60.0)
    lagged = error_of(cloudfront.create_invalidation, DistributionId=granted,
                      InvalidationBatch=batch("c"))
    assert lagged["Code"] == "AccessDenied"


@pytest.mark.parametrize("list_bucket", [False, True])
def test_a_missing_object_is_403_without_list_bucket_and_404_with_it(
    cf: LocalCloudFront, list_bucket: bool
) -> None:
    harness = client_as(cf, "s3", "testing")
    harness.create_bucket(Bucket=BUCKET)
    harness.put_object(Bucket=BUCKET, Key="a.cfpurge-manifest", Body=b"{}")
    harness.put_object(Bucket=BUCKET, Key="code.zip", Body=b"zip")
    statements: list[dict[str, Any]] = [{
        "Effect": "Allow", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*.cfpurge-manifest",
    }]
    if list_bucket:
        statements.append({"Effect": "Allow", "Action": "s3:ListBucket",
                           "Resource": f"arn:aws:s3:::{BUCKET}"})
    key = access_key_for(f"test/list-{list_bucket}")
    cf.iam.register(key, Principal(ROLE, [policy(*statements)]))
    s3 = client_as(cf, "s3", key)
    assert s3.get_object(Bucket=BUCKET, Key="a.cfpurge-manifest")["Body"].read() == b"{}"
    not_granted = error_of(s3.get_object, Bucket=BUCKET, Key="code.zip")
    assert (not_granted["Code"], not_granted["status"]) == ("AccessDenied", 403)
    assert "s3:GetObject" in not_granted["Message"]
    missing = error_of(s3.get_object, Bucket=BUCKET, Key="gone.cfpurge-manifest")
    if list_bucket:
        assert (missing["Code"], missing["status"]) == ("NoSuchKey", 404)
    else:
        assert (missing["Code"], missing["status"]) == ("AccessDenied", 403)
    # The harness's own key sees what moto has.
    assert error_of(harness.get_object, Bucket=BUCKET, Key="gone.cfpurge-manifest")["Code"] == (
        "NoSuchKey"
    )


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/b/k.json", "", ("s3:GetObject", "arn:aws:s3:::b/k.json")),
        ("HEAD", "/b/dir/k", "", ("s3:GetObject", "arn:aws:s3:::b/dir/k")),
        ("PUT", "/b/k", "", ("s3:PutObject", "arn:aws:s3:::b/k")),
        ("GET", "/b", "list-type=2&prefix=k", ("s3:ListBucket", "arn:aws:s3:::b")),
        # Not an object read or a listing: refused for a role rather than guessed.
        ("GET", "/b/k", "tagging", None),
        ("GET", "/b", "location", None),
        # DeleteObjects: s3:DeleteObject on each key of its body (checked in guard_s3).
        ("POST", "/b", "delete", ("DeleteObjects", "arn:aws:s3:::b")),
        ("POST", "/b", "uploads", None),
    ],
)
def test_s3_requests_map_to_the_action_iam_evaluates(
    method: str, path: str, query: str, expected: tuple[str, str] | None
) -> None:
    assert s3_action(method, path, query) == expected
