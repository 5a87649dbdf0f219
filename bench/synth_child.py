"""Child process for section 4: synth one stack with N CloudFrontInvalidation instances.

``python -m bench.synth_child N OUTDIR`` prints one JSON line: seconds spent importing,
constructing and in ``app.synth()``, and the template's resource counts.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

STACK = "BenchSynth"


def main(argv: list[str]) -> int:
    count, outdir = int(argv[1]), argv[2]
    t0 = time.perf_counter()
    import aws_cdk as cdk
    from aws_cdk import aws_cloudfront as cloudfront

    from cdk_cloudfront_invalidation import CloudFrontInvalidation

    t1 = time.perf_counter()
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, STACK, env=cdk.Environment(account="123456789012", region="us-east-1"))
    distribution = cloudfront.Distribution.from_distribution_attributes(
        stack,
        "Site",
        distribution_id="E2QWRUHAPOMQZL",
        domain_name="d111111abcdef8.cloudfront.net",
    )
    for i in range(count):
        CloudFrontInvalidation(
            stack,
            f"Purge{i}",
            distribution=distribution,
            paths=[f"/section-{i}/*"],
            source_hash=f"content-{i:04d}",
        )
    t2 = time.perf_counter()
    app.synth()
    t3 = time.perf_counter()
    template = json.loads((Path(outdir) / f"{STACK}.template.json").read_text())
    types = Counter(r["Type"] for r in template.get("Resources", {}).values())
    print(
        json.dumps(
            {
                "import_s": t1 - t0,
                "construct_s": t2 - t1,
                "synth_s": t3 - t2,
                "lambda_functions": types.get("AWS::Lambda::Function", 0),
                "custom_resources": types.get("Custom::CloudFrontInvalidation", 0),
                "resources": sum(types.values()),
                "template_bytes": len(json.dumps(template)),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
