# deploy playbook runtime (POSIX sh: dash, bash --posix, busybox ash).
#
# core/playbook/compile.c puts this library after a few settings (DP_NONCE,
# DP_STEPS, DP_HANDLERS, DP_CHECK, DP_NOTIFY_DIR, DP_DIFF), then a function _dp_main
# with one line per step and handler, then the call of _dp_main. A script
# cut short in transit therefore runs nothing: the call is its last line.
#
# Conventions:
#  - every name is _dp_* (internal) or dp_* (a step kind);
#  - every value arrives as one single-quoted word from the compiler;
#  - a step kind returns 0 having set _dp_st to ok, changed or skipped, or
#    non-zero with _dp_msg saying why; it changes nothing when DP_CHECK=1;
#  - step kinds run with stdin from /dev/null, stdout on stderr and fd 3
#    closed: only _dp_mark writes to stdout, so stdout holds nothing but
#    marker lines (docs/playbooks.md, "Progress markers");
#  - messages hold no value from the playbook, except in steps the
#    compiler did not mark quiet (a secret's value is never in one).

_dp_nl='
'
_dp_tmp=
_dp_pdirs=
_dp_pn=0
_dp_cn=
_dp_wl=
_dp_fresh=
_dp_bak=
_dp_bak_for=
_dp_pending=' '
_dp_post=
_dp_dif=
_dp_repaired=
: "${DP_DIFF:=0}"
PATH=${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# _dp_mark TEXT...: one marker line; newlines in TEXT become spaces.
_dp_mark() {
	_dp_m=$*
	case $_dp_m in
	*[[:cntrl:]]*)
		_dp_m=$(printf '%s' "$_dp_m" | tr '\r\n' '  ')
		;;
	esac
	printf '@@deploy %s %s\n' "$DP_NONCE" "$_dp_m" >&3
}

# Remove what a step left half done: a temporary file, and a file whose
# validation did not finish (the previous one comes back).
_dp_cleanup() {
	if [ -n "$_dp_bak_for" ]; then
		if [ -n "$_dp_bak" ]; then
			mv -f -- "$_dp_bak" "$_dp_bak_for"
		else
			rm -f -- "$_dp_bak_for"
		fi
		_dp_bak=
		_dp_bak_for=
	fi
	if [ -n "$_dp_tmp" ]; then
		rm -f -- "$_dp_tmp"
		_dp_tmp=
	fi
	if [ -n "$_dp_bak" ]; then
		rm -f -- "$_dp_bak"
		_dp_bak=
	fi
}

_dp_begin() {
	if [ "${1-}" = --check ]; then
		DP_CHECK=1
	fi
	_dp_rb_files=
	_dp_rb_ntf=
	exec 3>&1 1>&2
	trap '_dp_cleanup; _dp_rmdirs' EXIT
	trap '_dp_cleanup; _dp_rmdirs; trap - EXIT; exit 129' HUP
	trap '_dp_cleanup; _dp_rmdirs; trap - EXIT; exit 130' INT
	trap '_dp_cleanup; _dp_rmdirs; trap - EXIT; exit 141' PIPE
	trap '_dp_cleanup; _dp_rmdirs; trap - EXIT; exit 143' TERM
	umask 022
	if [ "$DP_CHECK" = 1 ]; then
		_dp_mark "start $DP_STEPS $DP_HANDLERS check"
	else
		_dp_mark "start $DP_STEPS $DP_HANDLERS apply"
	fi
}

_dp_end() {
	_dp_mark "end ok"
	exit 0
}

_dp_failed() {
	_dp_mark "end failed"
	exit 1
}

# _dp_changed WHAT: record a change; true in check mode, where the caller
# stops short of making it:  _dp_changed created || mkdir ... || return 1
_dp_changed() {
	_dp_fresh=
	_dp_st=changed
	_dp_msg=${_dp_msg:+$_dp_msg, }$1
	[ "$DP_CHECK" = 1 ]
}

# _dp_notify KEY...: remember that handlers KEY... are to run, in a file
# each, so that a failure later in this run does not lose it.
_dp_notify() {
	for _dp_k; do
		case $_dp_pending in
		*" $_dp_k "*) ;;
		*) _dp_pending="$_dp_pending$_dp_k " ;;
		esac
	done
	if [ "$DP_CHECK" = 1 ]; then
		return 0
	fi
	mkdir -p -- "$DP_NOTIFY_DIR" || return 1
	for _dp_k; do
		: >"$DP_NOTIFY_DIR/$_dp_k" || return 1
	done
}

# _dp_report WHAT OF: the end of step (or handler) _dp_n of OF, as the
# marker "WHAT N/OF STATUS[ MESSAGE]" from _dp_rc, _dp_st and _dp_msg (no
# message when quiet); a failure ends the script.
_dp_report() {
	if [ "$_dp_rc" -ne 0 ]; then
		_dp_st=failed
		_dp_msg=${_dp_msg:-exit status $_dp_rc}
	fi
	if [ "$_dp_quiet" = 1 ]; then
		_dp_msg=
	fi
	_dp_mark "$1 $_dp_n/$2 $_dp_st${_dp_msg:+ $_dp_msg}"
	if [ "$_dp_st" = failed ]; then
		_dp_failed
	fi
}

# _dp_step N NAME NOTIFY QUIET KIND ARGS...: run one step, print its markers;
# the first failed step ends the script.
_dp_step() {
	_dp_n=$1
	_dp_name=$2
	_dp_ntf=$3
	_dp_quiet=$4
	shift 4
	_dp_mark "step $_dp_n/$DP_STEPS begin $_dp_name"
	_dp_st=ok
	_dp_msg=
	_dp_dif=
	_dp_cn=$_dp_n
	"$@" 3>&- </dev/null
	_dp_rc=$?
	_dp_cn=
	# What _dp_look saw holds after the kinds that only look at files
	# when they change nothing (a change, or code run, drops it).
	case $1 in
	dp_file | dp_sysctl | dp_directory | dp_line | dp_shell | dp_command) ;;
	*) _dp_fresh= ;;
	esac
	_dp_cleanup
	if [ -n "$_dp_dif" ]; then
		_dp_show_diff
	fi
	if [ "$_dp_rc" -eq 0 ] && [ "$_dp_st" = changed ] &&
		[ -n "$_dp_ntf" ]; then
		# shellcheck disable=SC2086 # keys are words without blanks
		if ! _dp_notify $_dp_ntf; then
			_dp_rc=1
			_dp_msg="cannot record the notification"
		fi
	fi
	_dp_report step "$DP_STEPS"
}

# _dp_wants_diff: whether this step shows the diff of a file it changes
# (DP_DIFF=1, and the step is not quiet: its content holds no secret).
_dp_wants_diff() {
	[ "$DP_DIFF" = 1 ] && [ "$_dp_quiet" != 1 ]
}

# _dp_diff PATH: the unified diff of PATH (of nothing, when it is missing)
# against the new content on stdin, at most 201 lines; callers keep it in
# _dp_dif for _dp_step to send as "diff" markers. Writes no file, so check
# mode may use it.
_dp_diff() {
	if ! command -v diff >/dev/null 2>&1; then
		cat >/dev/null
		echo "(no diff: the host has no diff command)"
		return 0
	fi
	_dp_old=$1
	if [ ! -e "$_dp_old" ]; then
		_dp_old=/dev/null
	fi
	diff -u --label "$1" --label "$1" -- "$_dp_old" - | head -n 201
}

# _dp_show_diff: _dp_dif as "step N/STEPS diff LINE" markers, at most 200.
_dp_show_diff() {
	printf '%s\n' "$_dp_dif" | {
		_dp_i=0
		while IFS= read -r _dp_l; do
			_dp_i=$((_dp_i + 1))
			if [ "$_dp_i" -gt 200 ]; then
				_dp_mark "step $_dp_n/$DP_STEPS diff (cut at 200 lines)"
				break
			fi
			_dp_mark "step $_dp_n/$DP_STEPS diff $_dp_l"
		done
	}
	_dp_dif=
}

# _dp_skip N NAME WHY: a step whose when: is false.
_dp_skip() {
	_dp_mark "step $1/$DP_STEPS begin $2"
	_dp_mark "step $1/$DP_STEPS skipped $3"
}

# _dp_pending KEY: whether handler KEY was notified, now or in a run that
# did not get as far as running it.
_dp_is_pending() {
	case $_dp_pending in
	*" $1 "*) return 0 ;;
	esac
	[ -e "$DP_NOTIFY_DIR/$1" ]
}

