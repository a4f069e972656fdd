"""Every mapping table of `lvsocf convert` in one place.

Source semantics: ldirectord 4.x (resource-agents, /usr/sbin/ldirectord `read_config`,
`ld_setup`) and keepalived 2.x (keepalived.conf(5), LVS CONFIGURATION).
Target names: docs/interfaces.md (agent parameters).
"""

from __future__ import annotations

# --- agents -------------------------------------------------------------------------------
AGENT_SERVICE = "ocf:lvsocf:IPVSService"
AGENT_REAL = "ocf:lvsocf:IPVSRealServer"
AGENT_SYNC = "ocf:lvsocf:IPVSSync"
AGENT_VIP = "ocf:heartbeat:IPaddr2"

# monitor operations written for every resource (crmsh adds none by itself); the timeout is
# the largest the agents advise in their meta-data (crmsh refuses smaller ones on load)
OP_MONITOR = [("interval", "10s"), ("timeout", "30s")]
# a promotable clone needs a distinct interval per role
OPS_SYNC = [
    [("interval", "10s"), ("role", "Promoted"), ("timeout", "30s")],
    [("interval", "11s"), ("role", "Unpromoted"), ("timeout", "30s")],
]
SYNC_CLONE_META = [
    ("promotable", "true"),
    ("promoted-max", "1"),
    ("promoted-node-max", "1"),
    ("clone-node-max", "1"),
]
# hot standby (crm-examples/README.md): the table is cloned on every director. A service
# clone is interleaved (per-director orders after it); a failed service moves the VIP to a
# warm backup instead of restarting under it, and is loaded again after failure-timeout.
SERVICE_CLONE_META = [("interleave", "true")]
SERVICE_META = [("migration-threshold", "1"), ("failure-timeout", "10s")]
# real-server clones: not interleaved, ordered after their service with kind Optional (a
# Mandatory interleaved order per real server makes the scheduler quadratic in the table)
REAL_CLONE_META: list[tuple[str, str]] = []
REAL_ORDER_KIND = "Optional"
# a real server's resource stops only when an operator stops it or its director leaves
REAL_LAYOUT_PARAMS = {"drain_timeout": "0"}

# parameter order in the generated resources (anything else is appended, sorted)
SERVICE_PARAM_ORDER = [
    "protocol", "vip", "port", "fwmark", "family", "scheduler", "sched_flags", "persistent",
    "netmask", "pe", "ops", "fallback", "fallback_method",
]
REAL_PARAM_ORDER = [
    "protocol", "vip", "port", "fwmark", "family", "rip", "rport", "method", "weight",
    "u_threshold", "l_threshold", "check_type", "check_address", "check_port",
    "check_interval", "check_timeout", "rise", "fall", "http_method", "request",
    "virtualhost", "status_codes", "receive", "tls_verify", "ca_file", "reuse_connection",
    "udp_payload", "udp_expect", "dns_query", "dns_type", "external_command",
    "failure_action", "drain_timeout",
]
SYNC_PARAM_ORDER = [
    "interface", "syncid", "mcast_group", "mcast_port", "mcast_ttl", "maxlen",
    "timeout_tcp", "timeout_tcpfin", "timeout_udp",
]
# check parameters that mean nothing for a given check_type
CHECK_ONLY_PARAMS = {
    "check_address", "check_port", "check_interval", "check_timeout", "rise", "fall",
    "http_method", "request", "virtualhost", "status_codes", "receive", "tls_verify",
    "ca_file", "reuse_connection", "udp_payload", "udp_expect", "dns_query", "dns_type",
    "external_command",
}
CHECK_PARAMS_BY_TYPE = {
    "none": set(),
    "ping": {"check_address", "check_interval", "check_timeout", "rise", "fall"},
    "tcp": {"check_address", "check_port", "check_interval", "check_timeout", "rise", "fall"},
    "http": {"check_address", "check_port", "check_interval", "check_timeout", "rise", "fall",
             "http_method", "request", "virtualhost", "status_codes", "receive",
             "reuse_connection"},
    "https": {"check_address", "check_port", "check_interval", "check_timeout", "rise", "fall",
              "http_method", "request", "virtualhost", "status_codes", "receive",
              "tls_verify", "ca_file"},
    "udp": {"check_address", "check_port", "check_interval", "check_timeout", "rise", "fall",
            "udp_payload", "udp_expect"},
    "dns": {"check_address", "check_port", "check_interval", "check_timeout", "rise", "fall",
            "dns_query", "dns_type", "receive"},
    "external": {"check_interval", "check_timeout", "rise", "fall", "external_command"},
}

