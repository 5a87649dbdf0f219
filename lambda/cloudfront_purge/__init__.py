"""Run-time side of Custom::CloudFrontInvalidation.

``rules`` (standard library only) is shared with the construct; ``engine`` purges and waits
for the handler, the CLI and the benchmarks alike; ``handler`` is the Lambda entry point.
Nothing is imported here, so the Lambda cold start loads only what the handler needs.
"""

#: The one version of the project: the package metadata (pyproject.toml reads it from here),
#: ``cdk_cloudfront_invalidation.__version__``, ``cloudfront-invalidate --version`` and the
#: Lambda asset's start-up log line all come from this line (docs/releasing.md).
__version__ = "0.2.0.dev0"
