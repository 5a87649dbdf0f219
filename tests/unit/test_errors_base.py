"""One base class: ``except CloudFrontPurgeError`` catches every error the package raises."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import cloudfront_purge
from cloudfront_purge.model.errors import CloudFrontPurgeError


def test_every_exception_the_package_defines_derives_from_the_one_base() -> None:
    defined = []
    for info in pkgutil.walk_packages(cloudfront_purge.__path__, "cloudfront_purge."):
        module = importlib.import_module(info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, BaseException):
                defined.append(cls)
    assert len(defined) >= 6  # RuleError, ManifestError, PurgeError and its children
    assert [c.__name__ for c in defined if not issubclass(c, CloudFrontPurgeError)] == []
