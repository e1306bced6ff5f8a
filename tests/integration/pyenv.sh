#!/usr/bin/env bash
# pyenv.sh FILE.py [ARGS...]: runs a Python test file inside the standard
# environment of lib.sh (a mock provider with implicit TLS and a daemon with
# a STARTTLS and an implicit-TLS listener; ports and identities exported),
# then checks that the daemon survived and exits 0 on SIGTERM, and that its
# log holds no secret. run.sh uses it for t_*.py.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

py=$1
shift
ar_init
ar_standard_env
timeout -k 5 "${PY_TIMEOUT:-200}" python3 "$py" "$@"
rc=$?
[ "$rc" -eq 124 ] && echo "not ok - ${py##*/}: timed out after ${PY_TIMEOUT:-200}s"
ar_check_daemon "${py##*/}: the daemon survived, exits 0 on SIGTERM" || rc=1
ar_check_secrets "${py##*/}: no secret in the daemon log" || rc=1
exit "$rc"
