"""Prune after the purge: what no page still needs, deleted once its retention has passed.

``plan`` is pure (the rule, docs/retention.md); ``run`` parses the properties and deletes
through an injected S3 client; ``step`` is the glue the custom resource calls after
Completed.
"""
