"""Issue 5 end to end: progress, current line, estimates, output, batches, through real CA."""
import math
import textwrap

import epics

from ca import get, get_json, get_value, put_checked
from conftest import add, wait_for



def run_status(ioc, job_id):
    return next((r["status"] for r in get_json(ioc.pv("HISTORY")) or [] if r["id"] == job_id),
                None)


def record(ioc, job_id):
    put_checked(ioc.pv("QUEUE:GET"), str(job_id))
    return wait_for(lambda: (r := get_json(ioc.pv("QUEUE:GET:RESULT"))) and r["id"] == job_id
                    and r)


def monitor(ioc, suffix, **kwargs):
    seen = []
    pv = epics.PV(ioc.pv(suffix), auto_monitor=True, form="ctrl",
                  callback=lambda value=None, char_value=None, **kw: seen.append(
                      char_value if kwargs.get("text") else value))
    wait_for(lambda: pv.connected and seen, what=f"monitor on {suffix}")
    return pv, seen


def run_counting(ioc, steps: int, pause: float, message: str = "") -> None:
    """Run a job that reports progress(i, steps) after each of ``steps`` pauses, to its end."""
    script = textwrap.dedent(f"""\
        import time
        from scriptserver.jobs.api import progress, message
        if {message!r}:
            message({message!r})
        for i in range(1, {steps} + 1):
            time.sleep({pause})
            progress(i, {steps})
        """)
    (job_id,) = add(ioc, {"script": script})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: run_status(ioc, job_id) == "finished", timeout=30)


def test_progress_reaches_a_camonitor_with_units_and_limits(ioc):
    pv, seen = monitor(ioc, "JOB:PROGRESS")
    assert pv.units == "%" and (pv.lower_ctrl_limit, pv.upper_ctrl_limit) == (0.0, 100.0)
    run_counting(ioc, steps=10, pause=0.1, message="counting")
    values = [v for v in seen if v]
    assert values and max(values) == 100.0
    assert values == sorted(values), "progress went backwards"
    assert len(set(values)) >= 3, f"too few updates: {values}"
    pv.disconnect()


def test_the_line_pv_follows_the_script_through_known_lines(ioc):
    pv, seen = monitor(ioc, "JOB:LINE")
    script = "import time\ntime.sleep(0.6)\nx = 1\ntime.sleep(0.6)\n"
    (job_id,) = add(ioc, {"script": script})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: run_status(ioc, job_id) == "finished", timeout=20)
    lines = [v for v in seen if v]
    assert lines[lines.index(2):].count(4) >= 1 and 2 in lines, lines
    assert lines.index(2) < lines.index(4)
    pv.disconnect()


def test_the_stack_pv_shows_the_call_chain_inside_the_job(ioc):
    script = "import time\ndef inner():\n    time.sleep(2)\ndef outer():\n    inner()\nouter()\n"
    (job_id,) = add(ioc, {"script": script})
    put_checked(ioc.pv("QUEUE:START"), 1)
    stack = wait_for(lambda: get_json(ioc.pv("JOB:STACK")), what="a stack")
    assert stack == [["<module>", 6], ["outer", 5], ["inner", 3]]
    assert get(ioc.pv("JOB:LINE")) == "3" or get_value(ioc.pv("JOB:LINE")) == 3


def test_message_and_output_are_published(ioc):
    script = ("import time\nfrom scriptserver.jobs.api import message\nmessage('phase 2')\n"
              "print('first')\nprint('second')\ntime.sleep(1.5)\n")
    add(ioc, {"script": script})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get(ioc.pv("JOB:MESSAGE")) == "phase 2")
    wait_for(lambda: get(ioc.pv("JOB:OUTPUT")) == "first\nsecond")


def test_command_estimate_comes_from_the_command_and_remaining_counts_down(ioc):
    (job_id,) = add(ioc, {"command": "wait", "args": {"seconds": 3}})
    queued = wait_for(lambda: get_json(ioc.pv("QUEUE"))[0]["estimate_source"] == "command"
                      and get_json(ioc.pv("QUEUE"))[0])
    assert queued["estimate"] == 3.0
    wait_for(lambda: get_value(ioc.pv("QUEUE:ETA")) == 3.0)
    assert get_value(ioc.pv("QUEUE:ETA:UNKNOWN")) == 0
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get_value(ioc.pv("JOB:ID")) == job_id)
    assert get_value(ioc.pv("JOB:ESTIMATE")) == 3.0
    assert get(ioc.pv("JOB:ESTIMATE:SOURCE")) == "command"
    first = wait_for(lambda: get_value(ioc.pv("JOB:REMAINING")))
    wait_for(lambda: get_value(ioc.pv("JOB:REMAINING")) < first - 0.5, what="remaining to drop")


