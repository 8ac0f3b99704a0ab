"""Small helpers over the two real CA clients the tests use: pyepics (libca) and caproto."""
from __future__ import annotations

import json
from typing import Any

import epics
import numpy as np
from caproto import CaprotoError, ChannelType
from caproto.sync import client as _sync_client


TIMEOUT = 10.0        # s: generous, a loaded 2-core machine answers late; only a failure waits it out


class _Client:
    """caproto's sync client, once more on a new circuit if a cached one was closed.

    The sync client keeps one TCP circuit per server address for the whole process; an IOC
    stopped by an earlier test leaves its circuit behind, and a later IOC on the same port
    then meets "Disconnected during initialization" before anything was sent. caproto drops
    the dead circuit when it raises that, so one retry is safe and connects afresh.
    """

    def __getattr__(self, name: str):
        call = getattr(_sync_client, name)

        def retried(*args, **kwargs):
            try:
                return call(*args, **kwargs)
            except CaprotoError as err:
                if "Disconnected during initialization" not in str(err):
                    raise
                return call(*args, **kwargs)
        return retried


caproto_client = _Client()


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


def put_checked(name: str, value: Any, *, enum: bool = False) -> None:
    """Put with caproto's client: raises ErrorResponseReceived when the server refuses.

    Text goes as a CHAR waveform (what ``caput -S`` sends); ``enum``: as the STRING of an
    ENUM PV's choice (what ``caput P:QUEUE:MODE CONTINUE_ON_FAILURE`` sends).
    """
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    if enum:
        caproto_client.write(name, [value], notify=True, data_type=ChannelType.STRING,
                             timeout=TIMEOUT, repeater=False)
    elif isinstance(value, str):
        data = np.frombuffer(value.encode() + b"\0", dtype=np.uint8)
        caproto_client.write(name, data, notify=True, data_type=ChannelType.CHAR,
                             timeout=TIMEOUT, repeater=False)
    else:
        caproto_client.write(name, value, notify=True, timeout=TIMEOUT, repeater=False)


def read(name: str) -> Any:
    """caget through caproto's client (the other implementation)."""
    return caproto_client.read(name, timeout=TIMEOUT, repeater=False).data


def refusal(exc_info) -> str:
    """The server's words from a refused caproto put (pytest.raises' ExceptionInfo).

    caproto's server sends them as "Python exception: RequestRefused <reason>", NUL-padded:
    the reason alone comes back, as P:ERROR shows it after the PV's name.
    """
    words = exc_info.value.args[0].error_message.decode(errors="replace")
    return words.rstrip("\0 ").removeprefix("Python exception: RequestRefused ")


def fresh(name: str) -> Any:
    """caget over a new connection (caproto): right after an IOC restart, no cached channel."""
    data = caproto_client.read(name, timeout=TIMEOUT, repeater=False).data
    if isinstance(data, np.ndarray) and data.dtype == np.uint8:
        return data.tobytes().split(b"\0")[0].decode()
    if len(data) and isinstance(data[0], bytes):
        return data[0].decode()
    return list(data) if len(data) != 1 else data[0]      # an empty array: []


def login(prefix: str) -> None:
    """Log this client (its CA user at 127.0.0.1) in, as README's one line does:
    caput -S P:AUTH:LOGIN "$(caget -t -S P:TOKEN)"."""
    put_checked(prefix + "AUTH:LOGIN", fresh(prefix + "TOKEN"))


def fresh_json(name: str) -> Any:
    text = fresh(name)
    return json.loads(text) if text else None
