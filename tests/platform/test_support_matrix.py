"""The platform under test is the one the README's tested support matrix names: the Debian
release of this root (the host, or the Debian 13 root of `make test-debian13`) and the
versions of its kernel package, Pacemaker, corosync, pcs, crmsh, resource-agents and python3
are a row of that table. So the table cannot drift from what the tests ran on, and a phase
that ran on the wrong root fails here."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
# README column -> the Debian package whose version it states (major.minor)
COLUMNS = {"kernel": "linux-image-amd64", "Pacemaker": "pacemaker", "corosync": "corosync",
           "pcs": "pcs", "crmsh": "crmsh", "resource-agents": "resource-agents",
           "Python": "python3"}


def matrix() -> dict[str, dict[str, str]]:
    """The first table of README's "Tested support matrix": {distribution: {column: cell}}."""
    section = README.read_text().split("\n## Tested support matrix\n", 1)[1].lstrip()
    table = section.split("\n\n", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()]
    header, body = rows[0], rows[2:]
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


def debian_release() -> str:
    found = re.search(r'^VERSION_ID="?(\d+)', Path("/etc/os-release").read_text(), re.M)
    assert found, "not a Debian root"
    return found.group(1)


def package_version(package: str) -> str:
    """major.minor of an installed package, epoch and Debian revision dropped."""
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], check=True,
                             capture_output=True, text=True).stdout
    found = re.match(r"(?:\d+:)?(\d+\.\d+)", version)
    assert found, f"{package} {version}"
    return found.group(1)


def test_this_platform_is_a_row_of_the_matrix():
    rows = matrix()
    name = f"Debian {debian_release()}"
    assert name in rows, f"README's support matrix has no row for {name}: {sorted(rows)}"
    row = rows[name]
    found = {column: package_version(package) for column, package in COLUMNS.items()}
    stated = {column: row[column].split()[0] for column in COLUMNS}
    assert found == stated, f"{name}: installed {found}, README says {stated}"
    if os.environ.get("LVSOCF_IN_VM") == "1":
        # the lab VM booted this root's own kernel (a chroot runs on the host's)
        release = os.uname().release
        assert release.startswith(row["kernel"].split()[0] + "."), (name, release)
        assert Path(f"/lib/modules/{release}/kernel/net/netfilter/ipvs").is_dir()
