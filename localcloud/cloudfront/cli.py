"""``python -m localcloud.cloudfront``: run a local CloudFront until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence

from localcloud.cloudfront.server import LocalCloudFront

__all__ = ["main"]

#: The signals that stop the server: Ctrl-C, and what process managers send.
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def main(argv: Sequence[str] | None = None) -> int:
    """Run a LocalCloudFront until SIGINT or SIGTERM, printing the endpoint and the env.

    The stop signals are blocked before the server starts its threads (which inherit the
    mask) and taken with ``sigwait`` by the main thread. Waiting in ``Event.wait()`` for
    a KeyboardInterrupt instead lost Ctrl-C now and then: a process-directed signal may
    be delivered to any thread that does not block it; when a server thread took it,
    Python only flagged it for the main thread, which stayed asleep in the lock wait and
    never ran its handler. A signal sent before the wait begins stays pending and ends
    the wait at once, and none can interrupt the shutdown half-way.
    """
    parser = argparse.ArgumentParser(
        prog="python -m localcloud.cloudfront",
        description="A local CloudFront (moto plus real invalidation behaviour) over HTTP.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument(
        "--invalidation-seconds",
        type=float,
        default=30.0,
        help="how long invalidations stay InProgress",
    )
    parser.add_argument(
        "--max-files", type=int, default=3000, help="in-progress file paths per distribution"
    )
    parser.add_argument(
        "--max-wildcards", type=int, default=15, help="in-progress wildcards per distribution"
    )
    parser.add_argument(
        "--reused-reference-error",
        action="store_true",
        help="answer InvalidArgument to any CallerReference reuse (as seen in the field)",
    )
    parser.add_argument(
        "--create-distribution", action="store_true", help="create one and print its Id"
    )
    parser.add_argument(
        "--cache-tag-header",
        metavar="HEADER",
        help="give the created distribution this CacheTagConfig header (accepts #tag items)",
    )
    parser.add_argument(
        "--create-distribution-tenant",
        metavar="DOMAIN",
        help="create a multi-tenant distribution with a tenant for DOMAIN; print the tenant Id",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    cloudfront = LocalCloudFront(
        invalidation_seconds=args.invalidation_seconds,
        max_files_in_progress=args.max_files,
        max_wildcards_in_progress=args.max_wildcards,
        reused_reference_error=args.reused_reference_error,
        host=args.host,
        port=args.port,
        quiet=not args.verbose,
    )
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        with cloudfront:
            print(f"Local CloudFront listening on {cloudfront.endpoint_url}")
            print(f"Invalidations stay InProgress for {args.invalidation_seconds:g} s.")
            print("Export this to point boto3 or the AWS CLI at it:")
            for key, value in cloudfront.env().items():
                print(f"export {key}={value}")
            if args.create_distribution:
                created = cloudfront.create_distribution(
                    "localcloud CLI", cache_tag_header=args.cache_tag_header
                )
                print(f"Distribution created: {created}")
            if args.create_distribution_tenant:
                tenant = cloudfront.create_distribution_tenant(
                    domain=args.create_distribution_tenant,
                    cache_tag_header=args.cache_tag_header,
                )
                print(f"Distribution tenant created: {tenant}")
            print("Ctrl-C stops it.", flush=True)
            received = signal.sigwait(STOP_SIGNALS)
            print(f"\nStopping ({signal.Signals(received).name}).", flush=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    return 0
