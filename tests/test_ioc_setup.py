"""Set up as EPICS users expect: server settings honoured, a quiet start."""
from ca import fresh
from conftest import wait_for


def test_the_server_port_comes_from_epics_cas_server_port(make_ioc):
    """EPICS servers take EPICS_CAS_SERVER_PORT over EPICS_CA_SERVER_PORT; caproto only
    reads the latter, so the IOC must carry it over."""
    ioc = make_ioc()
    ioc.start(extra_env={"EPICS_CA_SERVER_PORT": "1", "EPICS_CAS_SERVER_PORT": str(ioc.port)})
    assert fresh(ioc.pv("STATE")) == "IDLE"
    assert f"Listening on 127.0.0.1:{ioc.port}" in ioc.log_text()


def test_start_up_logs_no_warnings(ioc):
    wait_for(lambda: "ready:" in ioc.log_text(), what="the IOC to be ready")
    noisy = [line for line in ioc.log_text().splitlines()
             if " WARNING " in line or " ERROR " in line]
    assert noisy == []
