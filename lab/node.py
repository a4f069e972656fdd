"""The anchor of one cluster node inside the lab: run in a new mount+UTS namespace (and the
node's network namespace), it gives the node a private /run, /dev/shm, hostname and its own
Pacemaker/Corosync state and log folders, then sleeps. Everything of that node is started
with `nsenter -t ANCHOR -m -n -u` (see cluster.py), so its daemons share these views.

    unshare --mount --uts --propagation private -- python -m lab.node NAME ROOT
"""
from __future__ import annotations

import grp
import os
import pwd
import signal
import socket
import subprocess
import sys
from pathlib import Path

# (folder under ROOT, where it is mounted, owned by hacluster:haclient)
BINDS = (
    ("lib-pacemaker", "/var/lib/pacemaker", True),
    ("lib-corosync", "/var/lib/corosync", False),
    ("log-pacemaker", "/var/log/pacemaker", True),
    ("log-corosync", "/var/log/corosync", False),
    ("etc-corosync", "/etc/corosync", False),
    ("lib-pcsd", "/var/lib/pcsd", False),
)
PACEMAKER_SUBDIRS = ("cib", "pengine", "blackbox", "cores")


def _mount(*argv: str) -> None:
    subprocess.run(["mount", *argv], check=True)


def prepare(name: str, root: Path) -> None:
    uid = pwd.getpwnam("hacluster").pw_uid
    gid = grp.getgrnam("haclient").gr_gid
    for tmpfs, mode in (("/run", "755"), ("/dev/shm", "1777")):
        _mount("-t", "tmpfs", "-o", f"mode={mode}", "tmpfs", tmpfs)
    for sub in ("lock", "resource-agents", "crm"):
        os.makedirs(f"/run/{sub}", exist_ok=True)
    os.chown("/run/crm", uid, gid)
    for folder, target, pacemaker_owned in BINDS:
        src = root / folder
        src.mkdir(parents=True, exist_ok=True)
        if folder == "lib-pacemaker":
            for sub in PACEMAKER_SUBDIRS:
                (src / sub).mkdir(exist_ok=True)
                os.chown(src / sub, uid, gid)
                os.chmod(src / sub, 0o750)
        if pacemaker_owned:
            os.chown(src, uid, gid)
        os.makedirs(target, exist_ok=True)
        _mount("--bind", str(src), target)
    hosts = root / "hosts"
    if hosts.exists():
        _mount("--bind", str(hosts), "/etc/hosts")
    socket.sethostname(name)


def main() -> None:
    name, root = sys.argv[1], Path(sys.argv[2])
    prepare(name, root)
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
