"""The transition tables, walked exhaustively: every (state, event) pair."""
import itertools

import pytest

from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.states import (QUEUE_TRANSITIONS, REFUSALS, REPORTS, TRANSITIONS, Event,
                                      QueueEvent, QueueState, State, diagrams, next_queue_state,
                                      next_state)

REQUESTS = [e for e in Event if e not in REPORTS]


# What each allowed transition does is shown by the manager's behaviour tests
# (tests/test_core_manager.py); here, every pair the table leaves out.
@pytest.mark.parametrize("state,event", [(s, e) for s, e in itertools.product(State, REQUESTS)
                                         if (s, e) not in TRANSITIONS])
def test_a_request_the_table_lacks_is_refused_in_its_own_words(state, event):
    with pytest.raises(RequestRefused) as refused:
        next_state(state, event)
    words = str(refused.value)
    assert words.startswith(f"cannot {event.value.replace('_', ' ')}: ")
    if event is not Event.LAUNCH:
        # every operator action explains each state it is refused in, not a generic line
        assert "not possible while" not in words, (state, event, words)


@pytest.mark.parametrize("state,event", [(s, e) for s, e in itertools.product(State, sorted(REPORTS))
                                         if (s, e) not in TRANSITIONS])
def test_a_report_the_table_lacks_is_stale_and_changes_nothing(state, event):
    assert next_state(state, event) is state


@pytest.mark.parametrize("queue,event", list(itertools.product(QueueState, QueueEvent)))
def test_every_queue_pair_follows_the_table(queue, event):
    if (queue, event) in QUEUE_TRANSITIONS:
        assert next_queue_state(queue, event) is QUEUE_TRANSITIONS[queue, event]
    else:
        with pytest.raises(RequestRefused, match=f"cannot {event.value} the queue while it is"):
            next_queue_state(queue, event)


def test_refusal_words_name_only_states_the_table_refuses():
    for event, reasons in REFUSALS.items():
        for state in reasons:
            assert (state, event) not in TRANSITIONS, f"{event} in {state} has a stale reason"


def test_every_state_is_reachable_from_idle_and_leads_back_to_it():
    def reachable(start, edges):
        seen, frontier = {start}, [start]
        while frontier:
            here = frontier.pop()
            for a, b in edges:
                if a is here and b not in seen:
                    seen.add(b)
                    frontier.append(b)
        return seen
    edges = [(a, b) for (a, _), b in TRANSITIONS.items()]
    assert reachable(State.IDLE, edges) == set(State)
    back = [(b, a) for a, b in edges]
    assert reachable(State.IDLE, back) == set(State), "a state the job can never leave"


def test_diagrams_show_every_transition_that_changes_state():
    text = diagrams()
    for (a, event), b in TRANSITIONS.items():
        line = f"{a.value} --> {b.value}: {event.value}"
        assert (line in text) == (a is not b), line
