"""Every put refused in words, including those caproto refuses before our code runs.

caproto turns a put's bytes into a value (decoding text, matching an enum
string, reading a number) and checks write access before any putter sees it;
what it refuses there reaches the client as "Python exception: ..." and
nothing reaches P:ERROR. Each PV's channel class here wraps that whole write
path: the payload size is checked first (before anything is decoded), and any
refusal on the way is put in words that say what the PV takes, shown in
P:ERROR and returned with the failed put.
"""
from __future__ import annotations

import logging
from typing import Any

from caproto.server.server import pvspec_type_map, pvspec_type_map_read_only

from scriptserver.jobs.errors import RequestRefused

from .pvs import PVS, PV

log = logging.getLogger(__name__)

TAKES: dict[str, str] = {
    "json": "JSON text (UTF-8)",
    "text": "text (UTF-8)",
    "long": "a number (any number: the put itself is the request)",
    "double": "a number",
    "longs": "a list of numbers",
}
BY_ATTR: dict[str, PV] = {pv.name.lower().replace(":", "_"): pv for pv in PVS}


def takes(pv: PV) -> str:
    if pv.kind == "enum":
        return "one of " + ", ".join(pv.enum) + " (or its index)"
    return TAKES[pv.kind]


def explain(pv: PV, err: Exception) -> str:
    """Words for a put caproto could not turn into a value for ``pv``."""
    if type(err).__name__ == "Forbidden":
        if pv.action is None:
            return (f"{pv.name} is a status PV: it shows the server's state and takes no "
                    "puts; the control PVs (QUEUE:ADD, QUEUE:START, JOB:ABORT, ...) are listed "
                    "in README")
        return f"{pv.name}: this client may not write here ({err})"
    if isinstance(err, UnicodeDecodeError):
        return (f"{pv.name}: the value is not UTF-8 text (byte 0x{err.object[err.start]:02x} "
                f"at position {err.start}); send UTF-8-encoded {takes(pv)}")
    return f"{pv.name}: the value could not be read as {takes(pv)} ({type(err).__name__}: {err})"


def payload_size(data: Any) -> int:
    size = getattr(data, "nbytes", None)
    if size is None:
        try:
            size = len(data)
        except TypeError:
            size = 0
    return size


class RefusedInWords:
    """Mixed into each PV's caproto channel class: see the module's docstring."""

    async def write_refused(self, hostname: str, username: str) -> None:
        await write_refused(self, hostname, username)

    async def auth_write(self, hostname, username, data, data_type, metadata, **kwargs):
        group = self.group                               # type: ignore[attr-defined]
        pv = BY_ATTR.get(self.pvspec.attr)               # type: ignore[attr-defined]
        service = getattr(group, "service", None)
        if pv is None or service is None:
            return await super().auth_write(hostname, username, data, data_type, metadata,
                                            **kwargs)
        try:
            if pv.action is not None:
                limit = service.limits.put_bytes(pv)
                size = payload_size(data)
                if size > limit:
                    raise RequestRefused(
                        f"{pv.name}: the put carries {size:,} bytes; this PV takes at most "
                        f"{limit:,} (limits in README); nothing was read or changed" + (
                            '. Store a long script in a script folder and send {"script_file": '
                            '"name.py"}' if limit > 10_000 else ""))
            return await super().auth_write(hostname, username, data, data_type, metadata,
                                            **kwargs)
        except RequestRefused as refused:
            if not getattr(refused, "reported", False):
                await service.report_error(str(refused))
            raise
        except Exception as err:  # noqa: BLE001 - every refusal gets words, whatever its kind
            words = explain(pv, err)
            log.debug("put on %s refused by caproto", pv.name, exc_info=True)
            await service.report_error(words)
            raise RequestRefused(words) from None


async def write_refused(channel: Any, hostname: str, username: str) -> None:
    """A write the access check refused before any put code ran: said in P:ERROR."""
    pv = BY_ATTR.get(channel.pvspec.attr)
    service = getattr(channel.group, "service", None)
    if pv is None or service is None:
        return
    if pv.action is None:
        words = explain(pv, Forbidden())
    else:
        words = (f"{pv.name}: {username}@{hostname} may not write here: log in first "
                 "(read TOKEN, write it to AUTH:LOGIN) or ask for write rights")
    await service.report_error(words)


class Forbidden(Exception):
    """Stands for caproto's own refusal of a write to a read-only PV."""


def guarded(cls: type) -> type:
    return type(cls.__name__ + "InWords", (RefusedInWords, cls), {})


TYPE_MAP = {dtype: guarded(cls) for dtype, cls in pvspec_type_map.items()}
TYPE_MAP_READ_ONLY = {dtype: guarded(cls) for dtype, cls in pvspec_type_map_read_only.items()}
