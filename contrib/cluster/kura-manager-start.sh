#!/bin/sh
# Start script for `kura manager` as a failover-group resource. Set KURA_MANAGER_ARGS
# (e.g. "--etcd http://10.0.0.5:2379 --data /shared/manager") in the agent's
# environment; with a shared disk resource first in the group, the manager's data
# directory can live on the shared disk. Its exit fails the group over (--fov).
[ -z "$ARMS_EVENT" ] && { echo "ARM not running"; exit 0; }
[ "$ARMS_DISK" = FAILURE ] && { armlog "kura manager: the shared disk is not attached"; exit 1; }
# shellcheck disable=SC2086
armload kura-manager --fov -- kura manager $KURA_MANAGER_ARGS || exit 1
armlog "kura manager started ($ARMS_EVENT on $ARMS_SERVER server)"
