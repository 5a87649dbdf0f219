"""The prune's properties as the handler and the construct parse them (model/prune.py)."""

from __future__ import annotations

import pytest

from cloudfront_purge.model import prune, rules


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"PruneBucket": "site"}, "PruneBucket needs OnlyChanged"),
        ({"PruneBucket": "site", "OnlyChanged": "true", "WaitForCompletion": "false"},
         "PruneBucket needs WaitForCompletion"),
        ({"PruneBucket": "Not_A_Bucket", "OnlyChanged": "true"}, "PruneBucket must be an S3"),
        ({"PruneBucket": "site", "OnlyChanged": "true", "PruneKeyPrefix": "/site"},
         "must not start with '/'"),
        ({"PruneBucket": "site", "OnlyChanged": "true", "KeepReplacedSeconds": "1.5"},
         "KeepReplacedSeconds must be whole seconds"),
    ],
)
def test_prune_properties_are_checked_and_named(props: dict[str, str], message: str) -> None:
    with pytest.raises(rules.RuleError, match=message):
        prune.parse_prune(props)


def test_prune_properties_defaults_and_prefix_forms() -> None:
    spec = prune.parse_prune({"PruneBucket": "site", "OnlyChanged": "true"})
    assert spec == prune.PruneSpec("site", "", prune.DEFAULT_KEEP_REPLACED_SECONDS)
    assert prune.normalize_prefix("site") == prune.normalize_prefix("site/") == "site/"
    assert spec.state_key("stack|Purge").startswith(".cloudfront-purge/prune-state-")
    assert prune.parse_on_timeout({}) == "fail"
    assert prune.parse_prune({"PruneBucket": "", "PruneKeyPrefix": "x/"}) is None
    with pytest.raises(rules.RuleError, match="OnTimeout must be 'fail' or 'succeed'"):
        prune.parse_on_timeout({"OnTimeout": "ignore"})
