"""Integration fixtures: `make local`'s stack started on free ports, talked to over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.local_process import LocalStackProcess
from tests.integration.helpers import LocalStack


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    process = LocalStackProcess(tmp_path_factory.mktemp("local-stack"), record_calls=True)
    stack = LocalStack(process, process.wait_for_outputs())
    yield stack
    assert process.stop() == 0, process.log()
    assert not process.outputs_file.exists(), "a stopped stack removes its outputs file"
