# Shared by the install scripts: one progress line per step on the terminal, the full output
# of every step in var/install.log, and on failure the step's name, the log's path and its
# last lines, so a failed install says what failed and where to read why.
INSTALL_LOG="${HOTLINE_INSTALL_LOG:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/var/install.log}"
mkdir -p "$(dirname "$INSTALL_LOG")"

# step "what it does" command [args...]
step() {
  local what="$1"; shift
  printf '%s ... ' "$what"
  { echo "==== $(date -u +%FT%TZ) $what: $*"; } >>"$INSTALL_LOG"
  if "$@" >>"$INSTALL_LOG" 2>&1; then
    echo "done"
  else
    local rc=$?
    echo "FAILED (exit $rc)"
    echo "---- last lines of $INSTALL_LOG:" >&2
    tail -n 20 "$INSTALL_LOG" >&2
    echo "---- the whole output is in $INSTALL_LOG" >&2
    exit "$rc"
  fi
}
