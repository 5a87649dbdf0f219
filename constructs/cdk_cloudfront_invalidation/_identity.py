"""The content identity (``SourceHash``): the resource is updated, and so purges, exactly
when it changes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from aws_cdk import FileSystem, Fn, Token
from aws_cdk import aws_s3_assets as s3_assets

from cloudfront_purge.model import rules


def content_hash(
    source_hash: str | None,
    source_directories: Sequence[str] | None,
    assets: Sequence[s3_assets.Asset] | None,
) -> str:
    """One identity for ``source_hash``, the directories (hashed as CDK hashes assets) and
    the assets' hashes.

    Raises:
        ValueError: none of the three given, a bad ``source_hash``, or a directory that is
            not one.
    """
    parts: list[str] = []
    if source_hash is not None:
        if not Token.is_unresolved(source_hash):
            try:
                rules.validate_source_hash(source_hash, field="source_hash")
            except rules.RuleError as exc:
                raise ValueError(str(exc)) from exc
        parts.append(source_hash)
    for directory in source_directories or ():
        if not os.path.isdir(directory):
            raise ValueError(
                f"source_directories: {directory!r} is not a directory "
                f"(relative paths start at {os.getcwd()!r})"
            )
        parts.append(FileSystem.fingerprint(directory))
    parts.extend(asset.asset_hash for asset in assets or ())
    if not parts:
        raise ValueError(
            "give source_hash, source_directories or assets: the purge runs when that content "
            "identity changes, so without one it would never run again after the first deploy"
        )
    if len(parts) == 1:
        return parts[0]
    concrete = [p for p in parts if not Token.is_unresolved(p)]
    tokens = [p for p in parts if Token.is_unresolved(p)]
    digest = hashlib.sha256("\n".join(concrete).encode("utf-8")).hexdigest()
    if not tokens:
        return digest
    # A token's value is known only at deploy time: hashing its placeholder would freeze
    # the property, and a changed value would never trigger the Update that purges.
    return Fn.join("-", [*tokens, digest[:32]])
