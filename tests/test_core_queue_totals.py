"""The queue's estimate totals and batch counts, kept between changes, always equal a
fresh count, whatever sequence of requests (and undone requests) came before."""
from hypothesis import given, settings, strategies as st

from scriptserver.jobs.checkpoint import Checkpoint
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.manager import Estimate, JobManager, NewJob
from scriptserver.jobs.queue import JobQueue, Where
from scriptserver.jobs.spec import parse_job


def new(n, estimate=True):
    return NewJob(parse_job({"command": "wait", "args": {"seconds": n}}),
                  float(n) if estimate else None, "command" if estimate else "unknown")


def fresh(queue: JobQueue):
    jobs = list(queue)
    batches = {}
    for job in jobs:
        if job.batch is not None:
            batches[job.batch.id] = batches.get(job.batch.id, 0) + 1
    return (round(sum(j.estimate for j in jobs if j.estimate is not None), 1),
            sum(j.estimate is None for j in jobs), batches)


STEPS = st.lists(st.tuples(st.sampled_from(["add", "batch", "move", "remove", "edit",
                                            "estimate", "start", "ended", "clear", "undo"]),
                           st.integers(0, 9), st.booleans()), max_size=30)


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_totals_follow_every_change(steps):
    m = JobManager(when_empty="KEEP_RUNNING")
    for action, n, flag in steps:
        ids = m.queue.ids()
        target = ids[n % len(ids)] if ids else n
        undo = action == "undo"
        if undo:
            action = ["add", "move", "remove", "edit", "estimate"][n % 5]
        checkpoint = Checkpoint(m)
        try:
            {"add": lambda: m.add([new(n, flag)]),
             "batch": lambda: m.add([new(n, flag)] * 3, Where(pos=0), batch="scan"),
             "move": lambda: m.move(target, Where(pos=-1)),
             "remove": lambda: m.remove([target]),
             "edit": lambda: m.edit(target, new(n + 1, flag)),
             "estimate": lambda: m.estimates([Estimate(target, 0, 2.5 * n, "command")]),
             "start": m.start, "ended": lambda: m.job_ended("finished", 1.0),
             "clear": m.clear}[action]()
        except RequestRefused:
            pass
        if undo:
            checkpoint.restore()
        checkpoint.close()
        totals = m.queue.totals()
        assert (totals.known, totals.unknown, totals.batches) == fresh(m.queue)


def test_totals_after_moves_edits_and_estimates():
    m = JobManager()
    m.add([new(n) for n in range(1, 5)])
    m.move(m.queue.ids()[0], Where(pos=-1))
    assert m.queue.totals().known == 1 + 2 + 3 + 4
    m.edit(m.queue.ids()[0], new(9, estimate=False))               # job 2: no estimate now
    assert (m.queue.totals().known, m.queue.totals().unknown) == (3 + 4 + 1, 1)
    m.estimates([Estimate(m.queue.ids()[0], 1, 0.1, "command")])   # its estimate comes
    assert (m.queue.totals().known, m.queue.totals().unknown) == (8.1, 0)
