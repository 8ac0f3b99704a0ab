"""The IOC's side of one fork server (see forkserver.py): start it, ask it to fork, hear exits."""
from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys

log = logging.getLogger(__name__)

READY_TIMEOUT = 60.0            # s for the preload (heavy instrument modules) to import
RETIRE_TIMEOUT = 5.0            # s a retired fork server gets to exit before it is killed


class LauncherDied(Exception):
    pass


class ForkServer:
    """One warm parent process and the socket to it."""

    def __init__(self, preload: list[str], spare: bool = True):
        self.preload = preload
        self.spare = spare              # keep a spare job process forked ahead (spare.py)
        self.sock: socket.socket | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self._forks: dict[int, asyncio.Future] = {}
        self._exits: dict[int, asyncio.Future] = {}
        self.alive = False

    @property
    def pid(self) -> int | None:
        """The process id while the process has not been reaped (it may have exited)."""
        if self.process is None or self.process.returncode is not None:
            return None
        return self.process.pid

    async def spawn(self) -> None:
        """Start the process (its pid is known when this returns); ``ready`` says when it
        has imported the preload."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "scriptserver.runner.forkserver", str(theirs.fileno()),
                json.dumps(self.preload), "spare" if self.spare else "no-spare",
                pass_fds=[theirs.fileno()],
                stdin=asyncio.subprocess.DEVNULL, start_new_session=True)
        finally:
            theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.alive = True
        asyncio.get_running_loop().add_reader(ours.fileno(), self._readable)

    async def wait_ready(self) -> dict[str, str]:
        """Preload errors by module (empty: all imported)."""
        return await asyncio.wait_for(asyncio.shield(self.ready), READY_TIMEOUT)

    def _readable(self) -> None:
        assert self.sock is not None
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._died()
            return
        message = json.loads(data)
        if "ready" in message:
            if message["preload_errors"]:
                log.error("preload failed: %s", message["preload_errors"])
            self.ready.set_result(message["preload_errors"])
        elif "started" in message:
            self._forks.pop(message["started"]).set_result(message["pid"])
        elif "exited" in message:
            self._exits.setdefault(message["exited"], _future()).set_result(message["status"])

    def _died(self) -> None:
        self.alive = False
        if self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
        for future in list(self._forks.values()) + list(self._exits.values()):
            if not future.done():
                future.set_exception(LauncherDied("the job launcher (fork server) stopped"))
        if not self.ready.done():
            self.ready.set_exception(LauncherDied("the job launcher (fork server) did not start"))

    def start_job(self, job_id: int, channel_fd: int, output_fd: int) -> asyncio.Future:
        """Ask for the job's process now (one message); the future gives its pid."""
        assert self.sock is not None
        if not self.alive:
            raise LauncherDied("the job launcher (fork server) stopped")
        future = self._forks[job_id] = _future()
        socket.send_fds(self.sock, [json.dumps({"job": job_id}).encode()], [channel_fd, output_fd])
        return future

    def exited(self, pid: int) -> asyncio.Future:
        return self._exits.setdefault(pid, _future())

    async def retire(self) -> None:
        """No new jobs; the process exits once its running jobs have ended."""
        if self.sock is not None and self.alive:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.alive = False

    async def kill(self) -> None:
        """Retire it and wait for it to go; kill it if it has not gone in RETIRE_TIMEOUT s.
        (It ignores SIGTERM while we live: see forkserver.stop.)"""
        await self.retire()
        if self.process is None or self.process.returncode is not None:
            return
        try:
            await asyncio.wait_for(self.process.wait(), RETIRE_TIMEOUT)
        except asyncio.TimeoutError:
            log.warning("the job launcher %s did not exit when retired: killed", self.process.pid)
            self.process.kill()
            await self.process.wait()


def _future() -> asyncio.Future:
    return asyncio.get_running_loop().create_future()
