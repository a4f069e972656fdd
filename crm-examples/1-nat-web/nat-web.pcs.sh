#!/bin/sh
# lvsocf example 1: NAT web service, three health-checked real servers.
# Run on one cluster node:   sh nat-web.pcs.sh
# It edits a copy of the CIB with `pcs -f` and pushes it once at the end.
# Clients use 192.0.2.10:80 (eth0). The real servers 198.51.100.11-13 (eth1) route their
# replies through the floating gateway 198.51.100.1, which moves with the service.
# Both directors need net.ipv4.ip_forward=1 (see README.md).
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

# service and real servers first, the addresses last (stopped in reverse order)
pcs -f "$cib" resource create web ocf:lvsocf:IPVSService \
	protocol=tcp vip=192.0.2.10 port=80 scheduler=wlc \
	op start timeout=30s stop timeout=30s monitor interval=10s timeout=30s \
	--group lvs-web --no-default-ops
# drain_timeout=0: in the group a real server only stops after the VIP is gone
# (switchover, recovery), when waiting for its connections would only delay the takeover.
pcs -f "$cib" resource create web-rs1 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.10 port=80 rip=198.51.100.11 method=masq \
	check_type=http request=/health.html 'receive=Service OK' \
	check_interval=5 check_timeout=3 rise=2 fall=3 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s \
	--group lvs-web --no-default-ops
pcs -f "$cib" resource create web-rs2 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.10 port=80 rip=198.51.100.12 method=masq \
	check_type=http request=/health.html 'receive=Service OK' \
	check_interval=5 check_timeout=3 rise=2 fall=3 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s \
	--group lvs-web --no-default-ops
pcs -f "$cib" resource create web-rs3 ocf:lvsocf:IPVSRealServer \
	protocol=tcp vip=192.0.2.10 port=80 rip=198.51.100.13 method=masq weight=2 \
	check_type=http request=/health.html 'receive=Service OK' \
	check_interval=5 check_timeout=3 rise=2 fall=3 drain_timeout=0 \
	op start timeout=60s stop timeout=60s monitor interval=10s timeout=20s \
	--group lvs-web --no-default-ops
# the real servers' default gateway
pcs -f "$cib" resource create web-gw ocf:heartbeat:IPaddr2 \
	ip=198.51.100.1 cidr_netmask=24 nic=eth1 \
	op monitor interval=10s timeout=20s \
	--group lvs-web --no-default-ops
pcs -f "$cib" resource create web-vip ocf:heartbeat:IPaddr2 \
	ip=192.0.2.10 cidr_netmask=24 nic=eth0 \
	op monitor interval=10s timeout=20s \
	--group lvs-web --no-default-ops

pcs cluster cib-push "$cib" --config
