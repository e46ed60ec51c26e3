#!/usr/bin/env bash
# The long runs that npm test runs bounded: the API fuzz (100,000 requests),
# the NBD and iSCSI parser fuzz (1,000,000 inputs each) and the crash tests
# (50 kill -9 rounds each). Every count can be overridden by its variable;
# each fuzzer prints its seed (KURA_FUZZ_SEED replays a run).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build
bash scripts/ensure-tools.sh
run() { echo "soak: $*" >&2; env "$@"; }
run KURA_FUZZ_API_REQUESTS="${KURA_FUZZ_API_REQUESTS:-100000}" node --test --test-force-exit --test-timeout=7200000 dist/test/manager/fuzz.test.js
run KURA_FUZZ_INPUTS="${KURA_FUZZ_INPUTS:-1000000}" node --test --test-force-exit --test-timeout=7200000 dist/test/nbd/fuzz.test.js
run KURA_FUZZ_INPUTS="${KURA_FUZZ_INPUTS:-1000000}" node --test --test-force-exit --test-timeout=7200000 dist/test/iscsi/fuzz.test.js
run KURA_CRASH_ROUNDS="${KURA_CRASH_ROUNDS:-50}" KURA_CRASH_PAIR_ROUNDS="${KURA_CRASH_PAIR_ROUNDS:-20}" node --test --test-force-exit --test-timeout=7200000 dist/test/durability/
run KURA_HA_KILLS="${KURA_HA_KILLS:-100}" node --test --test-force-exit --test-timeout=7200000 dist/test/ha/failover.test.js
run KURA_CLUSTER_KILLS="${KURA_CLUSTER_KILLS:-30}" node --test --test-force-exit --test-timeout=7200000 dist/test/cluster/fencing.test.js
