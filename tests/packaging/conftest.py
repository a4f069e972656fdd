"""Fixtures of the packaging tests: the .deb and the .rpm, each built once
per session from this checkout into a temporary directory with the Makefile's targets.

These tests run on the host, as root (CI), in `make test`'s host pass. They never skip: a
missing tool fails with the apt package to install (scripts/setup installs them all).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging_helpers import make, pkg, require


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "packaging: builds the .deb/.rpm and installs the .deb into a Debian 12 "
                   "chroot (host, root, network: the Debian mirror)")


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dist")


@pytest.fixture(scope="session")
def deb(dist: Path) -> Path:
    """`make deb`: the .deb of this checkout."""
    require("make", "dpkg-deb", "help2man")
    done = make("deb", f"DIST={dist}")
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.name == f"lvsocf_{pkg.deb_version(pkg.version())}_all.deb", done.stdout
    return path


@pytest.fixture(scope="session")
def rpms(dist: Path) -> dict[str, Path]:
    """`make rpm`: {"noarch": the binary rpm, "src": the source rpm}."""
    require("make", "rpmbuild", "rpm", "help2man")
    done = make("rpm", f"DIST={dist}")
    built = [Path(line) for line in done.stdout.split() if line.endswith(".rpm")]
    found = {p.name.rsplit(".", 2)[-2]: p for p in built}
    assert set(found) == {"noarch", "src"}, done.stdout
    return found
