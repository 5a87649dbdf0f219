"""``cloudfront-invalidate``: purge outside CloudFormation with the engine the Lambda uses.

    cloudfront-invalidate purge -d E2QWRUHAPOMQZL -p '/*' --source-hash "$(git rev-parse HEAD)"
    cloudfront-invalidate purge --distribution-tenant-id dt_2yq2uFYMVyIkVWU6FAZ4lw5 -p '#v42'
    cloudfront-invalidate list -d E2QWRUHAPOMQZL --max 20
    cloudfront-invalidate show -d E2QWRUHAPOMQZL I2J0I21PCUYOIK

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
from typing import TYPE_CHECKING, Any, TextIO

from cloudfront_purge import engine, rules
from cloudfront_purge.errors import AwsError, CloudFrontCallError, PurgeError

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

#: Set it (or --run-id) to make a retried step resume instead of purging again. CI systems'
#: own run ids are NOT used: they are shared by every job and step of a run (GitHub) or
#: repeat across jobs (Jenkins' BUILD_ID), and a shared reference would make a later purge
#: adopt an earlier invalidation and purge nothing.
RUN_ID_VARIABLE = "CLOUDFRONT_INVALIDATE_RUN_ID"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloudfront-invalidate",
        description="Purge CloudFront and wait for Completed, with deterministic "
        "CallerReferences (a retried run never purges twice).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    purge = sub.add_parser("purge", help="create invalidations and wait for Completed")
    purge.add_argument(
        "-d",
        "--distribution-id",
        action="append",
        default=[],
        dest="distribution_ids",
        help="repeat for several distributions (give at least one -d or --distribution-tenant-id)",
    )
    purge.add_argument(
        "--distribution-tenant-id",
        action="append",
        default=[],
        dest="distribution_tenant_ids",
        help="a distribution tenant (dt_...) of a multi-tenant distribution; repeat for several",
    )
    purge.add_argument(
        "-p",
        "--path",
        action="append",
        dest="paths",
        help="a path, or a cache tag as '#tag'; repeat for several (default: /*)",
    )
    purge.add_argument("--paths-file", help="read paths from this file, one per line")
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
        help="seconds to wait for Completed (default: %(default)s)",
    )
    purge.add_argument("--json", action="store_true", help="print the result as JSON")
    listing = sub.add_parser("list", help="recent invalidations, newest first")
    _target_arguments(listing)
    listing.add_argument(
        "--max", type=int, default=25, help="how many, 1 or more (default: %(default)s)"
    )
    show = sub.add_parser("show", help="one invalidation with its paths")
    _target_arguments(show)
    show.add_argument("invalidation_id")
    return parser


def _target_arguments(parser: argparse.ArgumentParser) -> None:
    """One target for list and show: a distribution or a distribution tenant."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("-d", "--distribution-id")
    target.add_argument("--distribution-tenant-id")


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
        if args.command == "list":
            if args.max < 1:
                raise rules.RuleError(f"--max must be 1 or more, got {args.max}")
            return _list(client or _client(), args, out)
        return _show(client or _client(), args, out)
    except rules.RuleError as exc:
        print(f"cloudfront-invalidate: {exc}", file=err)
        return 2
    except PurgeError as exc:
        print(f"cloudfront-invalidate: purge failed: {exc}", file=err)
        if getattr(args, "json", False):
            print(json.dumps({"status": "Failed", "error": str(exc)}, indent=2), file=out)
        return 1
    except KeyboardInterrupt:
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
        return str(CloudFrontCallError.from_error(target, error, tenant=tenant is not None))
    return f"{type(exc).__name__}: {exc}"


def _client() -> CloudFrontClient:
    import boto3

    return boto3.client("cloudfront")


def _read_paths_file(name: str) -> list[str]:
    try:
        with open(name, encoding="utf-8") as handle:
            return [line.strip() for line in handle if line.strip()]
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
    rules.check_timeout(args.timeout, field="--timeout")


#: Engine events after which the next check's time is worth printing.
_WAITING_EVENTS = frozenset(
    {"waiting", "blocked", "waiting_for_capacity", "waiting_for_iam", "not_visible_yet"}
)


def _purge(cf: CloudFrontClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    paths = list(args.paths or [])
    if args.paths_file:
        paths += _read_paths_file(args.paths_file)
    _check_purge_input(args, paths)
    props: dict[str, object] = {
        rules.PROP_DISTRIBUTION_IDS: args.distribution_ids,
        rules.PROP_DISTRIBUTION_TENANT_IDS: args.distribution_tenant_ids,
        rules.PROP_SOURCE_HASH: args.source_hash,
        rules.PROP_WAIT_FOR_COMPLETION: not args.no_wait,
        rules.PROP_TIMEOUT_SECONDS: args.timeout,
    }
    if paths:
        props[rules.PROP_PATHS] = paths
    spec = rules.parse_properties(props)
    run_id = args.run_id or os.environ.get(RUN_ID_VARIABLE) or str(uuid.uuid4())
    jobs = engine.plan_jobs(spec, request_id=run_id)
    started = time.time()
    print(
        f"run id {run_id} (re-run with --run-id {run_id} to resume without purging twice); "
        f"{len(spec.paths)} path(s) in {len(jobs)} invalidation(s)",
        file=err,
    )

    def progress(kind: str, job: engine.Job) -> None:
        wait = max(0.0, job.next_at - time.time())
        tail = f", next check in {wait:.1f} s" if kind in _WAITING_EVENTS else ""
        if kind in ("waiting_for_iam", "not_visible_yet") and job.last_problem:
            tail += f" ({job.last_problem})"
        print(
            f"[{time.time() - started:7.1f}s] {job.target} "
            f"{job.invalidation_id or '(pending)'} {kind}: {job.status}{tail}",
            file=err,
        )

    result = engine.purge(
        cf,
        jobs,
        deadline=started + spec.timeout_seconds,
        timeout_seconds=spec.timeout_seconds,
        wait=spec.wait_for_completion,
        report=progress,
    )
    summary = {
        "status": result.status,
        "invalidations": [
            {
                ("distribution_tenant_id" if j.tenant else "distribution_id"): j.distribution_id,
                "id": j.invalidation_id,
                "caller_reference": j.caller_reference,
                "paths": len(j.batch.paths),
                "status": j.status,
            }
            for j in result.jobs
        ],
        "seconds": round(time.time() - started, 2),
    }
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
