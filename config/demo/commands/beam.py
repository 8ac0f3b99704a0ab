"""Beam: the incident energy (simulated choppers)."""
import time
from typing import Annotated

try:
    from scriptserver.jobs.api import is_dry_run, message, pause_point, progress
except ImportError:  # outside the script server
    def progress(done, total=None): pass
    def pause_point(): pass
    def message(text): pass
    def is_dry_run(): return False

STEP = 0.1  # seconds between progress reports


def set_ei(energy: Annotated[float, "meV", (0.5, 800)]) -> float:
    """Set the incident energy: phase the choppers for it.

    Higher energies take longer to phase (simulated: 1 s plus 1 s per 400 meV).

    Parameters
    ----------
    energy : float
        Incident neutron energy, in meV.

    Returns the energy set.
    """
    # a dry run phases nothing: it only takes the (simulated) time phasing would take
    message(f"{'dry run: ' if is_dry_run() else ''}phasing choppers for {energy:g} meV")
    total = estimate_set_ei(energy)
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < total:
        progress(elapsed, total)
        pause_point()
        time.sleep(min(STEP, total - elapsed))
    progress(total, total)
    message(f"Ei = {energy:g} meV")
    return energy


def estimate_set_ei(energy: float) -> float:
    """Seconds set_ei(energy) takes."""
    return 1.0 + energy / 400.0
