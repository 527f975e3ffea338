"""Child server processes of the simulator: started, faulted (kill, pause) and stopped.

A server that outlives the harness would hold ports and data directories and skew the next
drill, so every child is tied to the harness twice:

- it runs in its own session, so a Ctrl-C on the terminal reaches only the harness, which
  then stops its servers in order (`stop_all`);
- it carries PR_SET_PDEATHSIG=SIGKILL, so if the harness itself is killed with SIGKILL, the
  kernel kills the server too. Servers whose workers notice their parent's death (the
  PostgreSQL postmaster's children do) then exit on their own.

PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not the process: start
servers from the thread that lives as long as the harness (the event loop's thread), never
from a worker thread such as `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import pwd
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from drdrill.proctree import kill_tree, pause_tree, resume_tree

logger = logging.getLogger(__name__)

# `nobody` exists on every Linux distribution we target and needs no change to the machine,
# whereas creating a dedicated user would need useradd and leave a trace on the host. Its
# drawback, that other services running as nobody could read the simulator's data dirs, does
# not matter for throwaway loopback servers holding heartbeats.
UNPRIVILEGED_USER = "nobody"

_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 0.02
_LIVE: dict[int, ManagedProcess] = {}


class ProcessStartError(RuntimeError):
    """A server could not be started, or cannot be run as the unprivileged user."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The port is released before returning, so another process may take it before the server
    binds it; the servers' start-up then fails loudly rather than sharing the port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_user() -> tuple[int, int] | None:
    """Return (uid, gid) of the user servers run as when we are root, or None when not root."""
    if os.geteuid() != 0:
        return None

    try:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError as exc:
        raise ProcessStartError(
            f"running as root, but user {UNPRIVILEGED_USER!r} does not exist to run servers as"
        ) from exc
    return entry.pw_uid, entry.pw_gid


def check_reachable(path: Path, owner: tuple[int, int] | None) -> None:
    """Raise ProcessStartError unless `owner` may traverse every directory down to `path`.

    A temporary directory made by root (mode 0700) is a common cause: the unprivileged server
    could not reach a data directory below it.
    """
    if owner is None:
        return

    uid, gid = owner
    for directory in reversed([path.resolve(), *path.resolve().parents]):
        mode = directory.stat()
        if mode.st_uid == uid:
            allowed = bool(mode.st_mode & 0o100)
        elif mode.st_gid == gid:
            allowed = bool(mode.st_mode & 0o010)
        else:
            allowed = bool(mode.st_mode & 0o001)
        if not allowed:
            raise ProcessStartError(
                f"user {UNPRIVILEGED_USER!r} (uid {uid}) cannot traverse {directory} "
                f"(mode {mode.st_mode & 0o777:04o}); give it o+x or choose a workdir below "
                f"a directory it can reach"
            )


