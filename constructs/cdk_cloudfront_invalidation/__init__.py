"""Purge a CloudFront cache on deploy, correctly, fast and every time."""

from cdk_cloudfront_invalidation.invalidation import CloudFrontInvalidation
from cdk_cloudfront_invalidation.provider import CloudFrontInvalidationProvider

# One version for the construct and the Lambda asset it builds: both ship in one wheel.
from cloudfront_purge import __version__

__all__ = ["CloudFrontInvalidation", "CloudFrontInvalidationProvider", "__version__"]
