"""The local stack's emulator runs in a process of its own (devtools/emulator.py): it never outlives the stack."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devtools.local_process import LocalStackProcess
from devtools.ports import LOOPBACK, port_is_free


def _released(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not port_is_free(LOOPBACK, port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("ending", ["stopped", "killed"])
def test_the_emulator_goes_with_the_stack(tmp_path: Path, ending: str) -> None:
    # GIVEN a running stack, its emulator serving on its own port
    process = LocalStackProcess(tmp_path)
    process.wait_for_outputs()
    assert not port_is_free(LOOPBACK, process.emulator_port)

    # WHEN the stack is stopped as Ctrl-C would, or killed without a chance to clean up
    if ending == "stopped":
        assert process.stop() == 0, process.log()
    else:
        process.process.kill()
        process.process.wait()

    # THEN nothing is left listening on the emulator's port (a killed stack's emulator notices within a second)
    assert _released(process.emulator_port, seconds=5), process.log()
