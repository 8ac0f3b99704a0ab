"""The job manager and queue: pure, no processes, no sockets."""
import pytest
from hypothesis import given, settings, strategies as st

from scriptserver.jobs import effects as fx
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.manager import Estimate, JobManager, NewJob
from scriptserver.jobs.queue import Where
from scriptserver.jobs.spec import parse_job, parse_json
from scriptserver.jobs.states import Event, QueueState, State


def spec(n=1):
    return parse_job({"command": "wait", "args": {"seconds": n}})


def queued(manager, *pausable, **where):
    effects = manager.add([NewJob(spec(i), pausable=p) for i, p in enumerate(pausable or (True,))],
                          Where(**where))
    (added,) = [e for e in effects if isinstance(e, fx.Added)]
    return list(added.ids)


def launched(effects):
    return [e.job.id for e in effects if isinstance(e, fx.Launch)]


def test_jobs_run_one_at_a_time_in_order_and_the_queue_stops_when_it_runs_out():
    m = JobManager()
    a, b = queued(m, True, True)
    assert launched(m.start(now=1.0)) == [a]
    assert m.state is State.RUNNING and m.queue.ids() == [b]
    assert launched(m.job_ended("finished", now=2.0)) == [b]
    assert [r.status for r in m.history] == ["finished"]
    m.job_ended("finished", now=3.0)
    assert m.state is State.IDLE and m.queue_state is QueueState.STOPPED


def test_an_empty_queue_cannot_be_started_unless_it_keeps_running():
    m = JobManager()
    with pytest.raises(RequestRefused, match="it is empty; add jobs first"):
        m.start()
    assert m.queue_state is QueueState.STOPPED
    m.set_when_empty("KEEP_RUNNING")
    m.start()
    assert launched(m.add([NewJob(spec())], now=5.0)) == [1]      # starts at once
    m.job_ended("finished", 6.0)
    assert m.queue_state is QueueState.RUNNING


def test_policies_are_effects_the_store_keeps():
    m = JobManager()
    effects = m.set_mode("CONTINUE_ON_FAILURE")
    assert fx.PoliciesSet("CONTINUE_ON_FAILURE", "STOP") in effects
    with pytest.raises(RequestRefused, match="unknown policy for an empty queue 'SOMETIMES'"):
        m.set_when_empty("SOMETIMES")


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
    assert fx.Control(Event.ABORT) in effects and m.state is State.ABORTING
    m.job_ended("failed", 2.0)
    assert m.history[0].status == "aborted"
    assert m.queue.ids() == [a, b] and m.queue_state is QueueState.STOPPED


def test_halt_kills_now_even_during_an_abort_and_is_recorded_as_halted():
    m = JobManager()
    a, b = queued(m, True, True)
    m.start()
    m.abort()
    assert fx.Control(Event.HALT) in m.halt() and m.state is State.HALTING
    with pytest.raises(RequestRefused, match="already being halted"):
        m.abort()
    m.job_ended("failed", 2.0)
    assert m.history[0].status == "halted" and m.queue.ids() == [a, b]
    assert m.state is State.IDLE and m.queue_state is QueueState.STOPPED


def test_a_job_that_says_aborted_on_its_own_was_ended_from_outside_and_failed():
    m = JobManager()
    queued(m, True)
    m.start()
    m.job_ended("aborted", 1.0, error="aborted by the operator")
    assert m.history[0].status == "failed" and not len(m.queue)


def test_deferred_pause_is_refused_for_a_job_without_pause_points():
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
    m.move(c, Where(pos=0))
    assert m.queue.ids() == [c, b]
    m.resume()
    assert m.state is State.RUNNING


def test_a_pause_that_never_reaches_a_pause_point_holds_the_queue():
    m = JobManager()
    queued(m, True, True)
    m.start()
    m.pause()
    assert launched(m.job_ended("finished", 1.0)) == []
    assert m.state is State.HELD and m.current is None
    with pytest.raises(RequestRefused, match="JOB:RESUME continues it"):
        m.abort()
    with pytest.raises(RequestRefused, match="held after a pause"):
        m.start()
    assert launched(m.resume(2.0))


def test_stop_releases_a_held_queue():
    m = JobManager()
    queued(m, True, True)
    m.start()
    m.pause()
    m.job_ended("finished", 1.0)
    m.stop()
    assert m.state is State.IDLE and m.queue_state is QueueState.STOPPED and len(m.queue) == 1


def test_a_paused_report_sent_before_the_job_read_a_resume_is_stale():
    m = JobManager()
    queued(m, True)
    m.start()
    m.pause()
    m.resume()                       # the job reached its pause point meanwhile:
    m.pause()                        # its "paused" report was sent before it read the resume
    assert m.job_paused(resumes_seen=0) == [] and m.state is State.PAUSING
    m.job_paused(resumes_seen=1)
    assert m.state is State.PAUSED


def test_paused_time_is_kept_apart_from_the_duration():
    m = JobManager()
    queued(m, True)
    m.start(now=100.0)
    m.pause()
    m.job_paused(now=101.0)
    assert m.run.active(105.0) == 1.0
    m.resume(now=110.0)
    assert m.run.paused_after(105.0, 111.0) == 5.0      # e.g. within a phase begun at 105
    m.job_ended("finished", 112.0)
    assert m.history[0].duration == 3.0 and m.history[0].paused == 9.0


def test_the_running_job_cannot_be_moved_edited_or_removed():
    m = JobManager()
    a, b = queued(m, True, True)
    m.start()
    for action in (lambda: m.move(a, Where(pos=0)), lambda: m.remove([a]),
                   lambda: m.edit(a, NewJob(spec())), lambda: m.skip(a)):
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


