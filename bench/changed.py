"""Section 7: purge only what changed. Same deploys, four ways to choose the paths.

- ``/*``: what the construct did before (and what most deploy tools do);
- every changed file exactly: each changed key as its own path (no directory forms);
- bep/s3deploy's fold, reimplemented from its documented behaviour: ``x/index.html`` becomes
  ``/x/``, and while more than 8 paths remain the deepest ones fold into a parent wildcard,
  then ``/*`` if that is not enough;
- ours (cloudfront_purge.changed.plan, the handler's code) at the same budget of 8 paths, and at
  the default budget.

Deploys: a real MkDocs site at two content versions (one page edited, theme changed, a new
section), and generated trees of 1,000 to 100,000 files with hashed asset names. Every
strategy is judged the same way: changed URLs it leaves stale, unchanged URLs it evicts.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report import Section, fmt
from cloudfront_purge.changed.changes import UrlMapping, diff_manifests, encode_url, site_urls
from cloudfront_purge.changed.cover import DEFAULT_MAX_PATHS
from cloudfront_purge.changed.manifest import Manifest, build_manifest
from cloudfront_purge.changed.plan import plan_purge
from cloudfront_purge.model import rules

if TYPE_CHECKING:
    from bench.options import Options

S3DEPLOY_THRESHOLD = 8
SPEED_GOAL_SECONDS = 1.0
BUDGETS = (1, 2, 4, 8, 15, 30, 60, 120)
MAPPING = UrlMapping()


@dataclass(frozen=True)
class Deploy:
    name: str
    old: Manifest
    new: Manifest


@dataclass(frozen=True)
class Outcome:
    deploy: str
    strategy: str
    stale: int
    evicted: int
    paths: int
    batches: int
    seconds: float


# --- the strategies -----------------------------------------------------------------------


def s3deploy_fold(keys: Iterable[str], threshold: int = S3DEPLOY_THRESHOLD) -> list[str]:
    """bep/s3deploy's invalidation paths for these changed keys (site served at "/").

    Its documented behaviour: a key ending in "index.html" becomes its directory ("/x/"),
    and nothing else; past ``threshold`` paths, from the deepest level up, every path deeper
    than the level becomes a wildcard two directories up (one for a top-level directory);
    still too many: "/*".
    """
    raw = ["/" + key for key in keys]
    deepest = max((p.count("/") for p in raw), default=0)
    paths = sorted({_s3deploy_directory(p) if p.endswith("index.html") else p for p in raw})
    if len(paths) > threshold:
        for level in range(deepest, 0, -1):
            paths = _unique(_s3deploy_folded(p) if p.count("/") > level else p for p in paths)
            if len(paths) <= threshold:
                break
        if len(paths) > threshold:
            return ["/*"]
    return ["/*"] if "/*" in paths else paths


def _s3deploy_directory(path: str) -> str:
    parent = path[: path.rfind("/")] or "/"
    return parent if parent.endswith("/") else parent + "/"


def _s3deploy_folded(path: str) -> str:
    # The parent as Go's path.Dir gives it: "/a/b" for "/a/b/" and for "/a/b/c.css".
    parent = path[:-1] if path.endswith("/") else path[: path.rfind("/")]
    parts = parent.strip("/").split("/")
    if len(parts) > 1:
        parts = parts[:-1]
    return "/" + "/".join(parts) + "/*"


def _unique(paths: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(paths))


def judge(
    paths: Sequence[str], changed: Iterable[str], unchanged: Iterable[str]
) -> tuple[int, int]:
    """(changed URLs left stale, unchanged URLs evicted) for encoded paths and raw URLs."""
    return judge_encoded(
        paths, [encode_url(u) for u in changed], [encode_url(u) for u in unchanged]
    )


def judge_encoded(
    paths: Sequence[str], changed: Iterable[str], unchanged: Iterable[str]
) -> tuple[int, int]:
    """The same, for URLs already encoded (encode a large site once, judge it many times)."""
    exact = {p for p in paths if not p.endswith("*")}
    prefixes = [p[:-1] for p in paths if p.endswith("*")]
    folders = {p for p in prefixes if p.endswith("/")}
    others = [p for p in prefixes if not p.endswith("/")]

    def hit(encoded: str) -> bool:
        if encoded in exact or any(encoded.startswith(p) for p in others):
            return True
        end = 0
        while (end := encoded.find("/", end) + 1) > 0:
            if encoded[:end] in folders:
                return True
        return False

    stale = sum(1 for url in changed if not hit(url))
    evicted = sum(1 for url in unchanged if hit(url))
    return stale, evicted


def _timed(run: Callable[[], list[str]], repeat: int) -> tuple[list[str], float]:
    best = math.inf
    paths: list[str] = []
    for _ in range(repeat):
        started = time.perf_counter()
        paths = run()
        best = min(best, time.perf_counter() - started)
    return paths, best


def outcomes(deploy: Deploy, *, repeat: int = 3) -> list[Outcome]:
    """Every strategy on one deploy; times run from the two manifests to the path list."""
    urls = site_urls(diff_manifests(deploy.old, deploy.new), deploy.new, MAPPING)
    changed = [encode_url(u) for u in urls.changed]
    unchanged = [encode_url(u) for u in urls.unchanged]

    def keys() -> list[str]:
        return list(diff_manifests(deploy.old, deploy.new).changed)

    def ours(budget: int) -> Callable[[], list[str]]:
        def run() -> list[str]:
            plan = plan_purge(
                request_type="Update",
                new=deploy.new,
                old=deploy.old,
                mapping=MAPPING,
                old_mapping=MAPPING,
                full_paths=["/*"],
                max_paths=budget,
            )
            return list(plan.paths)

        return run

    strategies: list[tuple[str, Callable[[], list[str]]]] = [
        ("/*", lambda: ["/*"]),
        ("every changed file", lambda: [encode_url("/" + k) for k in keys()]),
        ("s3deploy fold (8)", lambda: [_encode(p) for p in s3deploy_fold(keys())]),
        (f"ours, {S3DEPLOY_THRESHOLD} paths", ours(S3DEPLOY_THRESHOLD)),
        (f"ours, {DEFAULT_MAX_PATHS} paths (default)", ours(DEFAULT_MAX_PATHS)),
    ]
    results = []
    for name, run in strategies:
        paths, seconds = _timed(run, repeat)
        stale, evicted = judge_encoded(paths, changed, unchanged)
        batches = len(rules.plan_batches(rules.normalize_paths(paths))) if paths else 0
        results.append(Outcome(deploy.name, name, stale, evicted, len(paths), batches, seconds))
    return results


def _encode(raw: str) -> str:
    return encode_url(raw[:-1]) + "*" if raw.endswith("*") else encode_url(raw)


# --- the deploys --------------------------------------------------------------------------

_PAGE = """# {title}

