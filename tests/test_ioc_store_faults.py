"""A store that cannot save: the request changes nothing, the running job carries on, its
end is kept until the store saves again, and nothing acknowledged is ever lost.

Two ways to make the store fail under a real IOC: ``limits.store_bytes`` (a cap on the
store file, checked by SQLite itself: works anywhere), and a real full disk (a 2 MB
tmpfs, which needs root to mount: skipped elsewhere).
"""
import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
from caproto import ErrorResponseReceived

from ca import fresh_json, get, get_json, get_value, put_checked, read
from conftest import IOC, wait_for

WAIT_FOR_FILE = ("import os, time\nwhile not os.path.exists({path!r}):\n"
                 "    time.sleep(0.02)\n")


def picture(ioc):
    """What an operator sees of the queue and the server."""
    return (get_value(ioc.pv("QUEUE:IDS")).tolist() if get_value(ioc.pv("QUEUE:LEN")) else [],
            get(ioc.pv("STATE")), get(ioc.pv("QUEUE:STATE")), get_value(ioc.pv("JOB:ID")),
            [j["id"] for j in get_json(ioc.pv("QUEUE"))])


def blocking_job(tmp_path):
    release = tmp_path / f"release-{uuid.uuid4().hex}"
    return release, {"script": WAIT_FOR_FILE.format(path=str(release)), "name": "blocker"}


def fill_until_refused(ioc, limit=400):
    """Add bulky jobs until the store refuses one; the words of the refusal."""
    filler = {"script": "x = 1\n# " + "z" * 20_000, "name": "filler"}
    for _ in range(limit):
        try:
            put_checked(ioc.pv("QUEUE:ADD"), filler)
        except ErrorResponseReceived as refused:
            return refusal_words(refused)
    raise AssertionError("the store never filled up")


def refusal_words(err):
    return err.args[0].error_message.decode(errors="replace")


def test_a_full_store_refuses_in_words_changes_nothing_and_the_job_carries_on(make_ioc, tmp_path):
    ioc = make_ioc(extra_config="limits: {store_bytes: 400000}\n").start()
    release, job = blocking_job(tmp_path)
    put_checked(ioc.pv("QUEUE:ADD"), job)
    put_checked(ioc.pv("QUEUE:START"), 1)
    running = wait_for(lambda: get_value(ioc.pv("JOB:ID")), what="the job to run")

    words = fill_until_refused(ioc)
    assert "store could not save this change" in words and "nothing was changed" in words
    assert "QUEUE:ADD" in get(ioc.pv("ERROR")) and "Free space" in get(ioc.pv("ERROR"))
    assert get(ioc.pv("ERROR:TIME"))
    before = picture(ioc)
    added_before = get_value(ioc.pv("QUEUE:ADD:IDS")).tolist()
    for request in [("QUEUE:ADD", {"command": "wait", "args": {"seconds": 0}, "name": "x" * 190}),
                    ("QUEUE:MOVE", {"id": before[0][-1], "pos": 0}),
                    ("QUEUE:REMOVE", json.dumps(before[0][-1])),
                    ("QUEUE:CLEAR", 1)]:
        try:
            put_checked(ioc.pv(request[0]), request[1])
        except ErrorResponseReceived:
            assert picture(ioc) == before, f"a refused {request[0]} changed something"
            assert get_value(ioc.pv("QUEUE:ADD:IDS")).tolist() == added_before
        else:                      # a change that needs no new room may still be saved
            before = picture(ioc)
    assert get(ioc.pv("STATE")) == "RUNNING" and get_value(ioc.pv("JOB:ID")) == running
    assert get_json(ioc.pv("ERROR:LOG"))[0]["error"] == get(ioc.pv("ERROR"))
    ioc.process.poll()
    assert ioc.process.returncode is None, "the IOC died"
    release.touch()


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB filesystem (tmpfs), or skip where mounting one is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small filesystem needs root; the store_bytes test covers "
                    "the same refusals")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill_disk(path):
    """Write until the disk is full; the filler file."""
    filler = path / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
                os.fsync(out.fileno())
        except OSError:
            pass
    return filler