def test_add_before_after_and_at_negative_positions():
    m = JobManager()
    a, b = queued(m, True, True)
    (c,) = queued(m, True, before=b)
    (d,) = queued(m, True, after=a)
    (e,) = queued(m, True, pos=-1)               # -1 is the end
    (f,) = queued(m, True, pos=-2)               # just before the last
    assert m.queue.ids() == [a, d, c, b, f, e]
    with pytest.raises(RequestRefused, match="outside the queue"):
        queued(m, True, pos=-8)
    with pytest.raises(RequestRefused, match="no queued job has id 99"):
        queued(m, True, after=99)
    with pytest.raises(RequestRefused, match="not several"):
        queued(m, True, pos=0, after=a)
    assert m.queue.at(-1).id == e and m.queue.at(0).id == a


def test_move_before_after_and_to_negative_positions():
    m = JobManager()
    a, b, c = queued(m, True, True, True)
    m.move(c, Where(before=a))
    assert m.queue.ids() == [c, a, b]
    m.move(c, Where(after=b))
    assert m.queue.ids() == [a, b, c]
    m.move(a, Where(pos=-1))
    assert m.queue.ids() == [b, c, a]
    with pytest.raises(RequestRefused, match="one of"):
        m.move(a, Where())
    with pytest.raises(RequestRefused, match="outside the queue"):
        m.move(a, Where(pos=5))


def test_a_late_estimate_for_an_edited_job_is_dropped():
    m = JobManager()
    (a,) = queued(m, True)
    old = m.queue.get(a).revision
    m.edit(a, NewJob(spec(9)))
    assert m.estimates([Estimate(a, old, 5.0, "command")]) == []
    assert m.queue.get(a).estimate is None
    effects = m.estimates([Estimate(a, old + 1, 9.0, "command")])
    assert m.queue.get(a).estimate == 9.0 and fx.QueueChanged("estimate", (a,)) in effects


def test_batches_and_submitters_are_tagged_by_the_manager():
    m = JobManager()
    effects = m.add([NewJob(spec(1)), NewJob(spec(2))], batch="scan", by="ann@host")
    jobs = next(e for e in effects if isinstance(e, fx.JobsSaved)).jobs
    assert [j.extra["batch"]["index"] for j in jobs] == [1, 2]
    assert {j.extra["batch"]["id"] for j in jobs} == {jobs[0].id}
    assert all(j.extra["by"] == "ann@host" for j in jobs)


def test_clearing_history_is_an_effect():
    m = JobManager()
    queued(m, True)
    m.skip()
    assert len(m.history) == 1
    assert m.clear_history() == [fx.HistoryCleared()] and not m.history


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
                     "halt", "ended", "failed", "move", "remove", "skip", "repeat", "clear",
                     "edit", "keep_running"]),
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
            "add": lambda: m.add([NewJob(spec(n), pausable=flag) for _ in range(n % 3 + 1)],
                                 Where(pos=(n % 5) - 2 if flag else None)),
            "start": m.start, "stop": m.stop, "pause": lambda: m.pause(now=flag),
            "pause_now": lambda: m.pause(now=True), "paused": lambda: m.job_paused(n % 2),
            "resume": m.resume, "abort": m.abort, "halt": m.halt,
            "keep_running": lambda: m.set_when_empty("KEEP_RUNNING" if flag else "STOP"),
            "ended": lambda: m.job_ended("finished", float(n)),
            "failed": lambda: m.job_ended("failed", float(n)),
            "move": lambda: m.move(target, Where(pos=n % (len(ids) or 1))),
            "remove": lambda: m.remove([target]), "skip": lambda: m.skip(target if flag else None),
            "repeat": lambda: m.repeat(target, n % 3 + 1), "clear": m.clear,
            "edit": lambda: m.edit(target, NewJob(spec(n))),
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
        # a job is current exactly in the states of a job
        assert (m.current is None) == (m.state in (State.IDLE, State.HELD)), m.state
        if m.state is State.IDLE and m.queue_state is QueueState.RUNNING:
            assert not len(m.queue), "the queue runs, nothing runs, yet jobs wait"
        assert (m.run is None) == (m.current is None)


def test_who_queued_a_job_is_kept_on_its_copies_and_runs():
    m = JobManager()
    (a,) = [e for e in m.add([NewJob(spec())], by="alice@127.0.0.1") if isinstance(e, fx.Added)]
    (first,) = a.ids
    m.repeat(first, 1, by="bob@10.1.2.3")
    assert [j.extra.get("by") for j in m.queue] == ["alice@127.0.0.1", "bob@10.1.2.3"]
    m.start(now=1.0)
    m.job_ended("finished", now=2.0)
    m.job_ended("finished", now=3.0)
    assert [r.describe()["by"] for r in m.history] == ["bob@10.1.2.3", "alice@127.0.0.1"]


def test_every_queue_change_says_what_it_was():
    m = JobManager()
    a, b, c = queued(m, True, True, True)
    changes = lambda effects: [(e.op, e.ids, e.pos) for e in effects          # noqa: E731
                               if isinstance(e, fx.QueueChanged)]
    assert changes(m.move(c, Where(pos=0))) == [("move", (c,), 0)]
    assert changes(m.remove([b])) == [("remove", (b,), None)]
    assert changes(m.start(1.0)) == [("start", (c,), None)]
    assert changes(m.abort()) == []
    assert changes(m.job_ended("failed", 2.0)) == [("return", (c,), 0)]
    (added,) = [e for e in m.add([NewJob(spec())], Where(after=c)) if isinstance(e, fx.Added)]
    assert m.queue.ids() == [c, added.ids[0], a]
