"""The local demo's path end to end: app.py's handler, in a fresh Lambda-like process, driven through
CloudFormation's protocol against the local CloudFront."""

from __future__ import annotations

import json

from cloudfront_purge import __version__
from localcloud.demo import check, main, summary_table
from localcloud.scenarios import SCENARIOS, Story


def test_first_deploy_purges_once_and_answers_after_completed(story: Story) -> None:
    (outcome,) = SCENARIOS["first-deploy"](story)
    assert outcome.status == "SUCCESS" and not outcome.violations
    (record,) = outcome.invalidations
    assert outcome.answered_at is not None and outcome.answered_at >= record.completes_at
    assert outcome.data["InvalidationId"] == record.id
    # The reference starts with the content hash the construct put in the template.
    assert record.caller_reference.startswith(story.template_hash()[:12])


def test_content_change_revert_and_rollback_each_purge(story: Story) -> None:
    outcomes = SCENARIOS["content-change"](story) + SCENARIOS["revert"](story) + SCENARIOS["rollback"](story)
    updates = [o for o in outcomes if o.request_type == "Update"]
    assert len(updates) == 5  # change, A->B, B->A, the failing update, its rollback
    assert all(o.status == "SUCCESS" and len(o.invalidations) == 1 for o in updates)
    assert len({o.invalidations[0].caller_reference for o in updates}) == 5
    # The rollback purged the content it went back to.
    assert updates[-1].step.endswith("(rollback)")
    assert check(outcomes) == []


def test_redelivered_event_after_a_crash_makes_no_second_invalidation(story: Story) -> None:
    outcomes = SCENARIOS["redelivery"](story)
    (outcome,) = [o for o in outcomes if o.step.startswith("Lambda dies")]
    assert outcome.legs == 2 and outcome.status == "SUCCESS"
    (record,) = outcome.invalidations
    # The killed leg made it; the re-delivered event found it rather than making another.
    killed, redelivered = story.stack.lambda_.invocations[-outcome.legs :]
    assert killed.returncode is not None and killed.returncode < 0
    assert killed.started_at <= record.create_time < redelivered.started_at


def test_wait_longer_than_one_invocation_hands_off_and_succeeds(story: Story) -> None:
    outcomes = SCENARIOS["long-wait"](story)
    outcome = outcomes[-1]
    assert outcome.status == "SUCCESS", outcome.reason
    assert outcome.legs >= 2
    assert len(outcome.invalidations) == 1
    assert "handed_off" in outcome.logs
    assert outcome.answered_at is not None and outcome.answered_at >= outcome.invalidations[0].completes_at
    # The hand-off's self-invocation, decided from the deployed role's policies.
    (provider,) = {r.function.name for r in story.stack.resources.values()}
    invokes = {(resource, decision) for _key, action, resource, decision
               in story.stack.cloud.iam.decisions if action == "lambda:InvokeFunction"}
    assert invokes == {(story.stack.lambda_.arn(provider), "Allowed")}


def test_timeout_fails_naming_invalidation_and_status_before_cloudformation_gives_up(story: Story) -> None:
    story.ensure_created()
    # Far longer than the 2 s timeout, even with a busy machine's delays, and still short:
    # the rollback that follows waits for its own invalidation of the same length.
    story.stack.cloud.set_invalidation_seconds(10)
    try:
        outcomes = story.stack.deploy("too slow", overrides={"SourceHash": story.new_hash(), "TimeoutSeconds": "2"})
    finally:
        story.stack.cloud.set_invalidation_seconds(story.invalidation_seconds)
        story.stack.cloud.complete_now()
    failed = outcomes[0]
    assert failed.status == "FAILED"
    (record,) = failed.invalidations
    assert f"{record.id} InProgress" in failed.reason and "timed out after 2 s" in failed.reason
    # Answered at its own timeout, long before the invalidation (and CloudFormation) would end.
    assert failed.answered_at is not None and failed.answered_at < record.completes_at
    # CloudFormation rolls back with the old properties, which purges the old content again.
    assert outcomes[1].step.endswith("(rollback)") and outcomes[1].status == "SUCCESS"


