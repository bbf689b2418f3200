package completion

import (
	"fmt"
	"strings"
)

// Shells are the shells Script writes for.
var Shells = []string{"bash", "zsh", "fish"}

// Script is the completion script for shell. Every script asks the
// program itself (`PROG __complete -- WORDS... CURRENT`) for candidates,
// one a line, so that completion follows the binary's own command tree.
func Script(shell, prog string) (string, error) {
	fn := "_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, prog)
	r := strings.NewReplacer("PROG", prog, "FUNC", fn)
	switch shell {
	case "bash":
		return r.Replace(bashScript), nil
	case "zsh":
		return r.Replace(zshScript), nil
	case "fish":
		return r.Replace(fishScript), nil
	}
	return "", fmt.Errorf("no completion for shell %q: use bash, zsh or fish", shell)
}

// bash splits words at COMP_WORDBREAKS (":" and "=" among them), so
// "role:we" reaches the function as "role" ":" "we", and readline replaces
// only the text after the last break character. The function reads the
// line itself to get whole words and, when bash did split the word, trims
// each candidate down to what readline replaces.
const bashScript = `# bash completion for PROG: source it, or install it with ` + "`make install-completion`" + `.
FUNC_complete() {
    local line="${COMP_LINE:0:COMP_POINT}"
    local -a words
    read -r -a words <<< "$line"
    if [[ ${#words[@]} -eq 0 || $line =~ [[:space:]]$ ]]; then
        words+=("")
    fi
    local prog="${words[0]}"
    [[ $prog == "~/"* ]] && prog="$HOME/${prog#\~/}"
    local cur="${words[${#words[@]}-1]}"
    local bcur="${COMP_WORDS[COMP_CWORD]}"
    local strip=0 i
    if [[ $bcur != "$cur" ]]; then
        for (( i = ${#cur} - 1; i >= 0; i-- )); do
            if [[ $COMP_WORDBREAKS == *"${cur:i:1}"* ]]; then
                strip=$(( i + 1 ))
                break
            fi
        done
    fi
    local IFS=$'\n'
    local -a cands
    cands=($("$prog" __complete -- "${words[@]:1}" 2>/dev/null))
    COMPREPLY=()
    local c
    for c in "${cands[@]}"; do
        COMPREPLY+=("${c:strip}")
    done
    if [[ ${#COMPREPLY[@]} -gt 0 && ${COMPREPLY[0]} == *[:=] ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}
complete -F FUNC_complete PROG
`

// zsh: the file works both autoloaded from fpath (as _PROG) and sourced.
const zshScript = `#compdef PROG
# zsh completion for PROG: put it in fpath as _PROG before compinit, or source it after compinit.
FUNC() {
    local -a cands
    cands=("${(@f)$(${words[1]} __complete -- "${(@Q)words[2,CURRENT]}" 2>/dev/null)}")
    cands=(${cands:#})
    (( ${#cands} )) || return 1
    local -a nospace
    if [[ ${cands[1]} == *[:=] ]]; then
        nospace=(-S '')
    fi
    compadd -Q $nospace -- "${cands[@]}"
}
if [[ "${funcstack[1]}" == "FUNC" ]]; then
    FUNC "$@"
else
    compdef FUNC PROG
fi
`

const fishScript = `# fish completion for PROG: ` + "`PROG completion fish | source`" + `, or save it as ~/.config/fish/completions/PROG.fish.
function FUNC_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    $tokens[1] __complete -- $tokens[2..-1] $cur 2>/dev/null
end
complete -c PROG -f -a '(FUNC_complete)'
`
