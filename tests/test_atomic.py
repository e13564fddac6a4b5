"""treenets.utils.atomic: whole files or none, unique temporary names, leftovers of killed runs removed."""
import os
import subprocess
import sys
import threading

import pytest

from treenets.utils.atomic import atomic_dir, atomic_write, remove_stale, temp_name


def test_write_replaces_only_when_complete(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w", encoding="utf-8") as f:
            f.write("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    with atomic_write(target, "w", encoding="utf-8") as f:
        f.write("new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_temp_names_are_unique_across_threads(tmp_path):
    names = set()

    def work():
        for _ in range(50):
            names.add(temp_name(tmp_path / "x"))
            with atomic_write(tmp_path / "x") as f:
                f.write(b"same")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(names) == 200 and (tmp_path / "x").read_bytes() == b"same"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_dir_replaces_a_folder_as_a_whole(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as d:
        (d / "config.json").write_text("{}")
    with pytest.raises(ValueError):
        with atomic_dir(target) as d:
            (d / "config.json").write_text("{broken")
            raise ValueError("failed half way")
    assert (target / "config.json").read_text() == "{}"
    with atomic_dir(target) as d:
        (d / "weights").write_text("w")
    assert sorted(p.name for p in target.iterdir()) == ["weights"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_leftovers_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pid = int(dead.stdout)
    stale_file = tmp_path / f".best.pt.{pid}.0123456789ab.tmp"
    stale_part = tmp_path / f".glove.zip.{pid}.0123456789ab.part"
    stale_dir = tmp_path / f".model.{pid}.0123456789ab.tmp"
    live = tmp_path / f".other.{os.getpid()}.0123456789ab.tmp"
    for p in (stale_file, stale_part, live):
        p.write_text("x")
    stale_dir.mkdir()
    (stale_dir / "w").write_text("x")
    (tmp_path / "keep.tmp").write_text("not ours")
    assert sorted(remove_stale(tmp_path)) == sorted([stale_file, stale_part, stale_dir])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "keep.tmp"])
    with atomic_write(tmp_path / "best.pt") as f:  # writers clean up first
        f.write(b"")


# ------------------------------------------------- a kill at every step of a folder write
_STEPS = ("replace", "rename", "mkdir", "rmdir", "unlink", "fsync")


def _killed_at(step: int, write, exchange: bool) -> bool:
    """Run ``write()`` in a forked child that dies (``os._exit``, no cleanup) right after its
    ``step``-th file-system operation; whether it died before finishing."""
    import time

    import treenets.utils.atomic as atomic

    pid = os.fork()
    if pid == 0:  # the child: count the operations that change the file system, die after the step-th
        try:
            count = [0]

            def counted(fn):
                def wrapper(*args, **kwargs):
                    out = fn(*args, **kwargs)
                    count[0] += 1
                    if count[0] == step:
                        os._exit(137)
                    return out
                return wrapper

            for name in _STEPS:
                setattr(os, name, counted(getattr(os, name)))
            atomic._exchange = counted(atomic._exchange) if exchange else (lambda a, b: False)
            if step == 0:
                os._exit(137)
            write()
            os._exit(0)
        except BaseException:
            os._exit(1)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError(f"the write killed at step {step} hung")
        time.sleep(0.005)
    code = os.waitstatus_to_exitcode(status)
    assert code in (0, 137), f"the write failed at step {step} (exit {code})"
    return code == 137


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork to kill a write at each step")
@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_kill_at_every_step_leaves_a_complete_copy(tmp_path, exchange):
    from treenets.utils.atomic import recover_dir

    target = tmp_path / "last"

    def write(epoch):
        def run():
            with atomic_dir(target) as d:
                for name in ("state.pt", "state.json"):
                    (d / name).write_text(str(epoch))
        return run

    write(1)()
    epoch, step, kills = 1, 0, 0
    while True:
        killed = _killed_at(step, write(epoch + 1), exchange)
        recover_dir(target)  # what a reader does first
        found = {p.name: p.read_text() for p in target.iterdir()}
        assert sorted(found) == ["state.json", "state.pt"], (step, found)
        assert len(set(found.values())) == 1 and int(found["state.pt"]) in (epoch, epoch + 1), (step, found)
        epoch = int(found["state.pt"])
        write(epoch + 1)()  # the next write succeeds, and its copy is read back
        epoch += 1
        assert (target / "state.pt").read_text() == str(epoch)
        if not killed:
            break
        step, kills = step + 1, kills + 1
    assert kills >= 4  # mkdir, the swap (one exchange or two renames), the removal of the old copy
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "last"]
    remove_stale(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["last"], leftovers


def test_recover_dir_puts_the_previous_copy_back(tmp_path):
    from treenets.utils.atomic import backup_name, recover_dir

    target = tmp_path / "last"
    backup = backup_name(target)
    backup.mkdir()
    (backup / "state.json").write_text("1")
    assert recover_dir(target) and (target / "state.json").read_text() == "1" and not backup.exists()
    backup.mkdir()  # an old copy beside a complete one is removed
    assert not recover_dir(target) and not backup.exists() and (target / "state.json").read_text() == "1"
