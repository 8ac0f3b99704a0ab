"""How a job ended, decided by the server from what it saw, not from what the job said.

The job's own report ("ended", with finished / failed / aborted) tells *why* it
ended; the process's real exit status decides whether it finished. This says only
finished or failed: whether a job ended by the operator is recorded aborted or
halted is the manager's rule (``ENDED_AS`` in jobs/states.py), decided there alone.

=====================================  =================================================
what happened                          recorded
=====================================  =================================================
the job sent a malformed report        failed: the reason; the job was stopped
ended by the server (abort, halt,      failed: the server's reason (and how it exited,
shutdown)                              if it did not get to report: killed by SIGKILL)
said finished, exited 0                finished
said finished, exited otherwise        failed: it said finished, then exited with N
said failed (any exit status)          failed: its own reason and traceback
said aborted, but nobody aborted it    failed: stopped by a SIGTERM from outside
said nothing                           failed: exited with N / killed by signal S
=====================================  =================================================

A job that says it failed is believed even if it exits 0: claiming failure never
makes a job look better than it is, and the reason it gives is the useful part.
"""
from __future__ import annotations

import os
import signal
from typing import Any


def how_it_exited(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


CARRIED = ("simulated_seconds", "not_simulated")    # what a dry run tells, whatever the end


def decide(claim: dict[str, Any] | None, status: int, *, aborted: str | None = None,
           rejected: str | None = None) -> dict[str, Any]:
    """The outcome to record (see the table above), with what a dry run told."""
    outcome = _decide(claim, status, aborted=aborted, rejected=rejected)
    if claim is not None and rejected is None:
        outcome.update({k: claim[k] for k in CARRIED if k in claim})
    return outcome


def _decide(claim: dict[str, Any] | None, status: int, *, aborted: str | None = None,
           rejected: str | None = None) -> dict[str, Any]:
    """The outcome to record. ``claim``: the job's 'ended' report (checked), if it sent one;
    ``status``: its wait status; ``aborted``: why the server aborted it, if it did;
    ``rejected``: why the server stopped it for a malformed report, if it did."""
    if rejected is not None:
        return failed(f"the job sent a malformed report and was stopped: {rejected}")
    exit_text = f"the job process {how_it_exited(status)}"
    if aborted is not None:
        return failed(aborted if claim else f"{aborted}; {exit_text}")
    if claim is None:
        return failed(f"{exit_text} before reporting an outcome")
    said = claim["status"]
    if said == "finished":
        if os.waitstatus_to_exitcode(status) == 0:
            return {"status": "finished"}
        return failed(f"the job reported it finished, but its process then {how_it_exited(status)}")
    if said == "aborted":
        return failed(f"the job was stopped by a SIGTERM that did not come from the server; "
                      f"{exit_text}")
    return {"status": "failed", "error": claim.get("error") or exit_text,
            **({"traceback": claim["traceback"]} if claim.get("traceback") else {})}


def failed(error: str) -> dict[str, Any]:
    return {"status": "failed", "error": error}
