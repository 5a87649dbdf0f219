"""Helpers the test tiers share: fake clients and clocks, local CloudFront set-ups."""
