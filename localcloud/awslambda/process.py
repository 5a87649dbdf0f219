"""The process supervisor of the local Lambda: one handler process per invocation.

``<python> -I -S -u -B localcloud/awslambda/_bootstrap.py RESULT_FILE`` (isolated mode, no ``site``,
unbuffered, no ``.pyc`` written: /var/task is read-only on Lambda, and a cdk.out asset
should stay as synthesized), with ``cwd`` = the asset dir. The event goes in on stdin, the
outcome comes back in RESULT_FILE, stdout and stderr are the function's log. Past
``timeout_seconds`` + a grace the process group is killed and the invocation is marked
``timed_out`` ("Task timed out after ...").
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from localcloud.awslambda.model import Invocation

__all__ = ["BOOTSTRAP", "collect", "kill_group", "run", "spawn"]

BOOTSTRAP = Path(__file__).resolve().with_name("_bootstrap.py")


def spawn(
    python: str, invocation: Invocation, process_env: Mapping[str, str], result_file: Path
) -> subprocess.Popen[bytes]:
    """Start the handler process of ``invocation`` (it waits for the event on stdin)."""
    return subprocess.Popen(
        [python, "-I", "-S", "-u", "-B", str(BOOTSTRAP), str(result_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=invocation.function.asset_dir,
        env=dict(process_env),
        start_new_session=True,
    )


def run(
    invocation: Invocation,
    proc: subprocess.Popen[bytes],
    payload: bytes,
    result_file: Path,
    grace_seconds: float,
) -> None:
    """Feed the event, wait (killing the group past the timeout), collect the outcome."""
    fn = invocation.function
    reader = threading.Thread(target=pump, args=(proc, invocation), daemon=True)
    reader.start()
    assert proc.stdin is not None
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    limit = invocation.started_at + fn.timeout_seconds + grace_seconds
    try:
        proc.wait(timeout=max(0.0, limit - time.time()))
    except subprocess.TimeoutExpired:
        invocation.timed_out = True
        kill_group(proc)
        proc.wait()
    invocation.ended_at = time.time()
    invocation.returncode = proc.returncode
    reader.join(timeout=1.0)
    if reader.is_alive():  # a grandchild holds the pipe open: end the group
        kill_group(proc)
        reader.join(timeout=2.0)
    collect(invocation, result_file)


def collect(invocation: Invocation, result_file: Path) -> None:
    """Read the outcome (result, error, or a crash / timeout) and write Lambda's own lines:
    END and REPORT (Text), or a ``platform.report`` record (JSON)."""
    fn = invocation.function
    ended_at = invocation.ended_at or time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ended_at))
    status = "success"
    if invocation.timed_out:
        status = "timeout"
        message = (
            f"{stamp}Z {invocation.request_id} Task timed out after "
            f"{fn.timeout_seconds:.2f} seconds"
        )
        if not fn.logs_json:
            invocation._log_line(message)
        invocation.error = {"errorMessage": message, "errorType": "Sandbox.Timedout"}
    else:
        try:
            outcome = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            outcome = None
        if isinstance(outcome, dict) and "error" in outcome:
            status = "error"
            invocation.error = outcome["error"]
        elif isinstance(outcome, dict) and "result" in outcome:
            invocation.result = outcome["result"]
        else:
            status = "error"
            message = f"RequestId: {invocation.request_id} Error: Runtime exited"
            if invocation.returncode is not None and invocation.returncode < 0:
                message += f" with signal {-invocation.returncode}"
            else:
                message += f" with error: exit status {invocation.returncode}"
            if not fn.logs_json:
                invocation._log_line(message)
            invocation.error = {"errorMessage": message, "errorType": "Runtime.ExitError"}
    result_file.unlink(missing_ok=True)
    duration_ms = (invocation.duration or 0.0) * 1000
    if not fn.logs_json:
        invocation._log_line(f"END RequestId: {invocation.request_id}")
    timeout_note = "\tStatus: timeout" if invocation.timed_out else ""
    record: dict[str, object] = {
        "requestId": invocation.request_id,
        "metrics": {
            "durationMs": round(duration_ms, 2),
            "billedDurationMs": int(duration_ms) + 1,
            "memorySizeMB": fn.memory_mb,
        },
        "status": status,
    }
    if status != "success" and invocation.error is not None:
        record["errorType"] = invocation.error.get("errorType")
    invocation._platform(
        f"REPORT RequestId: {invocation.request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {int(duration_ms) + 1} ms\tMemory Size: {fn.memory_mb} MB"
        f"{timeout_note}",
        "platform.report",
        record,
        ended_at,
    )


def pump(proc: subprocess.Popen[bytes], invocation: Invocation) -> None:
    """Copy the process's output into the invocation's log as it comes."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        invocation._append(chunk)
    proc.stdout.close()


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """End the handler and anything it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass

