"""cloudfront-invalidate as a new user meets it: a mistyped id, advice that names
options, a long wait, CI logs, a narrow terminal, --help, comments in --paths-file, what
--changed purged, a mistyped OLD manifest, an interrupted --json run."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest

from cloudfront_purge import engine
from cloudfront_purge.cli import command as cli
from cloudfront_purge.cli.progress import HEARTBEAT_SECONDS, Progress, fit
from cloudfront_purge.model import rules
from localcloud.cloudfront import LocalCloudFront
from tests.support.cli import Run, rows


@pytest.fixture(autouse=True)
def no_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFRONT_INVALIDATE_RUN_ID", raising=False)


def run(cf: LocalCloudFront, *argv: str, client: Any = None) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), client=client or cf.client(), out=out, err=err)
    return Run(code, out.getvalue(), err.getvalue())


def test_show_of_a_mistyped_id_says_not_found_and_suggests_list(
    cf: LocalCloudFront, dist: str
) -> None:
    result = run(cf, "show", "-d", dist, "I2J0I21PCUYOIK")
    assert result.code == 1
    message = result.err.strip()
    assert message == (
        f"cloudfront-invalidate: invalidation I2J0I21PCUYOIK not found on distribution {dist}: "
        f"check the id (cloudfront-invalidate list -d {dist} lists the recent ones)"
    )
    assert "accepted" not in message


def test_tenant_advice_names_the_options_not_the_properties(cf: LocalCloudFront) -> None:
    result = run(cf, "purge", "--distribution-tenant-id", "dt_2yq2uFYMVyIkVWU6FAZ4lw55JXz",
                 "--run-id", "r")
    assert result.code == 1
    assert "goes in --distribution-id (-d), not --distribution-tenant-id" in result.err
    assert "DistributionIds" not in result.err and "DistributionTenantIds" not in result.err


def test_a_timeout_longer_than_58_minutes_is_accepted(cf: LocalCloudFront, dist: str) -> None:
    result = run(cf, "purge", "-d", dist, "--timeout", "7200", "--run-id", "r")
    assert result.code == 0, result.err
    (record,) = cf.invalidations(dist)
    assert rows(result.out) == [[dist, record.id, "Completed", record.caller_reference]]


def test_help_describes_every_command_and_option_and_the_exit_codes(cf: LocalCloudFront) -> None:
    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in sub.choices.items():
        assert command.description, name
        undocumented = [a.dest for a in command._actions if not a.help]
        assert undocumented == [], name
        text = run(cf, name, "--help").out
        assert "exit codes:\n  0    done" in text and "\n  2    bad input" in text, name
        assert "\n  130  interrupted" in text, name
    show = run(cf, "show", "--help").out
    assert "-d DISTRIBUTION_ID" in show and "DISTRIBUTION_IDS" not in show
    assert "-d DISTRIBUTION_ID" in run(cf, "purge", "--help").out
    assert "exit codes:" in run(cf, "--help").out


def test_paths_file_comments_are_skipped_and_tags_kept(
    cf: LocalCloudFront, tmp_path: Path
) -> None:
    tagged = cf.create_distribution("tagged", cache_tag_header="x-cache-tag")
    listing = tmp_path / "paths.txt"
    listing.write_text("# pages to purge\n/index.html\n#\n  #\tindented comment\n#release\n")
    result = run(cf, "purge", "-d", tagged, "--paths-file", str(listing), "--no-wait")
    assert result.code == 0, result.err
    (record,) = cf.invalidations(tagged)
    assert sorted(record.paths) == ["#release", "/index.html"]
    assert cli.is_comment("# pages") and not cli.is_comment("#pages")


def _manifests(cf: LocalCloudFront, tmp_path: Path) -> tuple[Path, Path]:
    for version, text in (("v1", "old"), ("v2", "new")):
        site = tmp_path / version
        (site / "docs").mkdir(parents=True)
        (site / "docs" / "a.html").write_text(text)
        (site / "index.html").write_text("home")
        assert run(cf, "manifest", str(site), "-o", str(tmp_path / f"{version}.json")).code == 0
    return tmp_path / "v1.json", tmp_path / "v2.json"


def test_purge_changed_prints_the_paths_it_purged(
    cf: LocalCloudFront, dist: str, tmp_path: Path
) -> None:
    old, new = _manifests(cf, tmp_path)
    result = run(cf, "purge", "-d", dist, "--changed", str(old), str(new), "--no-wait")
    assert result.code == 0, result.err
    assert "  purge /docs/a.html" in result.err.splitlines()


def test_a_mistyped_old_manifest_is_shown_and_strict_refuses_it(
    cf: LocalCloudFront, dist: str, tmp_path: Path
) -> None:
    _, new = _manifests(cf, tmp_path)
    typo = str(tmp_path / "v1.jsn")
    lenient = run(cf, "purge", "-d", dist, "--changed", typo, str(new), "--no-wait")
    assert lenient.code == 0, lenient.err
    warning = next(line for line in lenient.err.splitlines() if line.startswith("warning:"))
    assert "v1.jsn" in warning and "purging everything in --path (/*)" in warning
    assert "--strict makes this an error" in warning
    assert len(cf.invalidations(dist)) == 1
    strict = run(cf, "purge", "-d", dist, "--changed", typo, str(new), "--strict")
    assert strict.code == 2
    assert "--strict refuses to purge everything" in strict.err
    assert len(cf.invalidations(dist)) == 1  # nothing more purged


class InterruptedWhileWaiting:
    """A CloudFront client whose first GetInvalidation is interrupted (Ctrl-C)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        if name == "get_invalidation":
            def interrupted(**_kwargs: Any) -> Any:
                raise KeyboardInterrupt
            return interrupted
        return getattr(self._client, name)


