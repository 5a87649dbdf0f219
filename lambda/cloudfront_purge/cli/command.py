"""``cloudfront-invalidate``: purge outside CloudFormation with the engine the Lambda uses.

    cloudfront-invalidate purge -d E2QWRUHAPOMQZL -p '/*' --source-hash "$(git rev-parse HEAD)"
    cloudfront-invalidate purge --distribution-tenant-id dt_2yq2uFYMVyIkVWU6FAZ4lw5 -p '#v42'
    cloudfront-invalidate list -d E2QWRUHAPOMQZL --max 20
    cloudfront-invalidate show -d E2QWRUHAPOMQZL I2J0I21PCUYOIK
    cloudfront-invalidate manifest site/ -o new.json
    cloudfront-invalidate purge -d E2QWRUHAPOMQZL --changed old.json new.json
    cloudfront-invalidate purge -d E2QWRUHAPOMQZL --changed old.json new.json \
        --prune-bucket my-site --keep-replaced 7d

Works against AWS, or any endpoint in AWS_ENDPOINT_URL (the local cloud). Exit codes:
0 done, 1 the purge failed or timed out (or CloudFront refused a call), 2 bad input,
130 interrupted (the invalidations go on; the same --run-id resumes the wait).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TextIO

from cloudfront_purge import __version__, engine
from cloudfront_purge.changed import changes, cover, manifest
from cloudfront_purge.changed import plan as purge_plan
from cloudfront_purge.cli import prune as cli_prune
from cloudfront_purge.cli.progress import Progress
from cloudfront_purge.cli.wording import EXIT_CODES, for_cli, not_found
from cloudfront_purge.model import rules
from cloudfront_purge.model.errors import AwsError, CloudFrontCallError, PurgeError

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

#: Set it (or --run-id) to make a retried step resume instead of purging again. CI systems'
#: own run ids are NOT used: they are shared by every job and step of a run (GitHub) or
#: repeat across jobs (Jenkins' BUILD_ID), and a shared reference would make a later purge
#: adopt an earlier invalidation and purge nothing.
RUN_ID_VARIABLE = "CLOUDFRONT_INVALIDATE_RUN_ID"
#: --timeout's bound. No CloudFormation ServiceTimeout applies at the command line (the
#: construct's 58 minutes come from it); a day bounds a typo (milliseconds for seconds).
MAX_CLI_TIMEOUT_SECONDS = 24 * 3600
#: A --paths-file line that is "#" alone or "#" then a space is a comment. It cannot be a
#: cache tag: CloudFront's tags are visible ASCII (33-126) with no commas, so a tag never
#: holds a space, and "#" alone names no tag (README "The command line").
COMMENT_PREFIX = "#"


def is_comment(line: str) -> bool:
    """Whether a stripped --paths-file line is a comment (``#`` alone, or ``# text``)."""
    return line == COMMENT_PREFIX or (
        line.startswith(COMMENT_PREFIX) and line[len(COMMENT_PREFIX)].isspace()
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloudfront-invalidate",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Purge CloudFront and wait for Completed, with deterministic "
        "CallerReferences (a retried run never purges twice).",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    purge = sub.add_parser(
        "purge",
        help="create invalidations and wait for Completed",
        description="Invalidate paths and cache tags on distributions and distribution "
        "tenants, and wait until CloudFront reports every invalidation Completed. A re-run "
        "with the same --run-id resumes the same invalidations instead of purging again.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    purge.add_argument(
        "-d",
        "--distribution-id",
        action="append",
        default=[],
        dest="distribution_ids",
        metavar="DISTRIBUTION_ID",
        help="repeat for several distributions (give at least one -d or --distribution-tenant-id)",
    )
    purge.add_argument(
        "--distribution-tenant-id",
        action="append",
        default=[],
        dest="distribution_tenant_ids",
        metavar="TENANT_ID",
        help="a distribution tenant (dt_...) of a multi-tenant distribution; repeat for several",
    )
    purge.add_argument(
        "-p",
        "--path",
        action="append",
        dest="paths",
        help="a path, or a cache tag as '#tag'; repeat for several (default: /*)",
    )
    purge.add_argument(
        "--paths-file",
        metavar="FILE",
        help="read paths and '#tag' items from this file, one per line; blank lines and "
        "comments ('#' alone, or '#' then a space: '# pages') are skipped",
    )
    purge.add_argument(
        "--source-hash",
        default="cli",
        help="content identity; starts every CallerReference (default: cli)",
    )
    purge.add_argument(
        "--run-id",
        default=None,
        help="what makes this purge unique; the same run id and inputs resume "
        "the same invalidations (default: $CLOUDFRONT_INVALIDATE_RUN_ID, else a new "
        "uuid, so every run purges)",
    )
    purge.add_argument("--no-wait", action="store_true", help="stop once CloudFront accepted")
    purge.add_argument(
        "--timeout",
        type=float,
        default=rules.DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="seconds to wait for Completed, 1 to "
        f"{MAX_CLI_TIMEOUT_SECONDS} (24 hours) (default: %(default)s)",
    )
    purge.add_argument(
        "--json",
        action="store_true",
        help="print the result as JSON on stdout (also when it fails or is interrupted)",
    )
    _add_changed_options(purge)
    cli_prune.add_options(purge)
    listing = sub.add_parser(
        "list",
        help="recent invalidations, newest first",
        description="List the invalidations of one distribution or distribution tenant, "
        "newest first: id, status, creation time (tab-separated).",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _target_arguments(listing)
    listing.add_argument(
        "--max", type=int, default=25, help="how many, 1 or more (default: %(default)s)"
    )
    show = sub.add_parser(
        "show",
        help="one invalidation with its paths",
        description="Show one invalidation: status, creation time, CallerReference and paths.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _target_arguments(show)
    show.add_argument("invalidation_id", help="the invalidation's id, as list prints it")
    made = sub.add_parser(
        "manifest",
        help="write the manifest of a site (each file's sha256), for purge --changed",
        description="Write the manifest of a site's folders (each file's sha256), to compare "
        "with the next release's manifest in purge --changed.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    made.add_argument("directories", nargs="+", metavar="DIR", help="a later DIR wins a key")
    made.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    return parser


def _target_arguments(parser: argparse.ArgumentParser) -> None:
    """One target for list and show: a distribution or a distribution tenant."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "-d", "--distribution-id", metavar="DISTRIBUTION_ID", help="the distribution"
    )
    target.add_argument(
        "--distribution-tenant-id",
        metavar="TENANT_ID",
        help="the distribution tenant (dt_...), instead of -d",
    )


def _add_changed_options(purge: argparse.ArgumentParser) -> None:
    changed = purge.add_argument_group(
        "purge only what changed",
        "Compare two manifests and purge the URLs whose content changed. When the old "
        "manifest cannot be read, everything in --path (default /*) is purged instead.",
    )
    changed.add_argument(
        "--changed",
        nargs=2,
        metavar=("OLD_MANIFEST", "NEW_MANIFEST"),
        help="manifests of the previous and the new content (see the manifest command)",
    )
    changed.add_argument(
        "--strict",
        action="store_true",
        help="exit 2 when OLD_MANIFEST cannot be read, instead of purging everything in "
        "--path (a mistyped name would otherwise purge the whole site)",
    )
    changed.add_argument(
        "--url-prefix",
        default=changes.DEFAULT_URL_PREFIX,
        help="where the site's root is served (default: %(default)s)",
    )
    index = changed.add_mutually_exclusive_group()
    index.add_argument(
        "--index-document",
        default=changes.DEFAULT_INDEX_DOCUMENT,
        help="a changed DIR/NAME also purges /DIR/ (default: %(default)s)",
    )
    index.add_argument(
        "--no-index-document",
        dest="index_document",
        action="store_const",
        const=None,
        help="purge no directory URLs",
    )
    changed.add_argument(
        "--max-paths",
        type=int,
        default=cover.DEFAULT_MAX_PATHS,
        help="path budget: at most this many paths, wildcards included (default: %(default)s)",
    )


def main(
    argv: Sequence[str] | None = None,
    *,
    client: CloudFrontClient | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the command line; return the exit code (usage errors and --help included).

    ``client`` replaces the boto3 CloudFront client; ``out`` and ``err`` replace stdout and
    stderr (argparse's usage errors and help go there too).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        if args.command == "purge":
            return _purge(client or _client(), args, out, err)
        if args.command == "manifest":
            return _manifest(args.directories, args.output, out, err)
        if args.command == "list":
            if args.max < 1:
                raise rules.RuleError(f"--max must be 1 or more, got {args.max}")
            return _list(client or _client(), args, out)
        return _show(client or _client(), args, out)
    except (rules.RuleError, manifest.ManifestError) as exc:
        print(f"cloudfront-invalidate: {exc}", file=err)
        return 2
    except PurgeError as exc:
        print(f"cloudfront-invalidate: purge failed: {for_cli(str(exc))}", file=err)
        if getattr(args, "json", False):
            print(json.dumps({"status": "Failed", "error": str(exc)}, indent=2), file=out)
        return 1
    except KeyboardInterrupt:
        if getattr(args, "json", False) and args.command == "purge":
            print(json.dumps({"status": "Interrupted", **getattr(args, "interrupted", {})},
                             indent=2), file=out)
        print(
            "cloudfront-invalidate: interrupted; invalidations already created go on in "
            "CloudFront (re-run with the same --run-id to resume waiting for them)",
            file=err,
        )
        return 130
    except Exception as exc:  # a botocore error outside the engine (list/show): say it plainly
        print(f"cloudfront-invalidate: {_describe(exc, args)}", file=err)
        return 1


def _describe(exc: Exception, args: argparse.Namespace) -> str:
    """A CloudFront error as the engine words it (distribution, call, code, advice)."""
    error = AwsError.of(exc)
    if error is not None:
        tenant = getattr(args, "distribution_tenant_id", None)
        target = tenant or getattr(args, "distribution_id", None) or "?"
        if error.code == "NoSuchInvalidation" and args.command == "show":
            return not_found(args.invalidation_id, target, tenant=tenant is not None)
        return for_cli(
            str(CloudFrontCallError.from_error(target, error, tenant=tenant is not None))
        )
    return f"{type(exc).__name__}: {exc}"


def _client() -> CloudFrontClient:
    import boto3

    return boto3.client("cloudfront")


def _read_paths_file(name: str) -> list[str]:
    try:
        with open(name, encoding="utf-8") as handle:
            stripped = (line.strip() for line in handle)
            return [line for line in stripped if line and not is_comment(line)]
    except (OSError, UnicodeDecodeError) as exc:
        raise rules.RuleError(f"--paths-file {name!r} cannot be read: {exc}") from exc


def _check_purge_input(args: argparse.Namespace, paths: Sequence[str]) -> None:
    """The engine's rules, with messages that name the option instead of the property."""
    if not args.distribution_ids and not args.distribution_tenant_ids:
        raise rules.RuleError(
            "give at least one --distribution-id (-d) or --distribution-tenant-id to purge"
        )
    if args.distribution_ids:
        rules.validate_distribution_ids(args.distribution_ids, field="--distribution-id")
    rules.validate_distribution_tenant_ids(
        args.distribution_tenant_ids, field="--distribution-tenant-id"
    )
    if paths:
        source = "--paths-file" if args.paths_file and not args.paths else "--path"
        rules.validate_paths(paths, field=source)
    rules.validate_source_hash(args.source_hash, field="--source-hash")
    if not 1 <= args.timeout <= MAX_CLI_TIMEOUT_SECONDS:
        raise rules.RuleError(
            f"--timeout is {args.timeout:g} seconds; it must be between 1 and "
            f"{MAX_CLI_TIMEOUT_SECONDS} (24 hours)"
        )


def _purge(cf: CloudFrontClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    paths = list(args.paths or [])
    if args.paths_file:
        paths += _read_paths_file(args.paths_file)
    pruning = cli_prune.parse(args)
    plan = _changed_plan(args, paths, err) if args.changed else None
    if plan is not None:
        paths = list(plan.paths)
        if not paths:
            # Nothing to purge, so nothing to wait for: retention still runs its course.
            pruned = (
                cli_prune.after_purge(pruning, args, completed=True, err=err) if pruning else None
            )
            _print_nothing(plan, args.json, out, pruned)
            return 0
    _check_purge_input(args, paths)
    props: dict[str, object] = {
        rules.PROP_DISTRIBUTION_IDS: args.distribution_ids,
        rules.PROP_DISTRIBUTION_TENANT_IDS: args.distribution_tenant_ids,
        rules.PROP_SOURCE_HASH: args.source_hash,
        rules.PROP_WAIT_FOR_COMPLETION: not args.no_wait,
        # The resource's rule caps TimeoutSeconds for CloudFormation; set after parsing.
        rules.PROP_TIMEOUT_SECONDS: min(args.timeout, rules.MAX_TIMEOUT_SECONDS),
    }
    if paths:
        props[rules.PROP_PATHS] = paths
    spec = replace(rules.parse_properties(props), timeout_seconds=args.timeout)
    run_id = args.run_id or os.environ.get(RUN_ID_VARIABLE) or str(uuid.uuid4())
    jobs = engine.plan_jobs(spec, request_id=run_id)
    started = time.time()
    print(
        f"run id {run_id} (re-run with --run-id {run_id} to resume without purging twice); "
        f"{len(spec.paths)} path(s) in {len(jobs)} invalidation(s)",
        file=err,
    )

    # A terminal gets one line rewritten in place; a pipe or --json a line per change of
    # state, and a heartbeat (progress.HEARTBEAT_SECONDS).
    live = not args.json and _is_terminal(out)
    progress = Progress(out if live else err, jobs, live=live, started=started)
    # What --json prints if the wait is interrupted: the invalidations so far.
    args.interrupted = {"run_id": run_id, "invalidations": []}
    try:
        result = engine.purge(
            cf,
            jobs,
            deadline=started + spec.timeout_seconds,
            timeout_seconds=spec.timeout_seconds,
            wait=spec.wait_for_completion,
            report=progress,
        )
    except KeyboardInterrupt:
        args.interrupted["invalidations"] = _job_rows(jobs)
        raise
    finally:
        progress.close()
    summary = {
        "status": result.status,
        "invalidations": _job_rows(result.jobs),
        "seconds": round(time.time() - started, 2),
    }
    if plan is not None:
        summary["scope"] = _plan_summary(plan)
    if pruning is not None:
        summary["prune"] = cli_prune.after_purge(
            pruning, args, completed=cli_prune.completed(result), err=err
        )
    for job in result.jobs:
        if job.created_at is not None and job.created_at < started - 1:
            print(
                f"note: {job.target} {job.invalidation_id} was created at "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(job.created_at))} UTC by "
                f"an earlier run with run id {run_id}: nothing new was purged for it",
                file=err,
            )
    if args.json:
        print(json.dumps(summary, indent=2), file=out)
    else:
        for row in summary["invalidations"]:  # type: ignore[attr-defined]
            print(
                f"{row.get('distribution_id') or row['distribution_tenant_id']}\t{row['id']}\t"
                f"{row['status']}\t"
                f"{row['caller_reference']}",
                file=out,
            )
    return 0


def _job_rows(jobs: Sequence[engine.Job]) -> list[dict[str, object]]:
    return [
        {
            ("distribution_tenant_id" if j.tenant else "distribution_id"): j.distribution_id,
            "id": j.invalidation_id,
            "caller_reference": j.caller_reference,
            "paths": len(j.batch.paths),
            "status": j.status,
        }
        for j in jobs
    ]


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _changed_plan(args: argparse.Namespace, paths: list[str], err: TextIO) -> purge_plan.PurgePlan:
    """What changed between the two manifests, or everything in --path when unsure."""
    old_name, new_name = args.changed
    mapping = changes.UrlMapping(
        url_prefix=changes.validate_url_prefix(args.url_prefix, field="--url-prefix"),
        index_document=changes.validate_index_document(
            args.index_document, field="--index-document"
        ),
    )
    max_paths = cover.validate_max_paths(args.max_paths, field="--max-paths")
    new = manifest.read_manifest(new_name)  # the new one must be good: no fallback for it
    old: manifest.Manifest | manifest.ManifestError
    try:
        old = manifest.read_manifest(old_name)
    except manifest.ManifestError as exc:
        if args.strict:
            raise manifest.ManifestError(
                f"--changed: OLD_MANIFEST cannot be used ({exc}); --strict refuses to purge "
                "everything instead"
            ) from exc
        print(
            f"warning: OLD_MANIFEST cannot be used ({exc}); purging everything in --path "
            f"({', '.join(paths or rules.DEFAULT_PATHS)}) instead. Check the file name; "
            "--strict makes this an error.",
            file=err,
        )
        old = exc
    full = paths or list(rules.DEFAULT_PATHS)
    rules.validate_paths(full, field="--path")
    plan = purge_plan.plan_purge(
        request_type="Update",
        new=new,
        old=old,
        # The manifests carry no URL options: the same ones apply to both sides here.
        mapping=mapping,
        old_mapping=mapping,
        full_paths=full,
        max_paths=max_paths,
    )
    print(f"scope {plan.scope}: {plan.reason}", file=err)
    for path in plan.paths:
        print(f"  purge {path}", file=err)
    return plan


def _plan_summary(plan: purge_plan.PurgePlan) -> dict[str, object]:
    return {
        "scope": plan.scope,
        "reason": plan.reason,
        "changed_files": plan.changed_files,
        "paths": list(plan.paths),
        "unchanged_kept": plan.unchanged_kept,
        "evicted": plan.evicted,
    }


def _print_nothing(
    plan: purge_plan.PurgePlan, as_json: bool, out: TextIO, pruned: dict[str, Any] | None = None
) -> None:
    if as_json:
        print(
            json.dumps(
                {"status": "Nothing to purge", "invalidations": [], "scope": _plan_summary(plan)}
                | ({"prune": pruned} if pruned is not None else {}),
                indent=2,
            ),
            file=out,
        )
    else:
        print("nothing to purge: no file changed", file=out)


def _manifest(directories: Sequence[str], output: str | None, out: TextIO, err: TextIO) -> int:
    built = manifest.build_manifest(directories)
    if output is None:
        print(manifest.dumps(built), file=out)
    else:
        manifest.write_manifest(built, output)
        print(f"{len(built):,} file(s) -> {output}", file=err)
    return 0


def _list(cf: CloudFrontClient, args: argparse.Namespace, out: TextIO) -> int:
    tenant = args.distribution_tenant_id
    target = tenant or args.distribution_id
    shown = 0
    for item in engine.list_invalidations(
        cf, target, max_items=args.max, tenant=tenant is not None
    ):
        print(f"{item['Id']}\t{item['Status']}\t{item['CreateTime'].isoformat()}", file=out)
        shown += 1
    if shown == 0:
        print(f"no invalidations on {target}", file=out)
    return 0


def _show(cf: CloudFrontClient, args: argparse.Namespace, out: TextIO) -> int:
    tenant = args.distribution_tenant_id
    response: Any = (
        cf.get_invalidation_for_distribution_tenant(
            DistributionTenantId=tenant, Id=args.invalidation_id
        )
        if tenant is not None
        else cf.get_invalidation(DistributionId=args.distribution_id, Id=args.invalidation_id)
    )
    inv = response["Invalidation"]
    batch = inv["InvalidationBatch"]
    print(
        f"Id:              {inv['Id']}\nStatus:          {inv['Status']}\n"
        f"CreateTime:      {inv['CreateTime'].isoformat()}\n"
        f"CallerReference: {batch['CallerReference']}\n"
        f"Paths ({batch['Paths']['Quantity']}):",
        file=out,
    )
    for path in batch["Paths"].get("Items", []):
        print(f"  {path}", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
