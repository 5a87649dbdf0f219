"""Purge a CloudFront cache on deploy, correctly, fast and every time."""

from cdk_cloudfront_invalidation.invalidation import CloudFrontInvalidation
from cdk_cloudfront_invalidation.provider import CloudFrontInvalidationProvider
from cdk_cloudfront_invalidation.site import SafeSiteDeployment

# One version for the construct and the Lambda asset it builds: both ship in one wheel.
from cloudfront_purge import __version__

__all__ = ["CloudFrontInvalidation", "CloudFrontInvalidationProvider",
           "SafeSiteDeployment", "__version__"]
