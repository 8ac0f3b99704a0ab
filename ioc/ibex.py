"""What IBEX sees of the script server: block names, short descriptions, interest levels.

IBEX registers an IOC's PVs with an *interest level* (``HIGH`` PVs are offered first
in the GUI's block editor, ``MEDIUM`` ones on request, ``LOW`` ones are for tools)
and shows a block's ``.DESC``. This table gives each PV its level and a description
that fits ``.DESC``'s 40 characters; the recommended blocks are the rows with a
block name. README's IBEX tables are generated from it
(``python -m scriptserver.ioc.docs README.md``).
"""
from __future__ import annotations

from dataclasses import dataclass

from . import rows
from .pvs import PV, PVS


@dataclass(frozen=True)
class IbexPV:
    pv: str                 # after the prefix
    desc: str               # fits .DESC (40 characters)
    interest: str           # HIGH | MEDIUM | LOW
    block: str = ""         # the recommended block name, if it makes a good block


IBEX_PVS: list[IbexPV] = [
    IbexPV("STATE", "Script server job state", "HIGH", "SCRIPT_STATE"),
    IbexPV("QUEUE:STATE", "Script server queue state", "HIGH", "SCRIPT_QUEUE"),
    IbexPV("QUEUE:MODE", "What a failed job does to the queue", "MEDIUM"),
    IbexPV("QUEUE:MODE:SP", "Set what a failed job does to the queue", "MEDIUM"),
    IbexPV("QUEUE:MODE:SP:RBV", "Queue mode (read back)", "MEDIUM", "SCRIPT_QUEUE_MODE"),
    IbexPV("QUEUE:LEN", "Number of queued jobs", "HIGH", "SCRIPT_QUEUE_LEN"),
    IbexPV("QUEUE:ETA", "Time until the queue is done", "HIGH", "SCRIPT_QUEUE_ETA"),
    IbexPV("QUEUE:ETA:UNKNOWN", "Queued jobs without an estimate", "MEDIUM"),
    IbexPV("JOB:ID", "Id of the current job", "MEDIUM", "SCRIPT_JOB_ID"),
    IbexPV("JOB:NAME", "Name of the current job", "HIGH", "SCRIPT_JOB"),
    IbexPV("JOB:PROGRESS", "Progress of the current job", "HIGH", "SCRIPT_PROGRESS"),
    IbexPV("JOB:ELAPSED", "Time the current job has run", "HIGH", "SCRIPT_ELAPSED"),
    IbexPV("JOB:REMAINING", "Time the current job still needs", "HIGH", "SCRIPT_REMAINING"),
    IbexPV("JOB:ESTIMATE", "Expected duration of the current job", "MEDIUM"),
    IbexPV("JOB:LINE", "Line the current job is running", "MEDIUM"),
    IbexPV("JOB:MESSAGE", "What the current job says it is doing", "MEDIUM"),
    IbexPV("BATCH:PROGRESS", "Progress of the current batch", "MEDIUM"),
    IbexPV("ERROR", "Last script server error", "HIGH", "SCRIPT_ERROR"),
]
BY_PV = {row.pv: row for row in IBEX_PVS}
DEFAULT_INTEREST = "LOW"


def description(pv: PV) -> str:
    """The PV's ``.DESC``: the table's words, else the start of its doc cut at a word."""
    row = BY_PV.get(pv.name)
    if row is not None:
        return row.desc
    text = pv.doc.split(";")[0].split("(")[0].strip()
    if len(text) > 40:
        text = text[:40].rsplit(" ", 1)[0]
    return text[:1].upper() + text[1:]


def interest(pv: PV) -> str:
    row = BY_PV.get(pv.name)
    return row.interest if row else DEFAULT_INTEREST


def blocks_table() -> str:
    """README: the recommended blocks and what each is a gateway alias of."""
    rows = ["| block | PV | units | what it shows |", "|---|---|---|---|"]
    by_name = {pv.name: pv for pv in PVS}
    for row in IBEX_PVS:
        if row.block:
            units = by_name[row.pv].units or "—"
            rows.append(f"| `{row.block}` | `$(MYPVPREFIX)SCRPTSRV_01:{row.pv}` | {units} | "
                        f"{row.desc} |")
    return "\n".join(rows)


def interest_table() -> str:
    """README: every PV with its IBEX interest level."""
    levels: dict[str, list[str]] = {"HIGH": [], "MEDIUM": [], "LOW": []}
    for pv in PVS:
        levels[interest(pv)].append(f"`{rows.pattern(pv.name)}`")   # one QUEUE:ROW:n:ID
    return "\n".join(["| interest | PVs |", "|---|---|"] + [
        f"| {level} | {', '.join(dict.fromkeys(names))} |" for level, names in levels.items()])
