#!/usr/bin/env bash
# Installs the Debian tools the tests and benchmarks drive when they are missing: real
# NBD/iSCSI clients, qemu-img, fio, nbdkit, sg3-utils; etcd for the redundant managers and
# the cluster; chromium for the console's browser tests; snmptrapd/snmp for alert traps;
# NUT for UPS orchestration; arping for the floating IP's gratuitous ARP; xmllint to validate the relation files against their schema. A test never skips for want of a tool: if this cannot install
# one, it fails here with the reason.
set -euo pipefail

declare -A pkg_of=(
  [nbdinfo]=libnbd-bin
  [nbdcopy]=libnbd-bin
  [qemu-img]=qemu-utils
  [fio]=fio
  [nbdkit]=nbdkit
  [iscsi-ls]=libiscsi-bin
  [iscsi-inq]=libiscsi-bin
  [iscsi-readcapacity16]=libiscsi-bin
  [iscsi-test-cu]=libiscsi-bin
  [tgtd]=tgt
  [sg_luns]=sg3-utils
  [etcd]=etcd-server
  [etcdctl]=etcd-client
  [chromium]=chromium
  [snmptrapd]=snmptrapd
  [snmptranslate]=snmp
  [upsc]=nut-client
  [xmllint]=libxml2-utils
  [arping]=iputils-arping
)

# qemu-img's iSCSI block driver has no binary of its own: look for its module.
qemu_iscsi_ok() {
  [ -e /usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so ] || dpkg -s qemu-block-extra >/dev/null 2>&1
}

missing_pkgs=()
for tool in "${!pkg_of[@]}"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    missing_pkgs+=("${pkg_of[$tool]}")
  fi
done
qemu_iscsi_ok || missing_pkgs+=(qemu-block-extra)
# NUT's daemon and drivers live in /lib/nut, off the PATH.
nut_server_ok() { [ -x /lib/nut/upsd ] || [ -x /usr/lib/nut/upsd ] || [ -x /usr/sbin/upsd ]; }
nut_server_ok || missing_pkgs+=(nut-server)

if [ ${#missing_pkgs[@]} -eq 0 ]; then
  exit 0
fi

mapfile -t missing_pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u)
echo "ensure-tools: installing ${missing_pkgs[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-tools: KURA-E5901 the test tools ${missing_pkgs[*]} are missing and this user cannot install them; run: sudo apt-get install -y ${missing_pkgs[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing_pkgs[@]}" >/dev/null
for tool in "${!pkg_of[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "ensure-tools: KURA-E5902 $tool still missing after installing ${pkg_of[$tool]}" >&2; exit 1; }
done
nut_server_ok || { echo "ensure-tools: KURA-E5902 upsd still missing after installing nut-server" >&2; exit 1; }
qemu_iscsi_ok || { echo "ensure-tools: KURA-E5902 qemu-img's iscsi driver still missing after installing qemu-block-extra" >&2; exit 1; }
