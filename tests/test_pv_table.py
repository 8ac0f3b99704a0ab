"""The PV table names only actions, views and topics that exist, and uses each action."""
import inspect

from scriptserver.ioc import service
from scriptserver.ioc.actions import ACTIONS
from scriptserver.ioc.pvs import PVS, Topic
from scriptserver.ioc.status import StatusView


def test_every_control_pv_names_an_action_and_every_action_has_a_pv():
    named = {pv.action for pv in PVS if pv.action}
    assert named - set(ACTIONS) == set(), "PVs name actions that do not exist"
    assert set(ACTIONS) - named == set(), "actions no PV reaches"


def test_every_status_pv_shows_a_property_of_the_status_view():
    properties = {name for name, member in inspect.getmembers(StatusView)
                  if isinstance(member, property)}
    for pv in PVS:
        if pv.action is None or pv.writable:
            assert pv.view in properties, f"{pv.name}: StatusView has no {pv.view!r}"
            assert pv.topics, f"{pv.name} is never republished"
        else:
            assert pv.view is None and not pv.topics, f"{pv.name}: a control PV shows nothing"


def test_every_topic_is_published_by_something_and_shown_by_a_pv():
    shown = {topic for pv in PVS for topic in pv.topics}
    assert shown == set(Topic), f"topics no PV shows: {set(Topic) - shown}"
    source = inspect.getsource(service) + inspect.getsource(
        __import__("scriptserver.ioc.actions", fromlist=["x"]))
    published = {t for t in Topic if f"Topic.{t.name}" in source}
    assert published == set(Topic), f"topics nothing publishes: {set(Topic) - published}"


def test_pv_names_are_unique():
    names = [pv.name for pv in PVS]
    assert len(names) == len(set(names))
