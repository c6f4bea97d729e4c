# The GCP test server, for the t09xx tests: source after "$TESTLIB".
#
# gcp_start [server options] makes a service-account key pair (openssl),
# starts tests/helper/gcp-server.py on a free loopback port with the key's
# public half, writes the key file $GCP_KEY (its token_uri the server's
# /token) and points deploy at it: GOOGLE_APPLICATION_CREDENTIALS,
# CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE. Nothing reaches a real Google
# address: CLOUDSDK_CONFIG is an empty scratch directory and
# GCE_METADATA_HOST a closed loopback port unless a test says otherwise.
# The server logs each request as a JSON line to $GCP_LOG. gcp_stop ends
# it by PID (call it from the test's cleanup trap).

GCP_SERVER="$SRCDIR/tests/helper/gcp-server.py"
GCP_LOG="$TMP/gcp-requests.log"
GCP_PROJECT=deploy-test
GCP_EMAIL=deploy@deploy-test.iam.gserviceaccount.com
GCP_KEY="$TMP/sa.json"
GCP_USER_ID=deploy-test-client.apps.googleusercontent.com
GCP_USER_SECRET=d-ClientSecret-0123456789
GCP_USER_REFRESH=1//0gRefreshToken-0123456789abcdef
gcp_pid=

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# gcp_keypair NAME: $TMP/NAME.pem (private, PKCS#8) and $TMP/NAME.pub.
gcp_keypair() {
	[ -s "$TMP/$1.pem" ] && return 0
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$TMP/$1.pem" 2>/dev/null &&
		openssl pkey -in "$TMP/$1.pem" -pubout -out "$TMP/$1.pub" ||
		{ echo "openssl cannot make a key" >&2; exit 1; }
}

# gcp_key_file OUT EMAIL PEM TOKEN_URI: a service-account key file as the
# console writes it.
gcp_key_file() {
	jq -n --arg email "$2" --rawfile key "$3" --arg uri "$4" \
		--arg project "$GCP_PROJECT" '{
		type: "service_account", project_id: $project,
		private_key_id: "0123456789abcdef0123456789abcdef01234567",
		private_key: $key, client_email: $email,
		client_id: "100000000000000000001",
		auth_uri: "https://accounts.google.com/o/oauth2/auth",
		token_uri: $uri,
		auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
		client_x509_cert_url: "https://www.googleapis.com/robot/v1/metadata/x509/x",
		universe_domain: "googleapis.com"}' >"$1"
	chmod 600 "$1"
}

gcp_start() {
	command -v jq >/dev/null || { echo "jq is needed" >&2; exit 77; }
	python3 -c 'import cryptography' 2>/dev/null || {
		echo "python3's cryptography is needed" >&2
		exit 77
	}
	gcp_keypair sa
	rm -f "$TMP/gcp.port"
	python3 "$GCP_SERVER" --port-file "$TMP/gcp.port" --log "$GCP_LOG" \
		--project "$GCP_PROJECT" \
		--service-account "$GCP_EMAIL=$TMP/sa.pub" \
		--authorized-user "$GCP_USER_ID:$GCP_USER_SECRET:$GCP_USER_REFRESH" \
		"$@" 2>"$TMP/gcp-server.err" &
	gcp_pid=$!
	for _ in $(seq 600); do
		[ -s "$TMP/gcp.port" ] && break
		sleep 0.1
	done
	GCP_PORT=$(cat "$TMP/gcp.port" 2>/dev/null)
	[ -n "$GCP_PORT" ] || {
		echo "the GCP test server did not start" >&2
		cat "$TMP/gcp-server.err" >&2
		exit 1
	}
	GCP_URL=http://127.0.0.1:$GCP_PORT
	gcp_key_file "$GCP_KEY" "$GCP_EMAIL" "$TMP/sa.pem" "$GCP_URL/token"
	mkdir -p "$TMP/gcloud"
	export GOOGLE_APPLICATION_CREDENTIALS="$GCP_KEY"
	export CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE="$GCP_URL/compute/v1/"
	export CLOUDSDK_CONFIG="$TMP/gcloud"
	export GCE_METADATA_HOST="127.0.0.1:$(free_port)"
	export DEPLOY_GCP_RETRY_BASE_MS=20
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
	export no_proxy='*' NO_PROXY='*'
}

gcp_stop() {
	if [ -n "$gcp_pid" ]; then
		kill "$gcp_pid" 2>/dev/null
		wait "$gcp_pid" 2>/dev/null
	fi
	gcp_pid=
}

# gcp_ctl JSON: change the server's behaviour (see gcp-server.py).
gcp_ctl() {
	curl -sf -X POST --data "$1" "$GCP_URL/_test/control" >/dev/null ||
		fail "gcp_ctl $1"
}

# gcp_count API: how many logged requests were that discovery method
# ("compute.instances.insert", "oauth2.token", "metadata").
gcp_count() {
	jq -s --arg api "$1" '[.[] | select(.api == $api)] | length' "$GCP_LOG"
}

# expect_eq GOT WANT what
expect_eq() {
	checks=$((checks + 1))
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# expect_match FILE TEXT what: a line of FILE contains TEXT.
expect_match() {
	checks=$((checks + 1))
	if ! grep -qF -- "$2" "$1"; then
		fail "$3: no '$2' in $(basename "$1")"
		sed 's/^/  | /' "$1" >&2
	fi
}
