"""Estimates: history medians, similar arguments, remaining time, queue ETA, batch progress."""
from hypothesis import given, strategies as st

from scriptserver.jobs.estimates import (batch_progress, from_history, queue_eta, remaining,
                                         similar_args)


def test_history_uses_same_arguments_first_then_similar_ones():
    past = [({"command": "set_ei", "args": {"energy": 10}}, 12.0),
            ({"command": "set_ei", "args": {"energy": 10}}, 14.0),
            ({"command": "set_ei", "args": {"energy": 10.5}}, 30.0),
            ({"command": "set_ei", "args": {"energy": 300}}, 99.0)]
    assert from_history({"command": "set_ei", "args": {"energy": 10}}, past) == 13.0
    assert from_history({"command": "set_ei", "args": {"energy": 10.4}}, past) == 14.0
    assert from_history({"command": "set_ei", "args": {"energy": 50}}, past) is None
    assert from_history({"script": "x"}, [({"script": "x"}, 2.0), ({"script": "x"}, 4.0)]) == 3.0
    assert from_history({"script": "x"}, []) is None


def test_similar_means_same_names_close_numbers_equal_rest():
    assert similar_args({"a": 100, "mode": "fast"}, {"a": 105, "mode": "fast"})
    assert not similar_args({"a": 100, "mode": "fast"}, {"a": 100, "mode": "slow"})
    assert not similar_args({"a": 1}, {"a": 1, "b": 2})
    assert not similar_args({"a": True}, {"a": 1})


def test_remaining_prefers_reported_progress_then_the_estimate():
    assert remaining(10.0, 0.5, 100.0) == 10.0
    assert remaining(1.0, 0.01, 100.0) == 99.0        # too little progress to trust
    assert remaining(150.0, None, 100.0) == 0.0
    assert remaining(5.0, None, None) is None


def test_queue_eta_counts_unknown_jobs():
    assert queue_eta([10.0, None, 5.0], 3.0, running=True) == (18.0, 1)
    assert queue_eta([], None, running=True) == (0.0, 1)
    assert queue_eta([], None, running=False) == (0.0, 0)


@given(st.integers(1, 50), st.data())
def test_batch_progress_stays_within_0_and_1_and_grows(size, data):
    queued = data.draw(st.integers(0, size - 1))
    p = data.draw(st.floats(0, 1))
    value = batch_progress(size, queued, True, p)
    assert 0.0 <= value <= 1.0
    assert batch_progress(size, queued, True, 1.0) >= value
    assert batch_progress(size, size, False, None) == 0.0
