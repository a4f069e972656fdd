#!/bin/sh
# lvsocf example 5: UDP DNS service with DNS health checks and a fallback server.
# Run on one cluster node:   sh udp-dns.pcs.sh
# It edits a copy of the CIB with `pcs -f` and pushes it once at the end.
# Clients query 192.0.2.53:53/udp (eth0). Every datagram is scheduled on its own (ops);
# the name servers 192.0.2.51-52 are checked with a real DNS query. While both are down
# the fallback server 192.0.2.59 answers. DR: all three carry 192.0.2.53 on lo (see
# README.md). One-packet connections are never synced: no sync daemon needed.
# Hot standby: every director keeps the service and both name servers loaded and
# health-checked (clones); a failover only moves the VIP.
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

# The table, on every director (clones). migration-threshold=1: when the service fails on
# the active director (its IPVS entry vanished), the VIP moves to the backup, whose table
# is warm; failure-timeout: 10 s later the failed director loads the table again.
pcs -f "$cib" resource create dns ocf:lvsocf:IPVSService \
	protocol=udp vip=192.0.2.53 port=53 scheduler=rr ops=true \
	fallback=192.0.2.59:53 fallback_method=gate \
	op start timeout=30s stop timeout=30s monitor interval=10s timeout=30s \
	meta migration-threshold=1 failure-timeout=10s --no-default-ops
pcs -f "$cib" resource clone dns dns-clone meta interleave=true
# drain_timeout=0: a real server stops only when an operator stops it or its director
# leaves the cluster; take one out of rotation with weight=0 instead (see ../README.md).
pcs -f "$cib" resource create dns-rs1 ocf:lvsocf:IPVSRealServer \
	protocol=udp vip=192.0.2.53 port=53 rip=192.0.2.51 method=gate \
	check_type=dns dns_query=example.com dns_type=SOA \
	check_interval=5 check_timeout=2 rise=2 fall=2 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone dns-rs1 dns-rs1-clone
pcs -f "$cib" resource create dns-rs2 ocf:lvsocf:IPVSRealServer \
	protocol=udp vip=192.0.2.53 port=53 rip=192.0.2.52 method=gate \
	check_type=dns dns_query=example.com dns_type=SOA \
	check_interval=5 check_timeout=2 rise=2 fall=2 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone dns-rs2 dns-rs2-clone
# Each real server only where its service runs, started after it whenever both start
# (Optional: no restart with the service, which never restarts in place here; no
# interleave: per real server, a Mandatory interleaved order makes the scheduler's time
# grow with the square of the table, 63 s per transition at 1,000 real servers).
pcs -f "$cib" constraint colocation add dns-rs1-clone with dns-clone score=INFINITY \
	id=dns-rs1-with-dns
pcs -f "$cib" constraint order start dns-clone then start dns-rs1-clone kind=Optional \
	id=dns-before-dns-rs1
pcs -f "$cib" constraint colocation add dns-rs2-clone with dns-clone score=INFINITY \
	id=dns-rs2-with-dns
pcs -f "$cib" constraint order start dns-clone then start dns-rs2-clone kind=Optional \
	id=dns-before-dns-rs2

# The active director is the one with the VIP: only where the service runs, after it.
pcs -f "$cib" resource create dns-vip ocf:heartbeat:IPaddr2 \
	ip=192.0.2.53 cidr_netmask=24 nic=eth0 \
	op monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" constraint colocation add dns-vip with dns-clone score=INFINITY \
	id=dns-vip-with-dns
pcs -f "$cib" constraint order start dns-clone then start dns-vip kind=Mandatory \
	id=dns-before-dns-vip

pcs cluster cib-push "$cib" --config
