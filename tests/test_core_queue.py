"""JobQueue.stretches: which runs of given jobs stand together, and between which jobs."""
from hypothesis import given
from hypothesis import strategies as st

from scriptserver.jobs.queue import Job, JobQueue
from scriptserver.jobs.spec import JobSpec

SPEC = JobSpec("script", {"script": "pass"})


def queue_of(ids):
    return JobQueue(Job(i, SPEC) for i in ids)


def test_stretches_name_the_neighbours_and_leave_out_jobs_not_queued():
    q = queue_of([5, 3, 8, 1, 9])
    found = [(s.before, s.ids, s.after) for s in q.stretches([8, 3, 9, 42])]
    assert found == [(5, [3, 8], 1), (1, [9], None)]
    assert [(s.before, s.ids, s.after) for s in q.stretches([5])] == [(None, [5], 3)]
    assert q.stretches([]) == [] and q.stretches([42]) == []


@given(ids=st.lists(st.integers(1, 500), unique=True, max_size=60), data=st.data())
def test_stretches_cover_exactly_the_given_jobs_in_queue_order(ids, data):
    wanted = data.draw(st.sets(st.sampled_from(ids)) if ids else st.just(set()))
    extra = data.draw(st.sets(st.integers(501, 600), max_size=3))     # not queued
    stretches = queue_of(ids).stretches(wanted | extra)
    assert [i for s in stretches for i in s.ids] == [i for i in ids if i in wanted]
    for s in stretches:
        first, last = ids.index(s.ids[0]), ids.index(s.ids[-1])
        assert ids[first:last + 1] == s.ids                          # they stand together
        assert s.before == (ids[first - 1] if first else None)
        assert s.after == (ids[last + 1] if last + 1 < len(ids) else None)
        assert s.before not in wanted and s.after not in wanted      # runs are whole


def test_removing_things_that_are_not_ids_is_refused_in_words():
    import pytest
    from scriptserver.jobs.errors import RequestRefused
    from scriptserver.jobs.queue import JobQueue
    with pytest.raises(RequestRefused, match="a job id is a whole number"):
        JobQueue().remove([{}, {}])          # unhashable: once an internal error