# both source tools bring a real server back after ONE good check (no rise count)
RISE = "1"
# HTTP success when the source does not list codes (ldirectord: is_success; keepalived default)
HTTP_STATUS_DEFAULT = "200-299"

SCHED_FLAGS = {"flag-1", "flag-2", "flag-3", "sh-fallback", "sh-port", "mh-fallback", "mh-port"}
FORWARD_METHODS = {"gate", "masq", "ipip"}

# --- ldirectord -----------------------------------------------------------------------------
LD_DEFAULTS = {
    "checkinterval": 10,
    "checktimeout": 5,  # DEFAULT_CHECKTIMEOUT
    "negotiatetimeout": 30,  # DEFAULT_NEGOTIATETIMEOUT
    "failurecount": 1,
    "scheduler": "wrr",
    "quiescent": "no",  # ldirectord >= 3.9: default no (the POD of older versions says yes)
    "httpmethod": "GET",
    "fallback_forward": "gate",
}
LD_QUIESCENT = {"yes": "quiescent", "no": "remove"}
LD_CHECKTYPES = {"negotiate", "connect", "ping", "external", "external-perl", "off", "on"}
LD_SERVICES = {
    "dns", "ftp", "http", "https", "http_proxy", "imap", "imaps", "ldap", "ldaps", "nntp",
    "mysql", "none", "oracle", "pop", "pops", "radius", "pgsql", "sip", "smtp", "submission",
    "simpletcp",
}
# negotiate services that lvsocf checks natively; the rest become tcp (udp: ping) + warning
LD_SERVICE_CHECK = {"http": "http", "https": "https", "dns": "dns", "none": "none"}
# ld_port_to_service: default service= from the virtual port
LD_PORT_SERVICE = {
    21: "ftp", 25: "smtp", 53: "dns", 80: "http", 110: "pop", 119: "nntp", 143: "imap",
    389: "ldap", 443: "https", 587: "submission", 636: "ldaps", 995: "pops", 993: "imaps",
    1521: "oracle", 1812: "radius", 3128: "http_proxy", 3306: "mysql", 5060: "sip",
    5432: "pgsql",
}
LD_SERVICE_PORT = {svc: port for port, svc in LD_PORT_SERVICE.items()}
# directives that only make sense inside a virtual= section
LD_VIRTUAL_ONLY = {
    "real", "real6", "request", "receive", "checktype", "checkcommand", "checkport", "login",
    "passwd", "database", "secret", "load", "scheduler", "persistent", "schedflags", "netmask",
    "protocol", "ops", "service", "httpmethod", "virtualhost", "monitorfile", "servicename",
    "comment",
}
# accepted but not carried over: directive -> reason
LD_NOT_CARRIED = {
    "autoreload": "Pacemaker reloads changed parameters itself",
    "callback": "no config-distribution callback; the CIB is replicated by Pacemaker",
    "logfile": "agents log through Pacemaker",
    "fork": "lvsocf runs all checks in one engine per node",
    "supervised": "Pacemaker supervises the agents",
    "readdquiescent": "real servers are re-added by the IPVSRealServer agent",
    "emailalert": "no e-mail alerts; use Pacemaker alerts",
    "emailalertfreq": "no e-mail alerts; use Pacemaker alerts",
    "emailalertstatus": "no e-mail alerts; use Pacemaker alerts",
    "emailalertfrom": "no e-mail alerts; use Pacemaker alerts",
    "smtp": "no e-mail alerts; use Pacemaker alerts",
    "cleanstop": "stopping a resource always removes what it owns",
    "maintenancedir": "use `crm resource ban`/`pcs resource disable` on the real server",
    "fallbackcommand": "no fallback command; use a Pacemaker alert or resource instead",
    "monitorfile": "check results are logged by the lvsocf engine",
    "checkcount": "deprecated in ldirectord; use failurecount (fall)",
    "execute": "starts another ldirectord configuration; convert that file separately",
    "load": "load testing is not supported",
    "login": "only used by checks lvsocf does not have",
    "passwd": "only used by checks lvsocf does not have",
    "database": "only used by checks lvsocf does not have",
    "secret": "only used by checks lvsocf does not have",
}