# _dp_handler N NAME KEY QUIET KIND ARGS...: run a notified handler once;
# its notification goes only when it succeeded.
_dp_handler() {
	_dp_n=$1
	_dp_name=$2
	_dp_key=$3
	_dp_quiet=$4
	shift 4
	if ! _dp_is_pending "$_dp_key"; then
		return 0
	fi
	_dp_mark "handler $_dp_n/$DP_HANDLERS begin $_dp_name"
	_dp_st=ok
	_dp_msg=
	"$@" 3>&- </dev/null
	_dp_rc=$?
	_dp_cleanup
	if [ "$_dp_rc" -eq 0 ] && [ "$DP_CHECK" != 1 ]; then
		if ! rm -f -- "$DP_NOTIFY_DIR/$_dp_key"; then
			_dp_rc=1
			_dp_msg="cannot remove the notification"
		fi
	fi
	_dp_report handler "$DP_HANDLERS"
}

# _dp_handler_skip N NAME KEY WHY: a notified handler whose when: is false
# on this host; the notification is dropped.
_dp_handler_skip() {
	if ! _dp_is_pending "$3"; then
		return 0
	fi
	_dp_mark "handler $1/$DP_HANDLERS begin $2"
	if [ "$DP_CHECK" != 1 ]; then
		rm -f -- "$DP_NOTIFY_DIR/$3"
	fi
	_dp_mark "handler $1/$DP_HANDLERS skipped $4"
}

# Files

# _dp_sha FILE: the file's SHA-256 in hex, in _dp_h.
_dp_sha() {
	_dp_h=$(sha256sum <"$1") || return 1
	_dp_h=${_dp_h%% *}
}

# What the steps look at, seen at once. The compiler lists, at the top of
# _dp_main, each step that checks a file or directory it names:
#   _dp_want N FLAGS PATH...  (FLAGS: s its SHA-256, a its mode and owner)
# The first such step that finds its file there has _dp_look read every
# listed file from that step on: one sha256sum and one stat for all of
# them, instead of one or more of each a step. What they saw holds until a
# step changes something or runs code (_dp_fresh is emptied); the next
# step that needs it looks again. Paths with a backslash and symbolic
# links are left to the step itself.
_dp_want() {
	while [ $# -ge 3 ]; do
		eval "_dp_wp_$1=\$3 _dp_ww_$1=\$2"
		_dp_wl="$_dp_wl $1"
		shift 3
	done
}

# _dp_pop: the first line of _dp_o into _dp_l (false when none is left).
_dp_pop() {
	case $_dp_o in
	'') return 1 ;;
	*"$_dp_nl"*)
		_dp_l=${_dp_o%%"$_dp_nl"*}
		_dp_o=${_dp_o#*"$_dp_nl"}
		;;
	*)
		_dp_l=$_dp_o
		_dp_o=
		;;
	esac
}

# _dp_look N: what the listed steps from N on will need, in _dp_hs_K
# (digest) and _dp_sa_K ("MODE UID GID USER GROUP"), K a step's number.
_dp_look() {
	_dp_fresh=1
	_dp_from=$1
	_dp_ks=
	_dp_ns=
	_dp_na=
	set --
	for _dp_k in $_dp_wl; do
		[ "$_dp_k" -ge "$_dp_from" ] || continue
		_dp_q=
		_dp_f=
		eval "_dp_q=\$_dp_wp_$_dp_k _dp_f=\$_dp_ww_$_dp_k"
		eval "_dp_hs_$_dp_k= _dp_sa_$_dp_k="
		case $_dp_q in
		*\\*) continue ;;
		esac
		if [ -L "$_dp_q" ] || ! [ -e "$_dp_q" ]; then
			continue
		fi
		case $_dp_f in
		*s*) _dp_ns=1 ;;
		esac
		case $_dp_f in
		*a*) _dp_na=1 ;;
		esac
		_dp_ks="$_dp_ks $_dp_k"
		set -- "$@" "$_dp_q"
	done
	if [ -n "$_dp_ns" ]; then
		_dp_o=$(sha256sum -- "$@" 2>/dev/null)
		_dp_l=
		_dp_pop
		for _dp_k in $_dp_ks; do
			eval "_dp_q=\$_dp_wp_$_dp_k"
			if [ -n "$_dp_l" ] && [ "${_dp_l#*  }" = "$_dp_q" ]; then
				eval "_dp_hs_$_dp_k=\${_dp_l%% *}"
				_dp_l=
				_dp_pop
			fi
		done
	fi
	if [ -n "$_dp_na" ]; then
		_dp_o=$(stat -c '%a %u %g %U %G %n' -- "$@" 2>/dev/null)
		_dp_l=
		_dp_pop
		for _dp_k in $_dp_ks; do
			eval "_dp_q=\$_dp_wp_$_dp_k"
			_dp_x=${_dp_l#* * * * * }
			if [ -n "$_dp_l" ] && [ "$_dp_x" = "$_dp_q" ]; then
				_dp_x=${_dp_l%" $_dp_x"}
				eval "_dp_sa_$_dp_k=\$_dp_x"
				_dp_l=
				_dp_pop
			fi
		done
	fi
	_dp_o=
}

# _dp_seen WHAT PATH: what _dp_look saw of PATH for the running step
# (WHAT: hs digest, sa mode and owner), in _dp_x; false when it did not.
_dp_seen() {
	[ -n "$_dp_cn" ] || return 1
	eval "_dp_x=\${_dp_wp_$_dp_cn-}"
	[ -n "$_dp_x" ] && [ "$_dp_x" = "$2" ] || return 1
	if [ -z "$_dp_fresh" ]; then
		_dp_look "$_dp_cn"
	fi
	eval "_dp_x=\${_dp_$1_$_dp_cn-}"
	[ -n "$_dp_x" ]
}

# _dp_digest FILE: FILE's SHA-256 in _dp_h, as seen or read now.
_dp_digest() {
	if _dp_seen hs "$1"; then
		_dp_h=$_dp_x
		return 0
	fi
	_dp_sha "$1"
}

