"""Two kill -9 cycles under concurrent clients (the long run: python -m benchmarks.crash_cycles)."""
from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_a_few_kill_9_cycles_lose_nothing_acknowledged_and_leave_no_job_process():
    done = subprocess.run([sys.executable, "-m", "benchmarks.crash_cycles", "--cycles", "2",
                           "--clients", "2"], cwd=REPO, capture_output=True, text=True,
                          timeout=240, start_new_session=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = {line[:28].strip(): line[28:].split() for line in done.stdout.splitlines()
            if line.endswith(("PASS", "FAIL"))}
    assert rows["acknowledged adds lost"] == ["0", "PASS"]
    assert rows["orphan job processes"] == ["0", "PASS"]
    acknowledged = next(int(line.split()[-1]) for line in done.stdout.splitlines()
                        if line.startswith("acknowledged adds "))
    assert acknowledged > 0, "the clients never got an add through: the check proves nothing"
