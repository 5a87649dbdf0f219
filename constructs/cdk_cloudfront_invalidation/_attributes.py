"""What a ``CloudFrontInvalidation`` tells after a deploy: its resource's attributes, as
GetAtt tokens (README, "Construct props and attributes")."""

from __future__ import annotations

from aws_cdk import CustomResource, Fn

from cloudfront_purge.model import prune, rules


class ResourceAttributes:
    """The attributes of ``resource``, the construct's ``Custom::CloudFrontInvalidation``.

    A base of ``CloudFrontInvalidation``, which sets ``resource``.
    """

    resource: CustomResource

    @property
    def invalidation_id(self) -> str:
        """The (first) invalidation's id, a GetAtt token."""
        return self.resource.get_att_string(rules.ATTR_INVALIDATION_ID)

    @property
    def invalidation_ids(self) -> list[str]:
        """Every invalidation id (one per distribution and batch), a list token.

        After a Create skipped by ``invalidate_on_create=False`` this is ``[""]`` (CloudFormation
        splits an empty string into one empty element); ``InvalidationCount`` is then "0".
        """
        return Fn.split(",", self.resource.get_att_string(rules.ATTR_INVALIDATION_IDS))

    @property
    def caller_reference(self) -> str:
        """The (first) invalidation's CallerReference, a GetAtt token."""
        return self.resource.get_att_string(rules.ATTR_CALLER_REFERENCE)

    @property
    def status(self) -> str:
        """A GetAtt token: "Completed"; "InProgress" when not waiting; "Skipped" for a Create
        skipped by ``invalidate_on_create=False``."""
        return self.resource.get_att_string(rules.ATTR_STATUS)

    @property
    def purge_scope(self) -> str:
        """A GetAtt token: "changed" (only what changed), "full" (``paths``), or "none"
        (a Create skipped by ``invalidate_on_create=False``)."""
        return self.resource.get_att_string(rules.ATTR_PURGE_SCOPE)

    @property
    def scope_reason(self) -> str:
        """A GetAtt token: why this deploy purged what it did."""
        return self.resource.get_att_string(rules.ATTR_SCOPE_REASON)

    @property
    def changed_files(self) -> str:
        """A GetAtt token: files modified, added or deleted since the previous deploy
        (empty when not known)."""
        return self.resource.get_att_string(rules.ATTR_CHANGED_FILES)

    @property
    def prune_status(self) -> str:
        """A GetAtt token (with ``prune_bucket``): "Pruned", "Partial" (something left
        behind for the next deploy), "Failed", "Held" (a rollback or a Create: nothing
        deleted on purpose) or "Skipped" (the purge did not reach Completed)."""
        return self.resource.get_att_string(prune.ATTR_PRUNE_STATUS)

    @property
    def pruned_count(self) -> str:
        """A GetAtt token (with ``prune_bucket``): files this deploy deleted."""
        return self.resource.get_att_string(prune.ATTR_PRUNED_COUNT)

    @property
    def prune_left_behind(self) -> str:
        """A GetAtt token (with ``prune_bucket``): files whose deletion failed or had no
        time left; the next deploy deletes them."""
        return self.resource.get_att_string(prune.ATTR_PRUNE_LEFT_BEHIND)

    @property
    def unchanged_kept(self) -> str:
        """A GetAtt token: cached objects of the site the purge kept (empty when not known)."""
        return self.resource.get_att_string(rules.ATTR_UNCHANGED_KEPT)

