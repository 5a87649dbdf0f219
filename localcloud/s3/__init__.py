"""S3 is moto's; this package adds the faults a deploy meets on top of it."""
