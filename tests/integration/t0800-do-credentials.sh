#!/bin/sh
# The DigitalOcean token and endpoint (providers/digitalocean/credentials.h)
# through deploy-test-tool do-creds: the two variables, doctl's config file
# and its contexts (the provider block's, DIGITALOCEAN_CONTEXT, the file's
# own), the order between them, and the errors, which say where deploy
# looked and never show a token: every output is kept and searched for the
# tokens at the end.
. "$TESTLIB"
: "${TEST_TOOL:?TEST_TOOL must name deploy-test-tool}"

for v in DIGITALOCEAN_TOKEN DIGITALOCEAN_ACCESS_TOKEN DIGITALOCEAN_CONTEXT \
	DIGITALOCEAN_API_URL XDG_CONFIG_HOME; do
	unset "$v"
done
export HOME="$TMP/home"
CFG="$HOME/.config/doctl/config.yaml"
mkdir -p "$HOME/.config/doctl"

ENV_TOKEN='dop_v1_envtoken0123456789abcdef0123456789abcdef'
ACCESS_TOKEN='dop_v1_accesstoken0123456789abcdef0123456789ab'
DEF_TOKEN='dop_v1_defaulttoken0123456789abcdef0123456789a'
PROD_TOKEN='dop_v1_prodtoken0123456789abcdef0123456789abcd'
STAGE_TOKEN='dop_v1_stagetoken0123456789abcdef0123456789abc'
XDG_TOKEN='dop_v1_xdgtoken0123456789abcdef0123456789abcde'

mkdir -p "$TMP/bin"
printf '#!/bin/sh\nexec "%s" do-creds "$@"\n' "$TEST_TOOL" >"$TMP/bin/do-creds"
chmod +x "$TMP/bin/do-creds"
PATH=$TMP/bin:$PATH

# creds [VAR=VALUE]... do-creds [OPTION]...: run, keeping every output.
creds() {
	run env "$@"
	cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
}