def test_interrupted_with_json_still_prints_json(cf: LocalCloudFront, dist: str) -> None:
    cf.set_invalidation_seconds(30)
    result = run(cf, "purge", "-d", dist, "--json", "--run-id", "r",
                 client=InterruptedWhileWaiting(cf.client()))
    assert result.code == 130
    summary = json.loads(result.out)
    (record,) = cf.invalidations(dist)
    assert summary["status"] == "Interrupted" and summary["run_id"] == "r"
    assert [i["id"] for i in summary["invalidations"]] == [record.id]


# --- progress: CI logs and narrow terminals -------------------------------------------------


def _jobs() -> list[engine.Job]:
    spec = rules.parse_properties({rules.PROP_DISTRIBUTION_IDS: ["E2QWRUHAPOMQZL"],
                                   rules.PROP_SOURCE_HASH: "h"})
    return engine.plan_jobs(spec, request_id="r")


def test_off_a_terminal_polls_print_once_then_a_heartbeat() -> None:
    now = [1000.0]
    stream = io.StringIO()
    (job,) = jobs = _jobs()
    progress = Progress(stream, jobs, live=False, started=now[0], clock=lambda: now[0])
    job.status = "InProgress"
    progress("submitted", job)
    for _ in range(29):  # a 30 s wait polled every second
        now[0] += 1.0
        progress("waiting", job)
    lines = stream.getvalue().splitlines()
    assert [line.split(" (pending) ", 1)[1] for line in lines] == [
        "submitted: InProgress", "waiting: InProgress, next check in 0.0 s"]
    now[0] += HEARTBEAT_SECONDS
    progress("waiting", job)
    job.status = "Completed"
    progress("completed", job)
    assert len(stream.getvalue().splitlines()) == 4


def test_a_narrow_terminal_drops_whole_parts() -> None:
    parts = ["waiting on E2QWRUHAPOMQZL I2J0I21PCUYOIK (InProgress)", "0/1 completed",
             "12 s elapsed", "next check in 2.0 s"]
    assert fit(parts, 200) == " · ".join(parts)
    three = " · ".join(parts[:3])
    assert fit(parts, len(three)) == fit(parts, len(three) + 5) == three
    assert fit(parts, len(three) - 1) == " · ".join(parts[:2])
    assert fit(parts, len(parts[0]) + 3) == parts[0]
    assert fit(parts, 20) == parts[0][:19] + "…"
