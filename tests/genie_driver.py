"""genie_python against the script server and the block-server stand-in (run in its own process).

Kept off ISIS's network as a user outside ISIS would: its remote log handler is
replaced by one that drops records, and its experiment database (asked at
``set_instrument``) is never reached. Prints one JSON line of what it saw.

    python genie_driver.py INSTRUMENT_PREFIX SERVER_PREFIX ROUNDS
"""
import json
import logging
import sys


class _Dropped(logging.Handler):
    def __init__(self, *args, **kwargs):
        super().__init__()

    def emit(self, record):
        pass


def main(instrument: str, server: str, rounds: int) -> None:
    import graypy
    graypy.GELFUDPHandler = _Dropped                       # no log records leave the machine
    from genie_python import genie_epics_api

    def no_database(*args, **kwargs):
        raise RuntimeError("no experiment database outside ISIS")
    genie_epics_api.GetExperimentData = no_database
    from genie_python import genie as g

    g.set_instrument(instrument, import_instrument_init=False)
    g.toggle.exceptions_raised(True)                       # genie_python swallows errors otherwise
    seen = {"temps": [], "modes": [], "queue_len": None, "remaining": None}
    modes = ["CONTINUE_ON_FAILURE", "STOP_ON_FAILURE"]
    for i in range(rounds):
        if i % 10 == 0:                                    # blocks through the stand-in
            g.cset("TEMP1", float(i % 5))
            seen["temps"].append(g.cget("TEMP1")["unit"])
        mode = modes[i % 2]
        g.set_pv(server + "QUEUE:MODE:SP", mode)            # reads .DISP first, every time
        seen["modes"].append(g.get_pv(server + "QUEUE:MODE:SP:RBV") == mode)
    g.cset("TEMP1", 2.0, wait=True)
    seen["temp_reached"] = g.cget("TEMP1")["value"]
    block = g.cget("SCRIPT_QUEUE_LEN")
    seen["queue_len"] = [block["value"], block["unit"], block["alarm"]]
    block = g.cget("SCRIPT_REMAINING")
    seen["remaining"] = [block["unit"], block["alarm"]]
    print("RESULT " + json.dumps(seen), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
