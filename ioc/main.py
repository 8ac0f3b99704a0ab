"""``scriptserver-ioc``: start the script server's Channel Access IOC."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from scriptserver.jobs.errors import RequestRefused

from . import config as configuration
from . import transport

log = logging.getLogger("scriptserver")
SESSION_SWEEP = 1.0          # s between checks for sessions that ran out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scriptserver-ioc", description="EPICS script server: queue, run and watch jobs "
        "over Channel Access. With no --config, the demo instrument is served.")
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument("--prefix", help="PV prefix (overrides the file), e.g. IN:INST:CS:SS:")
    parser.add_argument("--state-dir", help="folder for the store and logs (overrides the file)")
    parser.add_argument("--list-pvs", action="store_true", help="print the PV names and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = configuration.load(args.config, prefix=args.prefix, state_dir=args.state_dir)
    except configuration.ConfigError as err:
        print(err, file=sys.stderr)
        sys.exit(2)

    transport.tune_before_import()
    from caproto.asyncio.server import start_server

    from . import ca_access, pva
    from .group import ScriptServerPVs
    from .service import ScriptServer

    if args.list_pvs:
        from .pvs import PVS
        print("\n".join(config.prefix + pv.name for pv in PVS))
        return

    interfaces = serve_on(config.interfaces)
    quiet_refusals()
    transport.no_delay_on_connections()
    ca_access.use_peer_addresses()
    service = ScriptServer(config)
    pvs = ScriptServerPVs(prefix=config.prefix, service=service)

    async def startup(async_lib) -> None:
        if config.pva:
            face = pva.start(config.prefix, service, asyncio.get_running_loop())
            if face is not None:
                pvs.mirrors.append(face)
        await service.start(pvs.publish)
        service.spawn(end_idle_sessions(service, pvs), "ending unused sessions")
        pvs.started = True
        policy = config.access.policy
        log.info("access: %d rule(s), login %s, sessions end after %.4g h unused",
                 len(policy.rules), "on" if policy.login else "off",
                 config.access.session_seconds / 3600)
        log.info("script server %s ready: %d commands, %d queued, state in %s", config.prefix,
                 len(service.commands.names()), len(service.manager.queue), config.state_dir)

    async def serve() -> None:
        try:
            await start_server(pvs.pvdb, interfaces=interfaces, startup_hook=startup)
        finally:
            await service.close()            # the job launcher stops, the store is checkpointed

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


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
