"""Changed-only planning: site manifests, their diff, the path cover, the plan read from S3.

See docs/changed-only.md.
"""
