"""The queue's order as the store keeps it: a restarted IOC, after a clean stop or a crash,
shows the queue in the order it had, edits included."""
from ca import fresh, fresh_json, put_checked
from conftest import add


def queue_shown(ioc):
    return [(job["id"], job["name"]) for job in fresh_json(ioc.pv("QUEUE"))]


def test_a_restarted_ioc_shows_the_queue_in_the_same_order(make_ioc):
    server = make_ioc().start()
    ids = add(server, [{"script": "pass", "name": f"j{n}"} for n in range(1, 7)])
    put_checked(server.pv("QUEUE:MOVE"), {"id": ids[4], "pos": 0})
    put_checked(server.pv("QUEUE:MOVE"), {"id": ids[0], "after": ids[3]})
    put_checked(server.pv("QUEUE:REMOVE"), [ids[2]])
    put_checked(server.pv("QUEUE:EDIT"), {"id": ids[1], "job": {"script": "pass",
                                                                "name": "edited"}})
    added = add(server, {"jobs": [{"script": "pass", "name": "a"},
                                  {"script": "pass", "name": "b"}], "pos": 1})
    shown = queue_shown(server)
    assert [i for i, _ in shown] == [ids[4], added[0], added[1], ids[1], ids[3], ids[0],
                                     ids[5]]
    assert dict(shown)[ids[1]] == "edited"

    server.kill()                               # a crash: nothing written at the end
    server.start()
    assert queue_shown(server) == shown
    put_checked(server.pv("QUEUE:MOVE"), {"id": ids[5], "pos": 0})
    server.stop()                               # a clean stop
    server.start()
    assert queue_shown(server) == [shown[-1]] + shown[:-1]
    assert fresh(server.pv("QUEUE:LEN")) == len(shown)