def test_history_gives_the_estimate_for_a_script_seen_before(ioc):
    script = "import time\ntime.sleep(0.5)\n"
    (first,) = add(ioc, {"script": script})
    assert get_json(ioc.pv("QUEUE"))[0]["estimate_source"] == "unknown"
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: run_status(ioc, first) == "finished")
    put_checked(ioc.pv("QUEUE:STOP"), 1)
    add(ioc, {"script": script})
    job = get_json(ioc.pv("QUEUE"))[0]
    assert job["estimate_source"] == "history" and 0.5 <= job["estimate"] < 2.0


def test_unknown_estimates_are_nan_with_an_invalid_alarm_never_made_up(ioc):
    add(ioc, {"script": "import time\ntime.sleep(3)\n"})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get(ioc.pv("STATE")) == "RUNNING")
    pv = epics.PV(ioc.pv("JOB:REMAINING"), form="time")
    wait_for(lambda: pv.connected)
    reading = pv.get_with_metadata(use_monitor=False, form="time")
    assert math.isnan(reading["value"]) and reading["severity"] == 3      # INVALID
    assert get_value(ioc.pv("QUEUE:ETA:UNKNOWN")) == 1


def test_output_is_kept_per_job_bounded_with_head_and_tail(ioc):
    script = ("import sys\nprint('HEAD')\nfor i in range(200000):\n"
              "    sys.stdout.write('x' * 50 + '\\n')\nprint('TAIL')\n")
    (job_id,) = add(ioc, {"script": script})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: run_status(ioc, job_id) == "finished", timeout=30)
    output = record(ioc, job_id)["runs"][0]["output"]
    assert output.startswith("HEAD\n") and output.endswith("TAIL\n")
    assert "bytes of output dropped" in output and len(output) < 200_000


def test_a_script_generator_batch_shows_overall_progress(ioc):
    rows = [{"temperature": t} for t in (10, 20, 30, 40)]
    script = ("import time\nfrom scriptserver.jobs.api import progress\n"
              "print('T =', params['temperature'])\ntime.sleep(0.4)\nprogress(1.0)\n")
    ids = add(ioc, {"batch": "T scan", "jobs": [{"script": script, "params": row,
                                                 "name": f"T={row['temperature']}"}
                                                for row in rows]})
    assert [j["batch"]["index"] for j in get_json(ioc.pv("QUEUE"))] == [1, 2, 3, 4]
    pv, seen = monitor(ioc, "BATCH:PROGRESS")
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: (b := get_json(ioc.pv("BATCH"))) and b["index"] == 3 and b)
    assert get_json(ioc.pv("BATCH"))["name"] == "T scan"
    wait_for(lambda: run_status(ioc, ids[-1]) == "finished", timeout=20)
    assert record(ioc, ids[2])["runs"][0]["output"] == "T = 30\n"
    progress = [v for v in seen if v]
    assert progress == sorted(progress) and max(progress) >= 75.0
    pv.disconnect()


def test_comment_tags_report_progress_without_an_import(ioc):
    script = "import time\ntime.sleep(0.3)\n# progress 1/2\ntime.sleep(1.0)\n# progress 2/2\n"
    add(ioc, {"script": script})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get_value(ioc.pv("JOB:PROGRESS")) == 50.0)


def test_a_job_reporting_flat_out_is_held_back_by_the_update_rate_ending_on_its_last_value(
        make_ioc):
    """update_rate: 0.1 (one update in ten seconds) -> of a job's 300 progress reports the
    first goes out at once, the rest are held; the job's end sends the last (100 %) at
    once. Counted, not timed: with update_rate 0 every report is a change to send."""
    ioc = make_ioc(extra_config="update_rate: 0.1\n").start()
    pv, seen = monitor(ioc, "JOB:PROGRESS")
    run_counting(ioc, steps=300, pause=0.005)
    wait_for(lambda: 100.0 in seen, what="the last report, 100 %, sent as the job ended")
    shown = [v for v in seen if v]
    # the first report, maybe one at the end of a period on a slow machine, then 100 %
    assert len(shown) <= 4 and shown == sorted(shown) and shown[-1] == 100.0, shown
    pv.disconnect()
