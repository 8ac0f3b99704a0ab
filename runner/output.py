"""A job's output (stdout and stderr), kept bounded: the head, the tail and what was dropped."""
from __future__ import annotations

from collections import deque


class OutputLog:
    def __init__(self, head_bytes: int = 64_000, tail_bytes: int = 64_000, recent_lines: int = 20):
        self.head_bytes, self.tail_bytes = head_bytes, tail_bytes
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.dropped = 0
        self.recent_lines = recent_lines

    def feed(self, data: bytes) -> None:
        room = self.head_bytes - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        self.tail.append(data)
        self.tail_size += len(data)
        while self.tail_size - len(self.tail[0]) >= self.tail_bytes:
            self.tail_size -= len(first := self.tail.popleft())
            self.dropped += len(first)

    def _tail_bytes(self) -> tuple[bytes, int]:
        """(the kept tail, trimmed to tail_bytes; how many bytes the trim dropped)"""
        data = b"".join(self.tail)
        extra = max(0, len(data) - self.tail_bytes)
        return data[extra:], extra

    def text(self) -> str:
        """Everything kept, with a line saying how much was dropped in the middle."""
        tail, extra = self._tail_bytes()
        dropped = self.dropped + extra
        middle = f"\n[... {dropped} bytes of output dropped ...]\n" if dropped else ""
        return (bytes(self.head) + middle.encode() + tail).decode("utf-8", "replace")

    def recent(self) -> str:
        """The last few lines, for P:JOB:OUTPUT."""
        tail, _ = self._tail_bytes()
        data = tail or bytes(self.head)
        lines = data.decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-self.recent_lines:])
