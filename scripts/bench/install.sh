#!/bin/sh
# What the benchmarks need beyond cargo: wrk (Debian's package) and curl.
set -eu
need=""
command -v wrk >/dev/null || need="$need wrk"
command -v curl >/dev/null || need="$need curl"
command -v python3 >/dev/null || need="$need python3"
if [ -n "$need" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
