"""What the command line's tests share: run ``cloudfront-invalidate`` in process, read its rows."""

from __future__ import annotations

import io
from dataclasses import dataclass

from cloudfront_purge.cli import command as cli
from localcloud.cloudfront import LocalCloudFront

CI_VARIABLES = (
    "CLOUDFRONT_INVALIDATE_RUN_ID",
    "GITHUB_RUN_ID",
    "CI_PIPELINE_ID",
    "CODEBUILD_BUILD_ID",
    "BUILD_ID",
)


@dataclass
class Run:
    """What one run of the command printed, and its exit code."""

    code: int
    out: str
    err: str


def run(cf: LocalCloudFront, *argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), client=cf.client(), out=out, err=err)
    return Run(code, out.getvalue(), err.getvalue())


def rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines() if line]
