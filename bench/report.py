"""Tables, the machine description and the plot.

The table rows carry numbers, not text, so the smoke test can check a rendered table
against known inputs.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.stats import Goal, ratio

PLOT_FLOOR_SECONDS = 0.05
HEADER = (
    "| Metric | Ours | Baseline | Ours ÷ baseline | Goal | Ours ÷ goal | Result |",
    "|---|---:|---:|---:|---|---:|---|",
)


@dataclass(frozen=True)
class Row:
    """One figure, its baseline and its goal. ``None`` means not applicable."""

    metric: str
    ours: float | None
    baseline: float | None = None
    unit: str = ""
    goal: Goal | None = None
    ours_text: str | None = None
    baseline_text: str | None = None

    @property
    def verdict(self) -> str:
        if self.goal is None or self.ours is None:
            return ""
        return "PASS" if self.goal.met(self.ours) else "FAIL"


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Markdown lines shown between the table and the notes (e.g. a second, free-form table).
    extra: list[str] = field(default_factory=list)


def fmt(value: float | None, unit: str = "") -> str:
    """A number for a table cell: about three significant figures, then the unit."""
    if value is None:
        return "—"
    if (
        unit in ("", "calls", "batches", "invalidations", "functions", "resources")
        and float(value).is_integer()
    ):
        text = f"{int(value):,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    elif value == 0:
        text = "0"
    elif abs(value) >= 0.01:
        text = f"{value:.3f}"
    else:
        text = f"{value:.2g}"
    return f"{text} {unit}".rstrip() if unit else text


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}x"
    if value >= 10:
        return f"{value:.1f}x"
    if 0 < value < 0.01:
        return f"{value:.2g}x"
    return f"{value:.2f}x"


def render_row(row: Row) -> str:
    ours = row.ours_text if row.ours_text is not None else fmt(row.ours, row.unit)
    base = row.baseline_text if row.baseline_text is not None else fmt(row.baseline, row.unit)
    vs_goal = (
        fmt_ratio(row.goal.ratio(row.ours)) if row.goal is not None and row.ours is not None else ""
    )
    cells = [
        row.metric,
        ours,
        base,
        fmt_ratio(ratio(row.ours, row.baseline)),
        row.goal.text if row.goal is not None else "",
        vs_goal,
        row.verdict,
    ]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def render_section(section: Section) -> str:
    lines = [f"## {section.title}", ""]
    if section.rows:
        lines += [*HEADER, *(render_row(r) for r in section.rows)]
    if section.extra:
        lines += ["", *section.extra] if section.rows else section.extra
    if section.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in section.notes)
    return "\n".join(lines) + "\n"


def goal_lines(sections: Iterable[Section]) -> list[str]:
    """One line per goal, for the summary at the top."""
    out: list[str] = []
    for section in sections:
        for row in section.rows:
            if row.goal is None or row.ours is None:
                continue
            out.append(
                f"- {row.verdict}: {section.title.split(':')[0].split(' (')[0]} / {row.metric}: "
                f"{fmt(row.ours, row.unit)} vs goal {row.goal.text} "
                f"({fmt_ratio(row.goal.ratio(row.ours))} of the limit)"
            )
    return out


def machine() -> dict[str, str]:
    """nproc, the CPU model from /proc/cpuinfo, Python, OS."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 0
    return {
        "nproc": str(cpus),
        "cpu": model,
        "python": sys.version.split()[0],
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
    }


def render_document(
    *,
    title: str,
    sections: Sequence[Section],
    preamble: Sequence[str],
    epilogue: Sequence[str] = (),
) -> str:
    parts = [f"# {title}", "", *preamble, ""]
    goals = goal_lines(sections)
    if goals:
        parts += ["**Goals**", "", *goals, ""]
    parts += [render_section(s) for s in sections]
    if epilogue:
        parts += ["", *epilogue, ""]
    return "\n".join(parts).rstrip() + "\n"


