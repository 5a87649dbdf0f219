"""Run-time side of Custom::CloudFrontInvalidation.

``rules`` (standard library only) is shared with the construct; ``engine`` purges and waits
for the handler, the CLI and the benchmarks alike; ``handler`` is the Lambda entry point.
Nothing is imported here, so the Lambda cold start loads only what the handler needs.
"""
