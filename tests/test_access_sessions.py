"""Token, sessions, the brake on guessing, and the gate that uses them (no clock, no IOC)."""
import pytest

from scriptserver.ioc.access import LOOPBACK, Level, Need, Policy, Rule, Who, networks
from scriptserver.ioc.access_config import AccessConfig
from scriptserver.ioc.gate import Gate
from scriptserver.ioc.sessions import FREE_TRIES, LONGEST_WAIT, Brake, Sessions, Token
from scriptserver.jobs.errors import RequestRefused

ME = Who("alice", "127.0.0.1")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def make_gate(policy=Policy(), seconds=60.0):
    clock = Clock()
    return Gate(AccessConfig(policy, seconds), "P:", clock), clock


def test_tokens_are_random_and_only_their_hash_is_kept():
    one, two = Token(), Token()
    assert one.text != two.text and len(one.text) >= 32
    text = one.text
    assert one.matches(text) and one.matches(text + "\n") and not one.matches(two.text)
    assert not any(text in repr(v) for v in vars(one).values() if v is not one.text)


def test_a_session_lasts_while_used_and_ends_unused():
    sessions = Sessions(seconds=10)
    sessions.open(ME, Level.OPERATE, now=0)
    assert sessions.active(ME, now=8) and sessions.active(ME, now=16)    # renewed at 8
    assert not sessions.active(ME, now=27)
    assert not sessions.active(Who("alice", "10.0.0.1"), now=0)          # per address


def test_the_brake_doubles_after_the_free_tries_up_to_a_limit():
    brake = Brake()
    for _ in range(FREE_TRIES):
        assert brake.wait("h", 0) == 0
        brake.wrong("h", 0)
    assert brake.wait("h", 0) == 1.0 and brake.wait("other", 0) == 0
    brake.wrong("h", 1)
    assert brake.wait("h", 1) == 2.0
    for _ in range(20):
        brake.wrong("h", 1)
    assert brake.wait("h", 1) == LONGEST_WAIT
    brake.right("h")
    assert brake.wait("h", 1) == 0


def test_a_put_without_a_session_is_refused_with_the_login_line():
    gate, _ = make_gate()
    with pytest.raises(RequestRefused) as err:
        gate.admit(ME, "QUEUE:ADD", Need.OPERATE)
    assert 'caput -S P:AUTH:LOGIN "$(caget -t -S P:TOKEN)"' in str(err.value)
    gate.login(ME, gate.token_text)
    gate.admit(ME, "QUEUE:ADD", Need.OPERATE)
    with pytest.raises(RequestRefused):
        gate.admit(Who("bob", "127.0.0.1"), "QUEUE:ADD", Need.OPERATE)   # per user


def test_sessions_expire_and_logout_ends_them():
    gate, clock = make_gate(seconds=5)
    gate.login(ME, gate.token_text)
    assert [u["user"] for u in gate.users()] == ["alice"]
    clock.now += 6
    with pytest.raises(RequestRefused, match="not logged in"):
        gate.admit(ME, "QUEUE:ADD", Need.OPERATE)
    gate.login(ME, gate.token_text)
    gate.logout(ME, "")
    assert gate.users() == []


def test_ending_another_users_session_needs_manage():
    operators = Policy((Rule(LOOPBACK, Level.OPERATE),))
    gate, _ = make_gate(operators)
    bob = Who("bob", "127.0.0.1")
    gate.login(bob, gate.token_text)
    gate.login(ME, gate.token_text)
    with pytest.raises(RequestRefused, match="needs manage"):
        gate.logout(ME, "bob@127.0.0.1")
    assert {u["user"] for u in gate.users()} == {"alice", "bob"}
    manager, _ = make_gate()
    manager.login(bob, manager.token_text)
    manager.logout(ME, "bob@127.0.0.1")
    assert manager.users() == []


def test_wrong_tokens_are_braked_per_address():
    gate, clock = make_gate()
    for _ in range(FREE_TRIES):
        with pytest.raises(RequestRefused, match="wrong token"):
            gate.login(ME, "guess")
    with pytest.raises(RequestRefused, match="too many wrong tokens"):
        gate.login(ME, gate.token_text)                  # not even checked while braked
    gate.login(Who("carol", "::1"), gate.token_text)    # another address is not braked
    clock.now += LONGEST_WAIT
    gate.login(ME, gate.token_text)


def test_a_client_the_rules_do_not_let_write_cannot_log_in():
    gate, _ = make_gate(Policy((Rule(networks(["10.0.0.0/8"]), Level.MANAGE),)))
    with pytest.raises(RequestRefused, match="may not log in"):
        gate.login(ME, gate.token_text)
    assert not gate.rights(ME, Need.SECRET).read and not gate.rights(ME, Need.OPERATE).write


def test_login_off_lets_the_rules_alone_decide():
    gate, _ = make_gate(Policy(login=False))
    gate.admit(ME, "QUEUE:CLEAR", Need.MANAGE)


def test_every_change_to_the_sessions_is_counted_for_users():
    sessions = Sessions(seconds=10)
    seen = [sessions.version]
    sessions.open(ME, Level.OPERATE, now=0)
    sessions.active(ME, now=1)
    sessions.expire(now=20)
    sessions.close(ME)
    seen.append(sessions.version)
    assert seen == [0, 4]
