"""Motion: the sample stage (simulated motors that remember where they are)."""
import json
import tempfile
import time
from pathlib import Path
from typing import Annotated, Literal

try:
    from scriptserver.jobs.api import is_dry_run, message, pause_point, progress
except ImportError:  # outside the script server
    def progress(done, total=None): pass
    def pause_point(): pass
    def message(text): pass
    def is_dry_run(): return False

SPEED = 20.0  # mm/s
SETTLE = 0.2  # s after each move
STEP = 0.1    # s between position updates
POSITIONS = Path(tempfile.gettempdir()) / "scriptserver-demo-positions.json"

Axis = Literal["sample_x", "sample_y", "sample_z"]


def move(axis: Axis, position: Annotated[float, "mm", (-50, 50)]) -> float:
    """Move a sample stage axis to a position and wait until it is there.

    If the job is aborted, the axis stays where it stopped.

    Args:
        axis: Which axis of the sample stage to move.
        position: Where to move it to, in mm from the beam centre.

    Returns the position reached.
    """
    positions = _read_positions()
    start_position = positions.get(axis, 0.0)
    distance = position - start_position
    duration = abs(distance) / SPEED
    message(f"moving {axis} from {start_position:g} to {position:g} mm")
    start = time.monotonic()
    try:
        while (elapsed := time.monotonic() - start) < duration:
            positions[axis] = start_position + distance * elapsed / duration
            progress(elapsed, duration + SETTLE)
            pause_point()
            time.sleep(min(STEP, duration - elapsed))
        positions[axis] = position
        time.sleep(SETTLE)
        progress(1, 1)
    finally:
        if not is_dry_run():            # a dry run leaves the remembered positions alone
            _write_positions(positions)
    return position


def estimate_move(axis: Axis, position: float) -> float:
    """Seconds move(axis, position) takes from where the axis is now."""
    return abs(position - _read_positions().get(axis, 0.0)) / SPEED + SETTLE


def _read_positions() -> dict:
    try:
        return json.loads(POSITIONS.read_text())
    except (OSError, ValueError):
        return {}


def _write_positions(positions: dict) -> None:
    POSITIONS.write_text(json.dumps(positions))
