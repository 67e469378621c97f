"""The worker process as the supervisor sees it: fork, pipe, signals, exit status.

`fork_worker` forks after our imports (a millisecond, no new interpreter) and runs the given
function in the child, which then exits with `os._exit`, never unwinding into the caller's
code (its `finally` blocks and context managers are the parent's). In the child: the stop
signals get their default handlers back, the kernel kills it when the parent dies
(PR_SET_PDEATHSIG on Linux), the parent's atexit handlers are dropped while the user's own
still run at the end, and Python's faulthandler writes the stack of a fatal signal or of a
SIGTERM to the file `faults`, for the parent to read.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import logging
import os
import pickle
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pypet_sm.errors import PypetSmError
from pypet_sm.execute import worker
from pypet_sm.provenance import logs

logger = logging.getLogger("pypet_sm.execute.job")

GRACE = 3.0  # seconds between SIGTERM and SIGKILL of a worker
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
POLL = 0.1  # seconds between checks where the platform has no pidfd


class Worker:
    """One forked worker: its pid, its pipe, how it ended."""

    def __init__(self, pid: int, read_fd: int, faults: Path) -> None:
        self.pid, self.read_fd, self.faults = pid, read_fd, faults
        self.status: int | None = None
        self.messages: list[tuple[str, Any]] = []
        self._buffer = b""
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):  # not Linux >= 5.3
            self.pidfd = None

    def poll(self) -> bool:
        """Reap the worker if it has exited."""
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
        return self.status is not None

    def wait(self, seconds: float | None, wake_fd: int | None = None) -> None:
        """Until the worker exits, a message or a signal arrives, or `seconds` pass."""
        fds = [self.read_fd] + ([self.pidfd] if self.pidfd is not None else [])
        fds += [wake_fd] if wake_fd is not None else []
        if self.pidfd is None:
            seconds = POLL if seconds is None else min(seconds, POLL)
        ready, _, _ = select.select(fds, [], [], seconds)
        if self.read_fd in ready:
            self.read_messages()
        if wake_fd is not None and wake_fd in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_fd, 512)  # the signal numbers; the handlers have recorded them

    def wait_exit(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self.poll():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.wait(left)
        return True

    def read_messages(self) -> None:
        while True:
            try:
                chunk = os.read(self.read_fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._buffer += chunk
        frame = worker.FRAME.size
        while len(self._buffer) >= frame:
            (length,) = worker.FRAME.unpack_from(self._buffer)
            if len(self._buffer) < frame + length:
                break
            self.messages.append(pickle.loads(self._buffer[frame : frame + length]))
            self._buffer = self._buffer[frame + length :]

    def stop(self, first: int) -> str:
        """Signal `first`, SIGKILL after GRACE seconds; how it was stopped ('' if it had
        exited already)."""
        if self.poll():
            return ""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, first)
        if self.wait_exit(GRACE):
            return signal.Signals(first).name
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        while not self.poll():
            self.wait(None)
        return f"{signal.Signals(first).name}, then SIGKILL after {GRACE:g} s"

    def ending(self) -> str:
        """`killed by signal SIGSEGV` or `exited with code 1`."""
        assert self.status is not None
        if os.WIFSIGNALED(self.status):
            number = os.WTERMSIG(self.status)
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = str(number)
            return f"killed by signal {name}"
        return f"exited with code {os.waitstatus_to_exitcode(self.status)}"

    def fault_report(self) -> str:
        """What faulthandler wrote: the Python stack at a fatal signal or at our SIGTERM."""
        try:
            return self.faults.read_text(errors="replace").strip()
        except OSError:
            return ""

    def close(self) -> None:
        for fd in (self.read_fd, self.pidfd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.faults.unlink(missing_ok=True)


class StopSignals:
    """The stop signals the supervisor received while it watched (handlers set only here)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.wake_fd: int | None = None

    @contextlib.contextmanager
    def caught(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signal handlers can only be set in the main thread
            return
        read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
        old_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        for number in STOP_SIGNALS:
            signal.signal(number, lambda number, _frame: self.received.append(number))
        self.wake_fd = read_fd
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            signal.set_wakeup_fd(old_wakeup)
            self.wake_fd = None
            os.close(read_fd)
            os.close(write_fd)


def fork_worker(body: Callable[[worker.Channel], None], faults: Path) -> Worker:
    """Fork a worker that runs `body(channel)` and exits."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    logs.flush_streams()
    for handler in logging.getLogger().handlers:
        handler.flush()
    parent = os.getpid()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    pid = os.fork()
    if pid == 0:  # the worker; never returns
        _worker_main(body, read_fd, write_fd, faults, parent, blocked)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    os.close(write_fd)
    return Worker(pid, read_fd, faults)


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills the worker when the supervisor dies (kill -9 of the job)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before prctl
        os._exit(1)


def _worker_main(
    body: Callable[[worker.Channel], None],
    read_fd: int,
    write_fd: int,
    faults: Path,
    parent: int,
    blocked: set[int | signal.Signals],
) -> None:
    """The forked worker: compute, then exit without unwinding into the supervisor's code."""
    code = 0
    channel = worker.Channel(write_fd)
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(read_fd)
        _die_with_parent(parent)
        atexit._clear()  # the supervisor's handlers are the supervisor's to run
        report = open(faults, "w")  # noqa: SIM115 (faulthandler keeps it until the exit)
        faulthandler.enable(report, all_threads=True)
        faulthandler.register(signal.SIGTERM, report, all_threads=True, chain=True)
        body(channel)
    except KeyboardInterrupt:
        with contextlib.suppress(BaseException):
            channel.send(worker.INTERRUPTED, None)
    except PypetSmError as error:  # e.g. a custom class that cannot be imported: one line
        code = 1
        with contextlib.suppress(BaseException):
            channel.send(worker.FATAL, str(error))
    except BaseException as error:
        code = 1
        with contextlib.suppress(BaseException):
            logger.error("the job's worker failed outside a run:\n%s", worker.format_traceback())
            channel.send(worker.FATAL, f"the job failed outside a run: {worker.describe(error)}")
    finally:
        with contextlib.suppress(BaseException):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            logs.flush_streams()
            atexit._run_exitfuncs()  # the user's own, as at the end of a process
            for handler in logging.getLogger().handlers:
                handler.flush()
        os._exit(code)
