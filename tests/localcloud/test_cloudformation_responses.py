"""The local ResponseURL server: HTTPS, one URL per request, CloudFormation's checks."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.cloudformation.responses import ResponseServer


@pytest.fixture(scope="module")
def server() -> Iterator[ResponseServer]:
    with ResponseServer() as srv:
        yield srv


def make_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": "Create",
        "RequestId": str(uuid.uuid4()),
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/1111",
        "LogicalResourceId": "Purge",
        "ResourceType": "Custom::CloudFrontInvalidation",
    }
    event.update(overrides)
    return event


def body_for(event: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Status": "SUCCESS",
        "PhysicalResourceId": "purge-1",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {"InvalidationId": "I123"},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def put(server: ResponseServer, url: str, body: bytes | str) -> int:
    """PUT the way crhelper does: HTTPSConnection, default SSL context, empty content-type."""
    raw = body.encode() if isinstance(body, str) else body
    split = urllib.parse.urlsplit(url)
    context = ssl.create_default_context(cafile=str(server.cert_path))
    conn = http.client.HTTPSConnection(split.netloc, context=context, timeout=10)
    try:
        conn.request(
            "PUT",
            urllib.parse.urlunsplit(("", "", split.path, split.query, "")),
            body=raw,
            headers={"content-type": "", "content-length": str(len(raw))},
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_valid_response_is_answered_200_and_recorded(server: ResponseServer) -> None:
    event = make_event()
    url = server.new_url(event)
    assert url.startswith(f"https://127.0.0.1:{server.port}/cfn-response/")
    assert "X-Amz-Signature=" in url
    before = time.time()

    assert put(server, url, json.dumps(body_for(event))) == 200

    resp = server.wait(event["RequestId"], timeout=5)
    assert resp is not None
    assert resp.violations == []
    assert resp.ok
    assert resp.status == "SUCCESS"
    assert resp.physical_resource_id == "purge-1"
    assert resp.data == {"InvalidationId": "I123"}
    assert resp.reason is None
    assert resp.put_count == 1
    assert before <= resp.arrived_at <= time.time()
    assert json.loads(resp.raw)["RequestId"] == event["RequestId"]
    # The URL and the RequestId name the same response.
    assert server.wait(url, timeout=0) == resp


def test_each_request_gets_its_own_url(server: ResponseServer) -> None:
    a, b = make_event(), make_event()
    url_a, url_b = server.new_url(a), server.new_url(b)
    assert url_a != url_b
    assert put(server, url_b, json.dumps(body_for(b))) == 200
    assert server.response(a["RequestId"]) is None
    assert server.response(b["RequestId"]) is not None
    with pytest.raises(ValueError, match="already"):
        server.new_url(a)


def test_wait_blocks_until_the_put_arrives(server: ResponseServer) -> None:
    event = make_event()
    url = server.new_url(event)
    sender = threading.Thread(target=put, args=(server, url, json.dumps(body_for(event))))
    sender.start()
    resp = server.wait(url, timeout=10)
    sender.join(5)
    assert resp is not None and resp.status == "SUCCESS"


def test_wait_gives_up_after_its_timeout(server: ResponseServer) -> None:
    event = make_event()
    server.new_url(event)
    started = time.monotonic()
    assert server.wait(event["RequestId"], timeout=0.3) is None
    # Gave up (rather than waiting on for an answer that never comes) once its time was up.
    assert 0.3 <= time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda e: json.dumps(body_for(e, Status="FAILED")), "Reason is required"),
        (lambda e: json.dumps(body_for(e, Status="OK")), "Status must be SUCCESS or FAILED"),
        (lambda e: json.dumps(body_for(e, PhysicalResourceId="")), "PhysicalResourceId"),
        (lambda e: json.dumps(body_for(e, PhysicalResourceId=None)), "PhysicalResourceId"),
        (lambda e: json.dumps(body_for(e, PhysicalResourceId="p" * 1025)), "1024-byte"),
        (lambda e: json.dumps(body_for(e, RequestId="someone-else")), "RequestId does not match"),
        (lambda e: json.dumps(body_for(e, StackId="arn:other")), "StackId does not match"),
        (lambda e: json.dumps(body_for(e, LogicalResourceId="X")), "LogicalResourceId"),
        (lambda e: json.dumps(body_for(e, Data=["a"])), "Data must be a JSON object"),
        (lambda e: json.dumps(body_for(e, Data={"Big": "x" * 5000})), "4096-byte limit"),
        (lambda e: "{not json", "not valid JSON"),
        (lambda e: "[1, 2]", "not an object"),
    ],
    ids=[
        "failed-without-reason",
        "bad-status",
        "empty-physical-id",
        "missing-physical-id",
        "physical-id-too-long",
        "wrong-request-id",
        "wrong-stack-id",
        "wrong-logical-id",
        "data-not-object",
        "body-too-large",
        "not-json",
        "json-array",
    ],
)
def test_cloudformation_rules_are_checked(
    server: ResponseServer, mutate: Any, expected: str
) -> None:
    event = make_event()
    url = server.new_url(event)
    # S3 accepts any well-signed PUT; CloudFormation judges the body afterwards.
    assert put(server, url, mutate(event)) == 200
    resp = server.wait(url, timeout=5)
    assert resp is not None
    assert not resp.ok
    assert any(expected in v for v in resp.violations), resp.violations


def test_failed_with_reason_is_valid(server: ResponseServer) -> None:
    event = make_event()
    url = server.new_url(event)
    put(server, url, json.dumps(body_for(event, Status="FAILED", Reason="AccessDenied", Data=None)))
    resp = server.wait(url, timeout=5)
    assert resp is not None and resp.violations == []
    assert (resp.status, resp.reason, resp.data) == ("FAILED", "AccessDenied", None)


def test_a_second_response_is_a_violation_and_the_first_one_counts(
    server: ResponseServer,
) -> None:
    event = make_event()
    url = server.new_url(event)
    assert put(server, url, json.dumps(body_for(event, PhysicalResourceId="first"))) == 200
    assert put(server, url, json.dumps(body_for(event, PhysicalResourceId="second"))) == 200
    resp = server.response(url)
    assert resp is not None
    assert resp.physical_resource_id == "first"
    assert resp.put_count == 2
    assert len(resp.violations) == 1 and resp.violations[0].startswith("responded twice")


def test_injected_failures_are_answered_and_counted(server: ResponseServer) -> None:
    event = make_event()
    url = server.new_url(event, fail_first=2, fail_status=503)
    body = json.dumps(body_for(event))
    assert [put(server, url, body) for _ in range(3)] == [503, 503, 200]
    resp = server.wait(url, timeout=5)
    assert resp is not None and resp.ok
    assert resp.put_count == 3 == server.put_count(url)
    assert [a.http_status for a in server.attempts(url)] == [503, 503, 200]
    # A failed PUT is not a response: CloudFormation never saw it.
    assert resp.arrived_at == server.attempts(url)[2].arrived_at


def test_forged_or_unknown_urls_are_refused(server: ResponseServer) -> None:
    event = make_event()
    url = server.new_url(event)
    forged = url.split("X-Amz-Signature=")[0] + "X-Amz-Signature=" + "0" * 64
    body = json.dumps(body_for(event))
    assert put(server, forged, body) == 403
    unknown = f"{server.base_url}/cfn-response/nope?X-Amz-Signature=abc"
    assert put(server, unknown, body) == 403
    assert server.response(url) is None
    assert [a.http_status for a in server.attempts(url)] == [403]


def _put_from_isolated_process(
    server: ResponseServer, url: str, body: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    script = (
        "import http.client, ssl, sys, urllib.parse\n"
        "url, body = sys.argv[1], sys.argv[2].encode()\n"
        "s = urllib.parse.urlsplit(url)\n"
        "c = http.client.HTTPSConnection(s.netloc, context=ssl.create_default_context())\n"
        "c.request('PUT', s.path + '?' + s.query, body=body,\n"
        "          headers={'content-type': '', 'content-length': str(len(body))})\n"
        "print(c.getresponse().status)\n"
    )
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, url, body],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def test_a_process_trusts_the_server_only_through_ssl_cert_file(server: ResponseServer) -> None:
    event = make_event()
    url = server.new_url(event)
    body = json.dumps(body_for(event))

    untrusted = _put_from_isolated_process(server, url, body, {"SSL_CERT_FILE": os.devnull})
    assert untrusted.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    assert server.put_count(url) == 0

    # The certificate names localhost as well as 127.0.0.1.
    via_localhost = url.replace("https://127.0.0.1:", "https://localhost:")
    trusted = _put_from_isolated_process(server, via_localhost, body, server.env())
    assert trusted.stdout.strip() == "200", trusted.stderr
    resp = server.wait(url, timeout=5)
    assert resp is not None and resp.ok


def test_the_same_answer_twice_is_no_violation(server: ResponseServer) -> None:
    # An event Lambda delivered twice, both copies answering alike: the second PUT rewrites
    # the object with what it held, which CloudFormation cannot tell from one answer.
    event = make_event()
    url = server.new_url(event)
    body = json.dumps(body_for(event, PhysicalResourceId="same"))
    assert put(server, url, body) == 200
    assert put(server, url, body) == 200
    resp = server.response(url)
    assert resp is not None and resp.put_count == 2
    assert resp.violations == []
