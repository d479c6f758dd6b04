#!/usr/bin/env bash
# Builds the Debian package with CPack, installs it with apt-get, checks what it installed (the
# binary, the corvee user, the conffile, /var/lib/corvee, the systemd unit), runs the broker as
# the unit would (as corvee, with its --config; on a free port through CORVEE_BIND), runs a job
# through it with the installed binary, then purges the package and leaves the machine as it was.
# Needs root and apt-get (exit 77, a skip, otherwise); refuses to touch a machine where corvee is
# already installed.
# Usage: deb_test.sh BUILD_DIR WORK_DIR   (ctest passes both; WORK_DIR is wiped first)
set -euo pipefail
source "$(dirname "$0")/../support/listening_port.sh"
build=$1 work=$2
skip() { echo "deb_test: SKIP: $*"; exit 77; }
fail() { echo "deb_test: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (apt-get install)"
command -v apt-get >/dev/null || skip "needs apt-get (a Debian-like system)"
command -v cpack >/dev/null || skip "needs cpack"
status=$(dpkg-query -W -f='${Status}' corvee 2>/dev/null || true)
if [ -n "$status" ] && [[ "$status" != *not-installed ]]; then
  skip "a corvee package is already on this machine; not touching it"
fi
for p in /usr/bin/corvee /etc/corvee /var/lib/corvee /lib/systemd/system/corvee-broker.service; do
  [ ! -e "$p" ] || skip "$p already exists; not touching it"
done
user_existed=no
getent passwd corvee >/dev/null && user_existed=yes
group_existed=no
getent group corvee >/dev/null && group_existed=yes

rm -rf "$work"
mkdir -p "$work"
chmod 755 "$work"
pids=()
installed=no
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$installed" = yes ]; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y corvee >"$work/purge-cleanup.log" 2>&1 || true
  fi
  if [ "$user_existed" = no ] && getent passwd corvee >/dev/null; then userdel corvee || true; fi
  if [ "$group_existed" = no ] && getent group corvee >/dev/null; then groupdel corvee || true; fi
  exit $rc
}
trap cleanup EXIT

# The package, from the build tree's CPack configuration, into WORK_DIR.
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log"; fail "cpack failed"; }
debs=("$work"/pkg/corvee_*.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || fail "expected one corvee_*.deb, got: ${debs[*]}"
deb=${debs[0]}
contents=$(dpkg-deb -c "$deb")
grep -E '\./usr/include/|\.a$' <<<"$contents" && fail "headers or static libraries in the .deb"

# Installed with apt-get, so the Depends are resolved (and proven right) the way a user's would be.
installed=yes
DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "apt-get install failed"; }
echo "deb_test: installed $(dpkg-query -W -f='${Package} ${Version} ${Architecture}' corvee)"

version=$(/usr/bin/corvee --version) || fail "/usr/bin/corvee --version failed"
[ -n "$version" ] || fail "/usr/bin/corvee --version printed nothing"
[ "$(command -v corvee)" = /usr/bin/corvee ] || fail "corvee on PATH is $(command -v corvee)"
getent passwd corvee >/dev/null || fail "no corvee user"
[ "$(getent passwd corvee | cut -d: -f6)" = /var/lib/corvee ] || fail "corvee's home is not /var/lib/corvee"
[ "$(id -u corvee)" -lt 1000 ] || fail "corvee is not a system user (uid $(id -u corvee))"
[ "$(stat -c %U:%G /var/lib/corvee)" = corvee:corvee ] || fail "/var/lib/corvee is $(stat -c %U:%G /var/lib/corvee)"
conf=/etc/corvee/corvee.conf
[ -f "$conf" ] || fail "no $conf"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' corvee)
grep -q "^ $conf " <<<"$conffiles" || fail "$conf is not a conffile"
grep -qx 'bind = "tcp://127.0.0.1:7600"' "$conf" || fail "$conf does not bind tcp://127.0.0.1:7600"
grep -qx 'http = "127.0.0.1:7680"' "$conf" || fail "$conf does not serve HTTP on 127.0.0.1:7680"
grep -qx 'data-dir = "/var/lib/corvee"' "$conf" || fail "$conf has no data-dir /var/lib/corvee"
unit=/lib/systemd/system/corvee-broker.service
[ -f "$unit" ] || fail "no $unit"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$exec_start" = "/usr/bin/corvee broker --config /etc/corvee/corvee.conf" ] || fail "ExecStart is '$exec_start'"
grep -qx 'User=corvee' "$unit" || fail "the unit does not run as corvee"
if command -v systemd-analyze >/dev/null; then
  (cd "$work" && systemd-analyze verify "$unit") || fail "systemd-analyze verify $unit failed"
  echo "deb_test: systemd-analyze verify $unit: ok"
else
  echo "deb_test: note: no systemd-analyze here, the unit is not verified"
fi

# The broker as the unit starts it (its ExecStart, as corvee, in /var/lib/corvee), but on a free port.
read -r -a cmd <<<"$exec_start"
(cd /var/lib/corvee && exec runuser -u corvee -- env CORVEE_BIND=tcp://127.0.0.1:0 CORVEE_HTTP=127.0.0.1:0 "${cmd[@]}") \
  >"$work/broker.log" 2>&1 &
pids+=($!)
port=$(listening_port "$work/broker.log" "${pids[0]}") || fail "the broker did not start"
grep -q '(store: sqlite:/var/lib/corvee/' "$work/broker.log" \
  || { cat "$work/broker.log"; fail "the broker's store is not in /var/lib/corvee"; }
export CORVEE_BROKER=tcp://127.0.0.1:$port

runuser -u corvee -- /usr/bin/corvee worker --builtin --slots 1 >"$work/worker.log" 2>&1 &
pids+=($!)
out=$(timeout 30 /usr/bin/corvee submit reverse hello --wait) \
  || { cat "$work/broker.log" "$work/worker.log"; fail "submit --wait failed (exit $?)"; }
[ "$out" = olleh ] || fail "submit reverse hello printed '$out', expected 'olleh'"
echo "deb_test: corvee submit reverse hello --wait: $out"
http_port=$(grep -o 'http on http://127.0.0.1:[0-9]*' "$work/broker.log" | grep -o '[0-9]*$') \
  || { cat "$work/broker.log"; fail "the broker printed no http line"; }
health=$(curl -s "localhost:$http_port/healthz") || fail "GET /healthz failed"
[ "$health" = '{"status":"ok"}' ] || fail "GET /healthz answered '$health'"
echo "deb_test: GET /healthz: $health"

for pid in "${pids[@]}"; do kill "$pid"; done
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
pids=()

DEBIAN_FRONTEND=noninteractive apt-get purge -y corvee >"$work/purge.log" 2>&1 \
  || { cat "$work/purge.log"; fail "apt-get purge failed"; }
installed=no
for p in /usr/bin/corvee /etc/corvee /var/lib/corvee "$unit"; do
  [ ! -e "$p" ] || fail "$p is left after purge"
done
status=$(dpkg-query -W -f='${Status}' corvee 2>/dev/null || true)
[ -z "$status" ] || [[ "$status" == *not-installed ]] || fail "corvee is still on the machine: $status"
echo "deb_test: ok"
