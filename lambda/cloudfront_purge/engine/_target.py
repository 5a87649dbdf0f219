"""Distribution or distribution tenant: the one place that knows which calls purge which.

A tenant is purged with the ``...ForDistributionTenant`` operations, which name its id
differently (``Id`` for create and list, ``DistributionTenantId`` for get; CloudFront API
Reference); everything else (references, waits, limits, retries) is the same. The engine asks
:func:`target_kind` (``Job.kind``) for the adapter and never picks an operation itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_cloudfront.type_defs import InvalidationBatchTypeDef, PaginatorConfigTypeDef
else:
    CloudFrontClient = InvalidationBatchTypeDef = PaginatorConfigTypeDef = Any

#: ListInvalidations: items per page (CloudFront's default MaxItems) and at most this many
#: items read per listing (newest first), which bounds one capacity check or look-up.
LIST_PAGE_SIZE = 100
MAX_LISTED_INVALIDATIONS = 2000


class TargetKind(Protocol):
    """The three invalidation calls for one kind of target, and its name for a person."""

    noun: str

    def create(
        self, client: CloudFrontClient, target_id: str, batch: InvalidationBatchTypeDef
    ) -> Mapping[str, Any]: ...

    def get(
        self, client: CloudFrontClient, target_id: str, invalidation_id: str
    ) -> Mapping[str, Any]: ...

    def pages(
        self, client: CloudFrontClient, target_id: str, config: PaginatorConfigTypeDef
    ) -> Iterable[Mapping[str, Any]]: ...


class _Distribution:
    noun = "distribution"

    def create(
        self, client: CloudFrontClient, target_id: str, batch: InvalidationBatchTypeDef
    ) -> Mapping[str, Any]:
        return client.create_invalidation(DistributionId=target_id, InvalidationBatch=batch)

    def get(
        self, client: CloudFrontClient, target_id: str, invalidation_id: str
    ) -> Mapping[str, Any]:
        return client.get_invalidation(DistributionId=target_id, Id=invalidation_id)

    def pages(
        self, client: CloudFrontClient, target_id: str, config: PaginatorConfigTypeDef
    ) -> Iterable[Mapping[str, Any]]:
        return client.get_paginator("list_invalidations").paginate(
            DistributionId=target_id, PaginationConfig=config
        )


class _Tenant:
    noun = "distribution tenant"

    def create(
        self, client: CloudFrontClient, target_id: str, batch: InvalidationBatchTypeDef
    ) -> Mapping[str, Any]:
        return client.create_invalidation_for_distribution_tenant(
            Id=target_id, InvalidationBatch=batch
        )

    def get(
        self, client: CloudFrontClient, target_id: str, invalidation_id: str
    ) -> Mapping[str, Any]:
        return client.get_invalidation_for_distribution_tenant(
            DistributionTenantId=target_id, Id=invalidation_id
        )

    def pages(
        self, client: CloudFrontClient, target_id: str, config: PaginatorConfigTypeDef
    ) -> Iterable[Mapping[str, Any]]:
        return client.get_paginator("list_invalidations_for_distribution_tenant").paginate(
            Id=target_id, PaginationConfig=config
        )


DISTRIBUTION: TargetKind = _Distribution()
TENANT: TargetKind = _Tenant()


def target_kind(tenant: bool) -> TargetKind:
    return TENANT if tenant else DISTRIBUTION


def list_invalidations(
    client: CloudFrontClient,
    distribution_id: str,
    *,
    max_items: int = MAX_LISTED_INVALIDATIONS,
    tenant: bool = False,
) -> Iterator[Mapping[str, Any]]:
    """A distribution's (or, with ``tenant``, a distribution tenant's) invalidations, newest
    first, at most ``max_items``, read lazily.

    The one ListInvalidations loop (engine and CLI): botocore's paginators for
    ListInvalidations and ListInvalidationsForDistributionTenant, so the first page carries
    no Marker and later ones the NextMarker CloudFront gave (CloudFront API Reference).
    Stop iterating and no further page is asked for.
    """
    page_size = min(LIST_PAGE_SIZE, max_items)
    config: PaginatorConfigTypeDef = {"PageSize": page_size, "MaxItems": max_items}
    for page in target_kind(tenant).pages(client, distribution_id, config):
        yield from page.get("InvalidationList", {}).get("Items", [])
