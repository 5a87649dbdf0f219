"""The ``cloudfront-invalidate`` command line; it never ships in the Lambda asset."""
