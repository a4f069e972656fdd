"""The node-local check engine: one asyncio process per node (per state directory) runs the
health checks of every IPVSRealServer and owns their weights.

    files.py     state-dir process files; the flock that keeps one engine per directory
    client.py    agents' side: running?, start (detached, serialized), SIGHUP, wait for acks
    daemon.py    the process: detach, lock, pid file, logging, rlimits, signals
    engine.py    the event loop: registrations -> monitors -> weights -> health records
    registrations.py  records -> monitors: added, changed, removed, drained
    publish.py   health records, the status record
    registry.py  `realservers` records parsed, loaded incrementally, diffed
    monitor.py   one registration's checker, rise/fall state and check loop
    weights.py   the weight decisions and kernel plans (pure)
    health.py    `health` records and how a restarted engine resumes from them
    attrd.py     Pacemaker transient node attributes, best effort

Protocol with the agents (files only, see client.py; records in lvsocf.records): start writes
a `realservers` record and waits until the `health` record echoes its digest; stop writes it
again with a drain deadline and waits until the engine has removed the entry and the record
(the engine is the only writer of real-server entries, the fallback server included);
monitor reads /proc/net/ip_vs and the health record, and restarts a dead engine. The engine
never changes the kernel when it stops or dies; a restarted engine resumes every registration
from its health record and keeps current weights until its own verdicts.
"""