def test_a_full_disk_loses_nothing_and_the_server_recovers_by_itself(tmp_path, small_disk):
    ioc = IOC(tmp_path / "ioc")
    ioc.state = small_disk / "state"
    ioc.config.write_text(ioc.config.read_text().replace(
        str(tmp_path / "ioc" / "state"), str(ioc.state)))
    ioc.start()
    try:
        release, job = blocking_job(tmp_path)
        put_checked(ioc.pv("QUEUE:ADD"), [job, {"command": "wait", "args": {"seconds": 0}}])
        acknowledged = get_value(ioc.pv("QUEUE:ADD:IDS")).tolist()
        put_checked(ioc.pv("QUEUE:START"), 1)
        wait_for(lambda: get_value(ioc.pv("JOB:ID")) == acknowledged[0], what="the job to run")
        filler = fill_disk(small_disk)

        before = picture(ioc)
        for _ in range(50):        # the WAL may still have room for a few small changes
            try:
                put_checked(ioc.pv("QUEUE:ADD"), {"script": "x = 1\n#" + "y" * 8000})
            except ErrorResponseReceived as refused:
                words = refusal_words(refused)
                break
            acknowledged += get_value(ioc.pv("QUEUE:ADD:IDS")).tolist()
            before = picture(ioc)
        else:
            raise AssertionError("a full disk never refused an add")
        assert "could not save" in words and "Free space" in words
        assert picture(ioc) == before

        release.touch()            # the job ends while the disk is full: its end is kept
        wait_for(lambda: "kept until the store can save it" in get(ioc.pv("ERROR")),
                 what="P:ERROR to say the job's end waits")
        assert get_value(ioc.pv("JOB:ID")) == acknowledged[0]

        filler.unlink()            # space returns: the end is recorded by itself
        wait_for(lambda: get(ioc.pv("STATE")) == "IDLE" and any(
            run["id"] == acknowledged[0] and run["status"] == "finished"
            for run in get_json(ioc.pv("HISTORY"))), timeout=20, what="the job's end recorded")
        put_checked(ioc.pv("QUEUE:ADD"), {"command": "wait", "args": {"seconds": 0}})
        acknowledged += get_value(ioc.pv("QUEUE:ADD:IDS")).tolist()
    finally:
        ioc.stop()
    ioc.start()
    try:
        queue = fresh_json(ioc.pv("QUEUE"))          # a new connection after the restart
        known = {job["id"] for job in queue} | {
            run["id"] for run in fresh_json(ioc.pv("HISTORY"))}
        assert set(acknowledged) <= known, "an acknowledged job was lost"
    finally:
        ioc.stop()


def test_a_truncated_store_is_refused_at_start_and_ids_never_repeat(make_ioc):
    ioc = make_ioc().start()
    put_checked(ioc.pv("QUEUE:ADD"), [{"command": "wait", "args": {"seconds": 0}}] * 3)
    ids = get_value(ioc.pv("QUEUE:ADD:IDS")).tolist()
    ioc.stop()
    store = ioc.state / "scriptserver.sqlite"
    store.write_bytes(b"")                               # damaged: zero bytes
    done = subprocess.run([sys.executable, "-m", "scriptserver.ioc", "--config",
                           str(ioc.config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert "is empty (0 bytes)" in done.stderr and "Restore the file from a backup" in done.stderr
    assert store.stat().st_size == 0, "the server wrote over the damaged store"

    store.write_bytes(b"this is not a database" * 100)
    done = subprocess.run([sys.executable, "-m", "scriptserver.ioc", "--config",
                           str(ioc.config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "not an SQLite database" in done.stderr

    store.rename(store.with_name("damaged.sqlite"))      # the operator starts afresh
    for extra in ("-wal", "-shm"):
        store.with_name(store.name + extra).unlink(missing_ok=True)
    ioc.start()
    put_checked(ioc.pv("QUEUE:ADD"), {"command": "wait", "args": {"seconds": 0}})
    (new,) = read(ioc.pv("QUEUE:ADD:IDS")).tolist()        # a new connection after restart
    assert new > max(ids), "an id was given twice"
    assert json.loads((ioc.state / "scriptserver.sqlite.ids").read_text())["next_id_at_least"] > new
