"""An IBEX script generator definition, used here unchanged as the command do_run."""
import time

from genie_python.genie_script_generator import ScriptDefinition, cast_parameters_to

try:
    from scriptserver.jobs.api import is_dry_run, message, pause_point, progress
except ImportError:  # outside the script server
    def progress(done, total=None): pass
    def pause_point(): pass
    def message(text): pass
    def is_dry_run(): return False

RAMP_RATE = 10.0    # K/s (simulated)
UAMPS_RATE = 2.0    # uA.h of beam per second (simulated)
STEP = 0.1


class DoRun(ScriptDefinition):
    """Set a temperature and a magnetic field, then take a run of so many uA.h."""

    @cast_parameters_to(temperature=float, field=float, uamps=float)
    def run(self, temperature=300.0, field=0.0, uamps=2.0):
        """Take one run.

        Args:
            temperature: Sample temperature, in K (1.5 to 400).
            field: Magnetic field, in T (-7 to 7).
            uamps: Beam to count, in uA.h.
        """
        total = self.estimate_time(temperature=temperature, field=field, uamps=uamps)
        dry = "dry run: " if is_dry_run() else ""     # nothing real is set in a dry run
        message(f"{dry}temperature {temperature:g} K, field {field:g} T")
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < total:
            progress(elapsed, total)
            pause_point()
            time.sleep(min(STEP, total - elapsed))
        progress(1, 1)
        message(f"run of {uamps:g} uA.h done")

    @cast_parameters_to(temperature=float, field=float, uamps=float)
    def parameters_valid(self, temperature=300.0, field=0.0, uamps=2.0):
        reasons = []
        if not 1.5 <= temperature <= 400:
            reasons.append(f"temperature must be between 1.5 and 400 K, not {temperature:g}")
        if abs(field) > 7:
            reasons.append(f"field must be within +/-7 T, not {field:g}")
        if uamps <= 0:
            reasons.append("uamps must be more than 0")
        return "; ".join(reasons) or None

    @cast_parameters_to(temperature=float, field=float, uamps=float)
    def estimate_time(self, temperature=300.0, field=0.0, uamps=2.0):
        return abs(temperature - 300.0) / RAMP_RATE / 10 + abs(field) / 7 + uamps / UAMPS_RATE

    def get_help(self):
        return ("Set a temperature (K) and a magnetic field (T), then take a run "
                "until uamps uA.h of beam have been counted.")
