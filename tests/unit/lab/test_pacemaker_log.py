"""The takeover milestones read from a survivor's pacemaker.log."""

from __future__ import annotations

import time
from pathlib import Path

from lab.cluster import Node
from lab.pacemaker_log import takeover_steps


def _node(tmp_path: Path, lines: list[str]) -> Node:
    log = tmp_path / "log-pacemaker" / "pacemaker.log"
    log.parent.mkdir()
    log.write_text("".join(f"{line}\n" for line in lines))
    return Node("node2", 2, "10.0.0.2", "ns", tmp_path)


def _stamp(at: float) -> str:
    return time.strftime("%b %d %H:%M:%S", time.localtime(at)) + f".{int(at % 1 * 1e6):06d}"


def _log(tmp_path: Path, crash: float, entries: list[tuple[float, str]]) -> Node:
    """node2 whose pacemaker.log says each message `seconds` after `crash`."""
    return _node(tmp_path, [f"{_stamp(crash + seconds)} node2 pacemaker-controld: {message}"
                            for seconds, message in entries])


def test_reads_on_to_the_vip_start_result_after_the_address_showed(tmp_path: Path) -> None:
    crash = float(int(time.time())) - 100
    node = _log(tmp_path, crash, [
        (6.9, "peer on the DC (node1) is dead"),
        (9.7, "Initiating start operation www-vip_start_0"),
        (9.8, "Initiating promote operation sync_promote_0"),
        (16.6, "Result of promote operation for sync on node2: ok"),
        (17.4, "Result of start operation for www-vip on node2: ok"),
        (18.0, "Result of monitor operation for www-vip on node2: ok"),
        (19.0, "Result of start operation for other on node2: ok"),
    ])
    # the address showed at 16.0 s; the agent's result came 1.4 s later
    steps = takeover_steps(node, 0, crash, crash + 16.0 + 60, "www-vip")
    assert [what.split(":")[0] for _, what in steps] == [
        "membership", "transition", "transition", "result", "result"]
    assert steps[-1] == (17.4, "result: Result of start operation for www-vip on")


def test_stops_at_the_deadline_without_a_vip_result(tmp_path: Path) -> None:
    crash = float(int(time.time())) - 100
    node = _log(tmp_path, crash, [
        (1.0, "Node node1 state is now lost"),
        (90.0, "Result of start operation for www-vip on node2: ok"),
    ])
    assert takeover_steps(node, 0, crash, crash + 30, "www-vip") == [
        (1.0, "membership: Node node1 state is now lost")]
