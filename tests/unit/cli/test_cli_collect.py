"""collect.py: reading the kernel and the state records, failures turned into plain words."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lvsocf.cli import collect
from lvsocf.ipvs import errors


class FakeIpvs:
    """Stands in for lvsocf.ipvs.netlink.Ipvs; `fail` is raised on open."""

    fail: Exception | None = None

    def __init__(self, load_module=True):
        assert load_module is False, "status must never load ip_vs"
        if self.fail:
            raise self.fail

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


@pytest.fixture
def fake_ipvs(monkeypatch):
    from lvsocf.ipvs import netlink
    monkeypatch.setattr(netlink, "Ipvs", FakeIpvs)
    yield FakeIpvs
    FakeIpvs.fail = None


def test_not_loaded_is_not_an_error(fake_ipvs):
    fake_ipvs.fail = errors.NotAvailable("no ip_vs")
    view = collect.read_kernel()
    assert view.loaded is False and view.table == [] and view.timeouts is None


@pytest.mark.parametrize("exc, words", [
    (errors.PermissionDenied("x"), "permission denied: reading the IPVS table needs "
                                   "CAP_NET_ADMIN (run as root)"),
    (errors.IpvsError("list services: busy"), "cannot read the IPVS table: list services: busy"),
    (PermissionError(1, "Operation not permitted"), "cannot read the IPVS table: "),
])
def test_kernel_failures_become_collect_errors(fake_ipvs, exc, words):
    fake_ipvs.fail = exc
    with pytest.raises(collect.CollectError) as info:
        collect.read_kernel()
    assert str(info.value).startswith(words)


def test_sysctls_parsed_or_null(monkeypatch, tmp_path):
    from lvsocf.ipvs import sysctl
    (tmp_path / "sync_threshold").write_text("3\t50\n")
    (tmp_path / "sloppy_tcp").write_text("1\n")
    (tmp_path / "backup_only").write_text("weird\n")
    monkeypatch.setattr(sysctl, "ROOT", tmp_path)
    monkeypatch.setattr(sysctl.read, "__defaults__", (tmp_path,))
    values = collect.read_sysctls()
    assert values["sync_threshold"] == [3, 50] and values["sloppy_tcp"] == 1
    assert values["backup_only"] == "weird" and values["sync_retries"] is None


def test_state_dir_missing_is_fine(monkeypatch, tmp_path):
    monkeypatch.setenv("LVSOCF_STATE_DIR", str(tmp_path / "nothing-here"))
    view = collect.read_state()
    assert view.directory_error is None and view.unreadable == []
    assert view.records == {"services": {}, "realservers": {}, "health": {}, "sync": {},
                            "engine": {}}


def test_state_dir_unreadable_as_non_root(tmp_path):
    """Run the real command as nobody against a root-only state directory."""
    if os.geteuid() != 0:
        pytest.fail("this test switches to the nobody user: run the host tests as root")
    state = tmp_path / "state"
    (state / "health").mkdir(parents=True)
    (state / "health" / "x.json").write_text("{}")
    os.chmod(state, 0o700)
    os.chmod(tmp_path, 0o755)
    env = {"PATH": os.environ["PATH"], "LVSOCF_STATE_DIR": str(state)}
    probe = "import lvsocf.cli.main, sys; sys.exit(lvsocf.cli.main.main(['status', '--json']))"
    done = subprocess.run(["setpriv", "--reuid", "nobody", "--regid", "nogroup",
                           "--clear-groups", "--", sys.executable, "-c", probe],
                          capture_output=True, text=True, env=env, cwd="/",
                          timeout=60)
    if done.returncode == 1:       # a kernel with IPVS: the table itself is root-only
        assert "permission denied" in done.stderr and "run as root" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    import json
    doc = json.loads(done.stdout)
    assert [i["kind"] for i in doc["issues"]] == ["state_unreadable"]
    assert "permission denied (run as root)" in doc["issues"][0]["message"]


def test_status_needs_no_pyroute2():
    code = ("import sys\n"
            "for name in [m for m in sys.modules if m.startswith('pyroute2')]:\n"
            "    del sys.modules[name]\n"
            "sys.modules['pyroute2'] = None\n"
            "from lvsocf.cli.main import main\n"
            "sys.exit(main(['status']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert "Traceback" not in done.stderr and "pyroute2" not in done.stderr, done.stderr
    assert "netlink backend" not in done.stderr
