#!/bin/sh
# Stop script for `kura manager` as a failover-group resource.
[ -z "$ARMS_EVENT" ] && exit 0
armkill kura-manager
