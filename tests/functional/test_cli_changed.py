"""cloudfront-invalidate manifest / purge --changed against the local CloudFront, and what a
person sees at a terminal (a pseudo-terminal) versus through a pipe."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cloudfront_purge.cli import command as cli
from localcloud.cloudfront import LocalCloudFront

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def no_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFRONT_INVALIDATE_RUN_ID", raising=False)


def run(cf: LocalCloudFront, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), client=cf.client(), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def write_site(root: Path, files: dict[str, str]) -> Path:
    for key, text in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_text(text)
    return root


@pytest.fixture
def manifests(tmp_path: Path, cf: LocalCloudFront) -> tuple[Path, Path]:
    """v1 and v2 of a small site: one page edited, one added, one deleted."""
    base = {f"blog/post-{i}.html": f"post {i}" for i in range(30)}
    v1 = write_site(tmp_path / "v1", {**base, "index.html": "home", "about/index.html": "me",
                                      "old.html": "bye"})  # fmt: skip
    v2 = write_site(tmp_path / "v2", {**base, "index.html": "home", "about/index.html": "me 2",
                                      "new page.html": "hi"})  # fmt: skip
    for name, site in (("v1.json", v1), ("v2.json", v2)):
        code, _, err = run(cf, "manifest", str(site), "-o", str(tmp_path / name))
        assert code == 0, err
    return tmp_path / "v1.json", tmp_path / "v2.json"


def test_manifest_goes_to_stdout_without_output_file(cf: LocalCloudFront, tmp_path: Path) -> None:
    site = write_site(tmp_path / "s", {"a.html": "a"})
    code, out, _ = run(cf, "manifest", str(site))
    assert code == 0
    assert list(json.loads(out)["files"]) == ["a.html"]


def test_manifest_of_a_missing_directory_is_bad_input(cf: LocalCloudFront, tmp_path: Path) -> None:
    code, _, err = run(cf, "manifest", str(tmp_path / "nope"))
    assert code == 2
    assert "does not exist" in err


def test_purge_changed_purges_only_what_changed(
    cf: LocalCloudFront, dist: str, manifests: tuple[Path, Path]
) -> None:
    old, new = manifests
    code, out, err = run(cf, "purge", "-d", dist, "--changed", str(old), str(new), "--json")
    assert code == 0, err
    (record,) = cf.invalidations(dist)
    assert sorted(record.paths) == ["/about/", "/about/index.html", "/new%20page.html", "/old.html"]
    summary = json.loads(out)
    assert summary["status"] == "Completed"
    assert summary["scope"]["scope"] == "changed"
    assert summary["scope"]["changed_files"] == 3
    assert summary["scope"]["unchanged_kept"] == 32  # 30 posts, "/" and "/index.html"
    assert "scope changed: 3 file(s) changed" in err


def test_a_small_budget_folds_into_a_directory_wildcard(
    cf: LocalCloudFront, dist: str, manifests: tuple[Path, Path]
) -> None:
    old, new = manifests
    code, _, err = run(cf, "purge", "-d", dist, "--changed", str(old), str(new),
                       "--max-paths", "3")  # fmt: skip
    assert code == 0, err
    (record,) = cf.invalidations(dist)
    assert sorted(record.paths) == ["/about/*", "/new%20page.html", "/old.html"]


def test_a_missing_old_manifest_purges_everything_and_says_why(
    cf: LocalCloudFront, dist: str, manifests: tuple[Path, Path], tmp_path: Path
) -> None:
    _, new = manifests
    code, _, err = run(cf, "purge", "-d", dist, "--changed", str(tmp_path / "gone.json"), str(new))
    assert code == 0, err
    (record,) = cf.invalidations(dist)
    assert list(record.paths) == ["/*"]
    assert "scope full: the previous manifest cannot be used" in err


def test_no_change_creates_no_invalidation(
    cf: LocalCloudFront, dist: str, manifests: tuple[Path, Path]
) -> None:
    _, new = manifests
    code, out, _ = run(cf, "purge", "-d", dist, "--changed", str(new), str(new))
    assert code == 0
    assert out.strip() == "nothing to purge: no file changed"
    assert cf.invalidations(dist) == []


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--url-prefix", "docs"], "--url-prefix must start and end with '/'"),
        (["--max-paths", "0"], "--max-paths is 0"),
        (["--index-document", "a/b"], "--index-document must be a file name"),
    ],
)
def test_bad_options_are_named(
    cf: LocalCloudFront, dist: str, manifests: tuple[Path, Path], option: list[str], message: str
) -> None:
    old, new = manifests
    code, _, err = run(cf, "purge", "-d", dist, "--changed", str(old), str(new), *option)
    assert code == 2
    assert message in err
    assert cf.invalidations(dist) == []


# --- the terminal and the pipe ------------------------------------------------------------


def command(dist: str, old: Path, new: Path) -> list[str]:
    return [str(VENV_BIN / "cloudfront-invalidate"), "purge", "-d", dist,
            "--changed", str(old), str(new)]  # fmt: skip


def test_a_terminal_gets_one_status_line_updated_in_place(
    cf: LocalCloudFront, dist: str, manifests: tuple[Path, Path]
) -> None:
    cf.set_invalidation_seconds(6.0)  # several polls (first at 2 s, then every 1 s)
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        command(dist, *manifests),
        stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary,
        env={**os.environ, **cf.env(), "COLUMNS": "200"},
    )  # fmt: skip
    os.close(secondary)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 1.0)
        if ready:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(primary)
    assert process.wait(timeout=30) == 0
    text = b"".join(chunks).decode()
    status = [line for line in text.replace("\r\n", "\n").split("\n") if "\x1b[2K" in line]
    # One physical line, rewritten several times: not a new line per poll.
    assert len(status) == 1
    updates = status[0].split("\x1b[2K")[1:]
    assert len(updates) >= 3
    assert any("waiting on " + dist in u and "next check in" in u for u in updates)
    assert all("elapsed" in u for u in updates)
    assert "completed" in updates[-1]


def test_a_pipe_gets_a_line_per_change_of_state_not_per_poll(
    cf: LocalCloudFront, dist: str, manifests: tuple[Path, Path]
) -> None:
    cf.set_invalidation_seconds(6.0)  # at least two polls while InProgress (2 s, 3 s, ...)
    result = subprocess.run(
        command(dist, *manifests), env={**os.environ, **cf.env()},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr
    assert "\x1b" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    # Polled several times while InProgress, shown once (a heartbeat every 30 s at most).
    waits = [line for line in lines if " waiting: InProgress" in line]
    assert len(waits) == 1
    assert any(" submitted: InProgress" in line for line in lines)
    assert any(" completed: Completed" in line for line in lines)
    assert result.stdout.split("\t")[0] == dist
