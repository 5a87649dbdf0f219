"""README.md and the user guides in docs/ stay true: their code examples are excerpts of
files the tests synthesize or lint, and the README's tables name every prop, property and
attribute the code has."""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

import pytest

from cdk_cloudfront_invalidation import CloudFrontInvalidation, CloudFrontInvalidationProvider
from cloudfront_purge.function.responder import response_data
from cloudfront_purge.model import prune, rules

ROOT = Path(__file__).resolve().parents[2]
USAGE = ROOT / "README.md"
#: The user guides beside the README whose examples must be excerpts too, in reading order.
GUIDES = [ROOT / "docs" / "changed-only.md", ROOT / "docs" / "tags-and-tenants.md"]
DESIGN = ROOT / "docs" / "design.md"
#: Where examples may come from: each is synthesized or linted by tests/unit.
SOURCES = {
    "python": [
        ROOT / "app.py",
        ROOT / "examples" / "shared_provider_app.py",
        ROOT / "examples" / "tags_and_tenants_app.py",
        ROOT / "examples" / "changed_only_app.py",
        ROOT / "examples" / "safe_site_app.py",
    ],
    "yaml": [ROOT / "examples" / "raw-cloudformation.yaml"],
}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def text() -> str:
    return USAGE.read_text()


def blocks() -> list[tuple[str, str]]:
    """The Python and YAML examples (shell commands and diagrams are not excerpts)."""
    texts = [text(), *(guide.read_text() for guide in GUIDES)]
    return [(lang, body) for page in texts for lang, body in FENCE.findall(page) if lang in SOURCES]


def is_excerpt(block: str, source: Path) -> bool:
    """The block's lines appear in the file consecutively, up to a common indentation."""
    wanted = block.rstrip("\n").splitlines()
    lines = source.read_text().splitlines()
    for start in range(len(lines) - len(wanted) + 1):
        window = "\n".join(lines[start : start + len(wanted)])
        if textwrap.dedent(window) == "\n".join(wanted):
            return True
    return False


def table_names(heading: str) -> set[str]:
    """The backquoted first cell of every row of the table under ``heading``."""
    section = text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Za-z_]+)(?:\([^)]*\))?` \|", section, re.MULTILINE))


#: The safe set-up (a whole app), the three uses (the third is YAML), then changed-only purges, the cache-tag recipe and the
#: tenant example.
BLOCK_ORDER = ["python"] * 5 + ["yaml"] + ["python"] * 3


def test_there_are_examples_for_all_three_uses() -> None:
    assert [lang for lang, _ in blocks()] == BLOCK_ORDER


@pytest.mark.parametrize(("index", "block"), list(enumerate(b for _, b in blocks())))
def test_every_example_is_an_excerpt_of_a_tested_file(index: int, block: str) -> None:
    lang = blocks()[index][0]
    assert any(is_excerpt(block, source) for source in SOURCES[lang]), (
        f"example {index + 1} ({lang}) is not in {[s.name for s in SOURCES[lang]]}:\n{block}"
    )


def test_property_table_names_every_property() -> None:
    assert table_names("Resource properties (raw CloudFormation)") == (
        rules.KNOWN_PROPS | rules.CLOUDFORMATION_PROPS
    )


def test_attribute_table_names_every_attribute() -> None:
    many = [f"I{n:013d}" for n in range(400)]  # enough ids to be cut to fit 4 KB
    truncated = response_data(
        invalidation_ids=many, caller_references=["r"] * 400, status="Completed",
        distribution_ids=["E1"], path_count=1,
    )  # fmt: skip
    assert truncated["InvalidationIdsTruncated"] == "true"
    # Pruning resources (PruneBucket) and OnTimeout add theirs (docs/retention.md).
    assert table_names("Resource attributes") == set(truncated) | set(prune.ATTRIBUTES) | {
        prune.ATTR_WARNING
    }


def test_construct_table_names_every_prop() -> None:
    parameters = inspect.signature(CloudFrontInvalidation.__init__).parameters
    props = {name for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert table_names("Construct props and attributes") == props


def test_provider_table_names_every_public_member() -> None:
    public = {
        name
        for name in vars(CloudFrontInvalidationProvider)
        if not name.startswith("_")
    }
    documented = set(re.findall(r"^\| `([a-z_]+)", text(), re.MULTILINE))
    assert public <= documented
    assert {"function", "role", "log_group"} <= documented


def test_callerreference_is_as_described() -> None:
    batch = rules.plan_batches(["/*"])[0]
    reference = rules.caller_reference(
        source_hash="77981eace0b5272c74a41decf68fca91293160a57a8f3f127e3e8848124caacf",
        request_id="r1", distribution_id="E1", batch=batch,
    )  # fmt: skip
    assert re.fullmatch(r"77981eace0b5-[0-9a-f]{24}", reference)
    example = re.search(r"For example\s+`([^`]+)`", DESIGN.read_text())
    assert example is not None
    assert re.fullmatch(r"[A-Za-z0-9]{12}-[0-9a-f]{24}", example.group(1))


def test_the_quick_start_says_how_to_import_the_construct() -> None:
    quick = text().split("## Quick start in your CDK app\n", 1)[1].split("\n## ", 1)[0]
    line = "from cdk_cloudfront_invalidation import SafeSiteDeployment"
    assert f"`{line}`" in quick
    exec(line, {})  # the line a user copies works
    assert "SITE_DIR" in quick and "distribution" in quick
    assert "one provider function" not in text()
