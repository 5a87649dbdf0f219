"""Synth of ``only_changed``: the manifest asset, the properties, the S3 grant, the rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_cloudfront as cloudfront

import cloudfront_purge
from cdk_cloudfront_invalidation import CloudFrontInvalidation
from cdk_cloudfront_invalidation._asset import handler_asset_dir
from cloudfront_purge.changed import changes, cover, manifest, s3_plan
from cloudfront_purge.model import rules

ROOT = Path(__file__).resolve().parents[2]
SITE = str(ROOT / "site")


def make_stack() -> tuple[cdk.Stack, cloudfront.IDistribution]:
    stack = cdk.Stack(cdk.App(), "Test")
    dist = cloudfront.Distribution.from_distribution_attributes(
        stack, "D", distribution_id="E1EXAMPLE", domain_name="x.cloudfront.net"
    )
    return stack, dist


def custom_properties(stack: cdk.Stack) -> dict[str, Any]:
    customs = assertions.Template.from_stack(stack).find_resources(rules.RESOURCE_TYPE)
    (resource,) = customs.values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def statements(stack: cdk.Stack) -> list[dict[str, Any]]:
    found = []
    for policy in assertions.Template.from_stack(stack).find_resources("AWS::IAM::Policy").values():
        found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_only_changed_sends_the_manifest_url_and_the_url_options() -> None:
    stack, dist = make_stack()
    purge = CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                                   only_changed=True, url_prefix="/docs/", index_document=None,
                                   max_paths=12)
    props = custom_properties(stack)
    assert props[rules.PROP_ONLY_CHANGED] == "true"
    assert props[rules.PROP_URL_PREFIX] == "/docs/"
    assert props[rules.PROP_INDEX_DOCUMENT] == ""  # none: no directory forms
    assert props[rules.PROP_MAX_PATHS] == "12"
    # One property of constant size, whatever the site: the asset's s3:// URL.
    assert purge.manifest_asset is not None
    url = json.dumps(stack.resolve(props[rules.PROP_MANIFEST]))
    assert "s3://" in url and f"{purge.manifest_asset.asset_hash}{rules.MANIFEST_EXTENSION}" in url
    # What the handler parses is what the construct sent.
    parsed = s3_plan.parse_changed_only({**props, rules.PROP_MANIFEST: "s3://b/k.cfpurge-manifest"})
    assert (parsed.url_prefix, parsed.index_document, parsed.max_paths) == ("/docs/", None, 12)


def test_defaults_are_the_documented_ones() -> None:
    stack, dist = make_stack()
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE],
                           only_changed=True)
    props = custom_properties(stack)
    assert props[rules.PROP_URL_PREFIX] == changes.DEFAULT_URL_PREFIX == "/"
    assert props[rules.PROP_INDEX_DOCUMENT] == changes.DEFAULT_INDEX_DOCUMENT == "index.html"
    assert props[rules.PROP_MAX_PATHS] == str(cover.DEFAULT_MAX_PATHS) == "30"


def test_without_only_changed_the_template_is_as_before() -> None:
    stack, dist = make_stack()
    CloudFrontInvalidation(stack, "P", distribution=dist, source_directories=[SITE])
    props = custom_properties(stack)
    for name in (rules.PROP_ONLY_CHANGED, rules.PROP_MANIFEST, rules.PROP_URL_PREFIX,
                 rules.PROP_INDEX_DOCUMENT, rules.PROP_MAX_PATHS):
        assert name not in props
    assert not [s for s in statements(stack) if "s3:GetObject" in json.dumps(s["Action"])]


def test_the_provider_reads_manifests_only_in_the_asset_bucket() -> None:
    stack, dist = make_stack()
    CloudFrontInvalidation(stack, "P1", distribution=dist, source_directories=[SITE],
                           only_changed=True)
    CloudFrontInvalidation(stack, "P2", distribution=dist, source_directories=[SITE],
                           only_changed=True, url_prefix="/other/")
    reads = [s for s in statements(stack) if "s3:" in json.dumps(s["Action"])]
    assert len(reads) == 1  # both share one statement: same bucket
    (statement,) = reads
    assert statement["Action"] == "s3:GetObject"
    # arn:<partition>:s3:::<bootstrap asset bucket>/*.cfpurge-manifest: manifests only.
    assert statement["Resource"] == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":s3:::",
        {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},
        f"/*{rules.MANIFEST_EXTENSION}",
    ]]}


def test_the_synthesized_asset_object_key_keeps_the_manifest_extension(tmp_path: Path) -> None:
    """The S3 grant relies on CDK naming the object <hash><extension>: check a real synth."""
    script = (
        "import sys, aws_cdk as cdk; from aws_cdk import aws_cloudfront as cf;"
        "from cdk_cloudfront_invalidation import CloudFrontInvalidation;"
        "app = cdk.App(outdir=sys.argv[1]); s = cdk.Stack(app, 'S');"
        "d = cf.Distribution.from_distribution_attributes(s, 'D', distribution_id='E1', domain_name='x.cloudfront.net');"
        f"CloudFrontInvalidation(s, 'P', distribution=d, source_directories=[{SITE!r}], only_changed=True);"
        "app.synth()"
    )
    keys = []
    for n in range(2):
        out = tmp_path / f"out{n}"
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, timeout=300)
        files = json.loads((out / "S.assets.json").read_text())["files"]
        manifests = [
            (entry, dest) for entry in files.values() for dest in entry["destinations"].values()
            if dest["objectKey"].endswith(rules.MANIFEST_EXTENSION)
        ]
        (entry, dest), = manifests
        assert entry["source"]["packaging"] == "file"
        staged = manifest.loads((out / entry["source"]["path"]).read_bytes())
        assert staged == manifest.build_manifest([SITE])
        keys.append(dest["objectKey"])
    # Same content, same key: a synth that changes nothing changes no property.
    assert keys[0] == keys[1]


def test_the_lambda_asset_holds_every_runtime_folder_but_not_the_cli() -> None:
    staged = Path(handler_asset_dir()) / "cloudfront_purge"
    package = Path(cloudfront_purge.__file__).parent
    folders = {p.name for p in staged.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {"model", "changed", "engine", "function", "resource", "prune"}
    assert not (staged / "cli").exists()
    # A module added to a runtime folder ships with no list to update: each staged folder
    # holds exactly the source folder's modules.
    def modules(root: Path, folder: str) -> set[Path]:
        return {p.relative_to(root) for p in (root / folder).rglob("*.py")}

    for folder in folders:
        assert modules(staged, folder) == modules(package, folder), folder
    assert {p.name for p in staged.glob("*.py")} == {p.name for p in package.glob("*.py")}
    # Every staged module imports from the staged copy alone (nothing left behind).
    modules = [
        ".".join(("cloudfront_purge", *p.relative_to(staged).with_suffix("").parts))
        for p in staged.rglob("*.py")
        if p.name != "__init__.py"
    ]
    check = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(staged)!r}), (name, module.__file__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(staged.parent)}
    subprocess.run([sys.executable, "-c", check], check=True, env=env, cwd=staged.parent)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"only_changed": "yes"}, "only_changed must be True or False"),
        ({"only_changed": True, "source_directories": None, "source_hash": "h"},
         "only_changed=True needs source_directories"),
        ({"only_changed": True, "source_hash": "h"}, "only_changed=True works from source_directories alone"),
        ({"url_prefix": "docs/"}, "url_prefix must start and end with '/'"),
        ({"url_prefix": "/a//b/"}, "url_prefix '/a//b/' must not contain"),
        ({"index_document": "pages/index.html"}, "index_document must be a file name without '/'"),
        ({"max_paths": 0}, "max_paths is 0; it must be between 1 and 3,000"),
        ({"max_paths": 3001}, "max_paths is 3001"),
        ({"max_paths": 2.5}, "max_paths must be a whole number"),
    ],
)
def test_bad_changed_only_props_fail_at_synth_naming_the_prop(
    kwargs: dict[str, Any], message: str
) -> None:
    stack, dist = make_stack()
    props: dict[str, Any] = {"source_directories": [SITE], **kwargs}
    with pytest.raises(ValueError, match=message):
        CloudFrontInvalidation(stack, "Bad", distribution=dist, **props)
    assert stack.node.try_find_child("Bad") is None


def test_cdk_nag_finds_nothing_unacknowledged_with_only_changed(tmp_path: Path) -> None:
    from tests.support.nag import acknowledgements, nag_violations

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "PurgeOnly")
    imported = cloudfront.Distribution.from_distribution_attributes(
        stack, "Site", distribution_id="E2QWRUHAPOMQZL", domain_name="d111.cloudfront.net"
    )
    CloudFrontInvalidation(stack, "Purge", distribution=imported, source_directories=[SITE],
                           only_changed=True)
    assert nag_violations(app, tmp_path) == []
    # The one acknowledgement is the manifest grant, with its reason, next to the role.
    (key,) = acknowledgements(stack)
    assert key.endswith(
        "ServiceRole Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::"
        f"cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*{rules.MANIFEST_EXTENSION}]"
    )
