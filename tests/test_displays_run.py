"""The display tests (tests/test_displays.py), run in a process of their own as PyDM is."""
import os
import subprocess
import sys
from pathlib import Path

from test_displays import OWN_PROCESS


def test_the_displays_work_in_a_process_of_their_own():
    tests = Path(__file__).resolve().parent / "test_displays.py"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rs", str(tests)], env={**os.environ, OWN_PROCESS: "1"},
                          capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]
