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
    store.apply(effects, manager.next_id, manager.queue)


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


def test_a_queued_job_no_process_could_be_sent_is_set_aside_at_load(tmp_path):
    from scriptserver.jobs.spec import JobSpec
    store, m = open_manager(tmp_path / "s.sqlite")
    bad = NewJob(JobSpec("script", {"script": "x = 1", "name": "\ud800"}))   # an older version
    act(store, m, m.add([bad, job(m, 1)]))
    store.close()
    store, m2 = open_manager(tmp_path / "s.sqlite")
    assert m2.queue.ids() == [2]
    assert "job 1 has text that is not valid Unicode" in store.set_aside[0]
    assert store.job_record(1) is not None


def test_a_write_the_store_refuses_raises_in_words_and_a_new_run_is_inserted_again(tmp_path):
    import pytest
    from scriptserver.db.store import StoreUnavailable
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, 1)]))
    effects = m.start(now=1.0)
    store.db.execute("PRAGMA query_only=1")               # every write now fails
    with pytest.raises(StoreUnavailable, match="could not save this change.*nothing was changed"):
        act(store, m, effects)
    assert m.run.run_id is None                           # rolled back: not a row any more
    store.db.execute("PRAGMA query_only=0")
    act(store, m, effects)
    assert m.run.run_id is not None


def test_ids_survive_a_store_moved_away_and_a_store_restored_from_an_old_copy(tmp_path):
    import shutil
    path = tmp_path / "s.sqlite"
    store, m = open_manager(path)
    act(store, m, m.add([job(m, 1)]))
    store.close()
    shutil.copy(path, tmp_path / "old.sqlite")
    store, m = open_manager(path)
    for _ in range(1100):                                 # past the reserved mark
        act(store, m, m.add([job(m, 1)]))
    store.close()
    shutil.copy(tmp_path / "old.sqlite", path)            # an old backup comes back
    store, m = open_manager(path)
    assert m.next_id > 1101
    store.close()
    path.unlink()
    store, m = open_manager(path)                         # moved away: a fresh store
    assert m.next_id > 1101 and not len(m.queue)
