# Sourced by the shell tests. listening_port LOG PID: waits (up to 10 s) for the broker writing LOG
# with pid PID to print its "listening on" line, and prints the port; fails, showing LOG, when the
# broker exits first or the line never comes.
listening_port() {
  local log=$1 pid=$2 port=
  for _ in $(seq 200); do
    port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "the broker exited" >&2; return 1; }
    sleep 0.05
  done
  cat "$log" >&2
  echo "no 'listening on' line from the broker" >&2
  return 1
}
