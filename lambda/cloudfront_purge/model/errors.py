"""One exception class per way a purge can fail. Each message is a FAILED Reason a person
can act on: it names the distribution, the call and CloudFront's error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cloudfront_purge.model.base import CloudFrontPurgeError
from cloudfront_purge.model.rules import RuleError, shorten

__all__ = [
    "AwsError",
    "CloudFrontCallError",
    "CloudFrontPurgeError",
    "PurgeError",
    "PurgeFailed",
    "PurgeTimeout",
    "RuleError",
    "Unfinished",
]


class PurgeError(CloudFrontPurgeError):
    """Base class: the purge did not finish as asked."""


#: What a person can do about CloudFront's terminal errors (docs/troubleshooting.md).
_ADVICE = {
    "AccessDenied": "grant cloudfront:CreateInvalidation/GetInvalidation/ListInvalidations "
    "on this distribution's ARN to the provider's role",
    "NoSuchDistribution": "check the distribution id and that it is in this account; a "
    "multi-tenant distribution is purged through its tenants (DistributionTenantIds)",
    "InvalidArgument": "check the paths against CloudFront's rules; #tag items need a "
    "distribution with a CacheTagConfig",
    "BatchTooLarge": "use fewer paths or a wildcard",
    "InconsistentQuantities": "Paths.Quantity must equal the number of paths",
    "MissingBody": "the request carried no invalidation batch",
    "InvalidationBatchAlreadyExists": "another caller used this CallerReference with other paths",
    "NoSuchInvalidation": "CloudFront accepted this invalidation but kept answering that it "
    "does not exist; check it with cloudfront-invalidate list/show and purge again if it is "
    "missing",
}
#: Where a distribution tenant's advice differs from a distribution's.
_TENANT_ADVICE = {
    "AccessDenied": "grant cloudfront:CreateInvalidationForDistributionTenant/"
    "GetInvalidationForDistributionTenant/ListInvalidationsForDistributionTenant on this "
    "tenant's ARN to the provider's role",
    "EntityNotFound": "check the distribution tenant id (dt_...) and that the tenant is in "
    "this account; a distribution's id goes in DistributionIds, not DistributionTenantIds",
}


_MESSAGE_CHARS = 200


@dataclass(frozen=True)
class AwsError:
    """What a botocore ClientError says, decoded in one place for the engine, the handler
    and the CLI. Read from ``exc.response`` as botocore documents it ("Error handling" in
    the Boto3 guide), so this module needs no botocore import."""

    code: str
    message: str
    http_status: int
    operation: str

    @classmethod
    def of(cls, exc: BaseException) -> AwsError | None:
        """The decoded error, or None when ``exc`` is not an AWS service error."""
        response = getattr(exc, "response", None)
        if not isinstance(response, Mapping) or "Error" not in response:
            return None
        error = response.get("Error") or {}
        metadata = response.get("ResponseMetadata") or {}
        return cls(
            code=str(error.get("Code", "Unknown")),
            message=str(error.get("Message", "")) or str(exc),
            http_status=int(metadata.get("HTTPStatusCode", 0) or 0),
            operation=str(getattr(exc, "operation_name", "") or "CloudFront call"),
        )


class CloudFrontCallError(PurgeError):
    """CloudFront refused a call in a way that retrying will not fix."""

    def __init__(
        self,
        distribution_id: str,
        operation: str,
        code: str,
        message: str,
        *,
        note: str = "",
        tenant: bool = False,
    ) -> None:
        self.distribution_id = distribution_id
        self.tenant = tenant
        self.operation = operation
        self.code = code
        self.message = message
        known = (_TENANT_ADVICE.get(code) if tenant else None) or _ADVICE.get(code)
        advice = "; ".join(part for part in (known, note) if part)
        # What to do comes before CloudFront's own words, which can be long (IAM quotes
        # whole role ARNs): a cut Reason keeps the part a person acts on.
        super().__init__(
            f"{'distribution tenant' if tenant else 'distribution'} {distribution_id}: "
            f"{operation} failed with {code}"
            + (f" ({advice})" if advice else "")
            + f": {shorten(message, _MESSAGE_CHARS + 3, marker='...')}"
        )

    @classmethod
    def from_error(
        cls, distribution_id: str, error: AwsError, *, note: str = "", tenant: bool = False
    ) -> CloudFrontCallError:
        return cls(
            distribution_id, error.operation, error.code, error.message, note=note, tenant=tenant
        )


@dataclass(frozen=True)
class Unfinished:
    """An invalidation that had not reached Completed when time ran out."""

    distribution_id: str
    invalidation_id: str | None
    status: str
    #: The last transient error seen for it, if any.
    last_problem: str | None = None


class PurgeTimeout(PurgeError):
    """The deadline passed before every invalidation was Completed."""

    def __init__(self, timeout_seconds: float, unfinished: Sequence[Unfinished]) -> None:
        self.unfinished = tuple(unfinished)
        shown = ", ".join(
            f"{u.distribution_id}/{u.invalidation_id or '(not accepted)'} {u.status}"
            + (f" (last error {u.last_problem})" if u.last_problem else "")
            for u in self.unfinished[:5]
        )
        more = f" and {len(self.unfinished) - 5} more" if len(self.unfinished) > 5 else ""
        if any(u.invalidation_id is None for u in self.unfinished):
            advice = (
                "CloudFront did not accept every batch in time, so those paths were not "
                "invalidated: check the errors named, CloudFront's health, and other purges "
                "of this distribution"
            )
        else:
            advice = (
                "CloudFront has no completion SLA; the invalidation goes on and cannot be "
                "cancelled; raise the timeout if this recurs"
            )
        super().__init__(
            f"timed out after {timeout_seconds:g} s waiting for CloudFront: {shown}{more} "
            f"({advice})"
        )


class PurgeFailed(PurgeError):
    """One or more distributions failed; the others were still waited on."""

    def __init__(self, failures: Sequence[PurgeError], succeeded: Sequence[str]) -> None:
        self.failures = tuple(failures)
        self.succeeded = tuple(succeeded)
        failed = sorted(
            {f.distribution_id for f in self.failures if isinstance(f, CloudFrontCallError)}
        )
        noun = (
            "distributions"
            if not any(f.tenant for f in self.failures if isinstance(f, CloudFrontCallError))
            else "targets"
        )
        head = f"{len(failed)} {noun} failed ({', '.join(failed)}): " if len(failed) > 1 else ""
        detail = "; ".join(str(f) for f in self.failures)
        done = f" (completed: {', '.join(self.succeeded)})" if self.succeeded else ""
        super().__init__(head + detail + done)
