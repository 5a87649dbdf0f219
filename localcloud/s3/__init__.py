"""S3 is moto's; this package puts IAM in front of it (``authorizer.py``) and adds the faults a
deploy meets on top of it (``faults.py``)."""
