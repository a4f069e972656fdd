#!/bin/sh
# lvsocf example 2: direct-routing (DR) service with the connection-sync daemon.
# Run on one cluster node:   sh dr-sync.pcs.sh
# It edits a copy of the CIB with `pcs -f` and pushes it once at the end.
# Clients use 192.0.2.20:443 (eth0); the real servers 192.0.2.21-22 are on the same LAN
# and carry 192.0.2.20 on lo (see README.md). Connection state is synced over eth1, so
# established connections survive a failover.
# Hot standby: every director keeps the service and both real servers loaded and
# health-checked (clones); a failover only promotes the sync daemon and moves the VIP.
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

# The sync daemon on every director: backup everywhere, master on the promoted one. Its
# defaults resend a connection at least every sync_refresh_period (10 s) of traffic, so
# idle long-lived connections are on the backup too, and keep the promotion score of a
# director that (re)joins low until its backup daemon has seen every live connection.
# backup_only=false: these directors are not real servers, so a backup may balance
# (nothing reaches it while it lacks the VIP) and the VIP need not wait for the
# promotion: at failover the two run side by side. Directors that are also real
# servers keep backup_only=true and the VIP after the promotion (3-dr-directors).
pcs -f "$cib" resource create sync ocf:lvsocf:IPVSSync \
	interface=eth1 syncid=20 backup_only=false \
	op start timeout=30s stop timeout=30s \
	promote timeout=30s demote timeout=30s \
	monitor interval=10s role=Promoted timeout=30s \
	monitor interval=11s role=Unpromoted timeout=30s --no-default-ops
pcs -f "$cib" resource promotable sync ipvs-sync meta promoted-max=1

# The table, on every director (clones). migration-threshold=1: when the service fails on
# the active director (its IPVS entry vanished), the VIP moves to the backup, whose table
# is warm, instead of waiting for the table to be rebuilt; failure-timeout: 10 s later the
# failed director loads the table again, as a backup.
pcs -f "$cib" resource create www ocf:lvsocf:IPVSService \
	protocol=tcp vip=192.0.2.20 port=443 scheduler=wlc \
	op start timeout=30s stop timeout=30s monitor interval=10s timeout=30s \
	meta migration-threshold=1 failure-timeout=10s --no-default-ops
pcs -f "$cib" resource clone www www-clone meta interleave=true
# drain_timeout=0: a real server stops only when an operator stops it or its director
# leaves the cluster; take one out of rotation with weight=0 instead (see ../README.md).
pcs -f "$cib" resource create www-rs1 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.20 port=443 rip=192.0.2.21 method=gate \
	check_type=https request=/health virtualhost=www.example.com \
	status_codes=200-299 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone www-rs1 www-rs1-clone
pcs -f "$cib" resource create www-rs2 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.20 port=443 rip=192.0.2.22 method=gate \
	check_type=https request=/health virtualhost=www.example.com \
	status_codes=200-299 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone www-rs2 www-rs2-clone
# Each real server only where its service runs, started after it whenever both start
# (Optional: no restart with the service, which never restarts in place here; no
# interleave: per real server, a Mandatory interleaved order makes the scheduler's time
# grow with the square of the table, 63 s per transition at 1,000 real servers).
pcs -f "$cib" constraint colocation add www-rs1-clone with www-clone score=INFINITY \
	id=www-rs1-with-www
pcs -f "$cib" constraint order start www-clone then start www-rs1-clone kind=Optional \
	id=www-before-www-rs1
pcs -f "$cib" constraint colocation add www-rs2-clone with www-clone score=INFINITY \
	id=www-rs2-with-www
pcs -f "$cib" constraint order start www-clone then start www-rs2-clone kind=Optional \
	id=www-before-www-rs2

pcs -f "$cib" resource create www-vip ocf:heartbeat:IPaddr2 \
	ip=192.0.2.20 cidr_netmask=24 nic=eth0 \
	op monitor interval=10s timeout=20s --no-default-ops

# The active director is where the VIP is: the VIP never without its service, and the
# master sync daemon where the VIP is (promoted alongside the VIP's start). Move the VIP
# to switch over; the Promoted role follows it.
pcs -f "$cib" constraint colocation add www-vip with www-clone score=INFINITY \
	id=www-vip-with-www
pcs -f "$cib" constraint order start www-clone then start www-vip kind=Mandatory \
	id=www-before-www-vip
pcs -f "$cib" constraint colocation add Promoted ipvs-sync with www-vip score=INFINITY \
	id=sync-promoted-with-www-vip
# The VIP prefers the director whose backup daemon is warmest, by the promotion score
# IPVSSync sets (1 warming up, 100 warm, 101 promoted), so a failover among three or more
# directors never picks one that has not yet seen every connection.
# (pcs 0.12 takes the rule as one string, 0.11 only word by word)
case $(pcs --version) in 0.11.*) set -- defined master-sync ;; *) set -- "defined master-sync" ;; esac
pcs -f "$cib" constraint location www-vip rule constraint-id=www-vip-on-warm-sync \
	score-attribute=master-sync "$@"

pcs cluster cib-push "$cib" --config
