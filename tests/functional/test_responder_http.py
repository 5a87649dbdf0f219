"""The responder's PUT against a real HTTP endpoint that refuses the answer (HTTP 500)."""

from __future__ import annotations

import gc
import threading
import urllib.error
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cloudfront_purge.function import responder


class _Refusing(BaseHTTPRequestHandler):
    """Reads the PUT, answers 500 with a body, as CloudFormation's endpoint may."""

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b"<Error><Code>InternalError</Code></Error>"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def refusing_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/stack/resource?X-Amz-Signature=s"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_500_answer_is_reported_and_its_error_response_closed(
    refusing_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[int] = []
    original_close = urllib.error.HTTPError.close

    def recording_close(self: urllib.error.HTTPError) -> None:
        closed.append(self.code)
        original_close(self)

    monkeypatch.setattr(urllib.error.HTTPError, "close", recording_close)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert responder._put(refusing_url, b'{"Status": "SUCCESS"}') == 500
        gc.collect()
    # Closed by the responder, not left to a finalizer: CPython 3.14 (the function's runtime)
    # reports an unclosed one with a ResourceWarning, which make test-py314 turns into a failure.
    assert closed == [500]
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_delivery_retries_a_500_a_bounded_number_of_times(refusing_url: str) -> None:
    sleeps: list[float] = []
    assert responder.deliver(
        refusing_url, {"Status": "SUCCESS", "Reason": ""}, sleep=sleeps.append, attempts=3
    ) is False
    assert sleeps == [0.5, 1.0]
