"""Running as an IBEX IOC: the prefix from ``MYPVPREFIX``, settings from ``MACROS``.

IBEX starts every IOC with ``MYPVPREFIX`` (the instrument's prefix, e.g. ``IN:LARMOR:``)
and ``MACROS`` (a JSON object of the IOC's macros, as ``icpconfigGetMacros`` makes it)
in its environment. With no ``--prefix``, the script server then serves its PVs under
``$(MYPVPREFIX)<IOC name>:`` and takes the macros below as configuration values (over
the file's, under the command line's). Macros it does not know are IBEX's own: left alone.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping

from ibex_non_ca_helpers.macros import get_macro_values

DEFAULT_IOC_NAME = "SCRPTSRV_01"


def _folders(text: str) -> list[str]:
    return [str(Path(part).expanduser().resolve()) for part in text.split(";") if part.strip()]


def _flag(text: str) -> bool:
    if text.strip().lower() in ("1", "yes", "true", "on"):
        return True
    if text.strip().lower() in ("0", "no", "false", "off"):
        return False
    raise ValueError("must be YES or NO")


# macro -> (configuration key, how its text becomes the value, what it is)
MACROS: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "QUEUE_MODE": ("queue_mode", str, "STOP_ON_FAILURE or CONTINUE_ON_FAILURE"),
    "ABORT_GRACE": ("abort_grace", float, "seconds a job's cleanup gets on abort"),
    "HISTORY_LENGTH": ("history_length", int, "how many runs P:HISTORY shows"),
    "LINE_INTERVAL": ("line_interval", float, "seconds between current-line samples"),
    "UPDATE_RATE": ("update_rate", float, "updates per second, at most, of a job's fast PVs"),
    "PVA": ("pva", _flag, "YES or NO: also serve PV Access"),
    "COMMANDS": ("commands", _folders, "command folders, separated by ';'"),
    "SCRIPTS": ("scripts", _folders, "script folders, separated by ';'"),
    "STATE_DIR": ("state_dir", lambda t: str(Path(t).expanduser().resolve()),
                  "folder for the store and logs"),
}


class MacroError(ValueError):
    """A macro in ``MACROS`` has a value the script server cannot use."""


def ioc_prefix(environ: Mapping[str, str], ioc_name: str | None) -> str | None:
    """``$(MYPVPREFIX)<IOC name>:`` when IBEX's ``MYPVPREFIX`` is set, else None."""
    instrument = environ.get("MYPVPREFIX")
    if not instrument:
        return None
    name = ioc_name or environ.get("IOCNAME") or DEFAULT_IOC_NAME
    return f"{instrument}{name}:"


def macro_settings(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Configuration values from the ``MACROS`` environment variable (JSON)."""
    if "MACROS" not in environ:
        return {}
    saved = os.environ.get("MACROS")
    os.environ["MACROS"] = environ["MACROS"]      # the IBEX helper reads os.environ
    try:
        macros = get_macro_values()
    except ValueError as err:
        raise MacroError(f"MACROS is not a JSON object of macro values: {err}") from None
    finally:
        if saved is None:
            del os.environ["MACROS"]
        else:
            os.environ["MACROS"] = saved
    if not isinstance(macros, dict):
        raise MacroError("MACROS must be a JSON object, e.g. {\"QUEUE_MODE\": \"STOP_ON_FAILURE\"}")
    settings: dict[str, Any] = {}
    for macro, text in macros.items():
        if macro not in MACROS:
            continue
        key, convert, what = MACROS[macro]
        try:
            settings[key] = convert(str(text))
        except ValueError:
            raise MacroError(f"macro {macro}={text!r}: must be {what}") from None
    return settings


def macros_table() -> str:
    """README: the macros the script server reads from ``MACROS``."""
    rows = ["| macro | configuration key | value |", "|---|---|---|"]
    rows += [f"| `{macro}` | `{key}` | {what} |" for macro, (key, _, what) in MACROS.items()]
    return "\n".join(rows)
