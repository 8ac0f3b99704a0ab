"""Access control on a real IOC, with real CA clients (pyepics and caproto).

The fixture IOCs here start with ``login=False``: no client is logged in until
the test does it, as README's one line does.
"""
from __future__ import annotations

import contextlib
import getpass
import json
import stat

import epics
import pytest
from caproto import AccessRights, ErrorResponseReceived

import ca
from conftest import wait_for
from scriptserver.ioc.pvs import PVS

ME = f"{getpass.getuser()}@127.0.0.1"
JOB = {"script": "pass", "name": "who queued me"}
LOOPBACK_READS_ONLY = """\
access:
  rules:
    - {hosts: ["10.1.2.0/24"], level: manage}
    - {hosts: ["127.0.0.1"], level: read}
"""


@contextlib.contextmanager
def claiming(host: str, user: str):
    """A caproto client that claims this host and user name in its CA handshake."""
    from caproto.threading.client import Context, SharedBroadcaster
    client = Context(SharedBroadcaster(), host_name=host, client_name=user)
    try:
        yield client
    finally:
        client.disconnect()


def rights_seen(client, *names: str) -> list[AccessRights]:
    pvs = client.get_pvs(*names)
    for pv in pvs:
        pv.wait_for_connection(timeout=10)
    return [pv.access_rights for pv in pvs]


def refused(name: str, value) -> str:
    with pytest.raises(ErrorResponseReceived) as err:
        ca.put_checked(name, value)
    return ca.refusal(err)


def test_rules_leaving_out_loopback_leave_it_no_control_and_no_token(make_ioc):
    ioc = make_ioc(extra_config=LOOPBACK_READS_ONLY, login=False).start()
    names = [ioc.pv(n) for n in ("STATE", "QUEUE:ADD", "QUEUE:CLEAR", "AUTH:LOGIN", "TOKEN",
                                 "USERS")]
    with claiming("10.1.2.3", "root") as client:       # a claimed host and user gain nothing
        assert rights_seen(client, *names) == [AccessRights.READ] * 4 + [
            AccessRights.NO_ACCESS] * 2
    channel = epics.PV(ioc.pv("QUEUE:ADD"))              # libca sees it as cainfo does
    wait_for(lambda: channel.connected, what="pyepics to connect")
    assert channel.read_access and not channel.write_access
    assert "no write access" in refused(ioc.pv("QUEUE:ADD"), JOB)
    assert "no write access" in refused(ioc.pv("AUTH:LOGIN"), "guess")
    with pytest.raises(ErrorResponseReceived, match="no read access"):
        ca.read(ioc.pv("TOKEN"))
    assert ca.fresh(ioc.pv("QUEUE:LEN")) == 0


def test_login_opens_writes_for_this_user_at_this_address(make_ioc):
    ioc = make_ioc(login=False).start()
    words = refused(ioc.pv("QUEUE:ADD"), JOB)
    assert f'caput -S {ioc.prefix}AUTH:LOGIN "$(caget -t -S {ioc.prefix}TOKEN)"' in words
    assert "not logged in" in ca.fresh(ioc.pv("ERROR"))
    with claiming("any", getpass.getuser()) as client:  # writable before login, as cainfo shows
        assert rights_seen(client, ioc.pv("QUEUE:ADD")) == [AccessRights.READ | AccessRights.WRITE]

    ca.login(ioc.prefix)
    ca.put_checked(ioc.pv("QUEUE:ADD"), JOB)
    assert ca.fresh_json(ioc.pv("QUEUE"))[0]["by"] == ME
    assert ca.fresh(ioc.pv("AUTH:LOGIN")) == ""          # the token is not kept there
    users = ca.fresh_json(ioc.pv("USERS"))
    assert [(u["user"], u["host"], u["level"]) for u in users] == [
        (getpass.getuser(), "127.0.0.1", "manage")]

    with claiming("elsewhere", "mallory") as client:      # another CA user: no session
        pv, = client.get_pvs(ioc.pv("QUEUE:START"))
        pv.write([1], wait=False)           # its refusal shows in ERROR (this client
        wait_for(lambda: "mallory" in ca.fresh(ioc.pv("ERROR")))   # does not report it)
    assert "mallory@127.0.0.1 is not logged in" in ca.fresh(ioc.pv("ERROR"))
    assert ca.fresh(ioc.pv("QUEUE:STATE")) == "STOPPED"

    ca.put_checked(ioc.pv("QUEUE:ADD"), {"script": "import time\ntime.sleep(0.5)"})
    ca.put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: len(ca.fresh_json(ioc.pv("HISTORY")) or []) == 2, what="both jobs to run")
    assert [run["by"] for run in ca.fresh_json(ioc.pv("HISTORY"))] == [ME, ME]
    assert f"QUEUE:START by {ME}" in ioc.log_text()

    ca.put_checked(ioc.pv("AUTH:LOGOUT"), "me")
    assert "not logged in" in refused(ioc.pv("QUEUE:ADD"), JOB)
    assert ca.fresh_json(ioc.pv("USERS")) == []


