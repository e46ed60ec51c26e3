#!/bin/sh
# Start script for `kura pathd` as a failover-group resource (kura cluster group
# create G --start-script kura-pathd-start.sh --stop-script kura-pathd-stop.sh).
# Set KURA_PATHD_ARGS (e.g. "--portal 10.0.0.1:3260 --portal 10.0.0.2:3260") in the
# agent's environment. pathd is watched: its exit fails the group over (--fov).
[ -z "$ARMS_EVENT" ] && { echo "ARM not running"; exit 0; }
[ "$ARMS_DISK" = FAILURE ] && { armlog "kura pathd: the shared disk is not attached"; exit 1; }
# shellcheck disable=SC2086
armload kura-pathd --fov -- kura pathd $KURA_PATHD_ARGS || exit 1
armlog "kura pathd started ($ARMS_EVENT on $ARMS_SERVER server)"
