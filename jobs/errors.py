"""Errors a user can cause. Each carries a message a beamline user can act on."""


class RequestRefused(Exception):
    """A client request that was refused; nothing was changed.

    The message is shown to the operator in ``P:ERROR`` and returned with the
    failed put, so it must say what was wrong and, where possible, what to do.
    """
