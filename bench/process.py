"""What every benchmark process sets up first: the environment and quiet logs.

``python -m bench`` and the visitors section's worker processes both call these.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

__all__ = ["environment", "quiet_logs"]


def environment() -> None:
    """Dummy credentials and a region (nothing here may reach AWS); Node 24 for jsii."""
    os.environ.update(
        {
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)
    venv_bin = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(venv_bin):
        os.environ["PATH"] = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


def quiet_logs() -> None:
    """The handler module sets up crhelper's JSON logging at INFO on import: keep warnings."""
    from cloudfront_purge.resource import handler  # noqa: F401 - imported for its logging set-up

    logging.getLogger().setLevel(logging.WARNING)
    for name in ("cloudfront_purge", "crhelper", "botocore", "urllib3", "werkzeug"):
        logging.getLogger(name).setLevel(logging.WARNING)
