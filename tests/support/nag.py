"""cdk-nag's AwsSolutions findings of an app, and the acknowledgements a stack carries."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks


def nag_violations(app: cdk.App, outdir: Path) -> list[str]:
    """Synthesize with AwsSolutionsChecks as a validation plugin; its unacknowledged findings."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    try:
        app.synth()
    except RuntimeError as exc:
        assert "ValidationFailed" in str(exc)
    report = json.loads((outdir / "validation-report.json").read_text())
    return [
        f"{violation['ruleName']} ({violation['severity']}) at {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


def acknowledgements(scope: cdk.Stack) -> dict[str, str]:
    """Every acknowledged rule in the stack, path/rule -> reason."""
    found: dict[str, str] = {}
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule, reason in entry.data.items():
                    found[f"{construct.node.path} {rule}"] = reason
    return found
