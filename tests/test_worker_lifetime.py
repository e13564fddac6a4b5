"""Issue 19 item 3: parser worker processes end when their parent dies, however it dies (``kill -9`` too)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

PARENT = """
import sys, time
sys.path.insert(0, {tests!r})
from _fakes import ChainParser
from treenets.parsers import ParserPool

if __name__ == "__main__":
    pool = ParserPool(ChainParser(), 2)
    assert pool.parse(["a b", "c d", "e f", "g h"], batch_size=1)  # the workers are up, now idle
    print(" ".join(str(pid) for pid in pool._executor._processes), flush=True)
    time.sleep(600)
"""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_workers_end_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT.format(tests=str(TESTS)))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert workers and all(alive(pid) for pid in workers)
    finally:
        os.kill(parent.pid, signal.SIGKILL)  # no cleanup runs in the parent
        parent.wait()
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if alive(pid)]
    for pid in left:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left, f"worker processes {left} outlived their parent"
