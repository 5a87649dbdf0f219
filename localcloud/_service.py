"""What every local server shares: ``start()`` / ``stop()`` and ``with`` around them."""

from __future__ import annotations

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
