"""The stored queue order: after any sequence of requests it is the manager's queue order,
row for row, and a restart reads it back; tight order numbers force every renumbering path."""
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scriptserver.db import order
from scriptserver.db.order import spread
from scriptserver.db.store import Store
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.manager import JobManager, NewJob
from scriptserver.jobs.queue import Where
from scriptserver.jobs.spec import parse_job

JOB = NewJob(parse_job({"command": "wait", "args": {"seconds": 1}}))
EDITED = NewJob(parse_job({"command": "wait", "args": {"seconds": 2}}))

# Jobs are named by a pick (any integer): the queued job at pick % len(queue), so that most
# requests name a job that is there and are accepted.
pick = st.integers(0, 1000)
place = st.one_of(st.tuples(st.just("pos"), st.integers(-12, 12)),
                  st.tuples(st.just("pos"), st.sampled_from(["front", "back"])),
                  st.tuples(st.just("before"), pick), st.tuples(st.just("after"), pick))
adds = st.tuples(st.just("add"), st.integers(1, 8), place)
moves = st.tuples(st.just("move"), pick, place)
requests = st.lists(st.one_of(
    adds, adds, adds, moves, moves, moves, moves,
    st.tuples(st.just("remove"), st.lists(pick, max_size=3)),
    st.tuples(st.just("edit"), pick),
    st.tuples(st.just("clear")),
    st.tuples(st.just("skip")),
    st.tuples(st.just("run")),              # start the queue: the head job runs...
    st.tuples(st.just("end"), st.sampled_from(["finished", "aborted"])),   # ...and ends
), min_size=5, max_size=60)


def job_at(m, index):
    ids = m.queue.ids()
    return ids[index % len(ids)] if ids else 1


def where(m, place):
    key, value = place
    return Where(**{key: value if key == "pos" else job_at(m, value)})


def apply(m, request):
    kind, *args = request
    if kind == "add":
        return m.add([JOB] * args[0], where(m, args[1]))
    if kind == "move":
        return m.move(job_at(m, args[0]), where(m, args[1]))
    if kind == "remove":
        return m.remove(list(dict.fromkeys(job_at(m, i) for i in args[0])))
    if kind == "edit":
        return m.edit(job_at(m, args[0]), EDITED)
    if kind == "clear":
        return m.clear()
    if kind == "skip":
        return m.skip()
    if kind == "run":
        return m.start() + m.stop()         # one job runs, then the queue stops
    if args[0] == "aborted" and m.current is not None:
        return m.abort() + m.job_ended("aborted", 1.0)     # back at the head of the queue
    return m.job_ended("finished", 1.0)


@contextmanager
def numbers(spacing, room, limit, window):
    saved = order.SPACING, order.ROOM, order.LIMIT, order.WINDOW
    order.SPACING, order.ROOM, order.LIMIT, order.WINDOW = spacing, room, limit, window
    try:
        yield
    finally:
        order.SPACING, order.ROOM, order.LIMIT, order.WINDOW = saved


@pytest.mark.parametrize("tight", [False, True])
@settings(max_examples=80, deadline=None)
@given(first=st.integers(0, 30), requests=requests)
def test_any_requests_leave_the_stored_order_equal_to_the_queue(tight, first, requests):
    constants = (4, 2, 1024, 2) if tight else (order.SPACING, order.ROOM, order.LIMIT,
                                              order.WINDOW)
    with numbers(*constants), tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.sqlite"
        store = Store(path)
        store.db.execute("PRAGMA synchronous=OFF")          # what is tested here is the order
        m = JobManager()
        for request in [("add", first, ("pos", "back"))] * bool(first) + requests:
            try:
                effects = apply(m, request)
            except RequestRefused:
                continue
            store.apply(effects, m.next_id, m.queue)
            assert store.order.ids() == m.queue.ids(), request
        store.close()
        store = Store(path)
        _, queue, _ = store.load()
        running = [m.current.id] if m.current is not None else []   # died running: at the head
        assert [j.id for j in queue] == running + [i for i in m.queue.ids() if i not in running]
        store.close()


def test_numbers_are_spread_evenly_between_neighbours_or_refused_without_room():
    assert spread(0, 100, 3) == [25, 50, 75]
    assert spread(0, 3, 3) is None                      # no room between 0 and 3 for three
    assert spread(0, 100, 3, room=30) is None           # room, but not as much as asked
    assert spread(None, None, 2) == [order.SPACING, 2 * order.SPACING]
    assert spread(None, 10, 2) == [10 - 2 * order.SPACING, 10 - order.SPACING]
    assert spread(10, None, 1) == [10 + order.SPACING]
    assert spread(order.LIMIT, None, 1) is None         # past the limit: renumber instead