sha() {
	printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# expect_out SOURCE TOKEN ENDPOINT what
expect_out() {
	printf 'source: %s\ntoken_sha256: %s\nendpoint: %s\n' "$1" \
		"$(sha "$2")" "$3" >"$TMP/want"
	expect_same "$TMP/want" "$TMP/out" "$4"
}

# --- nothing anywhere ------------------------------------------------------

creds do-creds
expect_rc 1 "no token"
expect_line "$TMP/err" "no DigitalOcean token: DIGITALOCEAN_TOKEN and DIGITALOCEAN_ACCESS_TOKEN are unset, $CFG has none for context 'default' (set DIGITALOCEAN_TOKEN, or run 'doctl auth init')" "no token"

# --- the environment -------------------------------------------------------

creds DIGITALOCEAN_TOKEN="$ENV_TOKEN" DIGITALOCEAN_ACCESS_TOKEN="$ACCESS_TOKEN" do-creds
expect_rc 0 "both variables"
expect_out DIGITALOCEAN_TOKEN "$ENV_TOKEN" https://api.digitalocean.com \
	"DIGITALOCEAN_TOKEN first"

creds DIGITALOCEAN_TOKEN= DIGITALOCEAN_ACCESS_TOKEN="$ACCESS_TOKEN" do-creds
expect_rc 0 "access token"
expect_out DIGITALOCEAN_ACCESS_TOKEN "$ACCESS_TOKEN" \
	https://api.digitalocean.com "an empty DIGITALOCEAN_TOKEN is unset"

creds DIGITALOCEAN_TOKEN="bad token" do-creds
expect_rc 1 "token with a space"
expect_line "$TMP/err" "DIGITALOCEAN_TOKEN holds a character a token cannot (a space, a newline or a control character)" "token with a space"

# --- doctl's config file -----------------------------------------------------

cat >"$CFG" <<EOF2
access-token: $DEF_TOKEN
auth-contexts:
  prod: $PROD_TOKEN
  stage: $STAGE_TOKEN
  empty: ""
context: default
output: text
EOF2

creds do-creds
expect_rc 0 "doctl default"
expect_out "doctl context 'default' in $CFG" "$DEF_TOKEN" \
	https://api.digitalocean.com "doctl default context"

creds DIGITALOCEAN_TOKEN="$ENV_TOKEN" do-creds
expect_rc 0 "environment before doctl"
expect_out DIGITALOCEAN_TOKEN "$ENV_TOKEN" https://api.digitalocean.com \
	"the environment comes before doctl's file"

creds DIGITALOCEAN_CONTEXT=prod do-creds
expect_rc 0 "DIGITALOCEAN_CONTEXT"
expect_out "doctl context 'prod' in $CFG" "$PROD_TOKEN" \
	https://api.digitalocean.com "DIGITALOCEAN_CONTEXT picks the context"

creds DIGITALOCEAN_CONTEXT=prod DIGITALOCEAN_TOKEN="$ENV_TOKEN" \
	do-creds --context stage
expect_rc 0 "block context"
expect_out "doctl context 'stage' in $CFG" "$STAGE_TOKEN" \
	https://api.digitalocean.com \
	"a context named in the block wins over the environment"

creds DIGITALOCEAN_CONTEXT=qa do-creds
expect_rc 1 "unknown context"
expect_line "$TMP/err" "$CFG: doctl context 'qa' (from DIGITALOCEAN_CONTEXT) is not in the file (contexts there: default, prod, stage, empty)" "unknown context"

creds do-creds --context empty
expect_rc 1 "context without token"
expect_line "$TMP/err" "no DigitalOcean token: $CFG has none for context 'empty' (set DIGITALOCEAN_TOKEN, or run 'doctl auth init' --context with that name)" "context without a token"

sed -i 's/^context: default/context: stage/' "$CFG"
creds do-creds
expect_rc 0 "the file's context"
expect_out "doctl context 'stage' in $CFG" "$STAGE_TOKEN" \
	https://api.digitalocean.com "the file's own context: key"

printf 'access-token: "two words"\n' >"$CFG"
creds do-creds
expect_rc 1 "malformed token in the file"
expect_line "$TMP/err" "$CFG:1:15: the token of doctl context 'default' is not a token (it holds a space, a newline or a control character)" "malformed token"

printf 'access-token: [unclosed\n' >"$CFG"
creds do-creds
expect_rc 1 "malformed file"
grep -q "^$CFG:" "$TMP/err" || fail "a malformed file is named: $(cat "$TMP/err")"

mkdir -p "$TMP/xdg/doctl"
printf 'access-token: %s\n' "$XDG_TOKEN" >"$TMP/xdg/doctl/config.yaml"
creds XDG_CONFIG_HOME="$TMP/xdg" do-creds
expect_rc 0 "XDG_CONFIG_HOME"
expect_out "doctl context 'default' in $TMP/xdg/doctl/config.yaml" \
	"$XDG_TOKEN" https://api.digitalocean.com "XDG_CONFIG_HOME"

# --- the endpoint ------------------------------------------------------------

creds DIGITALOCEAN_TOKEN="$ENV_TOKEN" \
	DIGITALOCEAN_API_URL=http://127.0.0.1:9/ do-creds
expect_rc 0 "DIGITALOCEAN_API_URL"
expect_out DIGITALOCEAN_TOKEN "$ENV_TOKEN" http://127.0.0.1:9 \
	"DIGITALOCEAN_API_URL, trailing slash dropped"

creds DIGITALOCEAN_TOKEN="$ENV_TOKEN" \
	DIGITALOCEAN_API_URL=http://127.0.0.1:9 do-creds \
	--block-endpoint https://do.example.test/api
expect_rc 0 "block endpoint"
expect_out DIGITALOCEAN_TOKEN "$ENV_TOKEN" https://do.example.test/api \
	"the block's endpoint wins"

creds DIGITALOCEAN_TOKEN="$ENV_TOKEN" DIGITALOCEAN_API_URL=ftp://x do-creds
expect_rc 1 "bad endpoint"
expect_line "$TMP/err" "DIGITALOCEAN_API_URL 'ftp://x' is not an http or https URL" "bad endpoint"

# --- no token ever shown -----------------------------------------------------

for t in "$ENV_TOKEN" "$ACCESS_TOKEN" "$DEF_TOKEN" "$PROD_TOKEN" \
	"$STAGE_TOKEN" "$XDG_TOKEN"; do
	expect_no_match "$TMP/all-output" "$t" "a token in the output"
done

finish
