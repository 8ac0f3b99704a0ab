"""Large published values (queue, history, commands), built once per change.

A 10,000-job queue is about 2 MB of JSON. Building it from scratch for every
edit (and again for its HEX twin) made one move cost hundreds of milliseconds;
here each job keeps its own JSON until it changes (``Job.as_json``), the list is
joined once per change, and the HEX form is compressed from that same text.
"""
from __future__ import annotations

import binascii
import json
import zlib
from typing import Any, Callable, Iterable, Sequence

from ibex_non_ca_helpers.compress_hex import dehex_and_decompress

from scriptserver.jobs.effects import Run
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.queue import Job

MARKER_ROOM = 300          # bytes kept free for the "truncated" marker
QUEUE_MORE = "QUEUE:IDS lists every id; QUEUE:GET gives any job by id or position"
HISTORY_MORE = "QUEUE:GET gives any job with every run; lower history_length to see all"
Build = Callable[[int], str]


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def fitted(parts: Iterable[str], limit: int, more: str, total: int | None = None) -> str:
    """A JSON list of the ``parts`` (each an ASCII JSON text) in at most ``limit`` bytes.
    When they do not all fit, the first ones that do are followed by a last element
    ``{"truncated": {"shown": n, "total": m, "more": "where to read the rest"}}``,
    so the value is always valid JSON, never cut mid-way. Given the ``total`` number
    of parts, the ones past the limit are never made (a 100,000-job queue fills the PV
    with about a third of its jobs; the rest need no JSON of their own)."""
    kept: list[str] = []
    size, count, full = 2, 0, False
    room = limit - MARKER_ROOM
    for part in parts:
        count += 1
        if not full and size + len(part) + 1 <= room:
            kept.append(part)
            size += len(part) + 1
            continue
        full = True
        if total is not None:
            break
    if full:
        shown = len(kept)
        total = total if total is not None else count
        kept.append(dumps({"truncated": {"shown": shown, "total": total, "more": more}}))
    return "[" + ",".join(kept) + "]"


def hexed(text: str) -> str:
    """zlib-compressed, hex-encoded text, as the IBEX block server publishes large values."""
    return zlib.compress(text.encode(), 1).hex()


def unhexed(value: Any) -> str:
    """The text an IBEX client sent compressed and hexed (``compress_and_hex``)."""
    data = value.encode() if isinstance(value, str) else bytes(value)
    try:
        return dehex_and_decompress(data.strip(b"\0 \n")).decode()
    except (binascii.Error, zlib.error, ValueError) as err:
        raise RequestRefused(f"not zlib-compressed hex text ({err}); send what IBEX's "
                             "compress_and_hex makes, or put plain JSON on the PV without "
                             ":HEX") from None


class Serialized:
    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self._runs: dict[int, str] = {}
        self._texts: dict[str, tuple[int, Any]] = {}

    def changed(self, topics: Iterable[str]) -> None:
        for topic in topics:
            self.versions[topic] = self.versions.get(topic, 0) + 1

    def text(self, topic: str, build: Build, limit: int) -> str:
        """The JSON text for ``topic`` in at most ``limit`` bytes, built again only after
        the topic changed."""
        return self._cached(topic, lambda: build(limit))

    def hex(self, topic: str, build: Build, limit: int) -> str:
        """The same text zlib-compressed and hex-encoded, as IBEX publishes large values;
        when that is over ``limit`` (text that compresses badly), built from fewer items."""
        def make() -> str:
            text, room = self.text(topic, build, limit), limit
            out = hexed(text)
            while len(out) > limit and room > 2 * MARKER_ROOM:
                room //= 2
                out = hexed(build(room))
            return out
        return self._cached(topic + ":hex", make, topic)

    def queue(self, jobs: Sequence[Job]) -> Build:
        """How to build the queue's JSON (each job keeps its own piece until it changes)."""
        return lambda limit: fitted((j.as_json() for j in jobs), limit, QUEUE_MORE,
                                    total=len(jobs))

    def prepare_queue(self, jobs: Iterable[Job], limit: int, chunk: int = 500):
        """Make the jobs' own JSON pieces that the queue's JSON will hold, pausing (yield)
        after each ``chunk`` of them: after a start with 100,000 jobs, the first build
        makes tens of thousands, and the event loop answers clients in between."""
        kept = self._texts.get("queue")
        if kept is not None and kept[0] == self.versions.get("queue", 0):
            return                                  # built since the last change
        size = 2
        for count, job in enumerate(jobs, 1):
            size += len(job.as_json()) + 1
            if size > limit:
                return
            if count % chunk == 0:
                yield

    def history(self, runs: Iterable[Run]) -> Build:
        """How to build the history's JSON (each stored run's piece is kept)."""
        return lambda limit: fitted(self._run_parts(runs), limit, HISTORY_MORE)

    def _cached(self, name: str, build, topic: str | None = None) -> Any:
        version = self.versions.get(topic or name, 0)
        kept = self._texts.get(name)
        if kept is None or kept[0] != version:
            kept = self._texts[name] = (version, build())
        return kept[1]

    def _run_parts(self, runs: Iterable[Run]) -> list[str]:
        fresh: dict[int, str] = {}
        parts = []
        for run in runs:
            if run.run_id is None:             # not stored yet: nothing to cache it by
                parts.append(dumps(run.describe()))
                continue
            text = fresh[run.run_id] = self._runs.get(run.run_id) or dumps(run.describe())
            parts.append(text)
        self._runs = fresh
        return parts
