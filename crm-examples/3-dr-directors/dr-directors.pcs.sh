#!/bin/sh
# lvsocf example 3: two directors that are also the DR real servers of their service.
# Run on one cluster node:   sh dr-directors.pcs.sh
# It edits a copy of the CIB with `pcs -f` and pushes it once at the end.
# node1 (192.0.2.31) and node2 (192.0.2.32) both run the web server and both carry the
# VIP 192.0.2.30/32 on lo from boot (see README.md). The active director moves the VIP
# from lo to eth0 (IPaddr2 lvs_support) and balances over both nodes, itself included;
# the other node only serves. Hot standby: both nodes keep the service and both real
# servers loaded and health-checked (clones); backup_only stops the backup director from
# ever balancing with that table or with synced connections, which would bounce packets
# back to the active one (the DR loop).
set -eu
cib=$(mktemp "${TMPDIR:-/tmp}/lvsocf-cib.XXXXXX")
trap 'rm -f "$cib"' EXIT
pcs cluster cib "$cib"

# ================================ FENCING (required) ================================
# The cluster starts no resource while stonith is enabled and no fence device exists.
# If the cluster has no fence devices yet: put your site's BMC addresses, credentials
# and node names below, and remove the "#" in front of the command lines.
#pcs -f "$cib" stonith create fence-node1 fence_ipmilan \
#	ip=192.0.2.201 username=admin password=CHANGE-ME lanplus=1 pcmk_host_list=node1 \
#	op monitor interval=60s
#pcs -f "$cib" stonith create fence-node2 fence_ipmilan \
#	ip=192.0.2.202 username=admin password=CHANGE-ME lanplus=1 pcmk_host_list=node2 \
#	op monitor interval=60s
pcs -f "$cib" property set stonith-enabled=true
# ================================== END FENCING =====================================

# Stay where you are: a recovered director does not take the VIP back.
pcs -f "$cib" resource defaults update resource-stickiness=100

# The sync daemon on both directors; backup_only: no IPVS forwarding on the backup.
pcs -f "$cib" resource create sync ocf:lvsocf:IPVSSync \
	interface=eth1 syncid=30 backup_only=true \
	op start timeout=30s stop timeout=30s \
	promote timeout=30s demote timeout=30s \
	monitor interval=10s role=Promoted timeout=30s \
	monitor interval=11s role=Unpromoted timeout=30s --no-default-ops
pcs -f "$cib" resource promotable sync ipvs-sync meta promoted-max=1

# The table, on both directors (clones). migration-threshold=1: when the service fails on
# the active director, the VIP moves to the backup, whose table is warm; failure-timeout:
# 60 s later the failed director loads the table again, as a backup.
pcs -f "$cib" resource create app ocf:lvsocf:IPVSService \
	protocol=tcp vip=192.0.2.30 port=80 scheduler=wlc \
	op start timeout=30s stop timeout=30s monitor interval=10s timeout=30s \
	meta migration-threshold=1 failure-timeout=10s --no-default-ops
pcs -f "$cib" resource clone app app-clone meta interleave=true
# The table only on a director whose sync daemon runs, after it (interleave: on each
# director, after that director's daemon): backup_only is in force before a backup holds
# the service, and the service goes first when the daemon stops.
pcs -f "$cib" constraint order start ipvs-sync then start app-clone kind=Mandatory \
	id=sync-before-app
# drain_timeout=0: a real server stops only when an operator stops it or its director
# leaves the cluster; take one out of rotation with weight=0 instead (see ../README.md).
# node1's own web server
pcs -f "$cib" resource create app-rs1 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.30 port=80 rip=192.0.2.31 method=gate \
	check_type=http request=/health status_codes=200-299 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone app-rs1 app-rs1-clone meta interleave=true
# node2's own web server
pcs -f "$cib" resource create app-rs2 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.30 port=80 rip=192.0.2.32 method=gate \
	check_type=http request=/health status_codes=200-299 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone app-rs2 app-rs2-clone meta interleave=true
# Each real server where its service runs, after it (interleave: on each director, after
# that director's service). Mandatory here, unlike the other examples: the service
# restarts with its director's sync daemon, and the real servers must follow it.
pcs -f "$cib" constraint colocation add app-rs1-clone with app-clone score=INFINITY \
	id=app-rs1-with-app
pcs -f "$cib" constraint order start app-clone then start app-rs1-clone kind=Mandatory \
	id=app-before-app-rs1
pcs -f "$cib" constraint colocation add app-rs2-clone with app-clone score=INFINITY \
	id=app-rs2-with-app
pcs -f "$cib" constraint order start app-clone then start app-rs2-clone kind=Mandatory \
	id=app-before-app-rs2

# lvs_support: on start take the VIP off lo, on stop give it back to lo
pcs -f "$cib" resource create app-vip ocf:heartbeat:IPaddr2 \
	ip=192.0.2.30 cidr_netmask=24 nic=eth0 lvs_support=true \
	op monitor interval=10s timeout=20s --no-default-ops

# The active director is where the VIP is: the VIP never without its service, and the
# master sync daemon where the VIP is, promoted before the VIP starts. Move the VIP to
# switch over; the Promoted role follows it.
pcs -f "$cib" constraint colocation add app-vip with app-clone score=INFINITY \
	id=app-vip-with-app
pcs -f "$cib" constraint order start app-clone then start app-vip kind=Mandatory \
	id=app-before-app-vip
pcs -f "$cib" constraint colocation add Promoted ipvs-sync with app-vip score=INFINITY \
	id=sync-promoted-with-app-vip
# The VIP prefers the director whose backup daemon is warmest, by the promotion score
# IPVSSync sets (1 warming up, 100 warm, 101 promoted), so a failover among three or more
# directors never picks one that has not yet seen every connection.
# (pcs 0.12 takes the rule as one string, 0.11 only word by word)
case $(pcs --version) in 0.11.*) set -- defined master-sync ;; *) set -- "defined master-sync" ;; esac
pcs -f "$cib" constraint location app-vip rule constraint-id=app-vip-on-warm-sync \
	score-attribute=master-sync "$@"
pcs -f "$cib" constraint order promote ipvs-sync then start app-vip kind=Mandatory \
	id=sync-before-app-vip

pcs cluster cib-push "$cib" --config
