"""``cloudfront-invalidate purge --changed OLD NEW --prune-bucket B``: the prune after the
purge for ``aws s3 sync`` pipelines (docs/retention.md), with the retention rule the custom
resource uses. Not shipped to Lambda (the CLI is not).

The pipeline syncs without ``--delete``, entry documents last, then runs the purge: once
every invalidation is Completed, what OLD had and NEW does not is scheduled, and what earlier
runs scheduled and retention let go is deleted. The state lives in the bucket, under
``<prefix>.cloudfront-purge/``, named by ``--prune-state`` (one per pipeline); another
pipeline's or resource's state in that folder holds the prune, as it does the resource's
(docs/retention.md, "Two writers, one folder").
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, Any, TextIO

from cloudfront_purge import engine
from cloudfront_purge.changed import manifest
from cloudfront_purge.model import prune, rules
from cloudfront_purge.prune import run as prune_run

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_KEEP = "7d"
DEFAULT_STATE_NAME = "cli"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def add_options(purge: argparse.ArgumentParser) -> None:
    group = purge.add_argument_group(
        "prune after the purge (with --changed)",
        "Once every invalidation is Completed, delete files earlier runs replaced whose "
        "retention has passed; what OLD has and NEW does not is kept for --keep-replaced "
        "first. Only keys a manifest named are ever deleted. A failed prune does not change "
        "the exit code: it is reported, and the next run picks the leftovers up.",
    )
    group.add_argument("--prune-bucket", help="the bucket the site is synced to")
    group.add_argument(
        "--prune-prefix", default="", help="the key prefix the site is synced under (default: none)"
    )
    group.add_argument(
        "--keep-replaced",
        default=None,
        metavar="DURATION",
        help=f"how long a replaced file stays: 90s, 30m, 12h, 7d (default: {DEFAULT_KEEP})",
    )
    group.add_argument(
        "--prune-state",
        default=None,
        metavar="NAME",
        help="names this pipeline's prune state in the bucket; one per pipeline, and one "
        "pipeline per folder: another's state there holds the prune "
        f"(default: {DEFAULT_STATE_NAME})",
    )


def parse_duration(text: str, *, field: str = "--keep-replaced") -> int:
    """``90``, ``90s``, ``30m``, ``12h``, ``7d`` as seconds.

    Raises:
        RuleError: anything else, or more than ten years.
    """
    match = _DURATION.match(text)
    if match is None:
        raise rules.RuleError(
            f"{field} must be a duration such as 90s, 30m, 12h or 7d, got {text!r}"
        )
    return prune.validate_keep_seconds(int(match[1]) * _UNIT_SECONDS[match[2]], field=field)


def parse(args: argparse.Namespace) -> prune.PruneSpec | None:
    """The prune of this run (None without --prune-bucket), checked before any purge.

    Raises:
        RuleError: naming the option.
    """
    if args.prune_bucket is None:
        for option, value in (
            ("--prune-prefix", args.prune_prefix or None),
            ("--keep-replaced", args.keep_replaced),
            ("--prune-state", args.prune_state),
        ):
            if value is not None:
                raise rules.RuleError(f"{option} is used with --prune-bucket")
        return None
    if not args.changed:
        raise rules.RuleError(
            "--prune-bucket needs --changed OLD NEW: the manifests say which files each "
            "deploy put there, and only those are ever pruned"
        )
    if args.no_wait:
        raise rules.RuleError(
            "--prune-bucket cannot be used with --no-wait: nothing is pruned before every "
            "invalidation is Completed"
        )
    name = args.prune_state or DEFAULT_STATE_NAME
    if not prune.STATE_NAME.match(name):
        raise rules.RuleError(
            f"--prune-state must be 1 to 64 letters, digits, '.', '_' or '-', got {name!r}"
        )
    props = {
        rules.PROP_PRUNE_BUCKET: args.prune_bucket,
        rules.PROP_PRUNE_KEY_PREFIX: args.prune_prefix,
        rules.PROP_KEEP_REPLACED_SECONDS: parse_duration(args.keep_replaced or DEFAULT_KEEP),
        rules.PROP_ONLY_CHANGED: True,
    }
    try:
        return prune.parse_prune(props)
    except rules.RuleError as exc:
        # The same rules as the resource's; the message names the option.
        raise rules.RuleError(
            str(exc)
            .replace(rules.PROP_PRUNE_BUCKET, "--prune-bucket")
            .replace(rules.PROP_PRUNE_KEY_PREFIX, "--prune-prefix")
        ) from exc


def state_identity(args: argparse.Namespace) -> str:
    return f"cli|{args.prune_state or DEFAULT_STATE_NAME}"


def after_purge(
    spec: prune.PruneSpec,
    args: argparse.Namespace,
    *,
    completed: bool,
    err: TextIO,
    s3: S3Client | None = None,
) -> dict[str, Any]:
    """Prune once the purge is Completed (``completed``); a summary for the output."""
    if not completed:
        outcome = prune_run.skipped("the purge did not reach Completed: nothing is pruned")
    else:
        old_name, new_name = args.changed
        new = manifest.read_manifest(new_name)
        old: list[str] | None
        hold = ""
        try:
            old = list(manifest.read_manifest(old_name).files)
        except manifest.ManifestError as exc:
            old, hold = None, f"the old manifest cannot be read: {exc}"
        outcome = prune_run.run(
            s3 or _s3_client(),
            spec,
            state_key=spec.state_key(state_identity(args)),
            old=old,
            new=new.files.keys(),
            hold_reason=hold,
            # OLD is the pipeline's word: when the state saw another version, OLD's files
            # may be another site's (a wrong file passed), so none of them is scheduled.
            trust_old=False,
        )
    line = (
        f"prune {outcome.status}: {outcome.pruned} deleted, {outcome.scheduled} kept for "
        f"their retention, {outcome.left_behind} left behind"
        + (f" ({outcome.problem})" if outcome.problem else "")
    )
    print(line, file=err)
    return {
        "status": outcome.status,
        "pruned": outcome.pruned,
        "scheduled": outcome.scheduled,
        "left_behind": outcome.left_behind,
        "problem": outcome.problem,
    }


def completed(result: engine.PurgeResult) -> bool:
    return result.status == engine.COMPLETED


def _s3_client() -> S3Client:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
