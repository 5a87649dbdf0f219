"""The command line's words for what the engine says in CloudFormation's terms.

The engine's errors name resource properties (``DistributionIds``) and the provider's role,
because the Lambda answers CloudFormation with them; at the command line the same advice
must name the options a person types and the identity the command runs as.
"""

from __future__ import annotations

#: Property (or role) -> the command line's word for it; longer names first, so
#: "DistributionTenantIds" is not read as "DistributionIds" plus a tail.
_WORDS = (
    ("DistributionTenantIds", "--distribution-tenant-id"),
    ("DistributionIds", "--distribution-id (-d)"),
    ("to the provider's role", "to the identity this command runs as"),
)
#: CLI exit codes, shown in --help and README "The command line".
EXIT_CODES = """exit codes:
  0    done (or nothing to purge)
  1    the purge failed or timed out, or CloudFront refused a call
  2    bad input (an option, a path, a manifest)
  130  interrupted: the invalidations go on in CloudFront; the same --run-id resumes
       the wait"""


def for_cli(message: str) -> str:
    """``message`` with each resource property replaced by the option that sets it."""
    for prop, option in _WORDS:
        message = message.replace(prop, option)
    return message


def not_found(invalidation_id: str, target: str, *, tenant: bool) -> str:
    """``show`` of an id CloudFront does not know: nothing was accepted, say so."""
    option = "--distribution-tenant-id" if tenant else "-d"
    noun = "distribution tenant" if tenant else "distribution"
    return (
        f"invalidation {invalidation_id} not found on {noun} {target}: check the id "
        f"(cloudfront-invalidate list {option} {target} lists the recent ones)"
    )
