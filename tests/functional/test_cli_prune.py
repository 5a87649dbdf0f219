"""cloudfront-invalidate purge --changed OLD NEW --prune-bucket: purge, wait, then prune, with
the resource's retention rule, against the local cloud's CloudFront and S3."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from cloudfront_purge.cli import command as cli
from cloudfront_purge.model.prune import PruneSpec
from localcloud.cloudfront import LocalCloudFront

BUCKET = "cli-site"


@pytest.fixture(autouse=True)
def local_aws(cf: LocalCloudFront, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFRONT_INVALIDATE_RUN_ID", raising=False)
    for name, value in cf.env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3(cf: LocalCloudFront) -> Any:
    client = boto3.client("s3", endpoint_url=cf.endpoint_url, region_name=cf.region)
    client.create_bucket(Bucket=BUCKET)
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    return client


def run(cf: LocalCloudFront, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), client=cf.client(), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def version(cf: LocalCloudFront, s3: Any, tmp_path: Path, name: str,
            files: dict[str, str]) -> Path:
    """Sync the files (no --delete) and write their manifest, as a pipeline would."""
    site = tmp_path / name
    for key, body in files.items():
        (site / key).parent.mkdir(parents=True, exist_ok=True)
        (site / key).write_text(body)
        s3.put_object(Bucket=BUCKET, Key=f"www/{key}", Body=body.encode())
    code, _, err = run(cf, "manifest", str(site), "-o", str(tmp_path / f"{name}.json"))
    assert code == 0, err
    return tmp_path / f"{name}.json"


def keys(s3: Any) -> set[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"] for o in listed if ".cloudfront-purge/" not in o["Key"]}


def test_purge_waits_then_prunes_what_old_had_after_retention(
    cf: LocalCloudFront, dist: str, s3: Any, tmp_path: Path
) -> None:
    v1 = version(cf, s3, tmp_path, "v1", {"index.html": "1", "app.1.js": "a", "logo.png": "l"})
    v2 = version(cf, s3, tmp_path, "v2", {"index.html": "2", "app.2.js": "b", "logo.png": "l"})
    s3.put_object(Bucket=BUCKET, Key="www/not-ours.txt", Body=b"x")
    prune = ["--prune-bucket", BUCKET, "--prune-prefix", "www", "--keep-replaced", "0s"]
    code, out, err = run(cf, "purge", "-d", dist, "--changed", str(v1), str(v2), "--json", *prune)
    assert code == 0, err
    first = json.loads(out)
    assert first["status"] == "Completed"
    # app.1.js served v1's pages: it waits at least one run.
    assert first["prune"]["scheduled"] == 1 and "www/app.1.js" in keys(s3)
    code, out, err = run(cf, "purge", "-d", dist, "--changed", str(v2), str(v2), "--json", *prune)
    assert code == 0, err
    assert json.loads(out)["prune"]["pruned"] == 1 and "prune Pruned: 1 deleted" in err
    assert keys(s3) == {"www/index.html", "www/app.2.js", "www/logo.png", "www/not-ours.txt"}


def test_a_denied_prune_keeps_exit_code_zero_and_says_what_was_left(
    cf: LocalCloudFront, dist: str, s3: Any, tmp_path: Path
) -> None:
    v1 = version(cf, s3, tmp_path, "v1", {"index.html": "1", "app.1.js": "a"})
    v2 = version(cf, s3, tmp_path, "v2", {"index.html": "2", "app.2.js": "b"})
    prune = ["--prune-bucket", BUCKET, "--prune-prefix", "www/", "--keep-replaced", "0"]
    assert run(cf, "purge", "-d", dist, "--changed", str(v1), str(v2), *prune)[0] == 0
    cf.s3_delete_denial.deny(BUCKET)
    try:
        code, _, err = run(cf, "purge", "-d", dist, "--changed", str(v2), str(v2), *prune)
    finally:
        cf.s3_delete_denial.allow(BUCKET)
    assert code == 0 and "prune Partial" in err and "1 left behind" in err and "AccessDenied" in err
    assert "www/app.1.js" in keys(s3)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prune-prefix", "www/"], "--prune-prefix is used with --prune-bucket"),
        (["--prune-bucket", BUCKET], "--prune-bucket needs --changed"),
        (["--prune-bucket", BUCKET, "--changed", "a", "b", "--no-wait"], "cannot be used with --no-wait"),
        (["--prune-bucket", BUCKET, "--changed", "a", "b", "--keep-replaced", "soon"],
         "--keep-replaced must be a duration"),
        (["--prune-bucket", BUCKET, "--changed", "a", "b", "--prune-prefix", "/x"],
         "--prune-prefix '/x' must not start with '/'"),
    ],
)
def test_bad_prune_options_exit_2_naming_the_option(
    cf: LocalCloudFront, dist: str, extra: list[str], message: str
) -> None:
    code, _, err = run(cf, "purge", "-d", dist, *extra)
    assert code == 2 and message in err
    assert cf.invalidations(dist) == []


def test_an_old_manifest_from_another_site_never_gets_that_sites_files_deleted(
    cf: LocalCloudFront, dist: str, s3: Any, tmp_path: Path
) -> None:
    v1 = version(cf, s3, tmp_path, "v1", {"index.html": "1", "app.1.js": "a"})
    v2 = version(cf, s3, tmp_path, "v2", {"index.html": "2", "app.2.js": "b"})
    # Another pipeline's site, in the same bucket and folder; its manifest lies around.
    other = version(cf, s3, tmp_path, "other", {"blog.html": "o", "blog.js": "o"})
    prune = ["--prune-bucket", BUCKET, "--prune-prefix", "www", "--keep-replaced", "0s"]
    for old, new in ((v1, v2), (other, v2), (v2, v2), (v2, v2)):  # a wrong OLD, once
        code, _, err = run(cf, "purge", "-d", dist, "--changed", str(old), str(new), *prune)
        assert code == 0, err
    assert {"www/blog.html", "www/blog.js"} <= keys(s3)
    assert "www/app.1.js" not in keys(s3)


def test_two_pipelines_pruning_one_folder_hold_until_the_other_state_is_deleted(
    cf: LocalCloudFront, dist: str, s3: Any, tmp_path: Path
) -> None:
    v1 = version(cf, s3, tmp_path, "v1", {"index.html": "1", "app.1.js": "a"})
    v2 = version(cf, s3, tmp_path, "v2", {"index.html": "2", "app.2.js": "b"})
    # The blog's pipeline syncs to the same folder, and its page still loads app.1.js.
    blog = version(cf, s3, tmp_path, "blog", {"blog.html": "o", "app.1.js": "a"})
    prune = ["--prune-bucket", BUCKET, "--prune-prefix", "www", "--keep-replaced", "0s"]
    code, _, err = run(cf, "purge", "-d", dist, "--changed", str(blog), str(blog), *prune,
                       "--prune-state", "blog")
    assert code == 0, err
    for old, new in ((v1, v2), (v2, v2)):
        code, out, err = run(cf, "purge", "-d", dist, "--changed", str(old), str(new), "--json",
                             *prune, "--prune-state", "site")
        assert code == 0, err
    blog_state = PruneSpec(BUCKET, "www/", 0).state_key("cli|blog")
    assert json.loads(out)["prune"]["status"] == "Held" and "www/app.1.js" in keys(s3)
    assert "prune Held: 0 deleted" in err and blog_state.rpartition("/")[2] in err
    # The blog moved away: its state is an orphan, deleted by hand; the site prunes again.
    s3.delete_object(Bucket=BUCKET, Key=blog_state)
    code, out, err = run(cf, "purge", "-d", dist, "--changed", str(v2), str(v2), "--json",
                         *prune, "--prune-state", "site")
    assert code == 0 and json.loads(out)["prune"]["pruned"] == 1, err
    assert "www/app.1.js" not in keys(s3) and "www/blog.html" in keys(s3)
