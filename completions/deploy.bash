# shellcheck shell=bash disable=SC2207 # IFS is a newline: words split there
# bash completion for deploy: commands, options, and the roles and hosts
# of the topology (the *.yml argument, else ./topology.yml). The words come
# from deploy itself (the hidden `deploy __complete`), so they follow its
# command and option tables. Installed as
# $datadir/bash-completion/completions/deploy; or: source completions/deploy.bash

_deploy() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd='' topo='' npos=0 word out i
	local IFS=$'\n'

	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		-*) continue ;;
		esac
		if [[ -z $cmd ]]; then
			cmd=$word
			continue
		fi
		case ${COMP_WORDS[i - 1]} in
		-*) deploy __complete value "$cmd" -- "${COMP_WORDS[i - 1]}" \
			/dev/null >/dev/null 2>&1 && continue ;;
		esac
		npos=$((npos + 1))
		case $word in
		*.yml | *.yaml) topo=$word ;;
		esac
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W $'--help\n--version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(deploy __complete commands 2>/dev/null)"$'\nhelp' -- "$cur"))
		fi
		return
	fi
	# The value of an option: its choices, names for --limit LIST.
	if [[ $prev == -* ]] &&
		out=$(deploy __complete value "$cmd" -- "$prev" "${topo:-topology.yml}" 2>/dev/null); then
		if [[ $out == :file ]]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		elif [[ $prev == --limit || $prev == -l ]] && [[ $cur == *,* ]]; then
			# A comma-separated list: complete its last item.
			COMPREPLY=($(compgen -P "${cur%,*}," -W "$out" -- "${cur##*,}"))
		else
			COMPREPLY=($(compgen -W "$out" -- "$cur"))
		fi
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(deploy __complete options "$cmd" 2>/dev/null)" -- "$cur"))
		return
	fi
	case $cmd:$npos in
	help:0)
		COMPREPLY=($(compgen -W "$(deploy __complete commands 2>/dev/null)" -- "$cur"))
		return
		;;
	ssh:0)
		COMPREPLY=($(compgen -W "$(deploy __complete hosts "${topo:-topology.yml}" 2>/dev/null)" -- "$cur"))
		return
		;;
	state:0)
		COMPREPLY=($(compgen -W $'list\nshow\nrm\nmv\npull\npush\nmigrate' -- "$cur"))
		return
		;;
	esac
	# The topology: YAML files and directories.
	for word in $(compgen -f -- "$cur"); do
		case $word in
		*.yml | *.yaml) COMPREPLY+=("$word") ;;
		*) [[ -d $word ]] && COMPREPLY+=("$word") ;;
		esac
	done
}

complete -F _deploy deploy
