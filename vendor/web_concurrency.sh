# The default WEB_CONCURRENCY (gunicorn's and uvicorn's worker count) from the memory and
# CPUs this process may use. Copied into .profile.d/python.sh by the buildpack.
#
#   _python_web_concurrency CGROUP_MOUNT PROC_SELF_CGROUP MEMINFO ONLINE_CPUS
#
# Limits come from cgroup v2 (memory.max, cpu.max) or v1 (memory.limit_in_bytes,
# cpu.cfs_quota_us / cpu.cfs_period_us), read in the process's own cgroup and every
# parent up to the mount point (a container sees its own cgroup there), the smallest
# value winning; memory is capped by MemTotal, CPUs by ONLINE_CPUS. The result is one
# worker per 256 MiB, at most 2 per CPU + 1, at least 1. POSIX sh; runs in a subshell.
_python_web_concurrency() (
    mount=${1%/} self=$2 meminfo=$3 cpus=$4
    case $cpus in '' | *[!0-9]* | 0) cpus=1 ;; esac
    mem=

    is_number() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
    lower_mem() { if is_number "$1" && { [ -z "$mem" ] || [ "$1" -lt "$mem" ]; }; then mem=$1; fi; }
    lower_cpus() {  # QUOTA PERIOD: at most ceil(QUOTA / PERIOD) CPUs
        if is_number "$1" && is_number "$2" && [ "$1" -gt 0 ] && [ "$2" -gt 0 ]; then
            limit=$(( ($1 + $2 - 1) / $2 ))
            [ "$limit" -lt "$cpus" ] && cpus=$limit
        fi
        return 0
    }
    read_line() {  # FILE: its first line in $line; false if unreadable or empty
        line=
        [ -r "$1" ] && { read -r line || :; } 2>/dev/null < "$1"
        [ -n "$line" ]
    }
    read_limits() {  # DIR: v2 files (memory.max "N"/"max", cpu.max "QUOTA PERIOD") or v1 ones
        if read_line "$1/memory.max"; then lower_mem "$line"; fi
        if read_line "$1/memory.limit_in_bytes"; then lower_mem "$line"; fi
        if read_line "$1/cpu.max"; then lower_cpus "${line% *}" "${line#* }"; fi
        if read_line "$1/cpu.cfs_quota_us"; then
            quota=$line
            if read_line "$1/cpu.cfs_period_us"; then lower_cpus "$quota" "$line"; fi
        fi
    }
    walk_up() {  # ROOT PATH: read ROOT/PATH, its parents, ..., ROOT
        dir=$1${2%/}
        while :; do
            read_limits "$dir"
            [ "${#dir}" -gt "${#1}" ] || break
            dir=${dir%/*}
        done
    }

    if [ -r "$self" ]; then
        while IFS=: read -r _ controllers path || [ -n "$controllers$path" ]; do
            case ,$controllers, in
                ,,) walk_up "$mount" "$path" ;;
                *,memory,* | *,cpu,*) walk_up "$mount/$controllers" "$path" ;;
            esac
        done < "$self"
    fi
    if [ -r "$meminfo" ]; then
        while read -r key kib _ || [ -n "$key" ]; do
            if [ "$key" = MemTotal: ] && is_number "$kib"; then lower_mem $((kib * 1024)); break; fi
        done < "$meminfo"
    fi

    workers=$((cpus * 2 + 1))
    if [ -n "$mem" ]; then
        by_memory=$((mem / 268435456))
        [ "$by_memory" -lt "$workers" ] && workers=$by_memory
    fi
    [ "$workers" -ge 1 ] || workers=1
    echo "$workers"
)
