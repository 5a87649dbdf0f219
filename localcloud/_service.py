"""What every local server shares: ``start()`` / ``stop()`` and ``with`` around them."""

from __future__ import annotations

import threading
from socketserver import BaseServer
from types import TracebackType
from typing import Self


class LocalService:
    """A local stand-in for an AWS endpoint; ``with`` starts it and always stops it."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(
    server: BaseServer, name: str, *, poll_interval: float = 0.1
) -> threading.Thread:
    """Answer requests on a daemon thread, so a forgotten ``stop()`` never blocks exit.

    ``shutdown()`` waits up to one ``poll_interval``; the default 0.5 s would slow
    every test that starts and stops a server.
    """
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": poll_interval},
        name=name,
        daemon=True,
    )
    thread.start()
    return thread


def stop_serving(server: BaseServer | None, thread: threading.Thread | None) -> None:
    """Stop ``server`` (if any), free its port and wait, bounded, for its thread."""
    if server is not None:
        server.shutdown()
        server.server_close()
    if thread is not None:
        thread.join(timeout=5)
