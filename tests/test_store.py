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
    store.db.execute("DELETE FROM meta WHERE key='values_checked'")   # as an older version
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


# -- the queue's order: stored row by row -------------------------------------------------

def stored_order(store):
    return store.order.ids()


def changes(store, m, effects):
    """Rows the store wrote for these effects (inserted, updated or deleted)."""
    before = store.db.total_changes
    act(store, m, effects)
    return store.db.total_changes - before


def test_order_survives_a_restart_after_adds_moves_edits_and_removals(tmp_path):
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, n) for n in range(1, 7)]))
    act(store, m, m.add([job(m, 7), job(m, 8)], Where(after=2)))
    act(store, m, m.move(6, Where(pos=0)))
    act(store, m, m.move(1, Where(before=4)))
    act(store, m, m.edit(3, job(m, 30)))
    act(store, m, m.remove([5, 8]))
    act(store, m, m.add([job(m, 9)], Where(pos=-2)))
    expected = m.queue.ids()
    assert stored_order(store) == expected
    store.close()
    store, m2 = open_manager(tmp_path / "s.sqlite")
    assert m2.queue.ids() == expected
    assert m2.queue.get(3).spec.body["args"]["seconds"] == 30


def test_a_move_edit_or_removal_in_a_big_queue_writes_a_few_rows(tmp_path):
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, 1)] * 2000))
    ids = m.queue.ids()
    assert changes(store, m, m.move(ids[1000], Where(pos=0))) <= 3
    assert changes(store, m, m.move(ids[10], Where(after=ids[1500]))) <= 3
    assert changes(store, m, m.edit(ids[20], job(m, 2))) <= 2
    assert changes(store, m, m.remove([ids[30]])) <= 2
    assert stored_order(store) == m.queue.ids()


def test_moves_into_one_gap_renumber_a_few_rows_not_the_queue(tmp_path):
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, 1)] * 1000))
    ids = m.queue.ids()
    written = [changes(store, m, m.move(ids[-1 - i], Where(after=ids[0]))) for i in range(200)]
    assert stored_order(store) == m.queue.ids()
    assert max(written) > 3                     # the gap ran out: rows around were renumbered
    assert max(written) < 100 and sum(written) < 200 * 10


