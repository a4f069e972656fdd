"""Fixtures for the engine tests (helpers live in engine_harness.py)."""
from __future__ import annotations

import pytest
from engine_harness import KEY, FakeKernel


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    directory = tmp_path / "state"
    monkeypatch.setenv("LVSOCF_STATE_DIR", str(directory))
    return directory


@pytest.fixture
def fake():
    k = FakeKernel()
    k.add_service(KEY)
    return k