{body}

## Details

{details}
"""


def _write_docs(root: Path, pages: dict[str, str], config: str) -> None:
    for name, text in pages.items():
        path = root / "docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "mkdocs.yml").write_text(config)


def _docs_pages(rng: random.Random, extra_section: bool) -> dict[str, str]:
    words = "cache origin edge purge deploy bucket distribution invalidate path wildcard".split()

    def paragraph(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."

    pages = {"index.md": _PAGE.format(title="Home", body=paragraph(40), details=paragraph(60))}
    sections = {"guide": 12, "reference": 20, "blog": 15}
    if extra_section:
        sections["tutorials"] = 8
    for section, count in sections.items():
        for i in range(count):
            title = f"{section.title()} {i}"
            pages[f"{section}/page-{i:02}.md"] = _PAGE.format(
                title=title, body=paragraph(80), details=paragraph(120)
            )
    return pages


def _mkdocs_config(theme: str) -> str:
    return f"site_name: Purge demo\nsite_url: https://example.com/\ntheme:\n  name: {theme}\n"


def _mkdocs_build(root: Path, out: Path) -> Manifest:
    subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "--clean", "-f",
         str(root / "mkdocs.yml"), "-d", str(out)],
        check=True, capture_output=True, timeout=300,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"},
    )  # fmt: skip
    return build_manifest([out])


def build_mkdocs(
    workdir: Path,
    name: str,
    seed: int,
    *,
    theme: str = "mkdocs",
    section: bool = False,
    edit: bool = False,
) -> Path:
    """The MkDocs site of :func:`mkdocs_deploys` built into ``workdir/NAME-site``; its path
    (section 8, the visitors', deploys it)."""
    pages = _docs_pages(random.Random(seed), extra_section=section)
    if edit:
        pages["reference/page-07.md"] += "\nA corrected sentence in one page.\n"
    root = workdir / name
    _write_docs(root, pages, _mkdocs_config(theme))
    out = workdir / f"{name}-site"
    _mkdocs_build(root, out)
    return out


def mkdocs_deploys(workdir: Path, seed: int) -> list[Deploy]:
    """A real MkDocs site, built at v1 and at three v2s (each from v1)."""

    def build(
        name: str, *, theme: str = "mkdocs", section: bool = False, edit: bool = False
    ) -> Manifest:
        return build_manifest(
            [build_mkdocs(workdir, name, seed, theme=theme, section=section, edit=edit)]
        )

    v1 = build("v1")
    return [
        Deploy("MkDocs: one-page edit", v1, build("edit", edit=True)),
        Deploy("MkDocs: theme change", v1, build("theme", theme="readthedocs")),
        Deploy("MkDocs: new section", v1, build("section", section=True)),
    ]


def _digest(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def generated_site(files: int, seed: int) -> dict[str, str]:
    """A site of about ``files`` files: sections of pages (directory URLs) with hashed
    images, and a build's hashed JS/CSS chunks."""
    rng = random.Random(seed)
    out: dict[str, str] = {"index.html": _digest(rng), "404.html": _digest(rng)}
    sections = max(4, files // 2500)
    pages = int(files * 0.6) // sections
    for s in range(sections):
        out[f"s{s:03}/index.html"] = _digest(rng)
        for p in range(pages):
            out[f"s{s:03}/p{p:04}/index.html"] = _digest(rng)
            if p % 3 == 0:
                out[f"s{s:03}/p{p:04}/fig.{rng.getrandbits(32):08x}.png"] = _digest(rng)
    for i in range(max(0, files - len(out))):
        kind = "js" if i % 4 else "css"
        out[f"assets/{kind}/chunk-{i:05}.{rng.getrandbits(32):08x}.{kind}"] = _digest(rng)
    return out


def generated_release(old: dict[str, str], seed: int) -> dict[str, str]:
    """A content release: a handful of pages edited in one section and a few elsewhere, a
    new section, three rebuilt chunks (new hashed names), the home page updated."""
    rng = random.Random(seed)
    new = dict(old)
    new["index.html"] = _digest(rng)
    pages = sorted(k for k in old if k.count("/") == 2 and k.endswith("/index.html"))
    section = rng.choice(sorted({k.split("/")[0] for k in pages}))
    in_section = [k for k in pages if k.startswith(section + "/")]
    for key in rng.sample(in_section, min(12, len(in_section))):
        new[key] = _digest(rng)
    for key in rng.sample(pages, 5):
        new[key] = _digest(rng)
    for p in range(10):
        new[f"news/n{p:02}/index.html"] = _digest(rng)
    new["news/index.html"] = _digest(rng)
    chunks = sorted(k for k in old if k.startswith("assets/js/"))
    for key in rng.sample(chunks, min(3, len(chunks))):
        del new[key]
        stem = key.rsplit(".", 2)[0]
        new[f"{stem}.{rng.getrandbits(32):08x}.js"] = _digest(rng)
    return new


def generated_deploys(sizes: Sequence[int], seed: int) -> list[Deploy]:
    deploys = []
    for size in sizes:
        old = generated_site(size, seed)
        deploys.append(
            Deploy(
                f"generated, {size:,} files", Manifest(old), Manifest(generated_release(old, seed))
            )
        )
    return deploys


def manifest_seconds(workdir: Path, files: int) -> float:
    """Time to build the manifest of a tree of ``files`` small files written to disk."""
    root = workdir / f"tree-{files}"
    for i in range(files):
        folder = root / f"d{i % 100:02}" / f"e{i % 7}"
        if i < 700:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:06}.html").write_bytes(b"<p>%d</p>" % i * 20)
    started = time.perf_counter()
    manifest = build_manifest([root])
    seconds = time.perf_counter() - started
    assert len(manifest) == files
    return seconds


# --- the section --------------------------------------------------------------------------


def changed_section(options: Options) -> tuple[Section, dict[str, Any]]:
    sizes = (1_000,) if options.quick else (1_000, 10_000, 100_000)
    with tempfile.TemporaryDirectory(prefix="bench-changed-") as tmp:
        work = Path(tmp)
        deploys = [] if options.quick else mkdocs_deploys(work, options.seed)
        deploys += generated_deploys(sizes, options.seed)
        manifest_files = sizes[-1]
        manifest_time = manifest_seconds(work, manifest_files)
    results = [o for d in deploys for o in outcomes(d, repeat=1 if options.quick else 3)]
    curve = budget_curve(deploys)
    return render(deploys, results, curve, manifest_files, manifest_time), {
        "outcomes": [asdict(o) for o in results],
        "budgets": curve,
        "manifest": {"files": manifest_files, "seconds": manifest_time},
    }


def budget_curve(deploys: Sequence[Deploy]) -> list[dict[str, int]]:
    """Our evictions and paths over all deploys, for each budget (to choose the default)."""
    rows = []
    for budget in BUDGETS:
        evicted = kept = paths = 0
        for deploy in deploys:
            plan = plan_purge(
                request_type="Update", new=deploy.new, old=deploy.old, mapping=MAPPING,
                old_mapping=MAPPING, full_paths=["/*"], max_paths=budget,
            )  # fmt: skip
            evicted += plan.evicted or 0
            kept += plan.unchanged_kept or 0
            paths += len(plan.paths)
        rows.append({"budget": budget, "evicted": evicted, "kept": kept, "paths": paths})
    return rows


def goals(results: Sequence[Outcome]) -> list[tuple[bool, str]]:
    by_deploy: dict[str, dict[str, Outcome]] = {}
    for o in results:
        by_deploy.setdefault(o.deploy, {})[o.strategy] = o
    ours_name = f"ours, {S3DEPLOY_THRESHOLD} paths"
    ours = [d[ours_name] for d in by_deploy.values()]
    fold = [d["s3deploy fold (8)"] for d in by_deploy.values()]
    ours_all = [o for o in results if o.strategy.startswith("ours")]
    stale = sum(o.stale for o in ours_all)
    not_worse = sum(o.evicted <= f.evicted for o, f in zip(ours, fold, strict=True))
    fewer = sum(o.evicted < f.evicted for o, f in zip(ours, fold, strict=True))
    biggest = max(_size(o.deploy) for o in ours_all)
    largest = max((o for o in ours_all if _size(o.deploy) == biggest), key=lambda o: o.seconds)
    return [
        (stale == 0, f"zero stale URLs for ours on every deploy: {stale} stale"),
        (
            not_worse == len(ours),
            f"evictions at most s3deploy's on every deploy (same 8-path budget): "
            f"{not_worse} of {len(ours)}",
        ),
        (
            fewer * 2 > len(ours),
            f"fewer evictions than s3deploy on most deploys: {fewer} of {len(ours)}",
        ),
        (
            largest.seconds < SPEED_GOAL_SECONDS,
            f"reduction under {SPEED_GOAL_SECONDS:g} s for the largest tree "
            f"({largest.deploy}): {fmt(largest.seconds, 's')}",
        ),
    ]


def _size(name: str) -> int:
    digits = "".join(ch for ch in name if ch.isdigit())
    return int(digits) if digits else 0


def render(
    deploys: Sequence[Deploy],
    results: Sequence[Outcome],
    curve: Sequence[dict[str, int]],
    manifest_files: int,
    manifest_time: float,
) -> Section:
    table = [
        "| Deploy | Strategy | URLs left stale | Unchanged evicted | Paths billed | Batches "
        "| Reduction time |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for o in results:
        table.append(
            f"| {o.deploy} | {o.strategy} | {o.stale:,} | {o.evicted:,} | {o.paths:,} | "
            f"{o.batches} | {fmt(o.seconds, 's')} |"
        )
    sizes = [
        "",
        "| Deploy | Files before → after | Changed files | Changed URLs | Unchanged URLs |",
        "|---|---:|---:|---:|---:|",
    ]
    for d in deploys:
        diff = diff_manifests(d.old, d.new)
        urls = site_urls(diff, d.new, MAPPING)
        sizes.append(
            f"| {d.name} | {len(d.old):,} → {len(d.new):,} | {len(diff):,} | "
            f"{len(urls.changed):,} | {len(urls.unchanged):,} |"
        )
    budget = [
        "",
        "Our budget against evictions, summed over the deploys above:",
        "",
        "| max_paths | Unchanged evicted | Unchanged kept | Paths billed |",
        "|---:|---:|---:|---:|",
    ]
    for row in curve:
        budget.append(
            f"| {row['budget']} | {row['evicted']:,} | {row['kept']:,} | {row['paths']:,} |"
        )
    notes = [f"{'PASS' if ok else 'MISS'}: {text}" for ok, text in goals(results)] + [
        f"Manifest of {manifest_files:,} files on disk (sha256 of each): "
        f"{fmt(manifest_time, 's')}.",
        "Stale: a changed URL (file, or the directory form /x/ of x/index.html) that no path "
        "covers; a visitor keeps getting the old response until the TTL expires. Evicted: a "
        "URL of the new site whose content did not change but a path covers it (a cache miss "
        "for its next visitor).",
        "s3deploy purges /x/ for x/index.html but not /x/index.html itself; 'every changed "
        "file' purges /x/index.html but not /x/: both leave those URLs stale.",
        "Reduction time: from the two manifests to the list of paths (diff, URL mapping, "
        "cover), best of 3.",
    ]
    return Section(
        "7. Purge only what changed: paths per deploy",
        extra=[*table, *sizes, *budget],
        notes=notes,
    )
