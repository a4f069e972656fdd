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
# on lo (see README.md). Hot standby: every director keeps both services and their real
# servers loaded and health-checked (clones); a failover only promotes the sync daemon and
# moves the VIPs.
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

# Stay where you are: a recovered director does not take the VIPs back.
pcs -f "$cib" resource defaults update resource-stickiness=100

# The sync daemon (it also carries the persistence templates to the backup) and the
# global IPVS timeouts, which belong to a director, not to a service (see README.md):
# established TCP 1 h, TCP after FIN 2 min, UDP 5 min, set on every director.
# backup_only=false: these directors are not real servers, so a backup may balance
# (nothing reaches it while it lacks the VIP) and the VIP need not wait for the
# promotion: at failover the two run side by side. Directors that are also real
# servers keep backup_only=true and the VIP after the promotion (3-dr-directors).
pcs -f "$cib" resource create sync ocf:lvsocf:IPVSSync \
	interface=eth1 syncid=40 backup_only=false \
	timeout_tcp=3600 timeout_tcpfin=120 timeout_udp=300 \
	op start timeout=30s stop timeout=30s \
	promote timeout=30s demote timeout=30s \
	monitor interval=10s role=Promoted timeout=30s \
	monitor interval=11s role=Unpromoted timeout=30s --no-default-ops
pcs -f "$cib" resource promotable sync ipvs-sync meta promoted-max=1

# One service per address family, each a clone on every director with its real servers
# (clones too, each only where its service runs and started after it whenever both
# start: Optional, no interleave, as in 2-dr-sync). A failed IPv4 real server never
# touches the IPv6 service, and no real server touches its own service.
# migration-threshold=1: when a service fails on the active director, the VIPs move to the
# backup, whose tables are warm; failure-timeout: 10 s later the failed director loads the
# table again, as a backup.
# drain_timeout=0: a real server stops only when an operator stops it or its director
# leaves the cluster; take one out of rotation with weight=0 instead (see ../README.md).

# IPv4: mark 4, persistence 30 min per /24
pcs -f "$cib" resource create shop ocf:lvsocf:IPVSService \
	fwmark=4 family=inet scheduler=wlc persistent=1800 netmask=255.255.255.0 \
	op start timeout=30s stop timeout=30s monitor interval=10s timeout=30s \
	meta migration-threshold=1 failure-timeout=10s --no-default-ops
pcs -f "$cib" resource clone shop shop-clone meta interleave=true
pcs -f "$cib" resource create shop-rs1 ocf:lvsocf:IPVSRealServer \
	fwmark=4 family=inet rip=192.0.2.41 method=gate \
	check_type=http check_port=80 request=/health drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone shop-rs1 shop-rs1-clone
pcs -f "$cib" resource create shop-rs2 ocf:lvsocf:IPVSRealServer \
	fwmark=4 family=inet rip=192.0.2.42 method=gate \
	check_type=http check_port=80 request=/health drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone shop-rs2 shop-rs2-clone
pcs -f "$cib" constraint colocation add shop-rs1-clone with shop-clone score=INFINITY \
	id=shop-rs1-with-shop
pcs -f "$cib" constraint order start shop-clone then start shop-rs1-clone kind=Optional \
	id=shop-before-shop-rs1
pcs -f "$cib" constraint colocation add shop-rs2-clone with shop-clone score=INFINITY \
	id=shop-rs2-with-shop
pcs -f "$cib" constraint order start shop-clone then start shop-rs2-clone kind=Optional \
	id=shop-before-shop-rs2

pcs -f "$cib" resource create shop-vip ocf:heartbeat:IPaddr2 \
	ip=192.0.2.40 cidr_netmask=24 nic=eth0 \
	op monitor interval=10s timeout=20s --no-default-ops

# IPv6: mark 6, persistence 30 min per /64
pcs -f "$cib" resource create shop6 ocf:lvsocf:IPVSService \
	fwmark=6 family=inet6 scheduler=wlc persistent=1800 netmask=64 \
	op start timeout=30s stop timeout=30s monitor interval=10s timeout=30s \
	meta migration-threshold=1 failure-timeout=10s --no-default-ops
pcs -f "$cib" resource clone shop6 shop6-clone meta interleave=true
pcs -f "$cib" resource create shop6-rs1 ocf:lvsocf:IPVSRealServer \
	fwmark=6 family=inet6 rip=2001:db8::41 method=gate \
	check_type=http check_port=80 request=/health drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone shop6-rs1 shop6-rs1-clone
pcs -f "$cib" resource create shop6-rs2 ocf:lvsocf:IPVSRealServer \
	fwmark=6 family=inet6 rip=2001:db8::42 method=gate \
	check_type=http check_port=80 request=/health drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s --no-default-ops
pcs -f "$cib" resource clone shop6-rs2 shop6-rs2-clone
pcs -f "$cib" constraint colocation add shop6-rs1-clone with shop6-clone score=INFINITY \
	id=shop6-rs1-with-shop6
pcs -f "$cib" constraint order start shop6-clone then start shop6-rs1-clone kind=Optional \
	id=shop6-before-shop6-rs1
pcs -f "$cib" constraint colocation add shop6-rs2-clone with shop6-clone score=INFINITY \
	id=shop6-rs2-with-shop6
pcs -f "$cib" constraint order start shop6-clone then start shop6-rs2-clone kind=Optional \
	id=shop6-before-shop6-rs2

# lvs_ipv6_addrlabel: the director's own IPv6 traffic (health checks) never uses the VIP
pcs -f "$cib" resource create shop6-vip ocf:heartbeat:IPaddr2 \
	ip=2001:db8::40 cidr_netmask=64 nic=eth0 lvs_ipv6_addrlabel=true \
	op monitor interval=10s timeout=20s --no-default-ops

# The active director is where shop-vip is: each VIP never without its service, shop6-vip
# with shop-vip, and the master sync daemon where shop-vip is (promoted alongside the VIPs'
# start). Move shop-vip to switch over; shop6-vip and the Promoted role follow it.
pcs -f "$cib" constraint colocation add shop-vip with shop-clone score=INFINITY \
	id=shop-vip-with-shop
pcs -f "$cib" constraint order start shop-clone then start shop-vip kind=Mandatory \
	id=shop-before-shop-vip
pcs -f "$cib" constraint colocation add shop6-vip with shop6-clone score=INFINITY \
	id=shop6-vip-with-shop6
pcs -f "$cib" constraint order start shop6-clone then start shop6-vip kind=Mandatory \
	id=shop6-before-shop6-vip
pcs -f "$cib" constraint colocation add shop6-vip with shop-vip score=INFINITY \
	id=shop6-vip-with-shop-vip
pcs -f "$cib" constraint colocation add Promoted ipvs-sync with shop-vip score=INFINITY \
	id=sync-promoted-with-shop-vip
# The VIP prefers the director whose backup daemon is warmest, by the promotion score
# IPVSSync sets (1 warming up, 100 warm, 101 promoted), so a failover among three or more
# directors never picks one that has not yet seen every connection.
# (pcs 0.12 takes the rule as one string, 0.11 only word by word)
case $(pcs --version) in 0.11.*) set -- defined master-sync ;; *) set -- "defined master-sync" ;; esac
pcs -f "$cib" constraint location shop-vip rule constraint-id=shop-vip-on-warm-sync \
	score-attribute=master-sync "$@"

pcs cluster cib-push "$cib" --config
