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
