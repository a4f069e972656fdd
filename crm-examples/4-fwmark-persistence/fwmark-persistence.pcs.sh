#!/bin/sh
# lvsocf example 4: one firewall-mark service over several ports, with persistence and a
# persistence netmask, for IPv4 and IPv6; plus the global IPVS timeouts.
# Run on one cluster node:   sh fwmark-persistence.pcs.sh
# It edits a copy of the CIB with `pcs -f` and pushes it once at the end.
# Every director marks the shop's traffic (ports 80 and 443) before IPVS sees it:
#   nft add table inet lvs
#   nft add chain inet lvs pre '{ type filter hook prerouting priority mangle; }'
#   nft add rule inet lvs pre ip daddr 192.0.2.40 tcp dport '{ 80, 443 }' meta mark set 4
#   nft add rule inet lvs pre ip6 daddr 2001:db8::40 tcp dport '{ 80, 443 }' meta mark set 6
# A client (and every client in its /24, or its IPv6 /64) sticks to one real server for
# both ports until it has been idle for 30 minutes. DR: the real servers carry the VIPs
# on lo (see README.md).
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

# The sync daemon (it also carries the persistence templates to the backup) and the
# global IPVS timeouts, which belong to a director, not to a service (see README.md):
# established TCP 1 h, TCP after FIN 2 min, UDP 5 min, set on every director.
pcs -f "$cib" resource create sync ocf:lvsocf:IPVSSync \
	interface=eth1 syncid=40 timeout_tcp=3600 timeout_tcpfin=120 timeout_udp=300 \
	op start timeout=30s stop timeout=30s \
	promote timeout=30s demote timeout=30s \
	monitor interval=10s role=Promoted timeout=30s \
	monitor interval=11s role=Unpromoted timeout=30s \
	promotable ipvs-sync promoted-max=1 --no-default-ops

# One group per address family: a failure in one never restarts the other. In each,
# the service and its real servers first, the VIP last (stopped in reverse order).
# drain_timeout=0: in the group a real server only stops after the VIP is gone
# (switchover, recovery), when waiting for its connections would only delay the takeover.

# IPv4: mark 4, persistence 30 min per /24
pcs -f "$cib" resource create shop ocf:lvsocf:IPVSService \
	fwmark=4 family=inet scheduler=wlc persistent=1800 netmask=255.255.255.0 \
	op start timeout=30s stop timeout=30s monitor interval=10s timeout=30s \
	--group lvs-shop --no-default-ops
pcs -f "$cib" resource create shop-rs1 ocf:lvsocf:IPVSRealServer \
	fwmark=4 family=inet rip=192.0.2.41 method=gate \
	check_type=http check_port=80 request=/health drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s \
	--group lvs-shop --no-default-ops
pcs -f "$cib" resource create shop-rs2 ocf:lvsocf:IPVSRealServer \
	fwmark=4 family=inet rip=192.0.2.42 method=gate \
	check_type=http check_port=80 request=/health drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s \
	--group lvs-shop --no-default-ops
pcs -f "$cib" resource create shop-vip ocf:heartbeat:IPaddr2 \
	ip=192.0.2.40 cidr_netmask=24 nic=eth0 \
	op monitor interval=10s timeout=20s \
	--group lvs-shop --no-default-ops

# IPv6: mark 6, persistence 30 min per /64
pcs -f "$cib" resource create shop6 ocf:lvsocf:IPVSService \
	fwmark=6 family=inet6 scheduler=wlc persistent=1800 netmask=64 \
	op start timeout=30s stop timeout=30s monitor interval=10s timeout=30s \
	--group lvs-shop6 --no-default-ops
pcs -f "$cib" resource create shop6-rs1 ocf:lvsocf:IPVSRealServer \
	fwmark=6 family=inet6 rip=2001:db8::41 method=gate \
	check_type=http check_port=80 request=/health drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s \
	--group lvs-shop6 --no-default-ops
pcs -f "$cib" resource create shop6-rs2 ocf:lvsocf:IPVSRealServer \
	fwmark=6 family=inet6 rip=2001:db8::42 method=gate \
	check_type=http check_port=80 request=/health drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s \
	--group lvs-shop6 --no-default-ops
# lvs_ipv6_addrlabel: the director's own IPv6 traffic (health checks) never uses the VIP
pcs -f "$cib" resource create shop6-vip ocf:heartbeat:IPaddr2 \
	ip=2001:db8::40 cidr_netmask=64 nic=eth0 lvs_ipv6_addrlabel=true \
	op monitor interval=10s timeout=20s \
	--group lvs-shop6 --no-default-ops

# The services run where the sync daemon is master, and only after it was promoted.
pcs -f "$cib" constraint colocation add lvs-shop with Promoted ipvs-sync INFINITY \
	id=lvs-shop-with-sync
pcs -f "$cib" constraint colocation add lvs-shop6 with Promoted ipvs-sync INFINITY \
	id=lvs-shop6-with-sync
pcs -f "$cib" constraint order promote ipvs-sync then start lvs-shop kind=Mandatory \
	id=sync-before-lvs-shop
pcs -f "$cib" constraint order promote ipvs-sync then start lvs-shop6 kind=Mandatory \
	id=sync-before-lvs-shop6

pcs cluster cib-push "$cib" --config
