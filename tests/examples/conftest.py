"""Fixtures for the crm-examples tests (the tooling is in examples_tools.py)."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from examples_tools import (
    BUILT_KEYS,
    LVSOCF_AGENTS,
    SCENARIOS,
    TOOLS,
    OfflineCib,
    agent_metadata,
)


@dataclass
class Built:
    """The CIBs every test reads: (scenario name, "crm"|"pcs", node count) -> CIB file."""
    cibs: dict[tuple[str, str, int], Path]
    pcs_logs: dict[str, list[list[str]]]
    stderr: dict[tuple[str, str, int], str]
    cib: OfflineCib


@pytest.fixture(scope="session")
def installed_agents(ocf_agents) -> dict[str, str]:
    """Meta-data of the lvsocf agents that answer it, by agent name."""
    if not all(shutil.which(t) for t in TOOLS):
        pytest.skip("pacemaker CLI tools, crmsh or pcs not installed")
    found = {}
    for name in LVSOCF_AGENTS:
        meta = agent_metadata(f"ocf:lvsocf:{name}")
        if meta is not None:
            found[name] = meta
    return found


@pytest.fixture(scope="session")
def offline_cib(tmp_path_factory, installed_agents) -> OfflineCib:
    missing = frozenset(f"ocf:lvsocf:{n}" for n in LVSOCF_AGENTS if n not in installed_agents)
    return OfflineCib(tmp_path_factory.mktemp("examples"), missing)


@pytest.fixture(scope="session")
def built(offline_cib: OfflineCib) -> Built:
    """Every example loaded once: crm into 2 nodes (and scenario 2 into 3), pcs into 2 nodes;
    in parallel, since pcs costs ~1 s per command."""
    cib = offline_cib
    by_name = {s.name: s for s in SCENARIOS}
    jobs = [(by_name[name], tool, nodes) for name, tool, nodes in BUILT_KEYS]
    logs: dict[str, list[list[str]]] = {}
    stderr: dict[tuple[str, str, int], str] = {}

    def build(job):
        s, tool, nodes = job
        path = cib.new(f"{s.name}-{tool}-{nodes}", nodes)
        if tool == "crm":
            stderr[(s.name, tool, nodes)] = cib.crm_load(path, s.crm)
        else:
            logs[s.name], stderr[(s.name, tool, nodes)] = cib.pcs_run(path, s.pcs)
        return job, path

    # pcs jobs first: they are the long ones
    jobs.sort(key=lambda job: job[1] != "pcs")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(build, jobs))
    return Built({(s.name, tool, nodes): path for (s, tool, nodes), path in results}, logs,
                 stderr, cib)
