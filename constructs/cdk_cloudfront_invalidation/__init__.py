"""Purge a CloudFront cache on deploy, correctly, fast and every time."""

from cdk_cloudfront_invalidation.invalidation import CloudFrontInvalidation
from cdk_cloudfront_invalidation.provider import CloudFrontInvalidationProvider
from cdk_cloudfront_invalidation.site import SafeSiteDeployment

__all__ = ["CloudFrontInvalidation", "CloudFrontInvalidationProvider", "SafeSiteDeployment"]
