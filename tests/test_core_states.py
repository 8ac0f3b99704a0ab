"""The transition tables, walked exhaustively: every (state, event) pair."""
import itertools

import pytest

from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.states import (QUEUE_REFUSALS, QUEUE_TRANSITIONS, REFUSALS, TRANSITIONS,
                                      QueueState, State, diagrams, next_queue_state, next_state)

EVENTS = sorted({event for _, event in TRANSITIONS} | set(REFUSALS))
QUEUE_EVENTS = sorted({event for _, event in QUEUE_TRANSITIONS})


@pytest.mark.parametrize("state,event", list(itertools.product(State, EVENTS)))
def test_every_state_event_pair_follows_the_table(state, event):
    if (state, event) in TRANSITIONS:
        assert next_state(state, event) is TRANSITIONS[state, event]
    else:
        with pytest.raises(RequestRefused) as refused:
            next_state(state, event)
        assert str(refused.value).startswith(f"cannot {event.replace('_', ' ')}")


@pytest.mark.parametrize("queue,event,state",
                         list(itertools.product(QueueState, QUEUE_EVENTS, State)))
def test_every_queue_pair_follows_the_table(queue, event, state):
    if (state, event) in QUEUE_REFUSALS:
        with pytest.raises(RequestRefused, match="resume|aborted"):
            next_queue_state(queue, event, state)
    elif (queue, event) in QUEUE_TRANSITIONS:
        assert next_queue_state(queue, event, state) is QUEUE_TRANSITIONS[queue, event]
    else:
        with pytest.raises(RequestRefused):
            next_queue_state(queue, event, state)


def test_operator_refusals_have_their_own_words():
    # the operator actions each explain every state they are refused in
    for action in ("pause", "pause_now", "resume", "abort"):
        for state in State:
            if (state, action) not in TRANSITIONS:
                assert state in REFUSALS[action], (state, action)


def test_every_state_is_reachable_from_idle():
    seen, frontier = {State.IDLE}, [State.IDLE]
    while frontier:
        state = frontier.pop()
        for (a, _), b in TRANSITIONS.items():
            if a is state and b not in seen:
                seen.add(b)
                frontier.append(b)
    assert seen == set(State)


def test_diagrams_show_every_transition():
    text = diagrams()
    for (a, event), b in TRANSITIONS.items():
        if a is not b:
            assert f"{a.value} --> {b.value}: {event}" in text
