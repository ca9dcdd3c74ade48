"""Many trials of test_hardening's signal test, to find a rare lost signal.

    python tests/signal_trials.py TRIALS [SEED]

Each trial forks a process that measures in workers over and over (as a run
does, under :func:`adbench.measure.interrupts.raising_interrupts`), sends it
SIGTERM or SIGINT (alternately) after a random 0-20 ms, and expects exit code
143 or 130 within 10 s. Prints every trial that got another code (or none:
``ignored``) or wrote anything to stderr ("Exception ignored in ..." is a
handler's exception that Python discarded), with that stderr, then the count.
Run it beside busy loops (``python -c "while 1: pass"``, one per core) to see
the rare cases.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_hardening import _measure_until_interrupted  # noqa: E402


def trial(signum: int, delay: float) -> tuple[int | str, str]:
    """(exit code or "ignored", stderr) of one interrupted child."""
    r, w = os.pipe()
    with tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.dup2(err.fileno(), 2)
            _measure_until_interrupted(w)
        os.close(w)
        assert os.read(r, 1) == b"r"
        os.close(r)
        time.sleep(delay)
        os.kill(pid, signum)
        deadline = time.monotonic() + 10
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        if done[0] == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            code: int | str = "ignored"
        else:
            code = os.waitstatus_to_exitcode(done[1])
        err.seek(0)
        return code, err.read().decode(errors="replace")


def main(trials: int, seed: int = 0) -> int:
    rng = random.Random(seed)
    bad = 0
    for i in range(trials):
        signum = (signal.SIGTERM, signal.SIGINT)[i % 2]
        code, err = trial(signum, rng.uniform(0.0, 0.02))
        if code != 128 + signum or err.strip():
            bad += code != 128 + signum
            print(f"trial {i}: {signal.Signals(signum).name} -> {code}\n{err}", flush=True)
    print(f"{trials} trials, {bad} with a wrong exit code")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0))
