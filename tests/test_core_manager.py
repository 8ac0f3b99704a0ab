"""The job manager and queue: pure, no processes, no sockets."""
import pytest
from hypothesis import given, settings, strategies as st

from scriptserver.jobs import effects as fx
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.manager import JobManager
from scriptserver.jobs.spec import parse_job, parse_json
from scriptserver.jobs.states import QueueState, State


def spec(n=1):
    return parse_job({"command": "wait", "args": {"seconds": n}})


def queued(manager, *pausable):
    jobs = [manager.new_job(spec(i), pausable=p) for i, p in enumerate(pausable or (True,))]
    manager.add(jobs)
    return [j.id for j in jobs]


def launched(effects):
    return [e.job.id for e in effects if isinstance(e, fx.Launch)]


def test_jobs_run_one_at_a_time_in_order():
    m = JobManager()
    a, b = queued(m, True, True)
    assert launched(m.start(now=1.0)) == [a]
    assert m.state is State.RUNNING and m.queue.ids() == [b]
    assert launched(m.job_ended("finished", now=2.0)) == [b]
    assert [r.status for r in m.history] == ["finished"]
    m.job_ended("finished", now=3.0)
    assert m.state is State.IDLE and m.queue_state is QueueState.RUNNING


def test_adding_to_a_running_empty_queue_starts_the_job():
    m = JobManager()
    m.start()
    job = m.new_job(spec())
    assert launched(m.add([job], now=5.0)) == [job.id]


def test_stop_lets_the_current_job_finish():
    m = JobManager()
    queued(m, True, True)
    m.start()
    m.stop()
    assert m.queue_state is QueueState.STOPPING
    assert launched(m.job_ended("finished", 1.0)) == []
    assert m.queue_state is QueueState.STOPPED and len(m.queue) == 1


def test_failure_stops_the_queue_unless_mode_continues():
    m = JobManager()
    queued(m, True, True, True)
    m.start()
    m.job_ended("failed", 1.0, error="ZeroDivisionError")
    assert m.queue_state is QueueState.STOPPED and m.history[0].error == "ZeroDivisionError"
    m.set_mode("CONTINUE_ON_FAILURE")
    m.start()
    assert launched(m.job_ended("failed", 2.0))


def test_abort_puts_the_job_back_at_the_head_and_stops():
    m = JobManager()
    a, b = queued(m, True, True)
    m.start()
    effects = m.abort()
    assert fx.Control("abort") in effects and m.state is State.ABORTING
    m.job_ended("failed", 2.0)
    assert m.history[0].status == "aborted"
    assert m.queue.ids() == [a, b] and m.queue_state is QueueState.STOPPED


def test_deferred_pause_is_refused_for_a_black_box_script():
    m = JobManager()
    queued(m, False)
    m.start()
    with pytest.raises(RequestRefused, match="no pause points.*PAUSE:NOW"):
        m.pause()
    assert m.state is State.RUNNING
    m.pause(now=True)
    assert m.state is State.PAUSING


def test_paused_refuses_start_but_allows_edits():
    m = JobManager()
    a, b, c = queued(m, True, True, True)
    m.start()
    m.pause()
    m.job_paused()
    assert m.state is State.PAUSED
    with pytest.raises(RequestRefused, match="the queue is paused: resume"):
        m.start()
    m.move(c, 0)
    assert m.queue.ids() == [c, b]
    m.resume()
    assert m.state is State.RUNNING


def test_pause_that_never_reaches_a_pause_point_holds_the_queue():
    m = JobManager()
    queued(m, True, True)
    m.start()
    m.pause()
    assert launched(m.job_ended("finished", 1.0)) == []
    assert m.state is State.PAUSED and m.current is None
    with pytest.raises(RequestRefused, match="JOB:RESUME continues it"):
        m.abort()
    assert launched(m.resume(2.0))


def test_the_running_job_cannot_be_moved_edited_or_removed():
    m = JobManager()
    a, b = queued(m, True, True)
    m.start()
    for action in (lambda: m.move(a, 0), lambda: m.remove([a]), lambda: m.edit(a, spec()),
                   lambda: m.skip(a)):
        with pytest.raises(RequestRefused, match=f"job {a} is running"):
            action()


