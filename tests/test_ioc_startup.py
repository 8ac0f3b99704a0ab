"""Start-up is visible: P:SERVER:STATE says STARTING until the server takes puts, and a put
meanwhile is refused with words in P:ERROR."""
import threading

import pytest
from caproto import ErrorResponseReceived

from ca import fresh, fresh_json, put_checked, refusal
from conftest import wait_for, write

SLOW_MODULE = """\
import os, time
while not os.path.exists(os.environ["SLOW_START_RELEASE"]):
    time.sleep(0.02)
"""


def test_puts_are_refused_in_words_while_the_server_starts(make_ioc, tmp_path, monkeypatch):
    write(tmp_path / "modules", "slow_start.py", SLOW_MODULE)
    release = tmp_path / "release"
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "modules"))
    monkeypatch.setenv("SLOW_START_RELEASE", str(release))
    ioc = make_ioc(extra_config="preload: [slow_start]\n")
    starting = threading.Thread(target=ioc.start)
    starting.start()
    try:
        wait_for(lambda: fresh(ioc.pv("SERVER:STATE")) == "STARTING", timeout=30,
                 what="the IOC to serve its PVs while it starts")
        with pytest.raises(ErrorResponseReceived) as refused:
            put_checked(ioc.pv("QUEUE:ADD"), {"command": "wait", "args": {"seconds": 0}})
        assert "script server is starting" in refusal(refused)
        assert "QUEUE:ADD: the script server is starting" in fresh(ioc.pv("ERROR"))
        assert fresh(ioc.pv("ERROR:TIME"))
    finally:
        release.touch()
        starting.join()
    assert fresh(ioc.pv("SERVER:STATE")) == "READY"
    put_checked(ioc.pv("QUEUE:ADD"), {"command": "wait", "args": {"seconds": 0}})
    assert fresh(ioc.pv("QUEUE:LEN")) == 1
    assert fresh_json(ioc.pv("ERROR:LOG"))[0]["error"].startswith("QUEUE:ADD: the script")
