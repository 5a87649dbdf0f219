"""``python -m localcloud.cloudfront --port 4566``: see :func:`localcloud.cloudfront.cli.main`."""

from localcloud.cloudfront.cli import main

raise SystemExit(main())
