"""The job channel is untrusted: reports are checked, a bad one fails only that job, and the
recorded outcome comes from the process's real exit, not from what the job says."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from ca import get, put_checked
from conftest import IOC, wait_for
from scriptserver.runner import reports
from scriptserver.runner.outcome import decide
from test_ioc_control import add, ended, ids, state

EXIT_0, EXIT_1 = 0, 1 << 8                 # wait statuses
KILLED = 9                                 # wait status of a SIGKILL


# -- the checks, on their own -------------------------------------------------------------

GOOD = [
    ({"t": "progress", "v": 0.5}, ("progress", {"v": 0.5})),
    ({"t": "progress", "v": 1}, ("progress", {"v": 1.0})),
    ({"t": "message", "v": "aligning"}, ("message", {"v": "aligning"})),
    ({"t": "line", "line": 3, "stack": [["<module>", 3]]},
     ("line", {"line": 3, "stack": [["<module>", 3]]})),
    ({"t": "paused", "resumes": 0}, ("paused", {"resumes": 0})),
    ({"t": "resumed"}, ("resumed", {})),
    ({"t": "ended", "status": "failed", "error": "ValueError: x", "traceback": "..."},
     ("ended", {"status": "failed", "error": "ValueError: x", "traceback": "..."})),
]

BAD = [
    (b"not json\n", "not JSON"),
    (b"[1, 2]\n", "not a JSON object"),
    (b'{"t": "explode"}\n', "unknown report kind 'explode'"),
    (b'{"v": 1}\n', "unknown report kind None"),
    (b'{"t": "progress", "v": "lots"}\n', "'progress' v must be a number from 0 to 1"),
    (b'{"t": "progress", "v": NaN}\n', "'progress' v must be a number from 0 to 1"),
    (b'{"t": "progress", "v": 1.5}\n', "'progress' v must be a number from 0 to 1"),
    (b'{"t": "progress", "v": true}\n', "'progress' v must be a number from 0 to 1"),
    (b'{"t": "progress"}\n', "lacks its 'v' field"),
    (b'{"t": "message", "v": 5}\n', "'message' v must be text"),
    (json.dumps({"t": "message", "v": "x" * 5000}).encode(), "5000 characters long; at most"),
    (b'{"t": "line", "line": -1}\n', "'line' line must be a whole number"),
    (b'{"t": "line", "line": 2, "stack": [[1, 2]]}\n', "'line' stack name must be text"),
    (b'{"t": "ended", "status": "great"}\n', "must be one of finished, failed, aborted"),
    (b'{"t": "resumed", "extra": 1}\n', "unknown field(s) extra"),
]


@pytest.mark.parametrize("report,expected", GOOD)
def test_well_formed_reports_pass(report, expected):
    assert reports.parse(json.dumps(report).encode()) == expected


@pytest.mark.parametrize("line,reason", BAD)
def test_malformed_reports_are_refused_with_the_reason(line, reason):
    with pytest.raises(reports.BadReport) as refused:
        reports.parse(line)
    assert reason in str(refused.value)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)


@given(kind=st.sampled_from(sorted(reports.REPORTS)) | st.text(max_size=5),
       fields=st.dictionaries(st.sampled_from(["v", "line", "stack", "resumes", "status",
                                               "error", "traceback", "x"]), JSON, max_size=3))
def test_any_report_is_either_accepted_in_shape_or_refused_with_words(kind, fields):
    try:
        got_kind, got = reports.parse(json.dumps({"t": kind, **fields}).encode())
    except reports.BadReport as bad:
        assert str(bad)
    else:
        assert got_kind == kind and set(got) <= set(reports.REPORTS[kind])


@given(st.binary(max_size=200))
def test_any_bytes_are_either_a_report_or_refused(data):
    try:
        reports.parse(data)
    except reports.BadReport:
        pass


OUTCOMES = [
    # claim, wait status, aborted, rejected -> status, words in the error
    ({"status": "finished"}, EXIT_0, None, None, "finished", ""),
    ({"status": "finished"}, EXIT_1, None, None, "failed", "reported it finished, but its "
                                                           "process then exited with status 1"),
    ({"status": "finished"}, KILLED, None, None, "failed", "killed by signal SIGKILL"),
    ({"status": "failed", "error": "E"}, EXIT_0, None, None, "failed", "E"),
    ({"status": "aborted"}, EXIT_1, None, None, "failed", "did not come from the server"),
    (None, EXIT_0, None, None, "failed", "exited with status 0 before reporting an outcome"),
    # ended by the server: the manager, not the runner, records it aborted or halted
    (None, KILLED, "aborted by the operator", None, "failed", "SIGKILL"),
    ({"status": "finished"}, EXIT_0, "aborted by the operator", None, "failed", "operator"),
    ({"status": "finished"}, EXIT_0, None, "not JSON", "failed", "malformed report"),
]


@pytest.mark.parametrize("claim,status,aborted,rejected,recorded,words", OUTCOMES)
def test_the_recorded_outcome_comes_from_the_real_exit(claim, status, aborted, rejected,
                                                       recorded, words):
    outcome = decide(claim, status, aborted=aborted, rejected=rejected)
    assert outcome["status"] == recorded
    assert words in outcome.get("error", "")


# -- through a real IOC (one for this module: each test waits for its own jobs) ---------

@pytest.fixture(scope="module")
def ioc(tmp_path_factory):
    server = IOC(tmp_path_factory.mktemp("reports")).start()
    put_checked(server.pv("QUEUE:MODE"), "CONTINUE_ON_FAILURE", enum=True)
    yield server
    server.stop()


def sends(raw: bytes | str) -> str:
    """A job that writes ``raw`` (or what the expression ``raw`` makes) straight to its
    channel, then waits to be stopped."""
    return ("import time\nfrom scriptserver.jobs import api\n"
            f"api._runtime.channel.sendall({raw if isinstance(raw, str) else repr(raw)})\n"
            "time.sleep(60)\n")


@pytest.mark.parametrize("raw,reason", [
    (b'{"t": "progress", "v": "lots"}\n', "'progress' v must be a number from 0 to 1"),
    (b"\xff\xfe garbage\n", "not JSON"),
    (b'{"t": "line", "line": "x"}\n', "'line' line must be a whole number"),
    ("""b'{"t": "message", "v": "' + b"x" * 2_000_000 + b'"}\\n'""", "longer than 1048576 bytes"),
])
def test_a_malformed_report_fails_only_that_job(ioc, raw, reason):
    bad, good = add(ioc, [{"script": sends(raw), "name": "bad"},
                          {"script": "print('fine')", "name": "good"}])
    put_checked(ioc.pv("QUEUE:START"), 1)
    run = ended(ioc, bad, "failed")
    assert "malformed report" in run["error"] and reason in run["error"], run["error"]
    wait_for(lambda: reason in get(ioc.pv("ERROR")), what="the reason in P:ERROR")
    ended(ioc, good, "finished")
    (later,) = add(ioc, {"script": "pass", "name": "later"})      # operators are unaffected
    put_checked(ioc.pv("QUEUE:START"), 1)
    ended(ioc, later, "finished")
    assert state(ioc) == "IDLE" and ids(ioc) == []


def test_a_job_that_claims_it_finished_then_exits_1_is_failed(ioc):
    (job,) = add(ioc, {"script": "import os\nfrom scriptserver.jobs import api\n"
                                 "api._runtime.send('ended', status='finished')\nos._exit(1)\n"})
    put_checked(ioc.pv("QUEUE:START"), 1)
    run = ended(ioc, job, "failed")
    assert "reported it finished, but its process then exited with status 1" in run["error"]


def test_a_job_that_claims_it_failed_but_exits_0_is_failed_with_its_reason(ioc):
    (job,) = add(ioc, {"script": "import os\nfrom scriptserver.jobs import api\n"
                                 "api._runtime.send('ended', status='failed', error='no beam')\n"
                                 "os._exit(0)\n"})
    put_checked(ioc.pv("QUEUE:START"), 1)
    assert ended(ioc, job, "failed")["error"] == "no beam"


def test_reports_after_the_outcome_are_ignored(ioc):
    (job,) = add(ioc, {"script": "from scriptserver.jobs import api\n"
                                 "api._runtime.send('ended', status='finished')\n"
                                 "api._runtime.send('message', v='still talking')\n"})
    put_checked(ioc.pv("QUEUE:START"), 1)
    ended(ioc, job, "finished")                  # its late message did not fail it
