#!/bin/sh
# lvsocf example 3: two directors that are also the DR real servers of their service.
# Run on one cluster node:   sh dr-directors.pcs.sh
# It edits a copy of the CIB with `pcs -f` and pushes it once at the end.
# node1 (192.0.2.31) and node2 (192.0.2.32) both run the web server and both carry the
# VIP 192.0.2.30/32 on lo from boot (see README.md). The active director moves the VIP
# from lo to eth0 (IPaddr2 lvs_support) and balances over both nodes, itself included;
# the other node only serves. backup_only stops the backup director from ever acting on
# synced connections, which would bounce packets back to the active one (the DR loop).
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

# The sync daemon on both directors; backup_only: no IPVS forwarding on the backup.
pcs -f "$cib" resource create sync ocf:lvsocf:IPVSSync \
	interface=eth1 syncid=30 backup_only=true \
	op start timeout=30s stop timeout=30s \
	promote timeout=30s demote timeout=30s \
	monitor interval=10s role=Promoted timeout=30s \
	monitor interval=11s role=Unpromoted timeout=30s \
	promotable ipvs-sync promoted-max=1 --no-default-ops

# service and real servers first, the VIP last (stopped in reverse order)
pcs -f "$cib" resource create app ocf:lvsocf:IPVSService \
	protocol=tcp vip=192.0.2.30 port=80 scheduler=wlc \
	op start timeout=30s stop timeout=30s monitor interval=10s timeout=30s \
	--group lvs-app --no-default-ops
# drain_timeout=0: in the group a real server only stops after the VIP is gone
# (switchover, recovery), when waiting for its connections would only delay the takeover.
# node1's own web server
pcs -f "$cib" resource create app-rs1 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.30 port=80 rip=192.0.2.31 method=gate \
	check_type=http request=/health status_codes=200-299 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s \
	--group lvs-app --no-default-ops
# node2's own web server
pcs -f "$cib" resource create app-rs2 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.30 port=80 rip=192.0.2.32 method=gate \
	check_type=http request=/health status_codes=200-299 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s \
	--group lvs-app --no-default-ops
# lvs_support: on start take the VIP off lo, on stop give it back to lo
pcs -f "$cib" resource create app-vip ocf:heartbeat:IPaddr2 \
	ip=192.0.2.30 cidr_netmask=24 nic=eth0 lvs_support=true \
	op monitor interval=10s timeout=20s \
	--group lvs-app --no-default-ops

# The service runs where the sync daemon is master, and only after it was promoted.
pcs -f "$cib" constraint colocation add lvs-app with Promoted ipvs-sync INFINITY \
	id=lvs-app-with-sync
pcs -f "$cib" constraint order promote ipvs-sync then start lvs-app kind=Mandatory \
	id=sync-before-lvs-app

pcs cluster cib-push "$cib" --config
