"""``cloudfront-invalidate``: purge outside CloudFormation with the engine the Lambda uses.

    cloudfront-invalidate purge -d E2QWRUHAPOMQZL -p '/*' --source-hash "$(git rev-parse HEAD)"
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
from cloudfront_purge.errors import CloudFrontCallError, PurgeError

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
        required=True,
        dest="distribution_ids",
        help="repeat for several distributions",
    )
    purge.add_argument(
        "-p", "--path", action="append", dest="paths", help="repeat for several paths (default: /*)"
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
    listing.add_argument("-d", "--distribution-id", required=True)
    listing.add_argument(
        "--max", type=int, default=25, help="how many, 1 or more (default: %(default)s)"
    )
    show = sub.add_parser("show", help="one invalidation with its paths")
    show.add_argument("-d", "--distribution-id", required=True)
    show.add_argument("invalidation_id")
    return parser


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
            return _list(client or _client(), args.distribution_id, args.max, out)
        return _show(client or _client(), args.distribution_id, args.invalidation_id, out)
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
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = CloudFrontCallError(
            getattr(args, "distribution_id", "?"),
            str(getattr(exc, "operation_name", "") or "CloudFront call"),
            str(response["Error"].get("Code", "Unknown")),
            str(response["Error"].get("Message", "")),
        )
        return str(error)
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
    rules.validate_distribution_ids(args.distribution_ids, field="--distribution-id")
    if paths:
        source = "--paths-file" if args.paths_file and not args.paths else "--path"
        rules.validate_paths(paths, field=source)
    rules.validate_source_hash(args.source_hash, field="--source-hash")
    if not rules.MIN_TIMEOUT_SECONDS <= args.timeout <= rules.MAX_TIMEOUT_SECONDS:
        raise rules.RuleError(
            f"--timeout is {args.timeout:g} seconds; it must be between "
            f"{rules.MIN_TIMEOUT_SECONDS} and {rules.MAX_TIMEOUT_SECONDS}"
        )


def _purge(cf: CloudFrontClient, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    paths = list(args.paths or [])
    if args.paths_file:
        paths += _read_paths_file(args.paths_file)
    _check_purge_input(args, paths)
    props: dict[str, object] = {
        rules.PROP_DISTRIBUTION_IDS: args.distribution_ids,
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
        tail = f", next check in {wait:.1f} s" if kind in ("waiting", "blocked") else ""
        print(
            f"[{time.time() - started:7.1f}s] {job.distribution_id} "
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
                "distribution_id": j.distribution_id,
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
                f"note: {job.distribution_id} {job.invalidation_id} was created at "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(job.created_at))} UTC by "
                f"an earlier run with run id {run_id}: nothing new was purged for it",
                file=err,
            )
    if args.json:
        print(json.dumps(summary, indent=2), file=out)
    else:
        for row in summary["invalidations"]:  # type: ignore[attr-defined]
            print(
                f"{row['distribution_id']}\t{row['id']}\t{row['status']}\t"
                f"{row['caller_reference']}",
                file=out,
            )
    return 0


def _list(cf: CloudFrontClient, distribution_id: str, limit: int, out: TextIO) -> int:
    shown = 0
    marker: dict[str, str] = {}  # no Marker on the first page, as engine._list
    while shown < limit:
        page = cf.list_invalidations(
            DistributionId=distribution_id, MaxItems=str(min(100, limit - shown)), **marker
        )["InvalidationList"]
        for item in page.get("Items", []):
            print(f"{item['Id']}\t{item['Status']}\t{item['CreateTime'].isoformat()}", file=out)
            shown += 1
        if not page.get("IsTruncated") or not page.get("NextMarker"):
            break
        marker = {"Marker": page["NextMarker"]}
    if shown == 0:
        print(f"no invalidations on {distribution_id}", file=out)
    return 0


def _show(cf: CloudFrontClient, distribution_id: str, invalidation_id: str, out: TextIO) -> int:
    inv: Any = cf.get_invalidation(DistributionId=distribution_id, Id=invalidation_id)[
        "Invalidation"
    ]
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