class ManagedProcess:
    """One child process with a name, a log file and the signals faults need.

    Construct with `ManagedProcess.start`. Signals to pause or kill apply to the whole process
    tree: a server's workers are its children (PostgreSQL makes each one a session leader, so
    a process-group signal would miss them), and a dead or frozen server must not leave
    workers answering its clients.
    """

    def __init__(
        self, name: str, popen: subprocess.Popen[bytes], log_path: Path, stop_signal: int
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        self._popen = popen
        self._paused = False
        self._exit_logged = False

    @classmethod
    def start(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        run_as_unprivileged: bool = False,
        stop_signal: int = signal.SIGTERM,
    ) -> ManagedProcess:
        """Start `argv` as a child; stdout and stderr append to `log_dir/<name>.log`.

        Returns the running process. With `run_as_unprivileged`, the child runs as
        `server_user()` when we are root (as ourselves otherwise).
        """
        owner = server_user() if run_as_unprivileged else None
        log_path = log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            # One header line per start, so a log reused by a restart shows where each begins.
            command = shlex.join(argv).replace("\n", "\\n")
            log.write(f"--- drdrill start {name}: {command}\n".encode())
            log.flush()
            try:
                popen = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=dict(env) if env is not None else None,
                    cwd=cwd,
                    start_new_session=True,
                    preexec_fn=_die_with_parent_hook(),
                    user=owner[0] if owner else None,
                    group=owner[1] if owner else None,
                    extra_groups=[] if owner else None,
                )
            except OSError as exc:
                raise ProcessStartError(f"cannot start {name}: {argv[0]}: {exc}") from exc

        process = cls(name, popen, log_path, stop_signal)
        _LIVE[popen.pid] = process
        logger.info("process started name=%s pid=%d argv0=%s", name, popen.pid, argv[0])
        return process

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        """The exit code (negative: killed by that signal), or None while running."""
        code = self._popen.poll()
        if code is not None:
            self._note_exit()
        return code

    @property
    def is_running(self) -> bool:
        """True until the process has exited; a paused process is still running."""
        return self.returncode is None

    @property
    def is_paused(self) -> bool:
        return self._paused and self.is_running

    def send_signal(self, sig: int) -> None:
        """Send `sig` to the main process only (a server's own shutdown signal)."""
        if self.is_running:
            self._popen.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL the process and every descendant, as a machine dying would.

        Returns once all of them are dead, the process reaped (its orphaned workers are
        init's to reap).
        """
        if not self.is_running:
            return

        kill_tree(self.pid)
        self._popen.wait()
        self._paused = False
        self._note_exit()

    def pause(self) -> None:
        """SIGSTOP the process and its descendants: it holds its sockets but answers nothing.

        Returns once all of them show as stopped.
        """
        if not self.is_running:
            return

        pause_tree(self.pid)
        self._paused = True
        logger.info("process paused name=%s pid=%d", self.name, self.pid)

    def resume(self) -> None:
        """SIGCONT the descendants, then the process."""
        if not self.is_running:
            return

        resume_tree(self.pid)
        self._paused = False
        logger.info("process resumed name=%s pid=%d", self.name, self.pid)

    def wait(self, timeout: float | None = None) -> int:
        """Block until the process exits; return its exit code.

        Raises subprocess.TimeoutExpired after `timeout` seconds.
        """
        code = self._popen.wait(timeout)
        self._note_exit()
        return code

    async def wait_exited(self, exit_timeout: float) -> int:
        """Wait without blocking the event loop; return the exit code.

        Raises TimeoutError after `exit_timeout` seconds.
        """
        deadline = time.monotonic() + exit_timeout
        while self.is_running:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{self.name} (pid {self.pid}) still running after {exit_timeout}s"
                )
            await asyncio.sleep(_POLL_SECONDS)
        return self._popen.returncode

    def terminate(self, timeout: float = 10.0) -> int:
        """Send the stop signal, wait up to `timeout` s, then SIGKILL the tree; return the code."""
        if self.is_running:
            self._request_stop()
            try:
                return self.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("process stop timed out name=%s pid=%d", self.name, self.pid)
                self.kill()
        return self._popen.returncode

    async def stop(self, stop_timeout: float = 10.0) -> int:
        """`terminate` without blocking the event loop; return the exit code."""
        if self.is_running:
            self._request_stop()
            try:
                return await self.wait_exited(stop_timeout)
            except TimeoutError:
                logger.warning("process stop timed out name=%s pid=%d", self.name, self.pid)
                self.kill()
        return self._popen.returncode

    def log_tail(self, lines: int = 20) -> str:
        """The last `lines` lines of the log, for error messages."""
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _request_stop(self) -> None:
        # A stopped process would hold the signal pending forever.
        if self._paused:
            self.resume()
        self._popen.send_signal(self.stop_signal)

    def _note_exit(self) -> None:
        _LIVE.pop(self.pid, None)
        if not self._exit_logged:
            self._exit_logged = True
            logger.info(
                "process exited name=%s pid=%d code=%s", self.name, self.pid, self._popen.returncode
            )


def live_processes() -> list[ManagedProcess]:
    """Return the processes started here that have not been seen to exit."""
    return [process for process in list(_LIVE.values()) if process.is_running]


def stop_all(timeout: float = 10.0) -> None:
    """Stop every live process (on abort): stop signals first, SIGKILL after `timeout` s."""
    processes = live_processes()
    logger.info("stop all started count=%d", len(processes))
    for process in processes:
        process._request_stop()

    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("process stop timed out name=%s pid=%d", process.name, process.pid)
            process.kill()
    logger.info("stop all complete count=%d", len(processes))


def _die_with_parent_hook() -> Callable[[], None]:
    """Return a preexec function that sets PR_SET_PDEATHSIG=SIGKILL in the child.

    libc and the parent's pid are looked up before the fork, so that the child does as little
    as possible between fork and exec.
    """
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may have died before prctl took effect: then nobody would kill us.
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return die_with_parent
