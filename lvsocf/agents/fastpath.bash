# lvsocf's monitor fast path (bash, sourced by the agent executables of IPVSRealServer and
# IPVSService; lvsocf/agents/fastpath.py is its other half).
#
# A recurring monitor is the action Pacemaker runs most (every real server, every few seconds,
# on every director) and Python's start-up alone costs ~100 times this file. When the last
# full (Python) monitor of a resource succeeded, it wrote a ticket: the resource's parameters
# as they were, and exactly what it saw (the service's line in /proc/net/ip_vs, the real
# server's entry under it, its health record's registration). A monitor that finds all of it
# unchanged, read afresh, answers 0 here without forking anything. Anything else (another
# action, a probe, a deeper check level, a change of any kind, an unreadable file, an old
# bash) returns 1, and the caller runs the Python agent, which decides and writes a new
# ticket. The fast path never answers anything but "running".

lvsocf_nl=$'\n'

# Read the ticket of $OCF_RESOURCE_INSTANCE into lvsocf_t_* variables and compare its
# parameters with the environment. 0: this is a recurring monitor the ticket covers.
lvsocf_fast_ticket() {
    [ "$#" -eq 1 ] && [ "$1" = monitor ] || return 1
    case ${OCF_RESKEY_CRM_meta_interval:-0} in 0|*[!0-9]*) return 1 ;; esac
    case ${OCF_CHECK_LEVEL:-0} in 0) ;; *) return 1 ;; esac
    local instance=${OCF_RESOURCE_INSTANCE:-}
    case $instance in ''|.*|*[!A-Za-z0-9_.:@-]*) return 1 ;; esac
    [ "${#instance}" -le 200 ] || return 1
    local ticket=${LVSOCF_STATE_DIR:-/run/lvsocf}/monitor/$instance line kind name value var
    local -a lines
    mapfile -t lines 2>/dev/null < "$ticket" || return 1
    [ "${lines[0]:-}" = "lvsocf-monitor-ticket 1" ] || return 1
    [ "${lines[-1]:-}" = end ] || return 1      # a complete ticket
    lvsocf_t_header= lvsocf_t_entry= lvsocf_t_health= lvsocf_t_record= lvsocf_t_digest=
    lvsocf_t_pidfile= lvsocf_t_status= lvsocf_t_intervals= lvsocf_t_floor= lvsocf_t_proc=
    for line in "${lines[@]:1}"; do
        kind=${line%% *} value=${line#* }
        case $kind in
        set|unset)
            name=${value%% *} value=${value#* }
            case $name in ''|[0-9]*|*[!A-Za-z0-9_]*) return 1 ;; esac
            var=OCF_RESKEY_$name
            if [ "$kind" = set ]; then
                [ "${!var+set}" = set ] && [ "${!var}" = "$value" ] || return 1
            else
                [ "${!var+set}" = "" ] || return 1
            fi ;;
        header|entry|health|record|digest|pidfile|status|intervals|floor|proc)
            printf -v "lvsocf_t_$kind" '%s' "$value" ;;
        end) ;;
        *) return 1 ;;
        esac
    done
    [ -n "$lvsocf_t_proc" ] && [ -n "$lvsocf_t_header" ]
}

# 0 when the ticket's service line is in the kernel's table (and, with an entry in the
# ticket, that real server's line under it).
lvsocf_fast_table() {
    local -a table
    mapfile -t table 2>/dev/null < "$lvsocf_t_proc" || return 1
    local text
    printf -v text '\n%s' "${table[@]}"
    text+=$lvsocf_nl
    if [ -z "$lvsocf_t_entry" ]; then
        [[ $text =~ $lvsocf_nl"$lvsocf_t_header"$lvsocf_nl ]]
        return
    fi
    [[ $text =~ $lvsocf_nl"$lvsocf_t_header"$lvsocf_nl("  -> "[^$lvsocf_nl]*$lvsocf_nl)*"  -> $lvsocf_t_entry " ]]
}

# A number field of a one-line JSON record (json.dumps's ", " and ": "), its integer part.
lvsocf_json_int() {
    local re="\"$2\": ([0-9]+)(\.[0-9]+)?[,}]"
    [[ $1 =~ $re ]] || return 1
    printf -v "$3" '%s' "${BASH_REMATCH[1]}"
}

# 0 when the check engine that runs the real server is alive, is the engine, and its last
# cycle is fresh (lvsocf.engine.watchdog's rule, with its constants from the ticket).
lvsocf_fast_engine() {
    local pid arg status cycle longest now limit found=
    read -r pid _ 2>/dev/null < "$lvsocf_t_pidfile"     # the pid, then a code stamp
    case $pid in ''|*[!0-9]*) return 1 ;; esac
    while IFS= read -r -d '' arg; do
        case $arg in *lvsocf.engine*) found=1 ;; esac
    done 2>/dev/null < "/proc/$pid/cmdline"
    [ -n "$found" ] || return 1
    IFS= read -r status 2>/dev/null < "$lvsocf_t_status"
    [[ $status == *"\"pid\": $pid,"* ]] || return 1
    # a supervisor's cycle is its slowest worker's (cycle_at); a lone engine's is its own (at)
    lvsocf_json_int "$status" cycle_at cycle || lvsocf_json_int "$status" at cycle || return 1
    lvsocf_json_int "$status" interval_max longest || longest=0
    printf -v now '%(%s)T' -1
    limit=$(( longest * lvsocf_t_intervals ))
    [ "$limit" -ge "$lvsocf_t_floor" ] || limit=$lvsocf_t_floor
    # whole seconds: one second stricter than the watchdog, never laxer
    [ $(( now - cycle )) -lt "$limit" ]
}

lvsocf_fast_realserver() {
    lvsocf_fast_ticket "$@" || return 1
    [ -n "$lvsocf_t_entry" ] && [ -n "$lvsocf_t_digest" ] && [ -f "$lvsocf_t_record" ] || return 1
    local health
    IFS= read -r health 2>/dev/null < "$lvsocf_t_health"
    [[ $health == *"\"registration\": \"$lvsocf_t_digest\""* ]] || return 1
    [[ $health == *'"state": "up"'* ]] || return 1
    lvsocf_fast_engine && lvsocf_fast_table
}

lvsocf_fast_service() {
    lvsocf_fast_ticket "$@" && [ -z "$lvsocf_t_entry" ] && lvsocf_fast_table
}
