#!/bin/sh
# The bash completion (completions/deploy.bash), sourced in bash: it is
# registered for deploy, and completes commands, options, option values
# (--example's choices, --limit's roles and hosts, a list's last item) and
# ssh's host names from the topology in the current directory. The zsh one
# parses, when zsh is there.
. "$TESTLIB"

bindir=$TMP/bin
mkdir -p "$bindir"
ln -s "$DEPLOY" "$bindir/deploy"

cat >topology.yml <<'EOF'
version: 1
name: t
ssh: {admin_cidrs: [203.0.113.7/32]}
providers: {ssh: {}}
roles:
  validator: {hosts: [{name: val-1, address: 192.0.2.1}]}
  sentry:
    hosts: [{name: sen-1, address: 192.0.2.2}, {name: sen-2, address: 192.0.2.3}]
EOF

# complete WORDS...: the candidates bash offers for the last word (which
# may be ''), one a line, sorted.
complete_words() {
	PATH="$bindir:$PATH" bash -c '
		. "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_deploy deploy "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' sh "$SRCDIR/completions/deploy.bash" "$@" |
		LC_ALL=C sort
}

run bash -c '. "$1" && complete -p deploy' sh "$SRCDIR/completions/deploy.bash"
expect_rc 0 "complete -p deploy"
expect_line "$TMP/out" "complete -F _deploy deploy" "registered for deploy"

complete_words deploy up --li >got
echo "--limit" >expected
expect_same expected got "deploy up --li<TAB>"

complete_words deploy u >got
echo "unlock
up" >expected
expect_same expected got "deploy u<TAB>"

complete_words deploy up --limit '' >got
printf '%s\n' sen-1 sen-2 sentry val-1 validator >expected
expect_same expected got "deploy up --limit <TAB>: roles and hosts"

complete_words deploy plan -l val >got
printf '%s\n' val-1 validator >expected
expect_same expected got "deploy plan -l val<TAB>"

complete_words deploy up --limit validator,se >got
printf '%s\n' validator,sen-1 validator,sen-2 validator,sentry >expected
expect_same expected got "deploy up --limit validator,se<TAB>: the list's last item"

complete_words deploy run --limit '' >got
printf '%s\n' sen-1 sen-2 sentry val-1 validator >expected
expect_same expected got "deploy run --limit <TAB>"

complete_words deploy ssh '' >got
printf '%s\n' sen-1 sen-2 val-1 >expected
expect_same expected got "deploy ssh <TAB>: hosts"

complete_words deploy init --example '' >got
printf '%s\n' aws bare-metal gcp local multi-cloud >expected
expect_same expected got "deploy init --example <TAB>"

complete_words deploy help ss >got
printf '%s\n' ssh ssh-config >expected
expect_same expected got "deploy help ss<TAB>"

complete_words deploy validate top >got
echo topology.yml >expected
expect_same expected got "deploy validate top<TAB>: the topology file"

# Another topology named on the line is the one read.
sed 's/sentry/relay/; s/sen-/rel-/g' topology.yml >other.yml
complete_words deploy up other.yml --limit '' >got
printf '%s\n' rel-1 rel-2 relay val-1 validator >expected
expect_same expected got "--limit reads the topology named on the line"

# The hidden command stays hidden.
run "$DEPLOY" help
expect_no_match "$TMP/out" "__complete" "deploy help does not list __complete"

if command -v zsh >/dev/null 2>&1; then
	run zsh -n "$SRCDIR/completions/_deploy"
	expect_rc 0 "the zsh completion parses"
fi

finish
