# AWS test servers, for the t07xx tests: source after "$TESTLIB".
#
# aws_start starts moto_server on a free loopback port with
# INITIAL_NO_AUTH_ACTION_COUNT=3, so that after the three calls that make
# the test's IAM user (tests/helper/moto-setup.py) moto checks the SigV4
# signature of every request; then a proxy in front of it
# (tests/helper/aws-proxy.py, arguments passed on) that logs each call's
# Action to $AWS_LOG. deploy is pointed at the proxy through
# AWS_ENDPOINT_URL and signs with the IAM user's keys from the
# environment. Both servers are ended by PID in aws_stop (call it from the
# test's cleanup trap).

AWS_HELPERS="$SRCDIR/tests/helper"
AWS_LOG="$TMP/aws-calls.log"
moto_pid=
proxy_pid=

# A python3 with moto: the one on PATH, else pyenv's (lib.sh takes
# pyenv's shims off PATH; CI runs without root's login PATH). Named by its
# interpreter, not by a shim, which costs seconds per start.
aws_python() {
	for py in python3 "$HOME/.pyenv/shims/python3" \
		/root/.pyenv/shims/python3 /root/.pyenv/versions/*/bin/python3; do
		if command -v "$py" >/dev/null 2>&1 &&
			"$py" -c 'import moto, boto3, sys; print(sys.executable)' \
				2>/dev/null; then
			return 0
		fi
	done
	return 1
}

free_port() {
	"$AWS_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something listens there (60 s at most: moto
# starts slowly on a busy machine).
wait_port() {
	i=0
	while [ $i -lt 600 ]; do
		if "$AWS_PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

aws_start() {
	AWS_PY=$(aws_python) || {
		echo "moto and boto3 are needed (python3 -m pip install moto[server])" >&2
		exit 77
	}
	MOTO_PORT=$(free_port)
	INITIAL_NO_AUTH_ACTION_COUNT=3 "$AWS_PY" -m moto.server -H 127.0.0.1 \
		-p "$MOTO_PORT" >"$TMP/moto.log" 2>&1 &
	moto_pid=$!
	wait_port "$MOTO_PORT" || { echo "moto_server did not start" >&2; cat "$TMP/moto.log" >&2; exit 1; }
	MOTO_URL="http://127.0.0.1:$MOTO_PORT"
	keys=$("$AWS_PY" "$AWS_HELPERS/moto-setup.py" "$MOTO_URL") || {
		echo "moto-setup.py failed" >&2
		exit 1
	}
	AWS_ACCESS_KEY_ID=${keys% *}
	AWS_SECRET_ACCESS_KEY=${keys#* }
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION AWS_ENDPOINT_URL_EC2
	export AWS_REGION=us-east-1
	export AWS_EC2_METADATA_DISABLED=true
	export AWS_SHARED_CREDENTIALS_FILE="$TMP/no-aws-credentials"
	export AWS_CONFIG_FILE="$TMP/no-aws-config"
	export DEPLOY_AWS_RETRY_BASE_MS=20
	aws_proxy_start "$@"
}

# aws_proxy_start [proxy options]: (re)start the proxy in front of moto.
aws_proxy_start() {
	aws_proxy_stop
	rm -f "$TMP/proxy.port"
	"$AWS_PY" "$AWS_HELPERS/aws-proxy.py" --upstream "127.0.0.1:$MOTO_PORT" \
		--port-file "$TMP/proxy.port" --log "$AWS_LOG" "$@" \
		>"$TMP/proxy.out" 2>&1 &
	proxy_pid=$!
	i=0
	while [ ! -s "$TMP/proxy.port" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	export AWS_ENDPOINT_URL="http://127.0.0.1:$(cat "$TMP/proxy.port")"
}

aws_proxy_stop() {
	if [ -n "$proxy_pid" ]; then
		kill "$proxy_pid" 2>/dev/null
		wait "$proxy_pid" 2>/dev/null
		proxy_pid=
	fi
}

aws_stop() {
	aws_proxy_stop
	if [ -n "$moto_pid" ]; then
		kill "$moto_pid" 2>/dev/null
		wait "$moto_pid" 2>/dev/null
		moto_pid=
	fi
}

# aws_query NAME: what moto holds of topology NAME (boto3, not deploy).
aws_query() {
	"$AWS_PY" "$AWS_HELPERS/aws-query.py" "$MOTO_URL" "${2:-us-east-1}" "$1"
}

# aws_mutating: the mutating calls logged since the log was last cleared.
aws_mutating() {
	grep -v '^Describe' "$AWS_LOG" 2>/dev/null || true
}