def test_a_session_ends_when_unused_for_its_time(make_ioc):
    ioc = make_ioc(extra_config="access: {session_hours: 0.0005}\n", login=False).start()
    ca.login(ioc.prefix)                                   # 1.8 s, renewed on use
    ca.put_checked(ioc.pv("QUEUE:ADD"), JOB)
    wait_for(lambda: ca.fresh_json(ioc.pv("USERS")) == [], what="the session to run out")
    assert "not logged in" in refused(ioc.pv("QUEUE:ADD"), JOB)


def test_a_restart_makes_a_new_token_and_ends_every_session(make_ioc):
    ioc = make_ioc().start()                               # logged in by the fixture
    old = ca.fresh(ioc.pv("TOKEN"))
    ioc.stop()
    ioc.login = False
    ioc.start()
    assert ca.fresh(ioc.pv("TOKEN")) != old
    assert "not logged in" in refused(ioc.pv("QUEUE:ADD"), JOB)
    assert "wrong token" in refused(ioc.pv("AUTH:LOGIN"), old)


def test_wrong_tokens_are_slowed_down_and_logged(make_ioc):
    ioc = make_ioc(login=False).start()
    for _ in range(3):
        assert "wrong token" in refused(ioc.pv("AUTH:LOGIN"), "guess")
    words = refused(ioc.pv("AUTH:LOGIN"), ca.fresh(ioc.pv("TOKEN")))
    assert "too many wrong tokens from 127.0.0.1" in words
    assert "wrong token from" in ioc.log_text()
    assert "guess" not in ca.fresh(ioc.pv("ERROR"))


def test_the_token_is_nowhere_but_its_pv(make_ioc):
    ioc = make_ioc().start()                               # logged in by the fixture
    token = ca.fresh(ioc.pv("TOKEN"))
    ca.put_checked(ioc.pv("QUEUE:ADD"), JOB)
    ca.put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: ca.fresh_json(ioc.pv("HISTORY")), what="the job to run")
    ca.put_checked(ioc.pv("AUTH:LOGIN"), token)            # and once more, then log out
    ca.put_checked(ioc.pv("AUTH:LOGOUT"), "me")
    for pv in PVS:
        if pv.name != "TOKEN":
            assert token not in str(ca.fresh(ioc.pv(pv.name))), pv.name
    assert token not in ioc.log_text()
    for path in ioc.state.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_the_state_folder_and_store_are_private(ioc):
    assert stat.S_IMODE(ioc.state.stat().st_mode) == 0o700
    files = [p for p in ioc.state.iterdir() if p.name.startswith("scriptserver.sqlite")]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert json.loads(ca.fresh(ioc.pv("USERS")))[0]["host"] == "127.0.0.1"
