# shellcheck shell=bash
# labs/lang.sh - the language the labs and exercises speak: one table of
# messages per language, labs/lang/LANG.msg, one "KEY<TAB>text" a line, the
# text a printf format (%s, %d; %% for a percent sign).  A third language is
# a new file, not a new copy of the scripts.
#
#   msg KEY [ARGS...]     the text of KEY, ARGS put in as printf does (no newline)
#   lang_choose [LANG]    pick the table: LANG (from --lang), else TUNA_LANG,
#                         else the locale: LC_ALL, else LC_MESSAGES, else LANG
#                         (POSIX's precedence); "ko_KR.UTF-8" -> ko.  A
#                         language without a table falls back to English.
#
# The tables are UTF-8 and are printed as they are, byte for byte, so the
# output is UTF-8 whatever locales the machine has installed.  Widths are
# counted here in terminal columns (a Hangul syllable takes two), not with
# printf's field widths, which count bytes.
#
# Only the narration is translated: what the tools print (errors, hints,
# --explain) stays English, and so do the result markers ([ ok ], [FAIL],
# PASS:, WRONG:, do:) and every figure, so output stays machine-checkable.

LANG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/lang" && pwd)
declare -gA TUNA_MSG=()
TUNA_LANG_ACTIVE=

# lang_of_locale VALUE: "ko" for ko_KR.UTF-8, "en" for C, POSIX or nothing.
lang_of_locale() {
    local v=${1%%[_.@]*}
    case "$v" in '' | C | POSIX) v=en ;; esac
    echo "$v"
}

# lang_requested: the language asked for by TUNA_LANG or the locale.
lang_requested() {
    if [ -n "${TUNA_LANG:-}" ]; then
        echo "$TUNA_LANG"
    elif [ -n "${LC_ALL:-}" ]; then
        lang_of_locale "$LC_ALL"
    elif [ -n "${LC_MESSAGES:-}" ]; then
        lang_of_locale "$LC_MESSAGES"
    else
        lang_of_locale "${LANG:-}"
    fi
}

# lang_valid NAME: a language with a table.
lang_valid() {
    case "$1" in '' | *[!a-zA-Z_-]*) return 1 ;; esac
    [ -f "$LANG_DIR/$1.msg" ]
}

# lang_load FILE: read a table into TUNA_MSG (later files override earlier).
lang_load() {
    local key text
    while IFS=$'\t' read -r key text; do
        case "$key" in '' | '#'*) continue ;; esac
        TUNA_MSG[$key]=$text
    done <"$1"
}

# lang_choose [LANG]: load English, then LANG's table over it; exports
# TUNA_LANG so the scripts this one runs speak the same language.
lang_choose() {
    local want=${1:-$(lang_requested)}
    lang_valid "$want" || want=en
    TUNA_MSG=()
    lang_load "$LANG_DIR/en.msg"
    [ "$want" = en ] || lang_load "$LANG_DIR/$want.msg"
    TUNA_LANG_ACTIVE=$want
    export TUNA_LANG=$want
    # The locale asked for may not be installed (a Korean one, often): then
    # every program, bash too, would warn and fall back to bytes.  The
    # tables are printed as UTF-8 bytes anyway; C.UTF-8 (built into glibc)
    # keeps the tools quiet and their output the same everywhere.
    if [ -z "${TUNA_LOCALE_SET:-}" ]; then
        if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then
            export LC_ALL=C.UTF-8
        else
            export LC_ALL=C
        fi
        export TUNA_LOCALE_SET=1
    fi
}

# lang_option_value ARG: for --lang ARG, exit 2 unless ARG has a table.
lang_option_value() {
    if ! lang_valid "${1:-}"; then
        echo "$(basename "$0"): --lang takes one of: $(lang_list)" >&2
        exit 2
    fi
}

# lang_list: the languages with a table.
lang_list() {
    local f out=''
    for f in "$LANG_DIR"/*.msg; do
        f=${f##*/}
        out="$out${out:+ }${f%.msg}"
    done
    echo "$out"
}

# msg KEY [ARGS...]: the text of KEY in the chosen language.  A key that is
# in no table prints itself (so a missing key shows, and never breaks a lab).
msg() {
    [ -n "$TUNA_LANG_ACTIVE" ] || lang_choose ""
    local key=$1
    shift
    if [ -n "${TUNA_MSG[$key]+set}" ]; then
        # shellcheck disable=SC2059  # the table's text is the format
        printf -- "${TUNA_MSG[$key]}" "$@"
    else
        printf '%s' "$key"
    fi
}

# text_width TEXT: TEXT's width in terminal columns, whatever the locale,
# in REPLY: counted in bytes, one column per UTF-8 character, two for those
# whose first byte is 0xE3 to 0xED (Hangul, CJK: the wide ones).
text_width() {
    local LC_ALL=C
    local s=$1 chars wide
    chars=${s//[$'\x80'-$'\xbf']/}
    wide=${s//[!$'\xe3'-$'\xed']/}
    REPLY=$((${#chars} + ${#wide}))
}

# pad_to WIDTH TEXT: TEXT and spaces up to WIDTH columns.
pad_to() {
    text_width "$2"
    printf '%s%*s' "$2" $(($1 > REPLY ? $1 - REPLY : 0)) ''
}

# wrap_text WIDTH TEXT: TEXT folded at spaces into lines of at most WIDTH
# columns (a longer word stays whole), one line each.
wrap_text() {
    local width=$1 word line='' lw=0 words=()
    read -r -a words <<<"$2"
    for word in "${words[@]}"; do
        text_width "$word"
        if [ -n "$line" ] && [ $((lw + 1 + REPLY)) -gt "$width" ]; then
            printf '%s\n' "$line"
            line=''
        fi
        if [ -z "$line" ]; then
            line=$word lw=$REPLY
        else
            line="$line $word" lw=$((lw + 1 + REPLY))
        fi
    done
    [ -z "$line" ] || printf '%s\n' "$line"
}