def test_repeat_skip_and_remove():
    m = JobManager()
    a, b = queued(m, True, True)
    m.repeat(a, 2)
    assert m.queue.ids()[0] == a and len(m.queue) == 4 and m.queue.ids()[-1] == b
    m.skip()
    assert m.history[0].status == "skipped" and m.history[0].job_id == a
    with pytest.raises(RequestRefused, match="no queued job has id 99"):
        m.remove([b, 99])
    assert b in m.queue
    with pytest.raises(RequestRefused, match="from 1 to"):
        m.repeat(b, 0)


def test_move_before_and_after():
    m = JobManager()
    a, b, c = queued(m, True, True, True)
    m.move(c, before=a)
    assert m.queue.ids() == [c, a, b]
    m.move(c, after=b)
    assert m.queue.ids() == [a, b, c]
    with pytest.raises(RequestRefused, match="exactly one"):
        m.move(a, 0, before=b)
    with pytest.raises(RequestRefused, match="outside the queue"):
        m.move(a, 5)


@pytest.mark.parametrize("text,message", [
    ("", "empty job"),
    ("{nope", "not valid JSON: .* line 1 column 2"),
])
def test_bad_json_is_refused_in_words(text, message):
    with pytest.raises(RequestRefused, match=message):
        parse_json(text)


@pytest.mark.parametrize("body,message", [
    ({"command": "wait", "script": "x"}, "exactly one"),
    ({"name": "x"}, "exactly one"),
    ({"command": "wait", "argz": {}}, "unknown key.*'argz'"),
    ({"command": 3}, "must be a command name"),
    ({"command": "wait", "args": [1]}, "JSON object of argument names"),
    ({"script": "   "}, "empty"),
    ({"script": "x", "name": 5}, '"name" must be a string'),
    ([1, 2], "must be a JSON object"),
])
def test_malformed_jobs_are_refused(body, message):
    with pytest.raises(RequestRefused, match=message):
        parse_job(body)


def test_control_characters_inside_json_strings_are_accepted():
    # caput -S turns a typed \n into a real newline before sending
    assert parse_json('{"script": "x = 1\nprint(x)"}')["script"] == "x = 1\nprint(x)"


# -- property: any sequence of requests leaves a consistent server --------------

ACTIONS = st.lists(st.tuples(
    st.sampled_from(["add", "start", "stop", "pause", "pause_now", "paused", "resume", "abort",
                     "ended", "failed", "move", "remove", "skip", "repeat", "clear", "edit"]),
    st.integers(0, 12), st.booleans()), max_size=60)


@settings(max_examples=300, deadline=None)
@given(ACTIONS)
def test_any_sequence_keeps_the_invariants(actions):
    m = JobManager()
    ever: set[int] = set()
    for action, n, flag in actions:
        ids = m.queue.ids()
        target = ids[n % len(ids)] if ids else n
        calls = {
            "add": lambda: m.add([m.new_job(spec(n), pausable=flag) for _ in range(n % 3 + 1)]),
            "start": m.start, "stop": m.stop, "pause": lambda: m.pause(now=flag),
            "pause_now": lambda: m.pause(now=True), "paused": m.job_paused,
            "resume": m.resume, "abort": m.abort,
            "ended": lambda: m.job_ended("finished", float(n)),
            "failed": lambda: m.job_ended("failed", float(n)),
            "move": lambda: m.move(target, n % (len(ids) or 1)),
            "remove": lambda: m.remove([target]), "skip": lambda: m.skip(target if flag else None),
            "repeat": lambda: m.repeat(target, n % 3 + 1), "clear": m.clear,
            "edit": lambda: m.edit(target, spec(n)),
        }
        before = (m.state, m.queue_state, m.queue.ids(), m.current and m.current.id, len(m.history))
        try:
            calls[action]()
        except RequestRefused:
            after = (m.state, m.queue_state, m.queue.ids(), m.current and m.current.id,
                     len(m.history))
            assert after == before, f"refused {action} changed something"
        queue_ids = m.queue.ids()
        live = queue_ids + ([m.current.id] if m.current else [])
        assert len(live) == len(set(live)), "a job is duplicated"
        assert all(i < m.next_id for i in live), "an id was reused"
        ever |= set(live)
        assert (m.current is None) == (m.state is State.IDLE or
                                       (m.state is State.PAUSED and m.current is None))
        if m.state in (State.RUNNING, State.PAUSING, State.ABORTING):
            assert m.current is not None, "a running state with no job"
        assert (m.run is None) == (m.current is None)
