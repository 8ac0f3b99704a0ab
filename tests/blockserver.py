"""A stand-in for IBEX's block server, made of real EPICS parts.

An EPICS soft IOC (epicscorelibs: EPICS base's own record and CA server code) serves,
under a test instrument prefix (``MYPVPREFIX``):

- simulated devices with setpoints, units and alarms, and their blocks as alias
  records ``$(P)CS:SB:<NAME>`` (``:SP`` too), as the IBEX gateway aliases them;
- ``$(P)CS:BLOCKSERVER:BLOCKNAMES``: the block names as the block server publishes
  them, a JSON list, zlib-compressed and hexed, in a CHAR waveform;
- blocks of the script server's own PVs: records reading them over CA links (``CP MSS``:
  value and alarm follow), with the units and precision the script server serves,
  read from its ``.EGU``/``.PREC`` when the stand-in starts. (IBEX's gateway forwards
  the fields themselves; the links here forward value and alarm, the fields are copied.)

Run as ``python blockserver.py DB_FILE``: it starts the IOC, prints "ready" and serves
until it is ended.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

# only the standard library up here: the IOC process (this file run as a script) must keep
# the environment the test gave it, which importing conftest would change

DEVICES = """\
record(ao, "$(P)SIM:TEMP1:SP") {
    field(DESC, "Sample temperature setpoint") field(EGU, "K") field(PREC, "2")
}
record(calc, "$(P)SIM:TEMP1") {
    field(DESC, "Sample temperature") field(EGU, "K") field(PREC, "2")
    field(SCAN, ".1 second") field(INPA, "$(P)SIM:TEMP1 NPP") field(INPB, "$(P)SIM:TEMP1:SP NPP")
    field(CALC, "A+MAX(MIN(B-A,0.5),-0.5)")
}
record(bo, "$(P)SIM:SHUTTER") {
    field(DESC, "Beam shutter") field(ZNAM, "CLOSED") field(ONAM, "OPEN")
}
record(ai, "$(P)SIM:PRESSURE") {
    field(DESC, "Sample pressure") field(EGU, "mbar") field(PREC, "1") field(INP, "5")
    field(PINI, "YES") field(HIGH, "2") field(HSV, "MINOR")
}
alias("$(P)SIM:TEMP1", "$(P)CS:SB:TEMP1")
alias("$(P)SIM:TEMP1:SP", "$(P)CS:SB:TEMP1:SP")
alias("$(P)SIM:SHUTTER", "$(P)CS:SB:SHUTTER")
alias("$(P)SIM:PRESSURE", "$(P)CS:SB:PRESSURE")
record(waveform, "$(P)CS:BLOCKSERVER:BLOCKNAMES") { field(FTVL, "CHAR") field(NELM, "65000") }
"""
DEVICE_BLOCKS = ["TEMP1", "SHUTTER", "PRESSURE"]
RECORD = {"double": "ai", "long": "longin"}


def run_control(block: str) -> str:
    """The run-control PVs IBEX keeps for every block (genie_python's cget reads them)."""
    return (f'record(bo, "$(P)CS:SB:{block}:RC:ENABLE") {{ field(ZNAM, "NO") field(ONAM, "YES") }}\n'
            f'record(ao, "$(P)CS:SB:{block}:RC:LOW") {{ }}\n'
            f'record(ao, "$(P)CS:SB:{block}:RC:HIGH") {{ }}\n')


def forwarding_record(block: str, pv: str, kind: str) -> str:
    """A block of one of the script server's scalar PVs: value and alarm over a CA link."""
    import epics
    fields = [f'field(INP, "{pv} CP MSS")', f'field(EGU, "{epics.caget(pv + ".EGU")}")',
              f'field(DESC, "{epics.caget(pv + ".DESC")}")']
    if kind == "double":
        fields.append(f'field(PREC, "{epics.caget(pv + ".PREC")}")')
    return f'record({RECORD[kind]}, "$(P)CS:SB:{block}") {{ {" ".join(fields)} }}\n'


class BlockServer:
    """The stand-in as a process of its own, on a CA port of the test session's pool."""

    def __init__(self, root: Path, instrument: str, forwards: dict[str, tuple[str, str]] = {}):
        import conftest
        self.root, self.instrument = root, instrument
        self.port = next(conftest._port_pool)
        self.names = DEVICE_BLOCKS + list(forwards)
        self.db = root / "blocks.db"
        root.mkdir(parents=True, exist_ok=True)
        self.db.write_text(DEVICES + "".join(
            forwarding_record(block, pv, kind) for block, (pv, kind) in forwards.items())
            + "".join(run_control(block) for block in self.names))
        self.log = root / "blockserver.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "BlockServer":
        from conftest import wait_for
        env = dict(os.environ, EPICS_CAS_SERVER_PORT=str(self.port),
                   EPICS_CAS_INTF_ADDR_LIST="127.0.0.1", P=self.instrument)
        self.process = subprocess.Popen([sys.executable, __file__, str(self.db)], env=env,
                                        stdin=subprocess.DEVNULL, stdout=self.log.open("ab"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: "ready" in self.log.read_text() or self.process.poll() is not None,
                 timeout=20, what="the block server stand-in to start")
        assert self.process.poll() is None, self.log.read_text()
        self.publish(self.names)
        return self

    def publish(self, names: list[str]) -> None:
        """Publish a configuration's block names, exactly as the block server does."""
        import epics
        from conftest import wait_for
        from ibex_non_ca_helpers.compress_hex import compress_and_hex
        self.names = list(names)
        hexed = compress_and_hex(json.dumps(self.names)).decode()
        epics.caput(self.pv("CS:BLOCKSERVER:BLOCKNAMES"), hexed, wait=True, timeout=5)
        wait_for(lambda: epics.caget(self.pv("CS:BLOCKSERVER:BLOCKNAMES"), as_string=True,
                                     use_monitor=False) == hexed, what="BLOCKNAMES")

    def pv(self, suffix: str) -> str:
        return self.instrument + suffix

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)


def serve(db: str) -> None:
    from epicscorelibs import ioc
    ioc.start_ioc(dbs=[(db, "P=" + os.environ["P"])], extra_dbd_load=(), extra_dso_load=())
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    serve(sys.argv[1])