# _dp_stat FILE: its mode, owner and group in _dp_am, _dp_au (number),
# _dp_aU (name), _dp_ag, _dp_aG, as seen or with one stat now.
_dp_stat() {
	if ! _dp_seen sa "$1"; then
		_dp_x=$(stat -c '%a %u %g %U %G' -- "$1") || return 1
	fi
	_dp_am=${_dp_x%% *}
	_dp_x=${_dp_x#* }
	_dp_au=${_dp_x%% *}
	_dp_x=${_dp_x#* }
	_dp_ag=${_dp_x%% *}
	_dp_x=${_dp_x#* }
	_dp_aU=${_dp_x%% *}
	_dp_aG=${_dp_x#* }
}

# _dp_mktemp PATH [MODE]: a name for a new file beside PATH, in _dp_tmp:
# in a directory of this run's own there (mode 0700, made once a directory
# and removed at the end), so the file may be made with its final mode at
# once: with MODE (octal; empty for 0644), _dp_um is the umask that makes
# it so, when one can. When that directory cannot be made, a file from
# mktemp (0600) and no _dp_um.
_dp_mktemp() {
	_dp_um=
	_dp_pd=${1%/*}/.deploy.$DP_NONCE
	case $_dp_nl$_dp_pdirs in
	*"$_dp_nl$_dp_pd$_dp_nl"*) ;;
	*)
		if mkdir -m 700 -- "$_dp_pd" 2>/dev/null; then
			_dp_pdirs="$_dp_pdirs$_dp_pd$_dp_nl"
		else
			_dp_tmp=$(mktemp "${1%/*}/.deploy.XXXXXXXX") || {
				_dp_tmp=
				_dp_msg="cannot create a temporary file"
				return 1
			}
			return 0
		fi
		;;
	esac
	_dp_pn=$((_dp_pn + 1))
	_dp_tmp=$_dp_pd/$_dp_pn
	if [ $# -ge 2 ]; then
		_dp_umask "$2" || _dp_um=
	fi
}

# _dp_rmdirs: remove the directories _dp_mktemp made.
_dp_rmdirs() {
	if [ -n "$_dp_pdirs" ]; then
		_dp_ifs=$IFS
		IFS=$_dp_nl
		set -f
		# shellcheck disable=SC2086 # one path a line
		rmdir -- $_dp_pdirs 2>/dev/null
		set +f
		IFS=$_dp_ifs
		_dp_pdirs=
	fi
}

# _dp_umask MODE: the umask that makes new files MODE (or 0644 when MODE
# is empty), in _dp_um; false when no umask can (execute or special bits).
_dp_umask() {
	case ${1:-644} in
	[0246][0246][0246])
		_dp_x=${1:-644}
		_dp_um=$((6 - ${_dp_x%??}))
		_dp_x=${_dp_x#?}
		_dp_um=0$_dp_um$((6 - ${_dp_x%?}))$((6 - ${_dp_x#?}))
		;;
	*) return 1 ;;
	esac
}

# _dp_write FILE CONTENT: write CONTENT (":TEXT", or base64) to the new
# file FILE, with the umask _dp_um when it is set.
_dp_write() {
	umask "${_dp_um:-077}"
	case $2 in
	:*) printf '%s' "${2#:}" >"$1" ;;
	@=*) cp -- "${2#@=}" "$1" ;;
	@*) mv -f -- "${2#@}" "$1" && _dp_unstage "${2#@}" ;;
	*) printf '%s' "$2" | base64 -d >"$1" ;;
	esac
	_dp_x=$?
	umask 022
	return "$_dp_x"
}

# _dp_attrs FILE MODE OWNER GROUP: set those given (owner first: chown
# clears the set-user-ID bit).
_dp_attrs() {
	if [ -n "$3" ]; then
		chown -- "$3${4:+:$4}" "$1" || return 1
	elif [ -n "$4" ]; then
		chgrp -- "$4" "$1" || return 1
	fi
	if [ -n "$2" ]; then
		chmod "$2" -- "$1" || return 1
	fi
}

# _dp_newattrs NEW OLD MODE OWNER GROUP: give the temporary file NEW what
# OLD has (or mode 0644 when there is no OLD), then what the step sets.
# When _dp_um is set, NEW was made with its mode (MODE, or 0644 when
# there is no OLD and no MODE): no chmod for it.
_dp_newattrs() {
	if [ -e "$2" ]; then
		chown --reference="$2" -- "$1" || return 1
		if [ -z "$3" ]; then
			chmod --reference="$2" -- "$1" || return 1
		fi
	elif [ -z "$3" ] && [ -z "$_dp_um" ]; then
		chmod 644 -- "$1" || return 1
	fi
	if [ -n "$_dp_um" ]; then
		_dp_attrs "$1" "" "$4" "$5"
	else
		_dp_attrs "$1" "$3" "$4" "$5"
	fi
}

# _dp_fixattrs FILE MODE OWNER GROUP: set those given that differ.
_dp_fixattrs() {
	if [ -z "$2$3$4" ]; then
		return 0
	fi
	_dp_stat "$1" || return 1
	_dp_own=
	if [ -n "$3" ]; then
		case $3 in
		*[!0-9]*) _dp_cur=$_dp_aU ;;
		*) _dp_cur=$_dp_au ;;
		esac
		if [ "$_dp_cur" != "$3" ]; then
			_dp_changed owner || chown -- "$3" "$1" || return 1
			_dp_own=1
		fi
	fi
	if [ -n "$4" ]; then
		case $4 in
		*[!0-9]*) _dp_cur=$_dp_aG ;;
		*) _dp_cur=$_dp_ag ;;
		esac
		if [ "$_dp_cur" != "$4" ]; then
			_dp_changed group || chgrp -- "$4" "$1" || return 1
			_dp_own=1
		fi
	fi
	if [ -n "$2" ]; then
		# chown and chgrp may have cleared set-user-ID and set-group-ID.
		if [ -n "$_dp_own" ] && [ "$DP_CHECK" != 1 ]; then
			_dp_am=$(stat -c %a -- "$1") || return 1
		fi
		if [ "$_dp_am" != "$2" ]; then
			_dp_changed "mode $2" || chmod "$2" -- "$1" || return 1
		fi
	fi
}

# _dp_follow PATH: PATH, or the file a symbolic link at PATH points to,
# in _dp_p.
_dp_follow() {
	_dp_p=$1
	if [ -L "$1" ]; then
		_dp_p=$(readlink -f -- "$1") || return 1
	fi
}

# _dp_nodir PATH WHAT: when PATH's directory is missing, say so (in check
# mode an earlier step may be about to create it: report WHAT as a change).
_dp_nodir() {
	if [ -d "${1%/*}/" ]; then
		return 1
	fi
	if [ "$DP_CHECK" = 1 ]; then
		_dp_changed "$2 (its directory is missing now)"
		return 0
	fi
	_dp_msg="its directory does not exist"
	_dp_nodir_failed=1
	return 0
}

# Content words: ":TEXT" (as it is), base64, or an artifact sent beside the
# script into /var/lib/deploy/artifacts and checked against its digest
# there (core/playbook/push.c): "@PATH" is taken (moved), "@=PATH" copied
# (a later step takes it).

# _dp_unstage PATH: the copy sent beside the script is taken; its
# directory goes when nothing else waits there.
_dp_unstage() {
	rmdir -- "${1%/*}" 2>/dev/null
	return 0
}

# _dp_content CONTENT: CONTENT (":TEXT", or base64) on stdout.
_dp_content() {
	case $1 in
	:*) printf '%s' "${1#:}" ;;
	*) printf '%s' "$1" | base64 -d ;;
	esac
}

# _dp_put PATH MODE OWNER GROUP SHA256 CONTENT [PRECHECK [POSTCHECK]]
# Make PATH hold CONTENT (whose digest is SHA256: the text after a colon,
# or base64 when it may hold a NUL byte), with the mode, owner and group
# given. The new content goes to a temporary file
# beside PATH, renamed over it. PRECHECK is a command run with the
# temporary file as its argument before the rename; POSTCHECK is shell
# code run after it (with PATH as $0), and when it fails the previous file
# comes back (_dp_post names POSTCHECK in the message).
_dp_put() {
	_dp_follow "$1" || return 1
	if [ -d "$_dp_p" ]; then
		_dp_msg="is a directory"
		return 1
	fi
	if [ -f "$_dp_p" ] && _dp_digest "$_dp_p" && [ "$_dp_h" = "$5" ]; then
		_dp_fixattrs "$_dp_p" "$2" "$3" "$4"
		return
	fi
	if _dp_wants_diff; then
		_dp_dif=$(_dp_content "$6" | _dp_diff "$_dp_p")
	fi
	_dp_nodir_failed=0
	if _dp_nodir "$_dp_p" content; then
		return "$_dp_nodir_failed"
	fi
	_dp_st0=$_dp_st
	_dp_changed content && return 0
	# A new file whose step holds a secret is 0600 unless a mode is
	# given: other users of the host do not read it.
	_dp_m=$2
	if [ -z "$_dp_m" ] && [ "$_dp_quiet" = 1 ] && ! [ -e "$_dp_p" ]; then
		_dp_m=600
	fi
	if [ -e "$_dp_p" ] && [ -z "$_dp_m" ]; then
		_dp_mktemp "$_dp_p" || return 1
	else
		_dp_mktemp "$_dp_p" "$_dp_m" || return 1
	fi
	if ! _dp_write "$_dp_tmp" "$6"; then
		_dp_msg="cannot write a temporary file"
		return 1
	fi
	# Text arrives as it is, in the script; base64 is checked once decoded;
	# a copy sent beside the script was checked when it arrived.
	case $6 in
	:* | @*) ;;
	*)
		if ! _dp_sha "$_dp_tmp" || [ "$_dp_h" != "$5" ]; then
			_dp_msg="the content was damaged on its way"
			return 1
		fi
		;;
	esac
	_dp_newattrs "$_dp_tmp" "$_dp_p" "$_dp_m" "$3" "$4" || return 1
	if [ -n "${7-}" ] && ! "$7" "$_dp_tmp"; then
		_dp_st=$_dp_st0
		_dp_msg="the new content did not pass its check; nothing changed"
		return 1
	fi
	if [ -n "${8-}" ]; then
		_dp_bak=
		if [ -e "$_dp_p" ]; then
			_dp_bak=$(mktemp "${_dp_p%/*}/.deploy.XXXXXXXX") &&
				cp -p -- "$_dp_p" "$_dp_bak" || return 1
		fi
		_dp_bak_for=$_dp_p
	fi
	mv -f -- "$_dp_tmp" "$_dp_p" || return 1
	_dp_tmp=
	if [ -n "${8-}" ]; then
		# A runtime function (_dp_*) runs here; other code in its own sh.
		case $8 in
		_dp_*) "$8" "$_dp_p" ;;
		*) _dp_code "$8" sh -c "$_dp_eval" "$_dp_p" ;;
		esac
		_dp_rc=$?
		if [ "$_dp_rc" = 0 ]; then
			_dp_bak_for=
		else
			_dp_cleanup
			_dp_st=$_dp_st0
			_dp_msg="${_dp_post:-validation} failed (exit status $_dp_rc); the previous file is back"
			return 1
		fi
	fi
	return 0
}

# dp_file PATH STATE MODE OWNER GROUP SHA256 BASE64 VALIDATE
dp_file() {
	if [ "$2" = absent ]; then
		if [ -d "$1" ] && [ ! -L "$1" ]; then
			_dp_msg="is a directory"
			return 1
		fi
		if [ -e "$1" ] || [ -L "$1" ]; then
			_dp_changed removed || rm -f -- "$1" || return 1
		fi
		return 0
	fi
	_dp_put "$1" "$3" "$4" "$5" "$6" "$7" "" "$8"
}

# dp_directory PATH MODE OWNER GROUP
dp_directory() {
	if [ -d "$1" ]; then
		_dp_fixattrs "$1" "$2" "$3" "$4"
		return
	fi
	if [ -e "$1" ] || [ -L "$1" ]; then
		_dp_msg="exists and is not a directory"
		return 1
	fi
	_dp_changed created && return 0
	if [ -n "$2" ] && [ -z "$3$4" ]; then
		# shellcheck disable=SC2174 # the mode is for PATH alone
		mkdir -p -m "$2" -- "$1"
		return
	fi
	mkdir -p -- "$1" || return 1
	_dp_attrs "$1" "$2" "$3" "$4"
}

# The file as a line step wants it, on stdout: present replaces the last
# line matching DP_RE (or appends DP_LINE when none matches and it is not
# there yet); absent drops every line matching DP_RE (or equal to DP_LINE).
# shellcheck disable=SC2016 # awk code
_dp_line_awk='
BEGIN { re = ENVIRON["DP_RE"]; line = ENVIRON["DP_LINE"]; st = ENVIRON["DP_STATE"] }
{ l[++n] = $0 }
END {
	if (st == "present") {
		last = 0
		if (re != "")
			for (i = 1; i <= n; i++)
				if (l[i] ~ re)
					last = i
		if (last) {
			l[last] = line
		} else {
			found = 0
			for (i = 1; i <= n; i++)
				if (l[i] == line)
					found = 1
			if (!found)
				l[++n] = line
		}
		for (i = 1; i <= n; i++)
			print l[i]
	} else {
		for (i = 1; i <= n; i++)
			if (!(re != "" ? l[i] ~ re : l[i] == line))
				print l[i]
	}
}'

# _dp_lines FILE STATE LINE REGEXP: the file as the step wants it.
_dp_lines() {
	DP_STATE=$2 DP_LINE=$3 DP_RE=$4 awk "$_dp_line_awk" <"$1"
}

# _dp_line_same FILE STATE LINE REGEXP: whether the step leaves FILE as
# it is (0) or changes it (1), read by the shell itself when REGEXP is
# empty or plain text (letters, digits, blanks and _=:/,@%#~"'<>;&!-,
# with ^ and $ as anchors: the same as a glob, without awk); 2 when only
# awk can tell. _dp_append=1 when the change is LINE added at the end.
_dp_line_same() {
	_dp_append=
	_dp_g=
	[ -r "$1" ] || return 2
	if [ -n "$4" ]; then
		_dp_x=${4#^}
		if [ "$_dp_x" = "$4" ]; then
			_dp_g='*'
		fi
		_dp_r=${_dp_x%\$}
		case $_dp_r in
		*[![:alnum:][:blank:]_=:/,@%#~\"\'\<\>\;\&!-]*) return 2 ;;
		esac
		_dp_g=$_dp_g$_dp_r
		if [ "$_dp_r" = "$_dp_x" ]; then
			_dp_g=$_dp_g'*'
		fi
	fi
	_dp_hit=
	_dp_lm=
	_dp_found=
	_dp_l=
	while IFS= read -r _dp_l; do
		if [ -n "$4" ]; then
			# shellcheck disable=SC2254 # a glob, made above
			case $_dp_l in
			$_dp_g)
				_dp_hit=1
				_dp_lm=$_dp_l
				;;
			esac
		fi
		if [ "$_dp_l" = "$3" ]; then
			_dp_found=1
		fi
		_dp_l=
	done <"$1"
	if [ -n "$_dp_l" ]; then
		# The last line has no newline: awk would add one.
		return 1
	fi
	if [ "$2" = absent ]; then
		if [ -n "$4" ]; then
			[ -z "$_dp_hit" ]
		else
			[ -z "$_dp_found" ]
		fi
		return
	fi
	if [ -n "$_dp_hit" ]; then
		[ "$_dp_lm" = "$3" ]
		return
	fi
	if [ -n "$_dp_found" ]; then
		return 0
	fi
	_dp_append=1
	return 1
}

# dp_line PATH STATE LINE REGEXP CREATE
dp_line() {
	_dp_follow "$1" || return 1
	if [ ! -e "$_dp_p" ]; then
		if [ "$2" = absent ]; then
			return 0
		fi
		if [ "$5" != 1 ]; then
			_dp_msg="no such file (set 'create: true' to create it)"
			return 1
		fi
		if _dp_wants_diff; then
			_dp_dif=$(printf '%s\n' "$3" | _dp_diff "$_dp_p")
		fi
		_dp_nodir_failed=0
		if _dp_nodir "$_dp_p" created; then
			return "$_dp_nodir_failed"
		fi
		_dp_changed created && return 0
		# A new file with a line that holds a secret: 0600 (_dp_put).
		_dp_m=
		if [ "$_dp_quiet" = 1 ]; then
			_dp_m=600
		fi
		_dp_mktemp "$_dp_p" "$_dp_m" || return 1
		_dp_write "$_dp_tmp" ":$3$_dp_nl" &&
			_dp_newattrs "$_dp_tmp" "" "$_dp_m" "" "" &&
			mv -f -- "$_dp_tmp" "$_dp_p" || return 1
		_dp_tmp=
		return 0
	fi
	if [ ! -f "$_dp_p" ]; then
		_dp_msg="not a regular file"
		return 1
	fi
	_dp_line_same "$_dp_p" "$2" "$3" "$4"
	case $? in
	0) return 0 ;;
	2)
		_dp_new=$(_dp_lines "$_dp_p" "$2" "$3" "$4" | sha256sum) ||
			return 1
		if _dp_sha "$_dp_p" && [ "${_dp_new%% *}" = "$_dp_h" ]; then
			return 0
		fi
		;;
	esac
	if _dp_wants_diff; then
		_dp_dif=$(_dp_lines "$_dp_p" "$2" "$3" "$4" | _dp_diff "$_dp_p")
	fi
	_dp_changed edited && return 0
	# The copy keeps the file's mode and owner; then LINE is added to it,
	# or the whole file written anew.
	_dp_mktemp "$_dp_p" || return 1
	cp --preserve=mode,ownership -- "$_dp_p" "$_dp_tmp" || return 1
	if [ -n "$_dp_append" ]; then
		printf '%s\n' "$3" >>"$_dp_tmp" || return 1
	else
		_dp_lines "$_dp_p" "$2" "$3" "$4" >"$_dp_tmp" || return 1
	fi
	mv -f -- "$_dp_tmp" "$_dp_p" || return 1
	_dp_tmp=
}


# Packages

# _dp_installed PACKAGE: whether dpkg has it installed.
_dp_installed() {
	# shellcheck disable=SC2016 # dpkg-query's format, not ours
	case $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) in
	*" installed") return 0 ;;
	esac
	return 1
}

# _dp_apt_update MAX_AGE: apt-get update, unless the package lists are
# there and younger than MAX_AGE seconds.
_dp_apt_update() {
	_dp_now=$(date +%s)
	_dp_age=$(stat -c %Y /var/lib/apt/lists 2>/dev/null) || _dp_age=0
	set -- "$1" /var/lib/apt/lists/*_Packages
	if [ -e "$2" ] && [ $((_dp_now - _dp_age)) -lt "$1" ]; then
		return 0
	fi
	apt-get update -q -o DPkg::Lock::Timeout=600 || {
		_dp_msg="apt-get update failed"
		return 1
	}
	touch /var/lib/apt/lists
}

# _dp_dpkg_repair: when dpkg was interrupted (a journal entry left in
# /var/lib/dpkg/updates/, as an apt or dpkg killed mid-run leaves it, and
# apt then refuses to work), `dpkg --configure -a` first, as apt asks;
# once per script. While another dpkg or apt holds the lock it waits (a
# second at a time, 10 minutes at most); any other failure is the step's.
_dp_dpkg_repair() {
	[ -z "$_dp_repaired" ] || return 0
	set -- /var/lib/dpkg/updates/[0-9]*
	[ -e "$1" ] || return 0
	_dp_repaired=1
	_dp_changed "dpkg --configure -a (dpkg was interrupted)" && return 0
	_dp_i=0
	while :; do
		_dp_out=$(DEBIAN_FRONTEND=noninteractive dpkg --force-confdef \
			--force-confold --configure -a 2>&1) && break
		case $_dp_out in
		*lock*)
			if [ $_dp_i -lt 600 ]; then
				_dp_i=$((_dp_i + 1))
				sleep 1
				continue
			fi
			;;
		esac
		printf '%s\n' "$_dp_out" >&2
		_dp_msg="dpkg --configure -a failed"
		return 1
	done
	[ -z "$_dp_out" ] || printf '%s\n' "$_dp_out"
}

# dp_apt STATE MAX_AGE [--no-install-recommends] PACKAGE...
# apt-get waits up to 10 minutes for another apt or dpkg to let go of
# the lock (DPkg::Lock::Timeout) rather than failing at once.
dp_apt() {
	_dp_state=$1
	_dp_maxage=$2
	shift 2
	_dp_rec=
	if [ "${1:-}" = --no-install-recommends ]; then
		_dp_rec=--no-install-recommends
		shift
	fi
	_dp_dpkg_repair || return 1
	_dp_todo=
	for _dp_pkg; do
		if _dp_installed "$_dp_pkg"; then
			if [ "$_dp_state" = absent ]; then
				_dp_todo="$_dp_todo $_dp_pkg"
			fi
		elif [ "$_dp_state" = present ]; then
			_dp_todo="$_dp_todo $_dp_pkg"
		fi
	done
	if [ -z "$_dp_todo" ]; then
		return 0
	fi
	if [ "$_dp_state" = present ]; then
		_dp_changed "install$_dp_todo" && return 0
		_dp_apt_update "$_dp_maxage" || return 1
		# shellcheck disable=SC2086 # package names hold no blanks
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			-o DPkg::Lock::Timeout=600 \
			-o Dpkg::Options::=--force-confdef \
			-o Dpkg::Options::=--force-confold $_dp_rec $_dp_todo || {
			_dp_msg="apt-get install failed"
			return 1
		}
	else
		_dp_changed "remove$_dp_todo" && return 0
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get remove -y -q \
			-o DPkg::Lock::Timeout=600 $_dp_todo || {
			_dp_msg="apt-get remove failed"
			return 1
		}
	fi
}

# Services

# dp_service NAME ENABLED STATE DAEMON_RELOAD (ENABLED: 1, 0 or empty)
# _dp_unit_not_here UNIT: systemd checked the unit's own conditions and
# they say this machine is not for it (systemd-timesyncd in a container:
# the clock is the machine's that runs it). Starting it would do nothing,
# every time: it counts as started.
_dp_unit_not_here() {
	[ "$(systemctl show -p ConditionResult --value -- "$1")" = no ] &&
		[ "$(systemctl show -p ConditionTimestampMonotonic --value -- "$1")" != 0 ]
}

dp_service() {
	if [ "$4" = 1 ] && [ "$DP_CHECK" != 1 ]; then
		systemctl daemon-reload || return 1
	fi
	case $2 in
	1)
		if ! systemctl is-enabled --quiet -- "$1" 2>/dev/null; then
			_dp_changed enabled ||
				systemctl enable --quiet -- "$1" || return 1
		fi
		;;
	0)
		if systemctl is-enabled --quiet -- "$1" 2>/dev/null; then
			_dp_changed disabled ||
				systemctl disable --quiet -- "$1" || return 1
		fi
		;;
	esac
	case $3 in
	started)
		if ! systemctl is-active --quiet -- "$1" &&
			! _dp_unit_not_here "$1"; then
			_dp_changed started || systemctl start -- "$1" || return 1
		fi
		;;
	stopped)
		if systemctl is-active --quiet -- "$1"; then
			_dp_changed stopped || systemctl stop -- "$1" || return 1
		fi
		;;
	restarted)
		_dp_changed restarted || systemctl restart -- "$1" || return 1
		;;
	reloaded)
		if systemctl is-active --quiet -- "$1"; then
			_dp_changed reloaded ||
				systemctl reload -- "$1" || return 1
		else
			_dp_changed started || systemctl start -- "$1" || return 1
		fi
		;;
	esac
}

# Users

# _dp_passwd NAME FIELD: one field of the user's passwd entry.
_dp_passwd() {
	getent passwd "$1" | cut -d: -f"$2"
}

_dp_visudo() {
	visudo -cqf "$1"
}

# dp_user NAME SHELL GROUPS KEYS KEYS_SHA KEYS_B64 SUDO SUDOERS SUDO_SHA
#         SUDO_B64
# GROUPS: comma-separated, the user joins those it is not in; KEYS: 1 when
# the step sets authorized_keys; SUDO: 1, 0 or empty; SUDOERS: the path of
# the user's drop-in in /etc/sudoers.d.
dp_user() {
	_dp_u=$1
	_dp_ushell=$2
	_dp_ugroups=$3
	_dp_ukeys=$4
	_dp_uksha=$5
	_dp_ukb64=$6
	_dp_usudo=$7
	_dp_usfile=$8
	_dp_ussha=$9
	_dp_usb64=${10}
	if ! id -u "$_dp_u" >/dev/null 2>&1; then
		_dp_changed created && return 0
		set -- -m
		if [ -n "$_dp_ushell" ]; then
			set -- "$@" -s "$_dp_ushell"
		fi
		if [ -n "$_dp_ugroups" ]; then
			set -- "$@" -G "$_dp_ugroups"
		fi
		useradd "$@" -- "$_dp_u" || {
			_dp_msg="useradd failed"
			return 1
		}
	else
		if [ -n "$_dp_ushell" ] &&
			[ "$(_dp_passwd "$_dp_u" 7)" != "$_dp_ushell" ]; then
			_dp_changed shell ||
				usermod -s "$_dp_ushell" -- "$_dp_u" || return 1
		fi
		_dp_have=" $(id -nG "$_dp_u") "
		_dp_miss=
		_dp_ifs=$IFS
		IFS=,
		for _dp_g in $_dp_ugroups; do
			case $_dp_have in
			*" $_dp_g "*) ;;
			*) _dp_miss=${_dp_miss:+$_dp_miss,}$_dp_g ;;
			esac
		done
		IFS=$_dp_ifs
		if [ -n "$_dp_miss" ]; then
			_dp_changed groups ||
				usermod -a -G "$_dp_miss" -- "$_dp_u" || return 1
		fi
	fi
	if [ "$_dp_ukeys" = 1 ]; then
		_dp_home=$(_dp_passwd "$_dp_u" 6)
		_dp_grp=$(id -gn "$_dp_u") || return 1
		if [ -z "$_dp_home" ] || [ "$_dp_home" = / ]; then
			_dp_msg="the user has no home directory for its keys"
			return 1
		fi
		dp_directory "$_dp_home/.ssh" 700 "$_dp_u" "$_dp_grp" || return 1
		_dp_put "$_dp_home/.ssh/authorized_keys" 600 "$_dp_u" \
			"$_dp_grp" "$_dp_uksha" "$_dp_ukb64" || return 1
	fi
	case $_dp_usudo in
	1)
		_dp_put "$_dp_usfile" 440 root root "$_dp_ussha" "$_dp_usb64" \
			_dp_visudo || return 1
		;;
	0)
		if [ -e "$_dp_usfile" ]; then
			_dp_changed "sudo removed" || rm -f -- "$_dp_usfile" ||
				return 1
		fi
		;;
	esac
}

# Kernel parameters

# _dp_in_container: whether this host is a container (systemd says so).
_dp_in_container() {
	[ -e /run/systemd/container ] ||
		systemd-detect-virt --container --quiet 2>/dev/null
}

# _dp_sysctl_apply FILE: sysctl -p FILE. In a container the kernel's own
# settings (kernel.*, fs.*, most of vm.*) are read-only: they belong to the
# machine that runs it. There the settings the container may change are
# applied and the others are named on stderr and left as they are.
_dp_sysctl_apply() {
	sysctl -q -p "$1" >/dev/null 2>&1 && return 0
	if ! _dp_in_container; then
		sysctl -q -p "$1" >/dev/null
		return 1
	fi
	_dp_src=0
	while IFS= read -r _dp_l; do
		case $_dp_l in
		'' | '#'* | ';'*) continue ;;
		esac
		_dp_k=$(printf '%s' "${_dp_l%%=*}" | tr -d ' \t')
		_dp_v=$(printf '%s' "${_dp_l#*=}" | sed 's/^[[:space:]]*//')
		if [ ! -w "/proc/sys/$(printf '%s' "$_dp_k" | tr . /)" ]; then
			echo "sysctl $_dp_k: read-only in a container, left to the machine that runs it" >&2
			continue
		fi
		sysctl -q -w "$_dp_k=$_dp_v" >/dev/null || _dp_src=1
	done <"$1"
	return "$_dp_src"
}

# dp_sysctl FILE APPLY SHA256 BASE64: the file, then sysctl -p FILE when
# it changed (if that fails, the previous file comes back).
dp_sysctl() {
	if [ "$2" = 1 ]; then
		_dp_post="sysctl -p"
		_dp_put "$1" "" "" "" "$3" "$4" "" _dp_sysctl_apply
		_dp_rc=$?
		_dp_post=
		return "$_dp_rc"
	else
		_dp_put "$1" "" "" "" "$3" "$4"
	fi
}

# Downloads

# A URL may hold a secret (a token in its query): curl and wget read it
# on stdin, never as an argument, which any user of the host can read.

# _dp_curl_url URL: URL as curl's config file (curl -K -) gives it.
_dp_curl_url() {
	printf '%s\n' "$1" | sed 's/[\\"]/\\&/g; s/^/url = "/; s/$/"/'
}

# _dp_fetch URL FILE
_dp_fetch() {
	if command -v curl >/dev/null 2>&1; then
		_dp_curl_url "$1" | curl -fsSL --retry 3 --connect-timeout 30 \
			--speed-limit 1 --speed-time 30 -o "$2" -K -
	elif command -v wget >/dev/null 2>&1; then
		printf '%s\n' "$1" | wget -q -t 3 -T 30 -O "$2" -i -
	else
		_dp_msg="neither curl nor wget is installed"
		return 127
	fi
}

# dp_download URL SHA256 DEST MODE OWNER GROUP
dp_download() {
	_dp_follow "$3" || return 1
	if [ -d "$_dp_p" ]; then
		_dp_msg="is a directory"
		return 1
	fi
	if [ -f "$_dp_p" ] && _dp_sha "$_dp_p" && [ "$_dp_h" = "$2" ]; then
		_dp_fixattrs "$_dp_p" "$4" "$5" "$6"
		return
	fi
	_dp_nodir_failed=0
	if _dp_nodir "$_dp_p" downloaded; then
		return "$_dp_nodir_failed"
	fi
	_dp_changed downloaded && return 0
	_dp_mktemp "$_dp_p" || return 1
	if ! _dp_fetch "$1" "$_dp_tmp"; then
		_dp_msg=${_dp_msg:-the download failed}
		return 1
	fi
	_dp_sha "$_dp_tmp" || return 1
	_dp_got=$_dp_h
	if [ "$_dp_got" != "$2" ]; then
		_dp_msg="sha256 mismatch: got $_dp_got; nothing kept"
		return 1
	fi
	_dp_newattrs "$_dp_tmp" "$_dp_p" "$4" "$5" "$6" &&
		mv -f -- "$_dp_tmp" "$_dp_p" || return 1
	_dp_tmp=
}

# Artifacts

# _dp_unpacked DIR NAME SHA256: whether DIR holds artifact NAME unpacked
# at that digest (the marker file deploy writes in it).
_dp_unpacked() {
	[ -d "$1" ] && [ -f "$1/.deploy-artifact" ] &&
		[ "$(cat -- "$1/.deploy-artifact")" = "$2 $3" ]
}

# _dp_keep_prev DEST SHA256: before a file artifact replaces DEST (one
# with another digest), its copy DEST.prev: what on_failure: rollback
# restores, and what an operator can go back to by hand.
_dp_keep_prev() {
	_dp_kp=
	[ "$DP_CHECK" = 1 ] && return 0
	[ -f "$1" ] || return 0
	_dp_sha "$1" || return 1
	[ "$_dp_h" = "$2" ] && return 0
	if ! cp -p -- "$1" "$1.prev"; then
		_dp_msg="cannot keep the previous file as $1.prev"
		return 1
	fi
	_dp_kp=1
}

# _dp_rb_note DEST: artifact DEST changed this run and has DEST.prev; the
# handlers its step notifies restart what uses it.
_dp_rb_note() {
	_dp_rb_files="$_dp_rb_files$1
"
	_dp_rb_ntf="$_dp_rb_ntf $_dp_ntf"
}

# _dp_rollback: put back every artifact this run replaced (DEST.prev)
# and run the handlers their steps notify, quietly (no markers: the gate
# that failed reports it). Sets _dp_rb_msg.
_dp_rollback() {
	_dp_rb_msg=
	_dp_rb_ok=1
	_dp_rb_n=0
	while IFS= read -r _dp_f; do
		[ -n "$_dp_f" ] || continue
		if [ -d "$_dp_f.prev" ]; then
			rm -rf -- "$_dp_f" && cp -a -- "$_dp_f.prev" "$_dp_f"
		else
			cp -p -- "$_dp_f.prev" "$_dp_f.deploy-rb" &&
				mv -f -- "$_dp_f.deploy-rb" "$_dp_f"
		fi || _dp_rb_ok=0
		_dp_rb_n=$((_dp_rb_n + 1))
	done <<EOF
$_dp_rb_files
EOF
	_dp_rb_handlers || _dp_rb_ok=0
	if [ "$_dp_rb_ok" = 1 ]; then
		_dp_rb_msg="rolled back: the previous artifact is back ($_dp_rb_n file(s)) and restarted"
	else
		_dp_rb_msg="the rollback failed: see the host's log"
	fi
}

# _dp_rb_handler N NAME KEY QUIET CMD...: during a rollback, a handler that
# an artifact step which changed notifies, run again without markers.
_dp_rb_handler() {
	_dp_k=$3
	shift 4
	case " $_dp_rb_ntf " in
	*" $_dp_k "*) ;;
	*) return 0 ;;
	esac
	"$@" 3>&- </dev/null >&2
}

# dp_artifact NAME DEST UNPACK MODE OWNER GROUP SHA256 CONTENT [URL]
# Without UNPACK, DEST is a file holding the artifact (as dp_file); the
# file it replaces is kept as DEST.prev. With URL (fetch: host) the host
# downloads it and checks its digest before it is used. With UNPACK,
# DEST is a directory holding the tarball's files: a new one is
# unpacked beside it and swapped in whole (the old one kept as
# DEST.prev), and a marker file in it names the digest, so the same
# artifact is never unpacked twice.
dp_artifact() {
	if [ "$3" != unpack ]; then
		_dp_keep_prev "$2" "$7" || return 1
		# No diff of an artifact: a binary, or too large to show.
		_dp_d=${DP_DIFF-}
		DP_DIFF=0
		if [ -n "${9-}" ]; then
			dp_download "$9" "$7" "$2" "$4" "$5" "$6"
		else
			_dp_put "$2" "$4" "$5" "$6" "$7" "$8"
		fi
		_dp_rc=$?
		DP_DIFF=$_dp_d
		if [ "$_dp_rc" = 0 ] && [ -n "$_dp_kp" ] &&
			[ "$_dp_st" = changed ]; then
			_dp_rb_note "$2"
		fi
		return "$_dp_rc"
	fi
	_dp_p=${2%/}
	if _dp_unpacked "$_dp_p" "$1" "$7"; then
		_dp_fixattrs "$_dp_p" "$4" "$5" "$6"
		return
	fi
	if [ -e "$_dp_p" ] && [ ! -d "$_dp_p" ]; then
		_dp_msg="is not a directory"
		return 1
	fi
	_dp_nodir_failed=0
	if _dp_nodir "$_dp_p" unpacked; then
		return "$_dp_nodir_failed"
	fi
	_dp_changed "unpacked $1" && return 0
	_dp_mktemp "$_dp_p" || return 1
	if ! _dp_write "$_dp_tmp" "$8"; then
		_dp_msg="cannot write a temporary file"
		return 1
	fi
	case $8 in
	@*) ;;
	*)
		if ! _dp_sha "$_dp_tmp" || [ "$_dp_h" != "$7" ]; then
			_dp_msg="the content was damaged on its way"
			return 1
		fi
		;;
	esac
	_dp_new=$(mktemp -d "$_dp_p.deploy.XXXXXXXX") || return 1
	if ! tar -xf "$_dp_tmp" -C "$_dp_new" --no-same-owner; then
		rm -rf -- "$_dp_new"
		_dp_msg="cannot unpack it (is it a tarball?)"
		return 1
	fi
	printf '%s %s\n' "$1" "$7" >"$_dp_new/.deploy-artifact" || return 1
	if [ -n "$5" ] || [ -n "$6" ]; then
		chown -R -- "$5${6:+:$6}" "$_dp_new" || return 1
	fi
	chmod "${4:-755}" -- "$_dp_new" || return 1
	if [ -d "$_dp_p" ]; then
		_dp_old=$(mktemp -d "$_dp_p.old.XXXXXXXX") &&
			mv -f -- "$_dp_p" "$_dp_old/" || return 1
		mv -f -- "$_dp_new" "$_dp_p" || {
			mv -f -- "$_dp_old/${_dp_p##*/}" "$_dp_p"
			return 1
		}
		rm -rf -- "$_dp_p.prev" &&
			mv -f -- "$_dp_old/${_dp_p##*/}" "$_dp_p.prev" &&
			_dp_rb_note "$_dp_p"
		rm -rf -- "$_dp_old"
	else
		mv -f -- "$_dp_new" "$_dp_p" || return 1
	fi
}

# Docker images

# _dp_docker_tail TEXT: its last line, at most 200 characters.
_dp_docker_tail() {
	printf '%s' "$1" | tail -n 1 | cut -c1-200
}

# dp_docker_image pull '' REF
# dp_docker_image load NAME REF IDS SHA256 CONTENT
# The image REF on the host. pull: REF is pinned by digest; pulled when the
# host does not have it. load: the artifact NAME is a `docker save`
# tarball holding REF, whose image ID is one of IDS (space-separated, as
# `docker image inspect` reports them: deploy read them from the
# tarball's manifest); it is loaded unless REF names such an image on the
# host already. CONTENT is the tarball (base64, or a copy sent beside the
# script), or empty when deploy found the image in place (nothing sent).
dp_docker_image() {
	if ! command -v docker >/dev/null 2>&1; then
		_dp_msg="docker is not installed (run the docker playbook first)"
		return 1
	fi
	if [ "$1" = pull ]; then
		docker image inspect "$3" >/dev/null 2>&1 && return 0
		_dp_changed "pulled $3" && return 0
		_dp_out=$(docker pull -q "$3" 2>&1) || {
			_dp_msg="docker pull: $(_dp_docker_tail "$_dp_out")"
			return 1
		}
		return 0
	fi
	_dp_id=$(docker image inspect -f '{{.Id}}' "$3" 2>/dev/null) || _dp_id=
	if [ -n "$_dp_id" ]; then
		case " $4 " in
		*" $_dp_id "*) return 0 ;;
		esac
	fi
	_dp_changed "loaded $2" && return 0
	case $6 in
	'')
		_dp_msg="$3 is not on the host any more, and its tarball was not sent: run again"
		return 1
		;;
	@=*) _dp_src=${6#@=} ;;
	@*) _dp_src=${6#@} ;;
	*)
		mkdir -p /var/lib/deploy || return 1
		_dp_mktemp /var/lib/deploy/docker-image || return 1
		if ! _dp_write "$_dp_tmp" "$6"; then
			_dp_msg="cannot write a temporary file"
			return 1
		fi
		# _dp_sha sets _dp_h (it prints nothing).
		if ! _dp_sha "$_dp_tmp" || [ "$_dp_h" != "$5" ]; then
			_dp_msg="the content was damaged on its way"
			return 1
		fi
		_dp_src=$_dp_tmp
		;;
	esac
	_dp_out=$(docker load -i "$_dp_src" 2>&1) || {
		_dp_msg="docker load: $(_dp_docker_tail "$_dp_out")"
		return 1
	}
	case $6 in
	@/*) rm -f -- "$_dp_src" && _dp_unstage "$_dp_src" ;;
	esac
	if [ -n "$_dp_tmp" ]; then
		rm -f -- "$_dp_tmp"
		_dp_tmp=
	fi
	_dp_id=$(docker image inspect -f '{{.Id}}' "$3" 2>/dev/null) || {
		_dp_msg="the artifact $2 holds no image $3 (docker load said: $(_dp_docker_tail "$_dp_out"))"
		return 1
	}
	case " $4 " in
	*" $_dp_id "*) ;;
	*)
		_dp_msg="after loading $2, $3 is image $_dp_id, not the artifact's ($4)"
		return 1
		;;
	esac
}

# Commands

# Shell code (shell:, unless:, validate:, wait's and health's command:)
# may hold a secret: it reaches the sh that runs it on fd 4, never as an
# argument, which any user of the host can read (ps, /proc/PID/cmdline).
# _dp_eval is that sh's whole command line.
# shellcheck disable=SC2016 # the sh that runs the code expands it
_dp_eval='eval "$(cat <&4)" 4<&-'

# _dp_code CODE COMMAND...: COMMAND, with CODE to read on fd 4.
_dp_code() {
	_dp_code_text=$1
	shift
	"$@" 4<<_DP_CODE_END
$_dp_code_text
_DP_CODE_END
}

# _dp_in DIR COMMAND...: COMMAND run in DIR.
_dp_in() {
	_dp_fresh=
	(
		cd -- "$1" || exit 1
		shift
		exec "$@"
	)
}

# _dp_guard CREATES UNLESS DIR: true when the command need not run.
_dp_guard() {
	if [ -n "$1" ] && { [ -e "$1" ] || [ -L "$1" ]; }; then
		return 0
	fi
	if [ -n "$2" ] && _dp_code "$2" _dp_in "$3" sh -c "$_dp_eval"; then
		return 0
	fi
	return 1
}

# _dp_ran CHANGED: after the guards, whether the command is to run: a
# change when CHANGED is empty; for "no" (changed: false) an ok step that
# runs only outside check mode.
_dp_ran() {
	if [ "$1" != no ]; then
		_dp_changed ran && return 1
		return 0
	fi
	if [ "$DP_CHECK" = 1 ]; then
		_dp_msg="read-only; not run in check mode"
		return 1
	fi
}

# dp_shell CODE CREATES UNLESS DIR CHANGED
dp_shell() {
	if _dp_guard "$2" "$3" "$4"; then
		return 0
	fi
	_dp_ran "$5" || return 0
	_dp_code "$1" _dp_in "$4" sh -c "$_dp_eval" || {
		_dp_msg="exit status $?"
		return 1
	}
}

# dp_command CREATES UNLESS DIR CHANGED ARG...
dp_command() {
	if _dp_guard "$1" "$2" "$3"; then
		return 0
	fi
	_dp_ran "$4" || return 0
	_dp_dir=$3
	shift 4
	_dp_in "$_dp_dir" "$@" || {
		_dp_msg="exit status $?"
		return 1
	}
}

# Waiting

# _dp_bounded SECONDS COMMAND...: COMMAND, stopped after SECONDS when
# timeout(1) is there.
_dp_bounded() {
	if command -v timeout >/dev/null 2>&1; then
		timeout "$@"
	else
		shift
		"$@"
	fi
}

# _dp_probe_tcp HOST PORT: bash's /dev/tcp, else nc, else python3.
_dp_probe_tcp() {
	if command -v bash >/dev/null 2>&1; then
		# shellcheck disable=SC2016 # bash expands them, as words
		_dp_bounded 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" \
			2>/dev/null
	elif command -v nc >/dev/null 2>&1; then
		_dp_bounded 6 nc -z -w 5 "$1" "$2" 2>/dev/null
	elif command -v python3 >/dev/null 2>&1; then
		_dp_bounded 6 python3 -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), 5).close()' \
			"$1" "$2" 2>/dev/null
	else
		_dp_msg="cannot probe a TCP port: install bash, netcat or python3"
		return 127
	fi
}

# _dp_probe_http URL STATUS
_dp_probe_http() {
	if command -v curl >/dev/null 2>&1; then
		_dp_code=$(_dp_curl_url "$1" | curl -s -o /dev/null \
			-w '%{http_code}' --max-time 10 -K -)
	elif command -v wget >/dev/null 2>&1; then
		_dp_code=$(printf '%s\n' "$1" |
			wget -q -S -O /dev/null -T 10 -t 1 -i - 2>&1 |
			awk '/^ *HTTP\// { c = $2 } END { print c }')
	else
		_dp_msg="cannot probe a URL: install curl or wget"
		return 127
	fi
	[ "$_dp_code" = "$2" ]
}

# dp_wait KIND TIMEOUT INTERVAL A B: KIND tcp (A host, B port), http (A
# URL, B status) or command (A shell code), until it holds or TIMEOUT
# seconds have passed. In check mode one probe: ok when it holds now.
dp_wait() {
	_dp_wkind=$1
	_dp_wto=$2
	_dp_wiv=$3
	_dp_wend=$(($(date +%s) + _dp_wto))
	while :; do
		case $_dp_wkind in
		tcp) _dp_probe_tcp "$4" "$5" ;;
		http) _dp_probe_http "$4" "$5" ;;
		*) _dp_code "$4" _dp_bounded "$_dp_wto" sh -c "$_dp_eval" ;;
		esac
		_dp_wrc=$?
		if [ "$_dp_wrc" -eq 0 ]; then
			return 0
		fi
		if [ "$_dp_wrc" -eq 127 ] && [ -n "$_dp_msg" ]; then
			return 1
		fi
		if [ "$DP_CHECK" = 1 ]; then
			_dp_st=skipped
			_dp_msg="not ready now; would wait up to ${_dp_wto}s"
			return 0
		fi
		if [ "$(date +%s)" -ge "$_dp_wend" ]; then
			_dp_msg="not ready after ${_dp_wto}s"
			return 1
		fi
		sleep "$_dp_wiv"
	done
}

# Health gates (the role's health: checks, after the handlers)

# _dp_gate N NAME KIND ARGS...: a health check; it always runs and is
# reported as a handler. A failed check ends the script.
_dp_gate() {
	_dp_n=$1
	_dp_mark "handler $_dp_n/$DP_HANDLERS begin $2"
	shift 2
	_dp_st=ok
	_dp_msg=
	_dp_quiet=0
	# fd 3 stays open: dp_health sends "wait" markers on it.
	"$@" </dev/null
	_dp_rc=$?
	if [ "$_dp_rc" -ne 0 ]; then
		_dp_st=failed
		_dp_msg=${_dp_msg:-exit status $_dp_rc}
	fi
	if [ "$_dp_st" = failed ] && [ "$DP_ROLLBACK" = 1 ] &&
		[ "$DP_CHECK" != 1 ] && [ -n "$_dp_rb_files" ]; then
		# The handlers it runs set their own status and message.
		_dp_gmsg=$_dp_msg
		_dp_gn=$_dp_n
		_dp_rollback
		_dp_n=$_dp_gn
		_dp_st=failed
		_dp_msg="$_dp_gmsg; $_dp_rb_msg"
	fi
	_dp_mark "handler $_dp_n/$DP_HANDLERS $_dp_st${_dp_msg:+ $_dp_msg}"
	if [ "$_dp_st" = failed ]; then
		_dp_failed
	fi
}

# _dp_http_check URL METHOD BODY STATUS FIELD OP WANT: one probe with
# python3 (JSON fields) or curl (status only). Prints what it saw.
_dp_http_check() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c '
import json, sys, urllib.request, urllib.error
url, method, body, status, field, op, want = sys.argv[1:8]
req = urllib.request.Request(url, method=method,
    data=body.encode() if body else None,
    headers={"Content-Type": "application/json"} if body else {})
# Direct, whatever proxy the environment names: the node is local.
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with direct.open(req, timeout=10) as r:
        code, text = r.status, r.read(1 << 20)
except urllib.error.HTTPError as e:
    code, text = e.code, b""
except Exception as e:
    print(str(getattr(e, "reason", e)) or type(e).__name__)
    sys.exit(1)
if code != int(status):
    print("status %d" % code)
    sys.exit(1)
if not field:
    print("status %d" % code)
    sys.exit(0)
try:
    v = json.loads(text)
    for k in field.split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
except Exception:
    print("%s missing" % field)
    sys.exit(1)
shown = json.dumps(v)
try:
    w = json.loads(want)
except ValueError:
    w = want
try:
    if op == "equals":
        ok = v == w
    elif op == "at_least":
        ok = float(v) >= float(w)
    else:
        ok = float(v) <= float(w)
except (TypeError, ValueError):
    ok = False
print("%s %s" % (field, shown))
sys.exit(0 if ok else 1)
' "$@"
		return
	fi
	if [ -n "$5" ]; then
		echo "cannot read JSON: the host needs python3"
		return 127
	fi
	if ! command -v curl >/dev/null 2>&1; then
		echo "cannot probe a URL: the host needs python3 or curl"
		return 127
	fi
	_dp_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		--noproxy '*' -X "$2" ${3:+--data-binary "$3"} "$1")
	echo "status $_dp_code"
	[ "$_dp_code" = "$4" ]
}

# _dp_height_check RPC METHOD FIELD WITHIN REFERENCE...: the node's block
# height (FIELD of RPC's answer: a JSON-RPC POST of METHOD, or a GET when
# METHOD is empty) against the highest height the REFERENCE endpoints
# answer the same request with; passes when it is at most WITHIN blocks
# behind. Every request has a 10 s timeout; the node is asked directly,
# the references through the proxy the environment names, if any.
# Prints "height H vs reference R".
_dp_height_check() {
	if ! command -v python3 >/dev/null 2>&1; then
		echo "cannot read a block height: the host needs python3"
		return 127
	fi
	python3 -c '
import json, sys, urllib.request
rpc, method, field, within = sys.argv[1:5]
refs = sys.argv[5:]
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
environ = urllib.request.build_opener()

def height(opener, url):
    body = None
    if method:
        body = json.dumps({"jsonrpc": "2.0", "method": method,
                           "id": 1}).encode()
    req = urllib.request.Request(url, data=body,
        method="POST" if method else "GET",
        headers={"Content-Type": "application/json"} if method else {})
    try:
        with opener.open(req, timeout=10) as r:
            text = r.read(1 << 20)
    except Exception as e:
        raise ValueError(str(getattr(e, "reason", e)) or type(e).__name__)
    try:
        v = json.loads(text)
        for k in field.split("."):
            v = v[int(k)] if isinstance(v, list) else v[k]
    except Exception:
        raise ValueError("%s missing" % field)
    try:
        return int(v, 0) if isinstance(v, str) else int(v)
    except (TypeError, ValueError):
        raise ValueError("%s is %s" % (field, json.dumps(v)))

try:
    mine = height(direct, rpc)
except ValueError as e:
    print("height unknown (%s)" % e)
    sys.exit(1)
best, why = None, []
for url in refs:
    try:
        h = height(environ, url)
        best = h if best is None else max(best, h)
    except ValueError as e:
        why.append("%s: %s" % (url, e))
if best is None:
    print("height %d vs no reference (%s)" % (mine, "; ".join(why)))
    sys.exit(1)
print("height %d vs reference %d" % (mine, best))
sys.exit(0 if mine + int(within) >= best else 1)
' "$@"
}

# dp_health KIND TIMEOUT INTERVAL ARGS...: KIND http (URL METHOD BODY
# STATUS FIELD OP WANT), height (RPC METHOD FIELD WITHIN REFERENCE...),
# tcp (HOST PORT) or command (CODE), probed every
# INTERVAL seconds until it passes or TIMEOUT seconds have passed; the
# failure names the last value seen. In check mode one probe.
dp_health() {
	_dp_hkind=$1
	_dp_hto=$2
	_dp_hiv=$3
	shift 3
	_dp_hstart=$(date +%s)
	_dp_last=
	_dp_seen=
	while :; do
		case $_dp_hkind in
		http)
			_dp_last=$(_dp_http_check "$@" 2>&1 3>&-)
			_dp_hrc=$?
			;;
		height)
			_dp_last=$(_dp_height_check "$@" 2>&1 3>&-)
			_dp_hrc=$?
			;;
		tcp)
			_dp_probe_tcp "$1" "$2" 3>&-
			_dp_hrc=$?
			if [ "$_dp_hrc" -eq 127 ]; then
				_dp_last=$_dp_msg
			elif [ "$_dp_hrc" -ne 0 ]; then
				_dp_last="$1:$2 refused"
			else
				_dp_last="$1:$2 open"
			fi
			;;
		*)
			_dp_out=$(
				_dp_code "$1" _dp_bounded "$_dp_hto" sh -c "$_dp_eval" \
					2>&1 3>&-
				echo "@$?"
			)
			_dp_hrc=${_dp_out##*@}
			_dp_last=$(printf '%s' "${_dp_out%@*}" | tail -n 1)
			_dp_last=${_dp_last:-exit status $_dp_hrc}
			;;
		esac
		_dp_last=$(printf '%s' "$_dp_last" | tr '\r\n' '  ' | cut -c1-200)
		if [ "$_dp_hrc" -eq 0 ]; then
			_dp_msg="passed: $_dp_last"
			return 0
		fi
		if [ "$_dp_hrc" -eq 127 ]; then
			_dp_msg=$_dp_last
			return 1
		fi
		_dp_hnow=$(date +%s)
		if [ "$DP_CHECK" != 1 ] && [ "$_dp_last" != "$_dp_seen" ]; then
			_dp_seen=$_dp_last
			_dp_mark "handler $_dp_n/$DP_HANDLERS wait $_dp_last"
		fi
		if [ "$DP_CHECK" = 1 ]; then
			_dp_st=skipped
			_dp_msg="not passing now ($_dp_last); up would wait up to ${_dp_hto}s"
			return 0
		fi
		if [ $((_dp_hnow - _dp_hstart)) -ge "$_dp_hto" ]; then
			_dp_msg="still failing after $((_dp_hnow - _dp_hstart))s: last $_dp_last"
			return 1
		fi
		sleep "$_dp_hiv"
	done
}
