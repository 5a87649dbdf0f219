"""The local CloudFront's account-wide request rates (localcloud/cloudfront/rates.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.cloudfront import LocalCloudFront
from localcloud.cloudfront.faults import CREATE, CREATE_FOR_TENANT, GET, LIST
from localcloud.cloudfront.rates import AWS_DEFAULTS, AccountRates, RateLimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_defaults_are_cloudfronts_create_rate_and_the_chosen_read_rates() -> None:
    assert AWS_DEFAULTS[CREATE] == RateLimit(per_second=0.5, burst=1)
    assert AWS_DEFAULTS[GET].per_second == 5.0 and AWS_DEFAULTS[LIST].per_second == 1.0


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = FakeClock()
    rates = AccountRates({GET: RateLimit(per_second=2.0, burst=3)}, clock=clock)
    assert [rates.take("111111111111", GET) for _ in range(4)] == [True, True, True, False]
    clock.now += 0.49
    assert rates.take("111111111111", GET) is False
    clock.now += 0.02  # 0.51 s at 2 a second: one token
    assert rates.take("111111111111", GET) is True
    clock.now += 100  # never more than the burst
    assert [rates.take("111111111111", GET) for _ in range(4)] == [True, True, True, False]
    assert rates.throttled() == {GET: 3}


def test_accounts_have_their_own_buckets_and_tenant_variants_share_the_operations() -> None:
    clock = FakeClock()
    rates = AccountRates(clock=clock)
    assert rates.take("111111111111", CREATE) is True
    assert rates.take("111111111111", CREATE_FOR_TENANT) is False  # same bucket
    assert rates.take("222222222222", CREATE) is True  # another account
    assert rates.take("111111111111", LIST) is True  # another operation
    clock.now += 2.0
    assert rates.take("111111111111", CREATE_FOR_TENANT) is True


def test_scaled_rates_run_faster_by_the_factor() -> None:
    scaled = AccountRates().scaled(0.1)
    assert scaled.limits[CREATE] == RateLimit(per_second=5.0, burst=1)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"CreateDistribution": RateLimit(1, 1)}, "unknown operations"),
        ({CREATE_FOR_TENANT: RateLimit(1, 1)}, "unknown operations"),
    ],
)
def test_limits_for_other_operations_are_refused(limits: dict[str, RateLimit], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AccountRates(limits)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0.5), (float("inf"), 1)])
def test_a_rate_limit_must_be_usable(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match=r"per_second|burst"):
        RateLimit(rate, burst)


@pytest.fixture
def throttled_cloud() -> Iterator[LocalCloudFront]:
    # Factor 0.1: CreateInvalidation 5 a second, burst 1, so a refill takes 0.2 s.
    with LocalCloudFront(invalidation_seconds=0.2, rate_limits=AccountRates().scaled(0.1)) as cf:
        yield cf


def _create(client: Any, distribution_id: str) -> Any:
    return client.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]},
                           "CallerReference": uuid.uuid4().hex},
    )


def test_every_client_of_the_account_shares_the_create_rate(throttled_cloud: LocalCloudFront) -> None:
    first_dist = throttled_cloud.create_distribution("first")
    second_dist = throttled_cloud.create_distribution("second")
    one, other = throttled_cloud.client(max_attempts=1), throttled_cloud.client(max_attempts=1)
    _create(one, first_dist)
    with pytest.raises(ClientError) as caught:
        _create(other, second_dist)  # another caller, another distribution: same account
    error = caught.value.response
    assert error["Error"]["Code"] == "Throttling"
    assert error["Error"]["Message"] == "Rate exceeded"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "retry-after" not in {k.lower() for k in error["ResponseMetadata"]["HTTPHeaders"]}
    assert len(throttled_cloud.invalidations()) == 1  # the throttled call did nothing
    deadline = time.monotonic() + 5
    while True:  # the bucket refills within 0.2 s
        try:
            _create(other, second_dist)
            break
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "Throttling"
            assert time.monotonic() < deadline, "the create rate never let a call through"
            time.sleep(0.02)
    assert len(throttled_cloud.invalidations()) == 2
    assert throttled_cloud.rates is not None and throttled_cloud.rates.throttled()[CREATE] >= 1


def test_status_calls_are_throttled_beyond_their_burst(throttled_cloud: LocalCloudFront) -> None:
    dist = throttled_cloud.create_distribution()
    client = throttled_cloud.client(max_attempts=1)
    inv_id = _create(client, dist)["Invalidation"]["Id"]
    codes = []
    for _ in range(40):  # 40 calls in far less than the 0.2 s the scaled burst of 10 lasts
        try:
            client.get_invalidation(DistributionId=dist, Id=inv_id)
            codes.append("ok")
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    assert codes[:10] == ["ok"] * 10
    assert "Throttling" in codes
    assert set(codes) <= {"ok", "Throttling"}


def test_without_rate_limits_nothing_is_throttled() -> None:
    with LocalCloudFront(invalidation_seconds=0.1) as cf:
        dist = cf.create_distribution()
        client = cf.client(max_attempts=1)
        for _ in range(5):
            _create(client, dist)
        assert len(cf.invalidations(dist)) == 5