@dataclass(frozen=True)
class Series:
    """One strategy's points for the plot: (unscaled duration s, overhead s)."""

    label: str
    durations: Sequence[float]
    overheads: Sequence[float]
    marker: str = "o"


def plot_overhead(path: Path, series: Sequence[Series], goals: Sequence[tuple[float, str]]) -> None:
    """Overhead against duration (left) and the overhead's cumulative distribution (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for s in series:
        # Log axes: an overhead of exactly 0 (a simulated poll landing on Completed) is
        # drawn at the floor.
        shown = [max(v, PLOT_FLOOR_SECONDS) for v in s.overheads]
        left.scatter(s.durations, shown, s=14, marker=s.marker, label=s.label, alpha=0.75)
        ordered = sorted(shown)
        n = len(ordered)
        right.step(ordered, [(i + 1) / n for i in range(n)], where="post", label=s.label)
    for value, text in goals:
        left.axhline(value, linestyle="--", linewidth=0.8, color="grey")
        left.text(4.2, value * 1.08, text, fontsize=7, color="grey")
        right.axvline(value, linestyle="--", linewidth=0.8, color="grey")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_ylim(bottom=PLOT_FLOOR_SECONDS)
    left.set_xlabel("invalidation duration (s, unscaled)")
    left.set_ylabel("Completed → SUCCESS at ResponseURL (s, unscaled)")
    left.set_title("Signal overhead per invalidation")
    left.legend(fontsize=8)
    right.set_xscale("log")
    right.set_xlim(left=PLOT_FLOOR_SECONDS)
    right.set_xlabel("overhead (s, unscaled)")
    right.set_ylabel("share of invalidations")
    right.set_title("Cumulative distribution")
    right.grid(True, which="both", linewidth=0.3)
    right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


_EPILOGUE_HEADING = "## What is faithful and what is simulated"


def _title_key(title: str) -> str:
    """How a goal line names its section (see :func:`goal_lines`)."""
    return title.split(":")[0].split(" (")[0]


def splice_sections(document: str, sections: Sequence[Section], stamp: str = "") -> str:
    """``document`` (a rendered report) with each of ``sections`` replacing the section of
    the same title (or added before the epilogue), and their goal lines replacing theirs.

    A section is known by its heading's number and name (``## 8. Visitors``), so a
    section whose title has changed in its details still replaces the old one.
    ``stamp`` (a line) is added to each spliced section's notes: when and how it ran.
    """
    lines = document.rstrip("\n").split("\n")
    for section in sections:
        key = _title_key(section.title)
        rendered = render_section(section).rstrip("\n").split("\n")
        if stamp:
            rendered += ([] if section.notes else [""]) + [f"- {stamp}"]
        start = next(
            (i for i, line in enumerate(lines)
             if line.startswith("## ") and _title_key(line[3:]) == key),
            None,
        )  # fmt: skip
        if start is None:
            end = start = next(
                (i for i, line in enumerate(lines) if line == _EPILOGUE_HEADING), len(lines)
            )
            rendered.append("")
            if start > 0 and lines[start - 1] != "":
                rendered.insert(0, "")
        else:
            end = next(
                (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                len(lines),
            )
            if end < len(lines):
                rendered.append("")
        lines[start:end] = rendered
        # The goal summary at the top (between **Goals** and the first section): this
        # section's lines replaced.
        first = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
        top = next((i for i, line in enumerate(lines[:first]) if line == "**Goals**"), None)
        prefixes = (f"- PASS: {key} / ", f"- FAIL: {key} / ")
        if top is not None:
            block = [line for line in lines[top:first] if not line.startswith(prefixes)]
            lines[top:first] = block
            first = top + len(block)
        new_goals = goal_lines([section])
        if not new_goals:
            continue
        if top is None:
            lines[first:first] = ["**Goals**", "", *new_goals, ""]
            continue
        goals = [i for i in range(top, first) if lines[i].startswith(("- PASS: ", "- FAIL: "))]
        at = goals[-1] + 1 if goals else top + 2
        lines[at:at] = new_goals
    return "\n".join(lines) + "\n"
