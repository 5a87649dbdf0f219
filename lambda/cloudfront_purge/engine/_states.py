"""The closed sets the engine speaks in: a job's states and the events it reports.

Both are ``StrEnum``: a member is its string ("InProgress", "waiting_for_iam"), so logs,
CloudFormation attributes, the CLI's JSON and comparisons with plain strings read exactly
as the strings did. The handler and the command line import these instead of re-listing
names.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """Where one batch on one target stands (the diagram in :mod:`._machine`)."""

    PENDING = "Pending"
    BLOCKED = "Blocked"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"


class Event(StrEnum):
    """What a step reports to the caller's ``report(event, job)``.

    A transient error is reported as ``retry:<code>`` (``Event.retry(code)``), so a log
    reader sees which error was retried; :meth:`of` maps it back to :attr:`RETRY`.
    """

    SUBMITTED = "submitted"
    RESUMED = "resumed"
    WAITING = "waiting"
    COMPLETED = "completed"
    BLOCKED = "blocked"
    WAITING_FOR_CAPACITY = "waiting_for_capacity"
    WAITING_FOR_IAM = "waiting_for_iam"
    NOT_VISIBLE_YET = "not_visible_yet"
    RETRY = "retry"
    FAILED = "failed"

    @staticmethod
    def retry(code: str) -> str:
        """The reported name of a retry after ``code``: ``retry:Throttling``."""
        return f"{Event.RETRY}:{code}"

    @classmethod
    def of(cls, name: str) -> Event:
        """The event a reported name stands for (``retry:<code>`` is :attr:`RETRY`).

        Raises:
            ValueError: ``name`` is no event the engine reports.
        """
        head, colon, _code = name.partition(":")
        return cls.RETRY if colon and head == cls.RETRY else cls(name)


#: The states by the names the engine exported before they were an enum.
PENDING = JobState.PENDING
BLOCKED = JobState.BLOCKED
IN_PROGRESS = JobState.IN_PROGRESS
COMPLETED = JobState.COMPLETED
FAILED = JobState.FAILED


def is_completed(status: str | None) -> bool:
    """CloudFront says "Completed"; moto says "COMPLETED". Compare without case."""
    return (status or "").lower() == JobState.COMPLETED.lower()


def is_in_progress(status: str | None) -> bool:
    return (status or "").lower() == JobState.IN_PROGRESS.lower()
