"""Shared pieces of the benchmark scripts: servers pinned to a core, wrk runs, RSS, HTTP.

Used by ``run.py`` and ``ingest.py``; not a script of its own. Servers are started with
``taskset -c CORE`` (the pid is the server's own, since taskset execs it), their output goes
to ``bench/out/logs/NAME.log``, readiness is polled over HTTP, and they are stopped with
SIGTERM (SIGKILL after 10 s) by pid only.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
LOGS = OUT / "logs"
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"
DATASETTE = BENCH / ".venv-datasette" / "bin" / "datasette"
LUA = BENCH / "paths.lua"
SERVER_CORE = 0
CLIENT_CORE = 1


def pin_self(core: int = CLIENT_CORE) -> None:
    """Keep this process (and the wrk it starts) off the server's core."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        os.sched_setaffinity(0, {core})


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def proc_status(pid: int, key: str) -> int | None:
    """A ``/proc/PID/status`` memory figure (VmRSS, VmHWM) in kB, or None."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else None


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 120.0) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = (LOGS / f"{self.name}.log").open("wb")
        argv = ["taskset", "-c", str(SERVER_CORE), *self.argv]
        if shutil.which("taskset") is None:
            argv = list(self.argv)
        self.process = subprocess.Popen(
            argv, cwd=self.cwd, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {LOGS / (self.name + '.log')}")
            try:
                status, _, _ = get(self.port, self.ready_path, timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s")

    def rss_mb(self) -> float | None:
        kb = proc_status(self.pid, "VmRSS")
        return None if kb is None else kb / 1024

    def hwm_mb(self) -> float | None:
        kb = proc_status(self.pid, "VmHWM")
        return None if kb is None else kb / 1024

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


_CONNECTIONS: dict[int, http.client.HTTPConnection] = {}


def get(
    port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 60.0
) -> tuple[int, dict[str, str], bytes]:
    """GET over a kept-alive connection; returns status, lower-cased headers, body."""
    for attempt in (0, 1):
        conn = _CONNECTIONS.get(port)
        if conn is None:
            conn = _CONNECTIONS[port] = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=timeout
            )
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        except (OSError, http.client.HTTPException):
            conn.close()
            _CONNECTIONS.pop(port, None)
            if attempt:
                raise
    raise AssertionError("unreachable")


def get_json(port: int, path: str) -> tuple[int, Any]:
    status, _, body = get(port, path)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    statuses: dict[str, int]
    errors: int
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "text"}


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not match:
        raise ValueError(f"cannot read wrk latency {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(
    port: int,
    paths_file: Path,
    *,
    duration: float,
    connections: int = 8,
    threads: int = 1,
    start: int = 0,
    etag: str | None = None,
    headers: tuple[str, ...] = (),
) -> WrkResult:
    """Run wrk on the client core over the paths in ``paths_file``; parse its --latency output."""
    argv = [
        "taskset", "-c", str(CLIENT_CORE), "wrk", f"-t{threads}", f"-c{connections}",
        f"-d{duration:g}s", "--timeout", "15s", "--latency", "-s", str(LUA),
        *(arg for header in headers for arg in ("-H", header)),
        f"http://127.0.0.1:{port}", "--", str(paths_file), str(start), str(threads), etag or "",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    text = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{text}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    dist = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
    stats_line = re.search(r"^WRKSTATS (.*)$", text, re.M)
    stats = json.loads(stats_line.group(1)) if stats_line else {}
    errors = sum(stats.get(k, 0) for k in ("connect_errors", "read_errors", "write_errors",
                                            "timeouts", "bad_status"))  # fmt: skip
    return WrkResult(
        rps=rps,
        p50_ms=_ms(dist["50"]),
        p99_ms=_ms(dist["99"]),
        requests=int(stats.get("requests", 0)),
        statuses=stats.get("statuses", {}),
        errors=errors,
        text=text,
    )


def code_version(source: Path = ROOT) -> str:
    """The commit a source tree is at, and its uncommitted changes under app/ and migrations/.

    Read-only git commands; a tree exported with ``git archive`` reports its commit id.
    """

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=source, capture_output=True, text=True)
        return done.stdout.rstrip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD")
    if not head or Path(source).resolve() != Path(git("rev-parse", "--show-toplevel") or "/"):
        stamp = Path(source) / ".bench-commit"
        return f"{source} ({stamp.read_text().strip() if stamp.exists() else 'unknown commit'})"
    dirty = git("status", "--porcelain", "--", "app", "migrations").splitlines()
    changed = ", ".join(line[3:] for line in dirty)
    return head + (f" + uncommitted changes to {changed}" if dirty else "")


def need_wrk() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
