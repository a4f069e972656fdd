#!/bin/sh
# lvsocf example 1: NAT web service, three health-checked real servers.
# Run on one cluster node:   sh nat-web.pcs.sh
# It edits a copy of the CIB with `pcs -f` and pushes it once at the end.
# Clients use 192.0.2.10:80 (eth0). The real servers 198.51.100.11-13 (eth1) route their
# replies through the floating gateway 198.51.100.1, which moves with the VIP.
# Both directors need net.ipv4.ip_forward=1 (see README.md).
# Hot standby: every director keeps the service and the three real servers loaded and
# health-checked (clones); a failover only moves the two addresses.
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

# Stay where you are: a recovered director does not take the addresses back.
pcs -f "$cib" resource defaults update resource-stickiness=100

# The table, on every director (clones). migration-threshold=1: when the service fails on
# the active director (its IPVS entry vanished), the addresses move to the backup, whose
# table is warm; failure-timeout: 10 s later the failed director loads the table again.
pcs -f "$cib" resource create web ocf:lvsocf:IPVSService \
	protocol=tcp vip=192.0.2.10 port=80 scheduler=wlc \
	op start timeout=30s stop timeout=30s monitor interval=10s timeout=30s \
	meta migration-threshold=1 failure-timeout=10s --no-default-ops
pcs -f "$cib" resource clone web web-clone meta interleave=true
# drain_timeout=0: a real server stops only when an operator stops it or its director
# leaves the cluster; take one out of rotation with weight=0 instead (see ../README.md).
pcs -f "$cib" resource create web-rs1 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.10 port=80 rip=198.51.100.11 method=masq \
	check_type=http request=/health.html 'receive=Service OK' \
	check_interval=5 check_timeout=3 rise=2 fall=3 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone web-rs1 web-rs1-clone
pcs -f "$cib" resource create web-rs2 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.10 port=80 rip=198.51.100.12 method=masq \
	check_type=http request=/health.html 'receive=Service OK' \
	check_interval=5 check_timeout=3 rise=2 fall=3 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone web-rs2 web-rs2-clone
pcs -f "$cib" resource create web-rs3 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.10 port=80 rip=198.51.100.13 method=masq weight=2 \
	check_type=http request=/health.html 'receive=Service OK' \
	check_interval=5 check_timeout=3 rise=2 fall=3 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone web-rs3 web-rs3-clone
# Each real server only where its service runs, started after it whenever both start
# (Optional: no restart with the service, which never restarts in place here; no
# interleave: per real server, a Mandatory interleaved order makes the scheduler's time
# grow with the square of the table, 63 s per transition at 1,000 real servers).
pcs -f "$cib" constraint colocation add web-rs1-clone with web-clone score=INFINITY \
	id=web-rs1-with-web
pcs -f "$cib" constraint order start web-clone then start web-rs1-clone kind=Optional \
	id=web-before-web-rs1
pcs -f "$cib" constraint colocation add web-rs2-clone with web-clone score=INFINITY \
	id=web-rs2-with-web
pcs -f "$cib" constraint order start web-clone then start web-rs2-clone kind=Optional \
	id=web-before-web-rs2
pcs -f "$cib" constraint colocation add web-rs3-clone with web-clone score=INFINITY \
	id=web-rs3-with-web
pcs -f "$cib" constraint order start web-clone then start web-rs3-clone kind=Optional \
	id=web-before-web-rs3

# The active director is the one with the addresses: the real servers' default gateway
# first, then the VIP (a group starts in order, stops in reverse), only where the
# service runs and after it.
pcs -f "$cib" resource create web-gw ocf:heartbeat:IPaddr2 \
	ip=198.51.100.1 cidr_netmask=24 nic=eth1 \
	op monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource create web-vip ocf:heartbeat:IPaddr2 \
	ip=192.0.2.10 cidr_netmask=24 nic=eth0 \
	op monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource group add web-ips web-gw web-vip
pcs -f "$cib" constraint colocation add web-ips with web-clone score=INFINITY \
	id=web-ips-with-web
pcs -f "$cib" constraint order start web-clone then start web-ips kind=Mandatory \
	id=web-before-web-ips

pcs cluster cib-push "$cib" --config
