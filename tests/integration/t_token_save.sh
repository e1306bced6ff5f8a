#!/usr/bin/env bash
# t_token_save: a rotated refresh token that the disk refuses (a full
# state_dir) is kept in memory, used for the next refresh (the mock, like
# Microsoft with revocation, has killed the one on disk), shown in status
# and metrics, and written once the disk takes it again. Needs root (a
# small tmpfs as state_dir); otherwise one skip line.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
if [ "$(id -u)" != 0 ]; then
	ok "unsaved refresh token: skipped (not root: needs a tmpfs)"
	ar_summary
	exit 0
fi
M=$AR_TMP/relay/state
mkdir -p "$M"
mount -t tmpfs -o size=64k,mode=0700 tmpfs "$M" ||
    ar_die "cannot mount a tmpfs on $M"
ts_cleanup() {
	local rc=$?
	umount -l "$M" 2>/dev/null
	(exit "$rc")
	ar_cleanup
}
trap ts_cleanup EXIT

ar_start_mock rot --style microsoft --revoke-old
MP=$(ar_free_port)
AR_SERVER_EXTRA="upstream_idle_timeout = 0
metrics = 127.0.0.1:$MP" ar_start_daemon relay
# Fill the disk: the next token write fails with ENOSPC.
dd if=/dev/zero of="$M/fill" bs=4k count=64 2>/dev/null

relay() {
	python3 - "$1" <<'PY'
import sys
sys.path.insert(0, __import__("os").environ["AR_LIB_DIR"])
import arlib
d = arlib.relay_one(sys.argv[1])
if d:
    raise SystemExit(d)
PY
}

check "a message relays; the rotated refresh token cannot be saved" \
    "relay failed or no 'NOT saved ... kept in memory' line" \
    bash -c "$(declare -f relay); relay 'first' &&
    grep -q 'oauth account=sales new refresh token NOT saved: .*kept in memory' '$DAEMON_LOG'"

name="status and metrics say the refresh token is only in memory"
st=$("$AUTHRELAY" -c "$DAEMON_CONF" status --json)
mt=$(curl -s "http://127.0.0.1:$MP/metrics")
if ! printf '%s' "$st" | grep -q '"unsaved":true'; then
	not_ok "$name" "status --json has no \"unsaved\":true: $st"
elif ! printf '%s\n' "$mt" | grep -q '^authrelay_token_unsaved{account="sales"} 1$'; then
	not_ok "$name" "no authrelay_token_unsaved{account=\"sales\"} 1"
else
	ok "$name"
fi

ar_mock_control "smtp-reject 1"
check "the next refresh uses the token in memory (the one on disk is revoked): a message relays" \
    "relay failed" bash -c "$(declare -f relay); relay 'second'"

rm -f "$M/fill"
name="once the disk has room, the token is written within 35 s and the daemon says so"
n=70
until grep -q "oauth account=sales refresh token saved at last" "$DAEMON_LOG" ||
    [ "$n" -eq 0 ]; do
	sleep 0.5
	n=$((n - 1))
done
if grep -q "oauth account=sales refresh token saved at last" "$DAEMON_LOG"; then
	ok "$name"
else
	not_ok "$name" "no 'saved at last' line" "$DAEMON_LOG"
fi

name="after a restart the token on disk works (it is the newest)"
ar_stop "$DAEMON_PID"
ar_run_daemon "$DAEMON_DIR/authrelay-restart.log"
ar_mock_control "smtp-reject 1"
if bash -c "$(declare -f relay); relay 'third'"; then
	ok "$name"
else
	not_ok "$name" "relay failed after the restart" "$DAEMON_LOG"
fi

ar_check_daemon "t_token_save: the daemon survived, exits 0 on SIGTERM"
ar_check_oauth_secrets "t_token_save: no secret in the daemon logs"
ar_summary