# --- keepalived -----------------------------------------------------------------------------
KA_DEFAULTS = {
    "delay_loop": "60",
    "connect_timeout": "5",
    "lvs_sched": "wlc",
    "lvs_method": "NAT",
    "persistence_timeout": "360",  # persistence_timeout without a value
}
# older keyword spellings still found in configurations
KA_ALIASES = {"lb_algo": "lvs_sched", "lb_kind": "lvs_method", "nb_get_retry": "retry"}
KA_LVS_METHOD = {"NAT": "masq", "DR": "gate", "TUN": "ipip"}
KA_PROTOCOL = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}
# checker block -> check_type (None: no lvsocf equivalent, falls back to tcp + warning)
KA_CHECKERS: dict[str, str | None] = {
    "TCP_CHECK": "tcp",
    "HTTP_GET": "http",
    "SSL_GET": "https",
    "MISC_CHECK": "external",
    "DNS_CHECK": "dns",
    "PING_CHECK": "ping",
    "UDP_CHECK": "udp",
    "SMTP_CHECK": None,
    "BFD_CHECK": None,
    "FILE_CHECK": None,
}
# default `retry` per checker (fall = retry + 1: the first failure plus `retry` retries)
KA_RETRY_DEFAULT = {"DNS_CHECK": 3, "MISC_CHECK": 0}
KA_RETRY_DEFAULT_OTHER = 1
KA_DNS_TYPES = {"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"}
# options inherited virtual_server -> real_server -> checker
KA_INHERITED = (
    "connect_timeout", "retry", "delay_before_retry", "warmup", "delay_loop",
    "inhibit_on_failure", "virtualhost", "alpha",
)
# not carried over: keyword -> reason (virtual_server / real_server / checker level)
KA_NOT_CARRIED = {
    "quorum": "no quorum; the sorry server (fallback) is used when no real server is up",
    "hysteresis": "no quorum hysteresis",
    "quorum_up": "no quorum scripts; use Pacemaker alerts",
    "quorum_down": "no quorum scripts; use Pacemaker alerts",
    "alpha": "lvsocf real servers start in the state given by their first checks",
    "omega": "no quorum notifiers",
    "ha_suspend": "Pacemaker runs the checks only where the service runs",
    "smtp_alert": "no e-mail alerts; use Pacemaker alerts",
    "snmp_name": "no SNMP",
    "notify_up": "no notify scripts; use Pacemaker alerts",
    "notify_down": "no notify scripts; use Pacemaker alerts",
    "sorry_server_inhibit": "the fallback server is always added with weight 1",
    "delay_before_retry": "lvsocf retries every check_interval",
    "warmup": "no random start delay",
    "bindto": "checks use the node's source address",
    "bind_port": "checks use an ephemeral source port",
    "bind_if": "checks use the routing table",
    "log_all_failures": "the engine logs state changes",
    "http_protocol": "the HTTP check protocol version is fixed",
    "fast_recovery": "not applicable",
    "enable_sni": "not supported",
    "sni_name": "not supported",
    "tls_compliant": "not supported",
    "regex_no_match": "no inverted regex match",
    "regex_options": "receive is a Python regular expression",
    "regex_stack": "not applicable",
    "regex_min_offset": "not supported",
    "regex_max_offset": "not supported",
    "misc_dynamic": "no weight from the exit status",
    "user": "external checks run as the agent's user",
    "helo_name": "no SMTP check",
    "min_reply_length": "not supported",
    "max_reply_length": "not supported",
    "track_file": "no FILE_CHECK",
    "dynamic": "no dynamic weight",
}
# lvs_sync_daemon options -> IPVSSync parameters
KA_SYNC_OPTS = {"id": "syncid", "maxlen": "maxlen", "port": "mcast_port", "ttl": "mcast_ttl",
                "group": "mcast_group"}
KA_LVS_TIMEOUTS = {"tcp": "timeout_tcp", "tcpfin": "timeout_tcpfin", "udp": "timeout_udp"}
# top-level blocks outside the LVS configuration (warned about, not converted)
KA_NOT_LVS_BLOCKS = {
    "vrrp_script", "vrrp_sync_group", "static_ipaddress", "static_routes", "static_rules",
    "track_file", "vrrp_track_file", "bfd_instance", "linkbeat_interfaces", "track_process",
    "net_namespace", "instance", "use_pid_dir", "SSL",
}
KA_GLOBAL_NOT_CARRIED = {
    "lvs_flush": "resources only touch the IPVS entries they own",
    "lvs_flush_on_stop": "resources only touch the IPVS entries they own",
    "lvs_notify_fifo": "no notify FIFO; use Pacemaker alerts",
    "lvs_notify_fifo_script": "no notify FIFO; use Pacemaker alerts",
    "checker_log_all_failures": "the engine logs state changes",
}
