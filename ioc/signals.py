"""Undo the signal state a launcher leaves behind, so abort and shutdown work under it.

procServ (which IBEX starts every IOC with) hands its child SIGHUP, SIGPIPE and SIGTERM
*blocked* and SIGINT/SIGQUIT *ignored*, and both survive exec and fork. Left so, a job's
abort (SIGTERM) never reaches its ``finally:`` blocks (it is killed at the end of the
grace period instead), a job does not stop when the server dies, and Ctrl-C does not stop
the IOC. Run first thing, before the job launcher is forked, so every job starts clean.
"""
from __future__ import annotations

import logging
import signal

log = logging.getLogger(__name__)

DEFAULTS = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL,
            signal.SIGHUP: signal.SIG_DFL, signal.SIGQUIT: signal.SIG_DFL}


def undo_inherited_signal_state() -> list[str]:
    """Unblock every signal and restore the ones a launcher ignored; say what changed."""
    changed = [f"{signal.Signals(s).name} was blocked"
               for s in signal.pthread_sigmask(signal.SIG_SETMASK, set())]
    for sig, handler in DEFAULTS.items():
        if signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, handler)
            changed.append(f"{sig.name} was ignored")
    if changed:
        log.info("signals restored from the launcher's settings: %s", ", ".join(changed))
    return changed
