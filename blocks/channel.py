"""The Channel Access reads and writes behind the block helpers (caproto's client).

One short-lived connection per call, as a script's block access is occasional;
nothing here keeps threads or sockets in the job process between calls.
"""
from __future__ import annotations

from typing import Any

from caproto import AlarmSeverity, CaprotoTimeoutError, ChannelType, native_type
from caproto.sync import client

TIMEOUT = 3.0           # s for a read or write of a block
EXISTS_TIMEOUT = 1.0    # s to decide that a PV (e.g. a block's :SP) does not exist
TEXT_TYPES = (ChannelType.ENUM, ChannelType.STRING, ChannelType.CHAR)


def exists(pv: str, timeout: float = EXISTS_TIMEOUT) -> bool:
    try:
        client.read(pv, timeout=timeout, repeater=False, data_count=1)
    except (TimeoutError, CaprotoTimeoutError):
        return False
    return True


def read(pv: str, timeout: float = TIMEOUT) -> tuple[Any, str, ChannelType]:
    """(value, alarm severity name, native type); enums and text come back as str."""
    response = client.read(pv, data_type="time", timeout=timeout, repeater=False)
    native = native_type(ChannelType(response.data_type))
    severity = AlarmSeverity(response.metadata.severity).name.replace("_ALARM", "")
    if native == ChannelType.ENUM:              # the state's name, as genie_python shows it
        return read_text(pv, timeout), severity, native
    return _plain(response.data, native), severity, native


def read_text(pv: str, timeout: float = TIMEOUT) -> str:
    response = client.read(pv, data_type=ChannelType.STRING, timeout=timeout, repeater=False)
    return _plain(response.data, ChannelType.STRING)


def read_raw(pv: str, timeout: float = TIMEOUT) -> bytes:
    """A CHAR waveform's bytes (e.g. BLOCKNAMES)."""
    response = client.read(pv, timeout=timeout, repeater=False)
    return bytes(response.data.tobytes() if hasattr(response.data, "tobytes") else response.data)


def write(pv: str, value: Any, timeout: float = TIMEOUT) -> None:
    """Write and wait for the put to complete (the server has applied it)."""
    if isinstance(value, str):
        client.write(pv, [value.encode()], data_type=ChannelType.STRING, notify=True,
                     timeout=timeout, repeater=False)
    else:
        client.write(pv, value, notify=True, timeout=timeout, repeater=False)


def _plain(data: Any, native: Any) -> Any:
    if native == ChannelType.CHAR:
        raw = data.tobytes() if hasattr(data, "tobytes") else bytes(data)
        return raw.split(b"\0")[0].decode(errors="replace")
    values = list(data)
    values = [v.decode(errors="replace") if isinstance(v, bytes) else v for v in values]
    if len(values) == 1:
        value = values[0]
        return value.item() if hasattr(value, "item") else value
    return values
