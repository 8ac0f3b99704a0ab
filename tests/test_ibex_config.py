"""The IBEX files in config/ibex/ match the code: blocks, macros, the start script."""
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from scriptserver.ioc.ibex import IBEX_PVS
from scriptserver.ioc.ibexenv import MACROS
from scriptserver.ioc.pvs import PVS

IBEX = Path(__file__).resolve().parent.parent / "config" / "ibex"
BLOCKS_NS = "{http://epics.isis.rl.ac.uk/schema/blocks/1.0}"
IOCS_NS = "{http://epics.isis.rl.ac.uk/schema/iocs/1.0}"


def test_blocks_xml_has_the_recommended_blocks_of_existing_pvs():
    blocks = ElementTree.parse(IBEX / "blocks.xml").getroot().findall(BLOCKS_NS + "block")
    found = {b.find(BLOCKS_NS + "name").text: b.find(BLOCKS_NS + "read_pv").text for b in blocks}
    assert found == {row.block: f"SCRPTSRV_01:{row.pv}" for row in IBEX_PVS if row.block}
    names = {pv.name for pv in PVS}
    assert all(pv.split(":", 1)[1] in names for pv in found.values())


def test_iocs_xml_sets_only_macros_the_server_reads():
    ioc = ElementTree.parse(IBEX / "iocs.xml").getroot().find(IOCS_NS + "ioc")
    assert ioc.get("name") == "SCRPTSRV_01"
    macros = {m.get("name") for m in ioc.iter(IOCS_NS + "macro")}
    assert macros and macros <= set(MACROS)


def test_the_start_script_serves_under_mypvprefix(tmp_path):
    result = subprocess.run(["sh", str(IBEX / "st.sh"), "--list-pvs"], capture_output=True,
                            text=True, timeout=60, env={
                                **os.environ, "MYPVPREFIX": "IN:DEMO:",
                                "SCRIPTSERVER_PYTHON": sys.executable,
                                "MACROS": '{"QUEUE_MODE": "CONTINUE_ON_FAILURE"}'})
    assert result.returncode == 0, result.stderr
    assert "IN:DEMO:SCRPTSRV_01:QUEUE:MODE:SP:RBV" in result.stdout.split()
