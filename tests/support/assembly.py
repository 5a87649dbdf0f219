"""Hand-written cloud assemblies for the local CloudFormation's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_assembly(root: Path, template: dict[str, Any], **stack_props: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Stack.template.json").write_text(json.dumps(template))
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Stack": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Stack.template.json", **stack_props},
            }
        },
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def function_resource(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "app.main", **props}}


def cr(token: Any) -> dict[str, Any]:
    return {"Type": "Custom::CloudFrontInvalidation", "Properties": {"ServiceToken": token}}
