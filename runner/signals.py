"""A clean signal state for the IOC, its fork server and every job.

Process supervisors hand their children signals blocked or ignored: procServ
starts its child with SIGTERM, SIGHUP and SIGPIPE blocked, a shell starts a
background command with SIGINT ignored, ``nohup`` ignores SIGHUP. Blocked and
ignored signals survive fork and exec, so without this a job would never see the
SIGTERM of an abort (its ``finally:`` blocks would not run before the kill).
"""
from __future__ import annotations

import logging
import signal

log = logging.getLogger(__name__)

UNCATCHABLE = {signal.SIGKILL, signal.SIGSTOP}
# What a fresh Python interpreter sets itself: keep it, so a job behaves as under ``python``.
PYTHON_DEFAULTS = {signal.SIGINT: signal.default_int_handler, signal.SIGPIPE: signal.SIG_IGN,
                   signal.SIGXFSZ: signal.SIG_IGN}


def unblock_all() -> set[signal.Signals]:
    """Unblock every signal; return those that were blocked."""
    return set(signal.pthread_sigmask(signal.SIG_SETMASK, set()))


def reset_ignored(keep: frozenset[int] = frozenset()) -> set[signal.Signals]:
    """Give every signal ignored at start (but those in ``keep``) its default action back;
    return those reset."""
    reset = set()
    for sig in signal.valid_signals():
        if sig in UNCATCHABLE or sig in keep or sig in PYTHON_DEFAULTS:
            continue
        try:
            if signal.getsignal(sig) == signal.SIG_IGN:
                signal.signal(sig, signal.SIG_DFL)
                reset.add(signal.Signals(sig))
        except (OSError, ValueError, RuntimeError):
            pass                                # reserved by the C library (real-time signals)
    return reset


def python_defaults() -> None:
    """Every signal as a fresh Python interpreter has it, and none blocked (in a new job)."""
    for sig in signal.valid_signals():
        if sig in UNCATCHABLE:
            continue
        try:
            signal.signal(sig, PYTHON_DEFAULTS.get(sig, signal.SIG_DFL))
        except (OSError, ValueError, RuntimeError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def clean_inherited(honour_nohup: bool = True) -> None:
    """At the start of the IOC: unblock what the supervisor blocked, reset what it ignored.

    A SIGHUP ignored at start is kept ignored when ``honour_nohup``: someone ran us under
    ``nohup`` on purpose, to survive the terminal closing."""
    keep = frozenset({signal.SIGHUP}) if honour_nohup and \
        signal.getsignal(signal.SIGHUP) == signal.SIG_IGN else frozenset()
    blocked = unblock_all()
    reset = reset_ignored(keep)
    if blocked or reset:
        log.info("signals blocked at start, now unblocked: %s; ignored at start, now reset: %s",
                 _names(blocked), _names(reset))
    if keep:
        log.info("SIGHUP was ignored at start (nohup): it stays ignored")


def _names(sigs) -> str:
    return ", ".join(sorted(signal.Signals(s).name for s in sigs)) or "none"
