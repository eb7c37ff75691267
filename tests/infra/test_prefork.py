"""Workers forked at start-up. Run in a separate interpreter: pytest has threads,
and forking a threaded process is what prefork refuses to do."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import os, sys, threading, time
    sys.path.insert(0, sys.argv[1])
    from addons.infra.prefork import fork_worker

    loaded = "imported before the fork"

    def work() -> int:
        print("worker", os.getppid(), os.environ["JOB"], loaded, flush=True)
        if os.environ["JOB"] == "sleep":
            time.sleep(60)
        if os.environ["JOB"] == "raise":
            raise SystemExit(4)
        return 3

    print("leader", os.getpid(), flush=True)
    done = fork_worker(work, {"JOB": "exit"})
    print("exit", done.wait(10), flush=True)
    print("raised", fork_worker(work, {"JOB": "raise"}).wait(10), flush=True)
    sleeper = fork_worker(work, {"JOB": "sleep"})
    time.sleep(0.3)
    print("alive", sleeper.poll() is None, flush=True)
    sleeper.terminate()
    print("terminated", sleeper.wait(10), sleeper.poll(), flush=True)
    threading.Thread(target=time.sleep, args=(1,)).start()
    print("with a thread running", fork_worker(work, {"JOB": "exit"}), flush=True)
""")


def test_forked_workers_run_report_their_exit_and_stop() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    leader = lines[0].split()[1]
    assert f"worker {leader} exit imported before the fork" in lines
    assert f"worker {leader} sleep imported before the fork" in lines
    assert "exit 3" in lines and "raised 4" in lines
    assert "alive True" in lines and "terminated -15 -15" in lines
    assert "with a thread running None" in lines  # not safe: the caller starts a new process instead

