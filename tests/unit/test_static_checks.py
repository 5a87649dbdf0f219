"""Static checks, in the test command: cfn-lint on every template the project ships or
synthesizes, cdk-nag's AwsSolutions pack on the example site and on the construct alone,
ruff and mypy (strict) on the two packages.

cfn-lint warnings that are allowed are listed in ALLOWED_CFN_LINT_WARNINGS with the
reason; any other warning, and every error, fails. cdk-nag findings must be fixed or
acknowledged next to what they concern (provider.py, app.py), with a reason.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3

from cdk_cloudfront_invalidation import CloudFrontInvalidation, CloudFrontInvalidationProvider
from tests.support.nag import acknowledgements, nag_violations

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
RAW_TEMPLATE = ROOT / "examples" / "raw-cloudformation.yaml"
SHARED_APP = ROOT / "examples" / "shared_provider_app.py"

#: (rule, text in the message) -> why it is acceptable. W3005: aws-cdk-lib's
#: lambda.Function always adds DependsOn on its role (and the role's default policy, which
#: the function needs before its first invocation); the role half is redundant with the
#: Role GetAtt. It comes from aws-cdk-lib, for every Lambda function in the template.
ALLOWED_CFN_LINT_WARNINGS = {
    ("W3005", "CloudFrontInvalidationProvider7a1c2f640c584d0e9b8a3f1f4b8e2d11ServiceRole"),
    ("W3005", "CloudFrontInvalidationProvider7a1c2f640c584d0e9b8a3f1f4b8e2d11OnFailureRole"),
    ("W3005", "CustomS3AutoDeleteObjectsCustomResourceProviderRole"),
    ("W3005", "CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756CServiceRole"),
}


def run_app(script: Path, outdir: Path, context: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a CDK app script as `cdk synth` would, in this process, into ``outdir``.

    The jsii kernel started with this process's environment, so CDK_OUTDIR and
    CDK_CONTEXT_JSON set now would not reach it: the script's ``cdk.App()`` gets the
    outdir and context as arguments instead. Returns the script's globals.
    """
    real_app = cdk.App

    def app_here(**kwargs: Any) -> cdk.App:
        return real_app(**{**kwargs, "outdir": str(outdir), "context": context or {}})

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cdk, "App", app_here)
        patch.chdir(ROOT)
        return runpy.run_path(str(script), run_name="__main__")


@pytest.fixture(scope="module")
def site_app(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("app-cdk-out")
    namespace = run_app(ROOT / "app.py", out)
    return {"out": out, "StaticSiteStack": namespace["StaticSiteStack"],
            "SafeStaticSiteStack": namespace["SafeStaticSiteStack"]}


@pytest.fixture(scope="module")
def shared_app_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shared-cdk-out")
    run_app(SHARED_APP, out, {"distributionIds": "E2QWRUHAPOMQZL"})
    return out


# --- cfn-lint -------------------------------------------------------------------------------


def cfn_lint(paths: list[Path]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(VENV_BIN / "cfn-lint"), "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.stdout.strip(), f"cfn-lint printed nothing (exit {result.returncode}): {result.stderr}"
    matches: list[dict[str, Any]] = json.loads(result.stdout)
    return matches


def describe(match: dict[str, Any]) -> str:
    line = match["Location"]["Start"]["LineNumber"]
    return f"{Path(match['Filename']).name}:{line} {match['Rule']['Id']} {match['Message']}"


def allowed(match: dict[str, Any]) -> bool:
    return match["Level"] == "Warning" and any(
        match["Rule"]["Id"] == rule and text in match["Message"]
        for rule, text in ALLOWED_CFN_LINT_WARNINGS
    )


def test_cfn_lint_passes_every_template(site_app: dict[str, Any], shared_app_out: Path) -> None:
    templates = sorted(site_app["out"].glob("*.template.json")) + sorted(
        shared_app_out.glob("*.template.json")
    )
    assert [t.name for t in templates] == [
        "SafeStaticSite.template.json",
        "StaticSite.template.json",
        "CloudFrontInvalidationProvider.template.json",
        "SiteRelease.template.json",
    ]
    matches = cfn_lint([*templates, RAW_TEMPLATE])
    errors = [describe(m) for m in matches if m["Level"] == "Error"]
    assert errors == []
    unexpected = [describe(m) for m in matches if not allowed(m)]
    assert unexpected == [], "new cfn-lint findings: fix them, or allow them with a reason"
    assert not [m for m in matches if m["Filename"].endswith(".yaml")]


# --- cdk-nag --------------------------------------------------------------------------------


def test_cdk_nag_finds_nothing_unacknowledged_in_the_example_site(
    site_app: dict[str, Any], tmp_path: Path
) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = site_app["StaticSiteStack"](app, "StaticSite")
    assert nag_violations(app, tmp_path) == []
    reasons = acknowledgements(stack)
    # The provider needs none: its findings were fixed (its role writes to its own log
    # group only, instead of the AWSLambdaBasicExecutionRole managed policy).
    assert not [key for key in reasons if "CloudFrontInvalidationProvider" in key]
    assert {key.rsplit(" ", 1)[1].split("[")[0] for key in reasons} == {
        "Annotation::AwsSolutions-S1",
        "Annotation::AwsSolutions-CFR1",
        "Annotation::AwsSolutions-CFR2",
        "Annotation::AwsSolutions-CFR4",
        "Annotation::AwsSolutions-L1",
        "Annotation::AwsSolutions-IAM4",
        "Annotation::AwsSolutions-IAM5",
    }
    assert all(len(reason) >= 60 for reason in reasons.values()), reasons


def test_cdk_nag_finds_nothing_unacknowledged_in_the_safe_site(
    site_app: dict[str, Any], tmp_path: Path
) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = site_app["SafeStaticSiteStack"](app, "SafeStaticSite")
    assert nag_violations(app, tmp_path) == []
    reasons = acknowledgements(stack)
    # The provider's only ones: reading the changed-only manifests, and the prune's
    # deletions under the site bucket's prefix and its state folder, whose keys are known
    # only at run time (docs/retention.md).
    provider = [key for key in reasons if "CloudFrontInvalidationProvider" in key]
    assert len(provider) == 3 and all("AwsSolutions-IAM5[Resource::" in k for k in provider)
    assert sum(".cloudfront-purge/*" in k or "SiteBucket" in k for k in provider) == 2
    assert {key.rsplit(" ", 1)[1].split("[")[0] for key in reasons} == {
        "Annotation::AwsSolutions-S1",
        "Annotation::AwsSolutions-CFR1",
        "Annotation::AwsSolutions-CFR2",
        "Annotation::AwsSolutions-CFR4",
        "Annotation::AwsSolutions-L1",
        "Annotation::AwsSolutions-IAM4",
        "Annotation::AwsSolutions-IAM5",
    }


def test_cdk_nag_finds_nothing_in_the_construct_alone(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "PurgeOnly")
    imported = cloudfront.Distribution.from_distribution_attributes(
        stack, "Site", distribution_id="E2QWRUHAPOMQZL", domain_name="d111.cloudfront.net"
    )
    CloudFrontInvalidation(stack, "Purge", distribution=imported, source_hash="v1")
    provider = CloudFrontInvalidationProvider.of_stack(stack)
    provider.export_service_token("PurgeServiceToken")
    provider.grant_distribution_ids(["E1EXAMPLE2345"])
    assert nag_violations(app, tmp_path) == []
    assert acknowledgements(stack) == {}


def test_cdk_nag_does_report_findings_here(tmp_path: Path) -> None:
    # The harness itself: a plain bucket must be reported, or the checks above prove nothing.
    app = cdk.App(outdir=str(tmp_path))
    s3.Bucket(cdk.Stack(app, "Plain"), "Bucket")
    found = nag_violations(app, tmp_path)
    assert any(v.startswith("AwsSolutions-S1 ") for v in found), found
    assert any(v.startswith("AwsSolutions-S10 ") for v in found), found


# --- ruff, mypy -----------------------------------------------------------------------------


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / args[0]), *args[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # mypy from a cold cache reads all of aws_cdk: 2-3 minutes beside the other workers.
        timeout=900,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_ruff_is_clean() -> None:
    result = run_tool("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean_on_both_packages() -> None:
    result = run_tool(
        "mypy", "--strict", "constructs/cdk_cloudfront_invalidation", "lambda/cloudfront_purge"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
