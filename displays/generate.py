"""Write the displays from the layout: ``python -m scriptserver.displays.generate``.

Every PV a display names must be in the PV table (``ioc/pvs.py``), or nothing is
written; a test fails when the files differ from what this would write, so the
displays cannot drift from the server.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scriptserver.ioc.pvs import PVS

from . import phoebus, pydm
from .layout import SCREENS, Screen

FOLDER = Path(__file__).resolve().parent
RENDERERS = {".ui": pydm.render, ".bob": phoebus.render}


class UnknownPV(Exception):
    """A display names a PV the server does not serve."""


def check(screen: Screen) -> None:
    served = {pv.name for pv in PVS}
    unknown = sorted(set(screen.pvs()) - served)
    if unknown:
        raise UnknownPV(f"{screen.title!r} names PVs the server does not serve: "
                        f"{', '.join(unknown)}")


def files() -> dict[str, str]:
    """File name -> its text, for every screen in every format."""
    texts = {}
    for name, make in SCREENS.items():
        screen = make()
        check(screen)
        for suffix, render in RENDERERS.items():
            texts[name + suffix] = render(screen)
    return texts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FOLDER, help="folder to write into")
    args = parser.parse_args(argv)
    try:
        texts = files()
    except UnknownPV as err:
        sys.exit(str(err))
    for name, text in texts.items():
        (args.out / name).write_text(text)
        print(args.out / name)


if __name__ == "__main__":
    main()
