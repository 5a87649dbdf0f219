"""A local CloudFront that behaves like the real one where invalidations are concerned.

One concern per module: :mod:`.model` (invalidations, item rules, limits), :mod:`.edge`
(the POPs that cache and serve the distributions' S3 content), :mod:`.wire`
(XML in and out), :mod:`.errors` (CloudFront's error answers), :mod:`.rates` (the
account's request rates), :mod:`.faults` (failures on demand), :mod:`.server` (the HTTP
server over moto) and :mod:`.cli` (``python -m localcloud.cloudfront --port 4566
--invalidation-seconds 30`` to point the AWS CLI or a script at one by hand).
"""

from localcloud.cloudfront.cli import main
from localcloud.cloudfront.edge import LEGACY, TODAY, Edge, TimingProfile, s3_site_config
from localcloud.cloudfront.errors import ERROR_DEFAULTS, CloudFrontError
from localcloud.cloudfront.faults import OPERATIONS, FaultInjector
from localcloud.cloudfront.model import InvalidationRecord
from localcloud.cloudfront.server import DistributionTenant, LocalCloudFront

__all__ = [
    "ERROR_DEFAULTS",
    "LEGACY",
    "OPERATIONS",
    "TODAY",
    "CloudFrontError",
    "DistributionTenant",
    "Edge",
    "FaultInjector",
    "InvalidationRecord",
    "LocalCloudFront",
    "TimingProfile",
    "main",
    "s3_site_config",
]
