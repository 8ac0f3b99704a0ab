"""Errors a user can cause. Each carries a message a beamline user can act on."""


class RequestRefused(Exception):
    """A client request that was refused; nothing was changed.

    The message is shown to the operator in ``P:ERROR`` and returned with the
    failed put, so it must say what was wrong and, where possible, what to do.
    """


def shown(value: object, limit: int = 60) -> str:
    """A value as a refusal quotes it: its repr, cut short (a refusal must stay readable
    whatever a client sent)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + " ...)"
