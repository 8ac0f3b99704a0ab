"""The server's PVs as seen by a client: read, write, refusals as exceptions.

Reads use caproto's threading client (one connection, kept). Puts use
caproto's sync client, which raises ErrorResponseReceived with the server's
words when a put is refused (the threading client drops that answer and times
out; pyepics reports success).
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any

import numpy as np
from caproto import ChannelType, ErrorResponseReceived
from caproto.sync import client as sync_client
from caproto.threading.client import Context

TIMEOUT = 5.0
DEFAULT_PREFIX = "P:"
log = logging.getLogger(__name__)


CAPROTO_WRAPPING = "Python exception: RequestRefused "


class Refused(Exception):
    """The server refused a request; the message is the server's own words."""


class Unreachable(Exception):
    """No server answered for a PV."""


def default_prefix() -> str:
    return os.environ.get("SCRIPTSERVER_PREFIX", DEFAULT_PREFIX)


class Server:
    """One script server, by PV prefix."""

    def __init__(self, prefix: str, timeout: float = TIMEOUT):
        self.prefix = prefix if prefix.endswith(":") else prefix + ":"
        self.timeout = timeout
        self.context = Context()
        self._pvs: dict[str, Any] = {}

    def _pv(self, suffix: str):
        pv = self._pvs.get(suffix)
        if pv is None:
            pv = self._pvs[suffix] = self.context.get_pvs(self.prefix + suffix,
                                                          timeout=self.timeout)[0]
        try:
            pv.wait_for_connection(timeout=self.timeout)
        except TimeoutError:
            raise Unreachable(
                f"no answer for {self.prefix + suffix}: is the script server running with "
                f"prefix {self.prefix!r} (--prefix, SCRIPTSERVER_PREFIX), and does "
                f"EPICS_CA_ADDR_LIST reach it?") from None
        return pv

    def connect(self, *suffixes: str) -> None:
        """Search for several PVs at once (one round trip instead of one each)."""
        fresh = [s for s in suffixes if s not in self._pvs]
        for suffix, pv in zip(fresh, self.context.get_pvs(
                *(self.prefix + s for s in fresh), timeout=self.timeout)):
            self._pvs[suffix] = pv

    def serves(self, suffix: str) -> bool:
        try:
            self._pv(suffix)
        except Unreachable:
            return False
        return True

    def get(self, suffix: str) -> Any:
        """The value: text for CHAR waveforms and enums, a number or a list of numbers."""
        pv = self._pv(suffix)
        if pv.channel.native_data_type == ChannelType.ENUM:
            return pv.read(data_type=ChannelType.STRING, timeout=self.timeout).data[0].decode()
        data = pv.read(timeout=self.timeout).data
        if pv.channel.native_data_type == ChannelType.CHAR:
            return bytes(data).split(b"\0")[0].decode("utf-8", "replace")
        if pv.channel.native_data_type == ChannelType.STRING:
            return data[0].decode() if len(data) else ""
        if isinstance(data, np.ndarray) and pv.channel.native_data_count > 1:
            return data.tolist()
        return data[0].item() if isinstance(data, np.ndarray) else data[0]

    def get_json(self, suffix: str) -> Any:
        text = self.get(suffix)
        return json.loads(text) if text else None

    def put(self, suffix: str, value: Any) -> None:
        """Write and wait for the server to apply it; a refusal raises Refused."""
        pv = self._pv(suffix)
        text_pv = pv.channel.native_data_type == ChannelType.CHAR     # the JSON and text PVs
        if isinstance(value, (dict, list)) or text_pv and not isinstance(value, str):
            value = json.dumps(value)
        if isinstance(value, str) and text_pv:
            data, kind = np.frombuffer(value.encode() + b"\0", dtype=np.uint8), ChannelType.CHAR
        else:
            data, kind = [value], None
        try:
            sync_client.write(pv.name, data, notify=True, data_type=kind, timeout=self.timeout,
                              repeater=False)
        except ErrorResponseReceived as err:
            words = err.args[0].error_message.decode(errors="replace").strip("\0").strip()
            # caproto's server wraps the reason: "Python exception: RequestRefused <words>"
            raise Refused(words.removeprefix(CAPROTO_WRAPPING)) from None
