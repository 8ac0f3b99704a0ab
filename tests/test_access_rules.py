"""The access decision: one pure function, checked per rule kind."""
import ipaddress

from hypothesis import given, strategies as st

from scriptserver.ioc.access import (LOOPBACK, NEEDS, Level, Need, Policy, Rule, level,
                                     need_of, networks, parse_peer, rights)
from scriptserver.ioc.pvs import PVS

LAB = Rule(networks(["10.1.2.0/24"]), Level.OPERATE)
ALICE = Rule(networks(["10.1.2.7"]), Level.MANAGE, frozenset({"alice"}))
SITE = Policy((LAB, ALICE))


def test_by_default_loopback_manages_and_nobody_else_gets_anything():
    policy = Policy()
    assert level(policy, "127.0.0.1", "anyone") is Level.MANAGE
    assert level(policy, "::1", "anyone") is Level.MANAGE
    assert level(policy, "10.1.2.7", "alice") is Level.NONE
    assert rights(policy, "10.1.2.7", "alice", Need.STATUS, session=True).read is False


def test_a_network_rule_covers_its_addresses_only():
    assert level(SITE, "10.1.2.200", "bob") is Level.OPERATE
    assert level(SITE, "10.1.3.1", "bob") is Level.NONE
    assert level(SITE, "127.0.0.1", "bob") is Level.NONE       # these rules leave loopback out


def test_a_user_rule_needs_both_the_address_and_the_user():
    assert level(SITE, "10.1.2.7", "alice") is Level.MANAGE
    assert level(SITE, "10.1.2.7", "bob") is Level.OPERATE     # the network rule still applies
    assert level(Policy((ALICE,)), "10.1.2.8", "alice") is Level.NONE


def test_a_host_name_never_matches_an_address_rule():
    assert level(SITE, "lab-pc.example.org", "alice") is Level.NONE
    assert parse_peer("lab-pc") is None


def test_ipv4_mapped_ipv6_peers_are_their_ipv4_address():
    assert level(SITE, "::ffff:10.1.2.7", "alice") is Level.MANAGE


def test_read_level_reads_status_but_neither_secrets_nor_control():
    policy = Policy((Rule(LOOPBACK, Level.READ),))
    assert rights(policy, "127.0.0.1", "u", Need.STATUS, True).read
    assert not rights(policy, "127.0.0.1", "u", Need.SECRET, True).read
    control = rights(policy, "127.0.0.1", "u", Need.OPERATE, True)
    assert control.read and not control.write and not control.may_put
    assert not rights(policy, "127.0.0.1", "u", Need.LOGIN, True).write


def test_operate_writes_operate_pvs_but_not_manage_ones():
    policy = Policy((Rule(LOOPBACK, Level.OPERATE),))
    assert rights(policy, "127.0.0.1", "u", Need.OPERATE, True).may_put
    assert rights(policy, "127.0.0.1", "u", Need.SECRET, True).read
    assert not rights(policy, "127.0.0.1", "u", Need.MANAGE, True).write


def test_without_a_session_a_writer_may_write_but_must_log_in_first():
    decided = rights(Policy(), "127.0.0.1", "u", Need.OPERATE, session=False)
    assert decided.write and decided.login_needed and not decided.may_put
    assert rights(Policy(), "127.0.0.1", "u", Need.LOGIN, session=False).may_put


def test_with_login_off_the_rules_alone_decide():
    policy = Policy(login=False)
    assert rights(policy, "127.0.0.1", "u", Need.MANAGE, session=False).may_put


def test_status_pvs_are_never_writable():
    assert not rights(Policy(), "127.0.0.1", "u", Need.STATUS, True).write


def test_every_named_pv_exists_and_every_pv_has_a_need():
    names = {pv.name for pv in PVS}
    assert set(NEEDS) <= names
    for pv in PVS:
        need = need_of(pv.name, pv.action is not None)
        assert (need in (Need.STATUS, Need.SECRET)) == (pv.action is None), pv.name
    assert need_of("QUEUE:CLEAR", True) is Need.MANAGE and need_of("QUEUE:ADD", True) is Need.OPERATE


addresses = st.ip_addresses(v=4).map(str)
levels = st.sampled_from([Level.READ, Level.OPERATE, Level.MANAGE])
needs = st.sampled_from(list(Need))


@given(addresses, st.text(max_size=8), needs, st.booleans(),
       st.lists(st.tuples(addresses, st.integers(8, 32), levels), max_size=4))
def test_the_decision_follows_the_highest_matching_rule(peer, user, need, session, raw_rules):
    rules = tuple(Rule((ipaddress.ip_network(f"{a}/{bits}", strict=False),), lvl)
                  for a, bits, lvl in raw_rules)
    policy = Policy(rules)
    granted = max((r.level for r in rules
                   if ipaddress.ip_address(peer) in r.hosts[0]), default=Level.NONE)
    decided = rights(policy, peer, user, need, session)
    assert decided.read == (granted >= (Level.OPERATE if need is Need.SECRET else Level.READ))
    if decided.may_put:
        assert decided.write and (session or need is Need.LOGIN)
    if granted < Level.OPERATE:
        assert not decided.write