def test_delete_answers_at_once_and_purges_nothing(story: Story) -> None:
    outcomes = SCENARIOS["delete"](story)
    delete = outcomes[-1]
    assert delete.request_type == "Delete" and delete.status == "SUCCESS"
    assert delete.invalidations == []
    # crhelper's default sleep_on_delete would hold the answer 120 s (the function has 15
    # minutes); a bound far above any machine's load still tells.
    assert delete.seconds_to_answer is not None and delete.seconds_to_answer < 60


def test_response_url_and_secrets_never_reach_the_handler_logs(story: Story) -> None:
    outcomes = SCENARIOS["content-change"](story)
    logs = "\n".join(o.logs for o in story.stack.outcomes)
    assert logs  # the handler did log
    for url in story.stack.responses.urls():
        assert url.split("?")[0] not in logs
    assert "X-Amz-Signature" not in logs and "AWS_SECRET_ACCESS_KEY" not in logs
    assert outcomes[-1].status == "SUCCESS"


def test_every_cold_start_logs_the_version_the_asset_was_built_from(story: Story) -> None:
    """The local Lambda starts a fresh process per invocation, so each leg is a cold start:
    its first record, in Lambda's JSON format, names the version (docs/troubleshooting.md)."""
    outcome = SCENARIOS["content-change"](story)[-1]
    assert outcome.status == "SUCCESS", outcome.reason
    records = [json.loads(line) for line in outcome.logs.splitlines() if line[:1] == "{"]
    starts = [r for r in records if r.get("message") == "cold_start"]
    assert len(starts) == outcome.legs, outcome.logs
    for record in starts:
        assert record["version"] == __version__
        # Written by the handler module (whichever folder holds it), once it has loaded.
        assert record["level"] == "INFO" and record["logger"].endswith(".handler")


def test_summary_table_lists_every_request(story: Story) -> None:
    table = summary_table(story.stack.outcomes)
    assert table.count("\n") == len(story.stack.outcomes) + 1
    assert "to SUCCESS" in table and "CallerReference" in table


def test_demo_command_runs_selected_scenarios(app_assembly, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["--cdk-out", str(app_assembly), "--scenario", "first-deploy", "--scenario", "delete",
                 "--invalidation-seconds", "0.5"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "first deploy" in out and "problems: 0" in out and "waiting on" in out
    # The Delete waits for an answer, not on "no invalidation yet".
    deletes = [line for line in out.splitlines() if "Delete delete:" in line]
    assert deletes and all("waiting for the answer (a Delete purges nothing)" in d for d in deletes)
    assert "no invalidation yet" not in out
    # Light traffic around the step: the first content is there before any visitor comes.
    line = next(x for x in out.splitlines() if x.startswith("  visitors [first deploy]:"))
    assert "content v1;" in line and " 0 broken, 0 stale after SUCCESS" in line, line
    assert int(line.split("; ")[1].split()[0]) > 0, line  # page loads


def test_no_answer_fails_the_request_at_the_service_timeout(story: Story) -> None:
    """CloudFormation's rule, as the driver applies it: a Lambda that dies and is not retried
    leaves the request to its ServiceTimeout (the construct sets it to timeout + 2 min)."""
    story.ensure_created()
    stack = story.stack
    stack.service_timeout_override = 3.0
    stack.cloud.set_invalidation_seconds(30)
    try:
        outcomes = stack.deploy("Lambda dies, never retried", overrides={"SourceHash": story.new_hash()},
                                kill_first_invocation_after=0.5, redeliver=False)
    finally:
        stack.service_timeout_override = 60
        stack.cloud.set_invalidation_seconds(story.invalidation_seconds)
        stack.cloud.complete_now()
    lost = outcomes[0]
    assert lost.status == "TIMED_OUT" and "ServiceTimeout (3 s)" in lost.reason
    assert lost.answered_at is None and lost.legs == 1
    # CloudFormation then rolls back (its 30 s invalidation outlasts the 3 s limit too).
    assert outcomes[1].step.endswith("(rollback)")