def test_an_order_kept_as_a_list_by_an_older_version_is_moved_into_the_table(tmp_path):
    import json
    import sqlite3
    path = tmp_path / "s.sqlite"
    old = sqlite3.connect(path)                 # the schema and rows an older version wrote
    old.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE jobs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, spec TEXT NOT NULL,
                           details TEXT NOT NULL, created REAL NOT NULL);
        CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL,
            name TEXT NOT NULL, kind TEXT NOT NULL, job TEXT NOT NULL, status TEXT NOT NULL,
            started REAL NOT NULL, ended REAL, error TEXT NOT NULL DEFAULT '',
            traceback TEXT NOT NULL DEFAULT '', output TEXT NOT NULL DEFAULT '');""")
    details = json.dumps({"estimate": None, "estimate_source": "unknown", "pausable": True,
                          "extra": {}, "revision": 0})
    for job_id in (1, 2, 3, 4):
        spec = {"command": "wait", "args": {"seconds": job_id}, "name": f"w{job_id}"}
        if job_id == 2:
            spec["name"] = "\ud800"                     # accepted then, unsendable now
        old.execute("INSERT INTO jobs VALUES (?, 'command', ?, ?, 0)",
                    (job_id, json.dumps(spec), details))
    old.execute("INSERT INTO runs (job_id, name, kind, job, status, started) "
                "VALUES (4, 'w4', 'command', '{}', 'running', 1)")    # it died running job 4
    old.executemany("INSERT INTO meta VALUES (?, ?)",
                    [("next_id", "5"), ("queue", json.dumps([3, 1, 2]))])
    old.commit()
    old.close()

    store, m = open_manager(path)
    assert m.queue.ids() == [4, 3, 1]           # 4 back at the head; 2 set aside
    assert "job 2 has text that is not valid Unicode" in store.set_aside[0]
    assert store.db.execute("SELECT value FROM meta WHERE key='queue'").fetchone() is None
    act(store, m, m.move(1, Where(pos=0)))
    store.close()
    store, m = open_manager(path)
    assert m.queue.ids() == [1, 4, 3] and not store.set_aside   # noted once, then out
    assert store.job_record(2) is not None and m.next_id == 5


def test_a_job_running_when_the_server_died_goes_back_before_the_rest(tmp_path):
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, n) for n in range(1, 6)]))
    act(store, m, m.move(4, Where(pos=0)))
    act(store, m, m.start(now=1.0))             # job 4 runs
    act(store, m, m.move(5, Where(pos=0)))
    store.close()
    store, m2 = open_manager(tmp_path / "s.sqlite")
    assert m2.queue.ids() == [4, 5, 1, 2, 3]


def test_prune_keeps_the_records_of_queued_jobs(tmp_path):
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, n) for n in range(1, 5)]))
    for _ in range(2):
        act(store, m, m.skip())                 # two runs, of jobs 1 and 2
    store.close()
    store = Store(tmp_path / "s.sqlite")
    store.prune(1)
    assert store.job_record(1) is None and store.job_record(2) is not None
    _, queue, _ = store.load()
    assert [j.id for j in queue] == [3, 4]


def test_a_stored_job_that_cannot_be_read_back_is_set_aside_and_the_rest_load(tmp_path):
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, n) for n in (1, 2, 3)]))
    store.db.execute("""UPDATE jobs SET spec='{"command": "wait", "args": {"seconds": NaN}}'
                        WHERE id=2""")                   # as an older version wrote it
    store.close()
    store, m = open_manager(tmp_path / "s.sqlite")
    assert m.queue.ids() == [1, 3]
    assert store.set_aside == ["job 2 cannot be read back (ValueError: NaN is not JSON): "
                               "taken out of the queue at start"]


def test_a_queue_read_in_several_chunks_comes_back_whole_and_in_order(tmp_path, monkeypatch):
    from scriptserver.db import loading
    from scriptserver.jobs.spec import JobSpec
    monkeypatch.setattr(loading, "CHUNK", 3)
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, n) for n in range(1, 11)], batch="scan"))
    act(store, m, m.move(10, Where(pos=0)))
    bad = NewJob(JobSpec("script", {"script": "x = 1", "name": "\ud800"}))
    act(store, m, m.add([bad]))                          # job 11, in the last chunk
    store.db.execute("DELETE FROM meta WHERE key='values_checked'")   # as an older version
    expected = m.queue.ids()
    store.close()
    store, m2 = open_manager(tmp_path / "s.sqlite")      # read job by job: 11 set aside
    assert m2.queue.ids() == expected[:-1] and len(store.set_aside) == 1
    store.close()
    store, m3 = open_manager(tmp_path / "s.sqlite")      # checked: read in chunks
    assert m3.queue.ids() == expected[:-1] and not store.set_aside
    assert m3.queue.get(10).extra["batch"] == {"id": 1, "name": "scan", "index": 10,
                                                "size": 10}
    assert m3.queue.get(1).batch is m3.queue.get(10).batch     # one tag for the batch


def test_a_stored_order_out_of_step_is_written_again_whole(tmp_path, caplog):
    store, m = open_manager(tmp_path / "s.sqlite")
    act(store, m, m.add([job(m, n) for n in range(1, 6)]))
    store.db.execute("DELETE FROM queue WHERE id=2")     # lost, somehow
    act(store, m, m.move(4, Where(after=2)))             # placed next to the lost one
    assert stored_order(store) == m.queue.ids() == [1, 2, 4, 3, 5]
    assert "out of step" in caplog.text
