"""ocf:lvsocf:IPVSSync — the kernel's IPVS connection-sync daemons as a promotable clone.

start runs the backup daemon (unpromoted), promote adds the master daemon, demote stops the
master, stop stops both. The backup daemon keeps running on the promoted node, so a director
that is demoted (or fails back) still holds what the new master sends. Daemons are read and
changed through netlink (IPVS_CMD_GET_DAEMON/NEW_DAEMON/DEL_DAEMON), never through `ps`, and
every start/stop is keyed on what GET_DAEMON reports (EEXIST/ENOENT never fail an action).

The sync sysctls are set so that idle long-lived connections stay on the backup
(sync_threshold "0 0" + sync_refresh_period: every packet that arrives at least
sync_refresh_period seconds after the last sync of its connection resends it).
backup_only is off where this node balances (promoted) and as configured elsewhere.

Promotion scores (crm_attribute --promotion, best effort): SCORE_PROMOTED on the promoted
node, SCORE_WARM on a backup whose daemon has run for the warm-up period, SCORE_WARMING
before that, so a rebooted director does not take the role back with an empty table.
A state record (kind "sync") remembers when the backup daemon started and whether this node
was promoted, so monitor can tell a dead master (9) from an unpromoted node (0).

One module per concern:

    parameters.py  the declared parameters and actions, typed access, sync_threshold parsing
    validation.py  depth 0 (the configuration) and depth 10 (this host), warnings
    policy.py      sysctls per role, warm-up, promotion scores, the monitor answer (pure)
    record.py      the node's state record
    daemons.py     the kernel's sync daemons and settings (netlink, sysctls)
    actions.py     one handler per OCF action

The interface checks of depth 10 are lvsocf.net.interfaces.
"""
from __future__ import annotations

from lvsocf.agents.base import Agent, run
from lvsocf.agents.sync.actions import HANDLERS
from lvsocf.agents.sync.parameters import ACTIONS, PARAMETERS
from lvsocf.agents.sync.policy import sysctls  # lab.keepalived_peer: IPVSSync's sysctls
from lvsocf.agents.sync.validation import validate

AGENT = Agent(
    "IPVSSync", "IPVS connection synchronization (promotable clone)",
    """Runs the kernel's IPVS connection-sync daemons so that a backup director knows every
    connection and takes them over at failover. Configure it as a promotable clone with
    promoted-max=1. Hot standby (the shipped examples): the IPVS services and real servers
    are clones on every director; colocate the VIP with its service clone and the Promoted
    role with the VIP (Pacemaker 3.0 does not apply a Promoted role's colocation with a
    clone), so a failover moves only these two; where backups must not balance, order the
    VIP after the promotion. Unpromoted: backup daemon (backup_only as configured).
    Promoted: master daemon, the backup daemon kept running, backup_only 0. It also sets the
    sync sysctls (defaults keep idle long-lived connections alive on the backup) and
    optionally the IPVS timeouts. Promotion scores: 1 while a node's backup daemon warms up,
    100 once it has run for the warm-up period, 101 on the promoted node. Give them to the
    VIP as its location score, so it goes to the warmest director and a returning one does
    not take over with an empty table: location www-vip-on-warm-sync www-vip rule
    master-sync: defined master-sync. To fail back to a preferred node once it is warm:
    location www-vip-failback-node1 www-vip rule inf: #uname eq node1 and master-sync
    number:gte 100 (a plain location score would move the VIP while the node is still
    warming up, or never, against stickiness).""",
    parameters=PARAMETERS, actions=ACTIONS, handlers=HANDLERS, validate=validate,
    promotable=True,
)

__all__ = ["AGENT", "PARAMETERS", "main", "sysctls"]


def main() -> None:
    run(AGENT)
