"""Starting a real ``treenets serve`` process for the tests (127.0.0.1, a free port), and skipping
when the serve extra or the stanza models are missing."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = Path(__file__).with_name("_serve_launcher.py")
EXTRA = 'the serve extra: pip install "treenets[serve]"'


def require_serve_extra():
    for module in ("fastapi", "uvicorn", "httpx"):
        pytest.importorskip(module, reason=f"{module} is not installed; needs {EXTRA}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A ``treenets serve`` process; ``.url``, ``.log()`` (its output so far), ``.proc``."""

    def __init__(self, args, log_path: Path, cache_dir: Path, startup_timeout: float = 240.0) -> None:
        import httpx

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                   TREENETS_CACHE_DIR=str(cache_dir), OMP_NUM_THREADS="1")
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, str(LAUNCHER), "--port", str(self.port), *args],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO))
        self.not_ready_answer = None  # a /v1/predict answer seen while the models were loading
        deadline = time.time() + startup_timeout
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log()}")
                if time.time() > deadline:
                    self.stop()
                    raise RuntimeError(f"the server was not ready after {startup_timeout} s:\n{self.log()}")
                try:
                    ready = client.get("/readyz")
                except httpx.TransportError:
                    time.sleep(0.2)
                    continue
                if ready.status_code == 200:
                    break
                if self.not_ready_answer is None:
                    self.not_ready_answer = client.post("/v1/predict", json={"texts": ["Fine."]})
                time.sleep(0.3)

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode
