"""Small helpers over the two real CA clients the tests use: pyepics (libca) and caproto."""
from __future__ import annotations

import json
from typing import Any

import epics
import numpy as np
from caproto import ChannelType
from caproto.sync import client as caproto_client

TIMEOUT = 5.0


def get(name: str) -> Any:
    """caget with pyepics; CHAR waveforms come back as text (like caget -S)."""
    value = epics.caget(name, as_string=True, timeout=TIMEOUT, use_monitor=False)
    if value is None:
        raise TimeoutError(f"no answer from {name}")
    return value


def get_value(name: str) -> Any:
    value = epics.caget(name, timeout=TIMEOUT, use_monitor=False)
    if value is None:
        raise TimeoutError(f"no answer from {name}")
    return value


def get_json(name: str) -> Any:
    text = get(name)
    return json.loads(text) if text else None


def put(name: str, value: Any) -> None:
    """caput with completion callback through pyepics (as a GUI does)."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    epics.caput(name, value, wait=True, timeout=TIMEOUT)


def put_checked(name: str, value: Any) -> None:
    """Put with caproto's client: raises ErrorResponseReceived when the server refuses."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    if isinstance(value, str):
        data = np.frombuffer(value.encode() + b"\0", dtype=np.uint8)
        caproto_client.write(name, data, notify=True, data_type=ChannelType.CHAR,
                             timeout=TIMEOUT, repeater=False)
    else:
        caproto_client.write(name, value, notify=True, timeout=TIMEOUT, repeater=False)


def read(name: str) -> Any:
    """caget through caproto's client (the other implementation)."""
    return caproto_client.read(name, timeout=TIMEOUT, repeater=False).data


def refusal(exc_info) -> str:
    """The server's words from a refused caproto put (pytest.raises' ExceptionInfo)."""
    return exc_info.value.args[0].error_message.decode(errors="replace")


def fresh(name: str) -> Any:
    """caget over a new connection (caproto): right after an IOC restart, no cached channel."""
    data = caproto_client.read(name, timeout=TIMEOUT, repeater=False).data
    if isinstance(data, np.ndarray) and data.dtype == np.uint8:
        return data.tobytes().split(b"\0")[0].decode()
    if len(data) and isinstance(data[0], bytes):
        return data[0].decode()
    return list(data) if len(data) > 1 else data[0]


def login(prefix: str) -> None:
    """Log this client (its CA user at 127.0.0.1) in, as README's one line does:
    caput -S P:AUTH:LOGIN "$(caget -t -S P:TOKEN)"."""
    put_checked(prefix + "AUTH:LOGIN", fresh(prefix + "TOKEN"))


def fresh_json(name: str) -> Any:
    text = fresh(name)
    return json.loads(text) if text else None
