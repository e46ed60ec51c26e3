#!/bin/sh
# Stop script for `kura pathd` as a failover-group resource: stops the watched pathd without recovery.
[ -z "$ARMS_EVENT" ] && exit 0
armkill kura-pathd
