"""README's generated parts match the code's tables; its examples use real PVs."""
import re
from pathlib import Path

from scriptserver.ioc.docs import render
from scriptserver.ioc import rows
from scriptserver.ioc.pva import TABLES
from scriptserver.ioc.pvs import PVS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_pv_table_and_state_diagrams_are_current():
    text = README.read_text()
    assert render(text) == text, "run: python -m scriptserver.ioc.docs README.md"


def test_every_pv_the_readme_mentions_exists():
    names = {pv.name for pv in PVS} | {name for name, *_ in TABLES.values()}   # + PVA tables
    names |= {rows.pattern(name) for name in names}                          # QUEUE:ROW:n:ID
    mentioned = set(re.findall(r"\bP:([A-Z][A-Z0-9n_:]*[A-Z0-9])", README.read_text()))
    assert mentioned - names == set()


def test_ci_runs_the_readme_test_command():
    command = next(line.strip() for line in README.read_text().splitlines()
                   if "pytest" in line and line.startswith("    python3 -m venv"))
    ci = (README.parent / ".ci" / "run").read_text()
    assert command in ci
