"""The CloudFront calls one run makes for its jobs: each through the job's target kind."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cloudfront_purge.engine._job import Job
from cloudfront_purge.engine._states import is_in_progress
from cloudfront_purge.engine._target import list_invalidations
from cloudfront_purge.model.rules import is_wildcard

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_cloudfront.type_defs import InvalidationBatchTypeDef
else:
    CloudFrontClient = InvalidationBatchTypeDef = Any


class TargetCalls:
    """Create, get, find and measure invalidations; ``get`` counts each job's status calls."""

    def __init__(self, client: CloudFrontClient) -> None:
        self.client = client
        #: Invalidation id -> its paths, read once per run (an invalidation's paths never change).
        self._paths_by_id: dict[str, tuple[str, ...]] = {}

    def create(self, job: Job) -> Mapping[str, Any]:
        batch: InvalidationBatchTypeDef = {
            "Paths": {"Quantity": len(job.batch.paths), "Items": list(job.batch.paths)},
            "CallerReference": job.caller_reference,
        }
        response = job.kind.create(self.client, job.distribution_id, batch)
        invalidation: Mapping[str, Any] = response["Invalidation"]
        return invalidation

    def get(self, job: Job, invalidation_id: str) -> Mapping[str, Any]:
        job.status_calls += 1
        response = job.kind.get(self.client, job.distribution_id, invalidation_id)
        invalidation: Mapping[str, Any] = response["Invalidation"]
        return invalidation

    def find_by_reference(self, job: Job, not_before: float) -> Mapping[str, Any] | None:
        """The invalidation made with ``job``'s CallerReference since ``not_before``."""
        for item in list_invalidations(self.client, job.distribution_id, tenant=job.tenant):
            if epoch(item.get("CreateTime"), default=0.0) < not_before:
                return None
            found = self.get(job, str(item["Id"]))
            if found.get("InvalidationBatch", {}).get("CallerReference") == job.caller_reference:
                return found
        return None

    def in_progress_load(self, job: Job) -> tuple[int, int]:
        """Files and wildcards in progress on ``job``'s target (ours and anyone else's)."""
        files = wildcards = 0
        for item in list_invalidations(self.client, job.distribution_id, tenant=job.tenant):
            if not is_in_progress(item.get("Status")):
                continue
            inv_id = str(item["Id"])
            if inv_id not in self._paths_by_id:
                found = self.get(job, inv_id)
                items = found.get("InvalidationBatch", {}).get("Paths", {}).get("Items", [])
                self._paths_by_id[inv_id] = tuple(items)
            for path in self._paths_by_id[inv_id]:
                if is_wildcard(path):
                    wildcards += 1
                else:
                    files += 1
        return files, wildcards


def epoch(value: object, *, default: float) -> float:
    """CloudFront's CreateTime (a datetime from boto3) as epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return default
