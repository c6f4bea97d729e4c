#!/bin/sh
# deploy-test-tool mustache: the template engine in the spec's mode (HTML
# escaping, missing names render empty), byte for byte.

. "$TESTLIB"
: "${TEST_TOOL:?TEST_TOOL must name deploy-test-tool}"

# --- sections, dotted names, escaping, numbers and standalone lines -------

cat >hosts.mustache <<'EOF'
# {{site.name}} ({{{site.owner}}})
{{#hosts}}
  {{! one line per host, the comment line disappears }}
host {{name}} {{addr}}:{{port}} weight={{weight}}
  {{#tags}}
    tag {{.}}
  {{/tags}}
  {{^tags}}
    untagged
  {{/tags}}
{{/hosts}}
{{^hosts}}no hosts{{/hosts}}
note: {{note}}|{{missing.value}}|
EOF
cat >hosts.json <<'EOF'
{
  "site": {"name": "edge", "owner": "ops <ops@example.com>"},
  "port": 443,
  "note": "a & b < \"c\"",
  "hosts": [
    {"name": "web-1", "addr": "10.0.0.1", "weight": 1.50, "tags": ["a", "b"]},
    {"name": "web-2", "addr": "10.0.0.2", "weight": 2, "tags": [],
     "port": 8443}
  ]
}
EOF
printf '%s\n' \
	'# edge (ops <ops@example.com>)' \
	'host web-1 10.0.0.1:443 weight=1.5' \
	'    tag a' \
	'    tag b' \
	'host web-2 10.0.0.2:8443 weight=2' \
	'    untagged' \
	'' \
	'note: a &amp; b &lt; &quot;c&quot;||' >hosts.expected

run "$TEST_TOOL" mustache --template hosts.mustache --data hosts.json
expect_rc 0 "sections and names"
expect_same hosts.expected "$TMP/out" "sections and names"

# --- CRLF standalone lines -----------------------------------------------

printf 'a\r\n{{#on}}\r\n[{{v}}]\r\n{{/on}}\r\nz' >crlf.mustache
printf '{"on": true, "v": "x"}' >crlf.json
printf 'a\r\n[x]\r\nz' >crlf.expected
run "$TEST_TOOL" mustache --template crlf.mustache --data crlf.json
expect_rc 0 "crlf standalone lines"
expect_same crlf.expected "$TMP/out" "crlf standalone lines"

# --- partials: indentation, recursion, delimiters ------------------------

cat >page.mustache <<'EOF'
<ul>
  {{>items}}
</ul>
{{=<% %>=}}
<%>footer%> {{literal}}
EOF
cat >page.json <<'EOF'
{"name": "root", "kids": [
  {"name": "a", "kids": []},
  {"name": "b", "kids": [{"name": "c", "kids": []}]}
], "year": 2024}
EOF
cat >page-partials.json <<'EOF'
{
  "items": "{{#kids}}\n<li>{{name}}</li>\n{{>sub}}\n{{/kids}}\n",
  "sub": "{{#kids}}\n  <li>{{name}}</li>\n{{/kids}}\n",
  "footer": "(c) {{year}}"
}
EOF
printf '%s\n' \
	'<ul>' \
	'  <li>a</li>' \
	'  <li>b</li>' \
	'    <li>c</li>' \
	'</ul>' \
	'(c) 2024 {{literal}}' >page.expected

run "$TEST_TOOL" mustache --template page.mustache --data page.json \
	--partials page-partials.json
expect_rc 0 "partials"
expect_same page.expected "$TMP/out" "partials"

# a partial that is not in the file renders empty in the spec's mode
printf '[{{>nowhere}}]' >nopartial.mustache
printf '{}' >empty.json
run "$TEST_TOOL" mustache --template nopartial.mustache --data empty.json \
	--partials page-partials.json
expect_rc 0 "missing partial"
printf '[]' >nopartial.expected
expect_same nopartial.expected "$TMP/out" "missing partial"

# --- errors --------------------------------------------------------------

run "$TEST_TOOL" mustache --template nothere.mustache --data empty.json
expect_rc 1 "missing template file"
expect_line "$TMP/err" \
	"deploy-test-tool: nothere.mustache: cannot read: not found" \
	"missing template file"

printf 'ok\n  {{#open}}\n' >unclosed.mustache
run "$TEST_TOOL" mustache --template unclosed.mustache --data empty.json
expect_rc 1 "unclosed section"
expect_line "$TMP/err" \
	"deploy-test-tool: unclosed.mustache:2:3: unclosed section 'open'" \
	"unclosed section"

printf '{"loop": "{{>loop}}"}' >loop.json
printf '{{>loop}}' >loop.mustache
run "$TEST_TOOL" mustache --template loop.mustache --data empty.json \
	--partials loop.json
expect_rc 1 "recursive partial"
expect_line "$TMP/err" \
	"deploy-test-tool: loop:1:1: partial 'loop' nested deeper than 100 (recursive partial?)" \
	"recursive partial"

printf '{"a": ' >bad.json
run "$TEST_TOOL" mustache --template hosts.mustache --data bad.json
expect_rc 1 "bad JSON"
expect_line "$TMP/err" "deploy-test-tool: bad.json: not valid JSON" "bad JSON"

run "$TEST_TOOL" mustache --template hosts.mustache
expect_rc 64 "no --data"
expect_no_match "$TMP/out" "edge" "no output on a usage error"

run "$TEST_TOOL" mustache --template hosts.mustache --data hosts.json --bogus
expect_rc 64 "unknown option"

finish
