"""Channel Access side of the access rules: caproto asks, ioc/gate.py decides.

caproto hands its access hook (``ChannelData.check_access(hostname, username)``)
the host name the *client claims* in its HostNameRequest. Rights here must come
from the connection's real peer address, so the circuit class used by the
server reports the peer address as ``client_hostname`` and keeps the claimed
name aside (``claimed_hostname``, for logs only). Every call caproto makes to
the hook (channel creation, read, write) then gets the real address.

caproto checks rights on create, read and write but not when a monitor is
added; the circuit refuses reads, monitors and writes the client has no right
to itself, before caproto sees them.

A putter gets no client identity from caproto: each guarded PV's ``auth_write``
sets ``gate.ACTING`` around the write, so the put's action knows who asked.

tests/test_access_ca.py pins this to the caproto version in setup.py.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from caproto import AccessRights
import caproto as ca

from .access import Need, Rights, Who
from .gate import ACTING


@functools.lru_cache(maxsize=64)
def ca_rights(rights: Rights) -> AccessRights:
    bits = AccessRights.NO_ACCESS
    if rights.read:
        bits |= AccessRights.READ
    if rights.write:
        bits |= AccessRights.WRITE
    return bits


# Refused here, quietly and in CA's own words (caproto would log a traceback, with
# the written data, and answer ECA_PUTFAIL); monitors caproto does not check at all.
NEEDED = {
    ca.ReadNotifyRequest: (AccessRights.READ, ca.CAStatus.ECA_NORDACCESS, "read"),
    ca.ReadRequest: (AccessRights.READ, ca.CAStatus.ECA_NORDACCESS, "read"),
    ca.EventAddRequest: (AccessRights.READ, ca.CAStatus.ECA_NORDACCESS, "read"),
    ca.WriteNotifyRequest: (AccessRights.WRITE, ca.CAStatus.ECA_NOWTACCESS, "write"),
    ca.WriteRequest: (AccessRights.WRITE, ca.CAStatus.ECA_NOWTACCESS, "write"),
}


def _circuit_class():
    from caproto.asyncio.server import VirtualCircuit

    class PeerAddressCircuit(VirtualCircuit):
        """A circuit whose ``client_hostname`` is the peer's real address."""

        claimed_hostname: str | None = None

        @property
        def client_hostname(self) -> str:
            return self.circuit.address[0]

        @client_hostname.setter
        def client_hostname(self, claimed: str | None) -> None:
            self.claimed_hostname = claimed

        async def _process_command(self, command):
            needed = NEEDED.get(type(command))
            if needed is not None:
                chan, db_entry = self._get_db_entry_from_command(command)
                access = db_entry.check_access(self.client_hostname, self.client_username)
                if needed[0] not in access:
                    status, verb = needed[1:]
                    refused = getattr(db_entry, "write_refused", None)
                    if verb == "write" and refused is not None:    # said in P:ERROR too
                        await refused(self.client_hostname, self.client_username)
                    return [ca.ErrorResponse(command, chan.cid, status=status,
                                             error_message=f"no {verb} access to {chan.name}")]
            return await super()._process_command(command)

    return PeerAddressCircuit


def use_peer_addresses() -> None:
    """Make caproto's asyncio server decide rights by the peer's real address."""
    import caproto.asyncio.server as server
    server.Context.CircuitClass = _circuit_class()


def guard(channel: Any, need: Need, decide: Callable[[Who, Need], Rights]) -> None:
    """Give one caproto ChannelData the gate's rights and the caller's identity."""
    def check_access(hostname: str, username: str) -> AccessRights:
        return ca_rights(decide(Who(username or "", hostname or ""), need))

    original_write = channel.auth_write

    async def auth_write(hostname, username, *args, **kwargs):
        reset = ACTING.set(Who(username or "", hostname or ""))
        try:
            return await original_write(hostname, username, *args, **kwargs)
        finally:
            ACTING.reset(reset)

    channel.check_access = check_access
    channel.auth_write = auth_write
