# Git repositories for the source tests (t06xx): source it after "$TESTLIB"
# (and "$SSHDLIB" when the test has one: it sets HOME).
#
# Repositories are made with the git command line in $TMP; the cache goes
# to $TMP/cache (XDG_CACHE_HOME), so the runner's own cache is never
# touched and everything goes when $TMP does.

XDG_CACHE_HOME=$TMP/cache
export XDG_CACHE_HOME
GIT_AUTHOR_NAME=deploy-test
GIT_AUTHOR_EMAIL=test@example.invalid
GIT_COMMITTER_NAME=deploy-test
GIT_COMMITTER_EMAIL=test@example.invalid
GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
export GIT_CONFIG_NOSYSTEM

# repo_init DIR: an empty repository whose branch is main.
repo_init() {
	git init -q -b main "$1" || exit 1
}

# repo_commit DIR MESSAGE [FILE CONTENT]...: write the files (making their
# directories), commit everything; prints nothing.
repo_commit() {
	_dir=$1
	_msg=$2
	shift 2
	while [ $# -ge 2 ]; do
		mkdir -p "$_dir/$(dirname "$1")"
		printf '%s\n' "$2" >"$_dir/$1"
		shift 2
	done
	git -C "$_dir" add -A && git -C "$_dir" commit -q -m "$_msg" ||
		exit 1
}

# repo_head DIR [REF]: the commit REF (default HEAD) names.
repo_head() {
	git -C "$1" rev-parse "${2:-HEAD}^{commit}"
}

# short COMMIT: the 12 digits deploy shows.
short() {
	printf '%.12s\n' "$1"
}

# lock_commit FILE NAME: the commit the lock file holds for NAME.
lock_commit() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
print(json.load(open(sys.argv[1]))["sources"][sys.argv[2]]["commit"])
EOF
}

# cache_repos: how many repositories the cache holds.
cache_repos() {
	find "$XDG_CACHE_HOME/deploy/git" -mindepth 2 -maxdepth 2 \
		-name repo.git 2>/dev/null | wc -l
}
