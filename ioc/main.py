"""``scriptserver-ioc``: start the script server's Channel Access IOC.

It stops on SIGTERM, SIGINT (Ctrl-C) or SIGHUP: the running job gets its
``abort_grace`` for its ``finally:`` blocks, everything it started is killed, it
is recorded as aborted (back at the head of the queue), then the IOC exits with
status 0. A second signal meanwhile cuts the grace short.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Callable

from scriptserver.jobs.errors import RequestRefused
from scriptserver.runner import signals

from . import config as configuration
from . import ibexenv
from . import transport

log = logging.getLogger("scriptserver")
SESSION_SWEEP = 1.0          # s between checks for sessions that ran out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scriptserver-ioc", description="EPICS script server: queue, run and watch jobs "
        "over Channel Access. With no --config, the demo instrument is served.")
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument("--prefix", help="PV prefix (overrides the file), e.g. IN:INST:CS:SS:")
    parser.add_argument("--ioc-name", help="IBEX IOC name, used with MYPVPREFIX when there is "
                        f"no --prefix (default: $IOCNAME or {ibexenv.DEFAULT_IOC_NAME})")
    parser.add_argument("--state-dir", help="folder for the store and logs (overrides the file)")
    parser.add_argument("--list-pvs", action="store_true", help="print the PV names and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signals.clean_inherited()          # procServ blocks SIGTERM, SIGHUP and SIGPIPE
    try:
        config = configuration.load(
            args.config, prefix=args.prefix or ibexenv.ioc_prefix(os.environ, args.ioc_name),
            state_dir=args.state_dir, overrides=ibexenv.macro_settings(os.environ))
    except (configuration.ConfigError, ibexenv.MacroError) as err:
        print(err, file=sys.stderr)
        sys.exit(2)

    transport.tune_before_import()
    from caproto.asyncio.server import start_server

    from scriptserver.db.guard import StoreDamaged

    from . import ca_access, ca_patch, pva, rows
    from .pvs import PVS
    rows.resize(PVS, config.rows)             # before the PV group is built from the table
    from .group import ScriptServerPVs
    from .service import ScriptServer

    if args.list_pvs:
        print("\n".join(config.prefix + pv.name for pv in PVS))
        return

    interfaces = serve_on(config.interfaces)
    quiet_refusals()
    transport.no_delay_on_connections()
    ca_patch.apply()                   # before any PV exists: one fix is in their class
    ca_access.use_peer_addresses()
    try:
        service = ScriptServer(config)
    except StoreDamaged as err:            # never start empty over a store that was there
        print(f"scriptserver-ioc: {err}", file=sys.stderr)
        sys.exit(3)
    pvs = ScriptServerPVs(prefix=config.prefix, service=service)

    async def startup(async_lib) -> None:
        if config.pva:
            face = pva.start(config.prefix, service, asyncio.get_running_loop())
            if face is not None:
                pvs.mirrors.append(face)
        await service.start(pvs.publish)
        service.spawn(end_idle_sessions(service, pvs), "ending unused sessions")
        policy = config.access.policy
        log.info("access: %d rule(s), login %s, sessions end after %.4g h unused",
                 len(policy.rules), "on" if policy.login else "off",
                 config.access.session_seconds / 3600)
        log.info("script server %s ready: %d commands, %d queued, state in %s", config.prefix,
                 len(service.commands.names()), len(service.manager.queue), config.state_dir)

    async def serve() -> None:
        server = asyncio.create_task(start_server(pvs.pvdb, interfaces=interfaces,
                                                  startup_hook=startup))
        stop = stop_signals(service.runner.kill_now)
        try:
            await asyncio.wait({server, stop}, return_when=asyncio.FIRST_COMPLETED)
            if server.done():
                server.result()                # caproto stopped by itself: say why
                return
            log.info("%s received: stopping (the running job gets %.1f s for its cleanup)",
                     stop.result(), config.abort_grace)
            await asyncio.wait_for(service.shutdown(
                f"the server was stopped ({stop.result()}) while the job ran"),
                config.abort_grace + SHUTDOWN_MARGIN)
        finally:
            server.cancel()
            await asyncio.gather(server, return_exceptions=True)
            await service.close()            # the job launcher stops, the store is checkpointed
        log.info("stopped")

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
SHUTDOWN_MARGIN = 10.0      # s beyond the grace for the job's end to be recorded


def stop_signals(again: Callable[[], None]) -> asyncio.Future:
    """A future that gets the name of the first stop signal; a second calls ``again``
    (the running job is killed at once)."""
    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def received(sig: signal.Signals) -> None:
        if not stop.done():
            stop.set_result(sig.name)
        else:
            log.warning("%s received again: the running job is killed now", sig.name)
            again()

    for sig in STOP_SIGNALS:
        if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
            continue                        # nohup: kept ignored (see signals.clean_inherited)
        loop.add_signal_handler(sig, received, sig)
    return stop


def serve_on(configured: list[str]) -> list[str]:
    """The interfaces to serve on, as EPICS servers take them: the EPICS_CAS_* settings win
    over the configuration, and EPICS_CAS_SERVER_PORT over EPICS_CA_SERVER_PORT (caproto
    reads only the latter). PV Access binds the same interfaces unless
    EPICS_PVAS_INTF_ADDR_LIST says otherwise (pvapy would bind every interface)."""
    interfaces = os.environ.get("EPICS_CAS_INTF_ADDR_LIST", "").split() or configured
    if os.environ.get("EPICS_CAS_SERVER_PORT"):
        os.environ["EPICS_CA_SERVER_PORT"] = os.environ["EPICS_CAS_SERVER_PORT"]
    os.environ.setdefault("EPICS_PVAS_INTF_ADDR_LIST", " ".join(interfaces))
    return interfaces


async def end_idle_sessions(service, pvs) -> None:
    """Keep P:USERS current as sessions are used and run out (not inside every put)."""
    from .pvs import Topic
    shown = -1
    while True:
        await asyncio.sleep(SESSION_SWEEP)
        service.gate.expire()
        if service.gate.sessions.version != shown:
            shown = service.gate.sessions.version
            await pvs.publish({Topic.USERS})


class _DropRefusalTracebacks(logging.Filter):
    """A refused put is the operator's mistake: the service has logged it with its reason
    (and shown it in P:ERROR), so caproto's traceback of it is left out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], RequestRefused))


def quiet_refusals() -> None:
    # caproto's debug log has every command with its data, a login's token too: never on
    logging.getLogger("caproto").setLevel(logging.INFO)
    for name in ("caproto", "caproto.circ", "caproto.ctx"):
        logging.getLogger(name).addFilter(_DropRefusalTracebacks())


if __name__ == "__main__":
    main()
