"""Fixtures shared by the local CloudFront's functional tests.

A test module that needs another set-up (a different invalidation time, another
server) defines a fixture of the same name, which pytest prefers to these.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.cloudfront import LocalCloudFront
from tests.functional.localcloud_cloudfront_support import SHORT


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
