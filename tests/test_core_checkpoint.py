"""A request the store could not save is undone: the manager is as it was before it.

Any request, accepted or refused, followed by ``Checkpoint.restore`` leaves every
field an operator can see, and every field the next request reads, as before.
"""
from hypothesis import given, settings, strategies as st

from scriptserver.jobs.checkpoint import Checkpoint
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.manager import Estimate, JobManager, NewJob
from scriptserver.jobs.queue import Where
from scriptserver.jobs.spec import parse_job


def spec(n):
    return parse_job({"command": "wait", "args": {"seconds": n}})


def picture(m: JobManager):
    """Everything about the manager a request reads or a PV shows."""
    def job(j):
        return None if j is None else (j.as_json(), j.revision)
    run = m.run and (m.run.status, m.run.ended, m.run.paused, m.run.paused_since, m.run.error)
    return (m.state, m.queue_state, m.queue_mode, m.when_empty, m.next_id,
            [job(j) for j in m.queue], job(m.current), run, m._resumes_sent,
            [(r.job_id, r.status, r.ended) for r in m.history])


REQUESTS = st.sampled_from(["add", "start", "stop", "pause", "resume", "abort", "halt", "ended",
                            "failed", "paused", "move", "remove", "skip", "repeat", "clear",
                            "edit", "estimate", "mode", "clear_history"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(REQUESTS, st.integers(0, 9), st.booleans()), max_size=25),
       REQUESTS, st.integers(0, 9))
def test_restore_undoes_any_request(history, last, n):
    m = JobManager()

    def call(action, n, flag=True):
        ids = m.queue.ids()
        target = ids[n % len(ids)] if ids else n
        current = m.current.id if m.current else target
        return {
            "add": lambda: m.add([NewJob(spec(n))] * (n % 3 + 1), batch="b" if flag else None),
            "start": m.start, "stop": m.stop, "pause": lambda: m.pause(now=flag),
            "resume": m.resume, "abort": m.abort, "halt": m.halt,
            "ended": lambda: m.job_ended("finished", float(n)),
            "failed": lambda: m.job_ended("failed", float(n), error="boom"),
            "paused": lambda: m.job_paused(0, float(n)),
            "move": lambda: m.move(target, Where(pos=0)), "remove": lambda: m.remove([target]),
            "skip": lambda: m.skip(None), "repeat": lambda: m.repeat(target, 2),
            "clear": m.clear, "edit": lambda: m.edit(target, NewJob(spec(n + 100))),
            "estimate": lambda: m.estimates([Estimate(current, 0, 5.0 + n, "command")]),
            "mode": lambda: m.set_mode("CONTINUE_ON_FAILURE" if flag else "STOP_ON_FAILURE"),
            "clear_history": m.clear_history,
        }[action]()

    for action, k, flag in history:
        try:
            call(action, k, flag)
        except RequestRefused:
            pass
    before = picture(m)
    checkpoint = Checkpoint(m)
    try:
        call(last, n)
    except RequestRefused:
        pass
    checkpoint.restore()
    assert picture(m) == before
