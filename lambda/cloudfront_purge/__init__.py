"""Run-time side of Custom::CloudFrontInvalidation, one folder per box of the architecture.

- ``model/``: the resource's properties, their rules, attribute names and errors (standard
  library only; the construct imports it at synth).
- ``changed/``: changed-only planning: manifests, diffs, the path cover, the plan read from S3.
- ``engine/``: creates invalidations and waits for Completed, for the function, the command
  line and the benchmarks alike.
- ``function/``: the Lambda entry points and the answer to CloudFormation (standard library
  only, so a function that cannot load its handler still answers).
- ``resource/``: the custom resource's lifecycle (crhelper, Create / Update / Delete).
- ``prune/``: after the purge is Completed, delete what no page still needs, once its
  retention has passed (docs/retention.md).
- ``cli/``: the ``cloudfront-invalidate`` command; it never ships in the Lambda asset.

Nothing is imported here, so the Lambda cold start loads only what the handler needs.
"""

#: The one version of the project: the package metadata (pyproject.toml reads it from here),
#: ``cdk_cloudfront_invalidation.__version__``, ``cloudfront-invalidate --version`` and the
#: Lambda asset's start-up log line all come from this line (docs/releasing.md).
__version__ = "0.2.0.dev0"
