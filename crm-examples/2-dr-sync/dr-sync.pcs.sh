#!/bin/sh
# lvsocf example 2: direct-routing (DR) service with the connection-sync daemon.
# Run on one cluster node:   sh dr-sync.pcs.sh
# It edits a copy of the CIB with `pcs -f` and pushes it once at the end.
# Clients use 192.0.2.20:443 (eth0); the real servers 192.0.2.21-22 are on the same LAN
# and carry 192.0.2.20 on lo (see README.md). Connection state is synced over eth1, so
# established connections survive a failover.
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

# Stay where you are: a recovered director does not take the service back.
pcs -f "$cib" resource defaults update resource-stickiness=100

# The sync daemon on every director: backup everywhere, master on the promoted one. Its
# defaults resend a connection at least every sync_refresh_period (10 s) of traffic, so
# idle long-lived connections are on the backup too, and keep the promotion score of a
# director that (re)joins low until its backup daemon has seen every live connection.
pcs -f "$cib" resource create sync ocf:lvsocf:IPVSSync \
	interface=eth1 syncid=20 \
	op start timeout=30s stop timeout=30s \
	promote timeout=30s demote timeout=30s \
	monitor interval=10s role=Promoted timeout=30s \
	monitor interval=11s role=Unpromoted timeout=30s \
	promotable ipvs-sync promoted-max=1 --no-default-ops

# service and real servers first, the VIP last (stopped in reverse order)
pcs -f "$cib" resource create www ocf:lvsocf:IPVSService \
	protocol=tcp vip=192.0.2.20 port=443 scheduler=wlc \
	op start timeout=30s stop timeout=30s monitor interval=10s timeout=30s \
	--group lvs-www --no-default-ops
# drain_timeout=0: in the group a real server only stops after the VIP is gone
# (switchover, recovery), when waiting for its connections would only delay the takeover.
pcs -f "$cib" resource create www-rs1 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.20 port=443 rip=192.0.2.21 method=gate \
	check_type=https request=/health virtualhost=www.example.com \
	status_codes=200-299 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s \
	--group lvs-www --no-default-ops
pcs -f "$cib" resource create www-rs2 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.20 port=443 rip=192.0.2.22 method=gate \
	check_type=https request=/health virtualhost=www.example.com \
	status_codes=200-299 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s \
	--group lvs-www --no-default-ops
pcs -f "$cib" resource create www-vip ocf:heartbeat:IPaddr2 \
	ip=192.0.2.20 cidr_netmask=24 nic=eth0 \
	op monitor interval=10s timeout=20s \
	--group lvs-www --no-default-ops

# The service runs where the sync daemon is master, and only after it was promoted.
pcs -f "$cib" constraint colocation add lvs-www with Promoted ipvs-sync INFINITY \
	id=lvs-www-with-sync
pcs -f "$cib" constraint order promote ipvs-sync then start lvs-www kind=Mandatory \
	id=sync-before-lvs-www

pcs cluster cib-push "$cib" --config
