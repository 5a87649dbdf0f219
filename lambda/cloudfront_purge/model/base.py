"""The one base class of every error this package raises, so a caller can catch them all."""

from __future__ import annotations

__all__ = ["CloudFrontPurgeError"]


class CloudFrontPurgeError(Exception):
    """Base class of the package's errors: a rule broken, a manifest unreadable, a purge
    that did not finish as asked. Each message names the input and what to do."""
