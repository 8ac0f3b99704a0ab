"""The .acf subset a site can point the configuration at."""
import pytest

from scriptserver.ioc import acf
from scriptserver.ioc.access import Level, Policy, level

SITE = """
# a site's access security file
UAG(ops) { alice, "bob" }
HAG(beamline) { 127.0.0.1, 10.1.2.0/24 }
ASG(DEFAULT) {
    RULE(1, READ)
    RULE(0, WRITE, TRAPWRITE) { HAG(beamline) }
    RULE(1, WRITE) { UAG(ops) HAG(beamline) }
}
ASG(OTHER) { RULE(1, READ) { HAG(beamline) } }
"""


def addresses(host):
    return {"ioc-host": ["10.9.9.9"]}.get(host, [host])


def policy(text, group="DEFAULT"):
    return Policy(tuple(acf.rules(acf.parse(text), group, addresses)))


def test_levels_map_read_operate_manage():
    site = policy(SITE)
    assert level(site, "192.168.0.5", "eve") is Level.READ        # RULE(1, READ): anyone
    assert level(site, "10.1.2.9", "eve") is Level.OPERATE        # RULE(0, WRITE) on the HAG
    assert level(site, "10.1.2.9", "bob") is Level.MANAGE         # RULE(1, WRITE) with the UAG
    assert level(site, "10.1.3.9", "bob") is Level.READ


def test_another_group_can_be_chosen():
    other = policy(SITE, "OTHER")
    assert level(other, "127.0.0.1", "x") is Level.READ
    assert level(other, "192.168.0.5", "x") is Level.NONE


def test_host_names_in_a_hag_are_resolved_to_addresses():
    site = policy('HAG(h) {ioc-host} ASG(DEFAULT) { RULE(0, WRITE) { HAG(h) } }')
    assert level(site, "10.9.9.9", "x") is Level.OPERATE
    assert level(site, "ioc-host", "x") is Level.NONE


@pytest.mark.parametrize("text, words", [
    ("ASG(DEFAULT) { RULE(1, WRITE) { UAG(nobody) } }", "UAG(nobody), which is not defined"),
    ("ASG(DEFAULT) { INP(A, \"X:Y\") RULE(1, READ) }", "INP"),
    ("ASG(DEFAULT) { RULE(1, WRITE) { CALC(\"A=1\") } }", "CALC"),
    ("ASG(DEFAULT) { RULE(1, SPLAT) }", "RULE(level, READ|WRITE)"),
    ("ASG(DEFAULT) { RULE(1, READ)", "ends early"),
    ("ASG(MINE) { RULE(1, READ) }", "no ASG(DEFAULT)"),
])
def test_mistakes_are_refused_in_words(text, words):
    with pytest.raises(acf.AcfError) as err:
        acf.rules(acf.parse(text), "DEFAULT", addresses)
    assert words in str(err.value)


def test_line_numbers_point_at_the_mistake():
    with pytest.raises(acf.AcfError) as err:
        acf.parse("UAG(a) { x }\n\nASG(DEFAULT) {\n  RULE(1, READS)\n}\n")
    assert "line 4" in str(err.value)
