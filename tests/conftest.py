import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Input generation is timed by the wall clock: on a loaded machine (a lab VM beside the host
# tests, two cores) Hypothesis's too_slow health check fails tests that found nothing wrong.
settings.register_profile("lvsocf", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("lvsocf")

IN_VM = os.environ.get("LVSOCF_IN_VM") == "1"
MARKED_DIRS = {"kernel": "kernel", "installed": "installed"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        for part in Path(str(item.fspath)).parts:
            if part in MARKED_DIRS:
                item.add_marker(MARKED_DIRS[part])
        # Kernel and installed-product tests never skip: outside the lab VM they fail, saying
        # how to run them.
        if not IN_VM and any(item.get_closest_marker(m) for m in MARKED_DIRS.values()):
            item.add_marker(pytest.mark.usefixtures("_require_vm"))


# `make test` (and so CI) sets LVSOCF_NO_SKIPS=1: it installs every tool the tests use, so a
# skip there means a test that did not run. The only skips allowed are those of tests marked
# `kernel_dependent` (they test what one kind of kernel does and skip on the other kind),
# with a reason that starts with SITUATIONAL.
NO_SKIPS = os.environ.get("LVSOCF_NO_SKIPS") == "1"
SITUATIONAL = "not on this kernel:"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (NO_SKIPS and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    allowed = item.get_closest_marker("kernel_dependent") is not None
    if not (allowed and reason.startswith(f"Skipped: {SITUATIONAL}")):
        report.outcome = "failed"
        report.longrepr = f"skipped, but `make test` must run it: {reason}"


@pytest.fixture
def _require_vm():
    pytest.fail("this test needs the real IPVS kernel: run it through `make test` "
                "(or python -m lab.vm -- python -m pytest -m kernel)")


@pytest.fixture(scope="session")
def ocf_agents():
    """The agents of this checkout installed where pacemaker, pcs, crmsh and ocf-tester look
    (/usr/lib/ocf/resource.d/lvsocf/), running this checkout's Python."""
    from lab.install import install_agents
    return install_agents()
