"""Fixtures for the agent-base tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from agent_harness import world_readable_dir, write_wrappers


@pytest.fixture(scope="session")
def agents() -> dict[str, Path]:
    """Executables SampleDummy and SamplePromotable, run by this test's Python."""
    directory = world_readable_dir("lvsocf-agents-")
    yield write_wrappers(directory)
    shutil.rmtree(directory)


@pytest.fixture
def state_dir() -> Path:
    directory = world_readable_dir("lvsocf-state-")
    yield directory
    shutil.rmtree(directory)
