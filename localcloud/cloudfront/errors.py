"""CloudFront's error answers: one exception carrying code, message and HTTP status."""

from __future__ import annotations

from typing import Final

__all__ = ["ERROR_DEFAULTS", "CloudFrontError"]

# Messages as CloudFront words them where known (from error reports in the field).
TOO_MANY_FILES_MESSAGE: Final = (
    "Processing your request will cause you to exceed the maximum number of "
    "in-progress invalidations."
)
TOO_MANY_WILDCARDS_MESSAGE: Final = (
    "Processing your request will cause you to exceed the maximum number of "
    "in-progress wildcard invalidations."
)

#: HTTP status and default message of the error codes a fault can name. Codes not
#: listed answer 400 unless a status is given. Statuses are those of botocore's
#: CloudFront service model.
ERROR_DEFAULTS: Final[dict[str, tuple[int, str]]] = {
    "Throttling": (400, "Rate exceeded"),
    "ServiceUnavailable": (503, "CloudFront encountered an internal error. Please try again."),
    "InternalError": (500, "CloudFront encountered an internal error. Please try again."),
    "AccessDenied": (403, "Access denied."),
    "NoSuchDistribution": (404, "The specified distribution does not exist."),
    "NoSuchInvalidation": (404, "The specified invalidation does not exist."),
    "EntityNotFound": (404, "The entity was not found."),
    "TooManyInvalidationsInProgress": (400, TOO_MANY_FILES_MESSAGE),
    "InvalidationBatchAlreadyExists": (409, "Invalidation batch already exists."),
    "InvalidArgument": (400, "An argument is invalid."),
    "MissingBody": (
        400,
        "This operation requires a body. Ensure that the body is present and the "
        "Content-Type header is set.",
    ),
    "InconsistentQuantities": (400, "The value of Quantity and the size of Items don't match."),
    "BatchTooLarge": (413, "Invalidation batch specified is too large."),
}


class CloudFrontError(Exception):
    """An error answered the way CloudFront answers it (code, message, HTTP status)."""

    def __init__(self, code: str, message: str | None = None, status: int | None = None) -> None:
        default_status, default_message = ERROR_DEFAULTS.get(code, (400, code))
        self.code = code
        self.message = message if message is not None else default_message
        self.status = status if status is not None else default_status
        super().__init__(f"{code} ({self.status}): {self.message}")
