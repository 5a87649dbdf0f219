"""A function's LoggingConfig, read from the template into what the local Lambda runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localcloud.awslambda.model import LambdaFunction
from localcloud.cloudformation.assembly import AssemblyError, find_custom_resources, load_assembly
from tests.support.assembly import cr, function_resource, write_assembly


def provider_of(tmp_path: Path, **props: Any) -> LambdaFunction:
    fn = function_resource(Code={"ZipFile": "def main(e, c):\n    return 1\n"}, **props)
    template = {"Resources": {"Fn": fn, "Purge": cr({"Fn::GetAtt": ["Fn", "Arn"]})}}
    stack = load_assembly(write_assembly(tmp_path / "cdk.out", template))[0]
    return find_custom_resources(stack)[0].provider


def test_logging_config_is_read_from_the_template(tmp_path: Path) -> None:
    config = {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"}
    fn = provider_of(tmp_path, LoggingConfig=config)
    assert (fn.log_format, fn.application_log_level, fn.system_log_level) == (
        "JSON",
        "INFO",
        "WARN",
    )


def test_no_logging_config_is_lambdas_text_format(tmp_path: Path) -> None:
    fn = provider_of(tmp_path)
    assert (fn.log_format, fn.application_log_level, fn.system_log_level) == ("Text", None, None)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"LogFormat": {"Ref": "Format"}}, "LoggingConfig.LogFormat must be a literal string"),
        ({"ApplicationLogLevel": "DEBUG"}, "ApplicationLogLevel needs LogFormat JSON"),
        ({"LogFormat": "XML"}, "LogFormat 'XML' must be one of Text, JSON"),
    ],
)
def test_logging_config_lambda_would_refuse_is_named(
    tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(AssemblyError, match=message):
        provider_of(tmp_path, LoggingConfig=config)
