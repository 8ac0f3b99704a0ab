"""Limits on what clients and jobs can make the server hold, set in the ``limits:``
section of the configuration. Every one is checked where the input arrives, and a
request over it is refused in words that name the limit, before anything changes.

README's table of limits is generated from ``Limits`` (``python -m scriptserver.ioc.docs``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from scriptserver.jobs import spec

from .pvs import INPUT, TEXT, PV


def limit(default: int, meaning: str, least: int = 1) -> Any:
    """A configurable limit: its default, what it bounds (for README), its smallest value."""
    return field(default=default, metadata={"meaning": meaning, "least": least})


CAPS = {"job_bytes": INPUT, "request_bytes": TEXT}     # the PVs' own sizes


@dataclass(frozen=True)
class Limits:
    job_bytes: int = limit(INPUT, "bytes a put on QUEUE:ADD, QUEUE:EDIT, QUEUE:REQUEUE or "
                           f"VALIDATE may carry (at most {INPUT:,}, the PVs' size); refused "
                           "before it is parsed", 100)
    request_bytes: int = limit(TEXT, "bytes a put on any other JSON control PV (QUEUE:MOVE, "
                               f"QUEUE:REMOVE, QUEUE:GET, ...) may carry (at most {TEXT:,})",
                               100)
    queue_length: int = limit(100_000, "jobs the queue may hold; an add that would pass it is "
                              "refused whole")
    jobs_per_add: int = limit(10_000, "jobs one put may add (a batch)")
    json_depth: int = limit(32, "how deeply lists and objects may nest in a put's JSON")
    output_bytes: int = limit(128_000, "bytes of a job's output kept in its run record (its "
                              "start and its end; what is dropped between is counted)", 1000)
    runs_kept: int = limit(100_000, "runs kept in the store (history, outputs, estimates); "
                           "older ones are deleted at start (0: keep every run)", 0)
    store_bytes: int = limit(0, "size the store file may grow to; past it a change is refused "
                             "as on a full disk, nothing lost (0: as large as the disk allows)",
                             0)

    def put_bytes(self, pv: PV) -> int:
        """The most a put on this control PV may carry."""
        if pv.kind != "json":
            return pv.size
        return min(pv.size, self.job_bytes if pv.size >= INPUT else self.request_bytes)

    def kept_output(self, text: str) -> str:
        """A job's output cut to ``output_bytes``: its start and its end, with a note."""
        data = text.encode("utf-8", "replace")
        if len(data) <= self.output_bytes:
            return text
        half = self.output_bytes // 2
        note = f"\n[... {len(data) - 2 * half} bytes of output dropped ...]\n".encode()
        return (data[:half] + note + data[-half:]).decode("utf-8", "replace")

    def apply_to_core(self) -> None:
        """Hand the nesting limit to the JSON parser of the pure core."""
        spec.MAX_DEPTH = self.json_depth


def check(raw: Any) -> list[str]:
    """Mistakes in the ``limits:`` section, one line each."""
    if not isinstance(raw, dict):
        return ["limits must be a mapping, e.g. {queue_length: 10000}"]
    known = {f.name: f.metadata["least"] for f in fields(Limits)}
    mistakes = [f"limits: unknown key {key!r}; known: {', '.join(known)}"
                for key in raw if key not in known]
    for key, value in raw.items():
        if key not in known:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < known[key]:
            mistakes.append(f"limits: {key} must be a whole number, {known[key]} or more, "
                            f"not {value!r}")
        elif key in CAPS and value > CAPS[key]:
            mistakes.append(f"limits: {key} can be at most {CAPS[key]} (the size of the PVs)")
    return mistakes


def from_config(raw: dict[str, Any] | None) -> Limits:
    return Limits(**(raw or {}))


def markdown_table() -> str:
    rows = ["| `limits:` key | what it bounds | default |", "|---|---|---|"]
    rows += [f"| `{f.name}` | {f.metadata['meaning']} | {f.default:,} |" for f in fields(Limits)]
    return "\n".join(rows)
