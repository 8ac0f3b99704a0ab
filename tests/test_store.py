"""The SQLite store: what was accepted survives a restart; a crash mid-job is recorded."""
from scriptserver.db.store import INTERRUPTED, Store
from scriptserver.jobs import effects as fx
from scriptserver.jobs.manager import JobManager, NewJob
from scriptserver.jobs.queue import Where
from scriptserver.jobs.spec import parse_job


def open_manager(path):
    store = Store(path)
    next_id, queue, history = store.load()
    return store, JobManager(next_id=next_id, queue=queue, history=history)


def act(store, manager, effects):
    store.apply(effects, manager.next_id, manager.queue.ids)


def job(manager, n):
    return NewJob(parse_job({"command": "wait", "args": {"seconds": n}, "name": f"w{n}"}))


def test_queue_and_history_survive_a_restart(tmp_path):
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, 1), job(m, 2), job(m, 3)]))
    act(store, m, m.move(3, Where(pos=0)))
    act(store, m, m.start(now=10.0))
    act(store, m, m.job_ended("failed", 11.0, error="boom", traceback="tb", output="out"))
    store.close()

    store, m2 = open_manager(tmp_path / "s.sqlite")
    assert m2.queue.ids() == [1, 2]
    assert [j.name for j in m2.queue] == ["w1", "w2"]
    assert m2.history[0].status == "failed" and m2.history[0].error == "boom"
    assert store.job_record(3)["runs"][0]["output"] == "out"


def test_ids_never_repeat_across_restarts_even_after_removal(tmp_path):
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, 1), job(m, 2)]))
    act(store, m, m.remove([2]))
    store.close()
    store, m2 = open_manager(tmp_path / "s.sqlite")
    (added,) = [e for e in m2.add([job(m2, 3)]) if isinstance(e, fx.Added)]
    assert added.ids == (3,)


def test_a_job_running_when_the_server_died_is_interrupted_and_requeued(tmp_path):
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, 1), job(m, 2)]))
    act(store, m, m.start(now=1.0))
    store.close()                       # the server dies here, job 1 running

    store, m2 = open_manager(tmp_path / "s.sqlite")
    assert m2.queue.ids() == [1, 2]     # back at the head, not re-run by itself
    assert m2.history[0].status == "interrupted" and m2.history[0].error == INTERRUPTED
    assert m2.state.value == "IDLE" and m2.queue_state.value == "STOPPED"
