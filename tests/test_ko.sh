#!/usr/bin/env bash
# tests/test_ko.sh - tuna in Korean: the message tables (labs/lang/*.msg)
# agree with each other and with the scripts; the lab and every exercise
# speak Korean when asked (--lang ko, TUNA_LANG=ko, a ko_* locale) with the
# same results, markers and figures as in English; the output is UTF-8
# whatever locales the machine has installed.
#
# The Korean runs of the suites that parse lab and exercise output
# (test_labs, test_exercises) are those suites run with TUNA_TEST_LANG=ko:
# the same setups, the same kernel-side checks, the lab's lines read
# through the Korean table.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

LANG_DIR=$TUNA_ROOT/labs/lang
LAB=$TUNA_ROOT/labs/all.sh
TEARDOWN=$TUNA_ROOT/labs/teardown.sh
RUN=$TUNA_ROOT/labs/exercises/run
# A locale no machine has installed: the output must not depend on it.
MISSING_LOCALE=ko_KR.UTF-8
locale -a 2>/dev/null | grep -qix 'ko_kr\.utf-\?8' && MISSING_LOCALE=ko_ZZ.UTF-8

# --- helpers -----------------------------------------------------------------------------

# table_keys FILE: its keys, sorted.
table_keys() {
    awk -F'\t' '/^#/ || NF == 0 { next } { print $1 }' "$1" | sort
}

# conversions FILE: "KEY<TAB>the printf conversions of its text, in order"
# (%s, %d ...; not %%, which prints a percent sign and takes no argument).
conversions() {
    awk -F'\t' '/^#/ || NF == 0 { next } {
        t = $2; c = ""
        while (match(t, /%[-0-9.]*[a-zA-Z%]/)) {
            s = substr(t, RSTART, RLENGTH); t = substr(t, RSTART + RLENGTH)
            if (s != "%%") c = c s
        }
        print $1 "\t" c }' "$1" | sort
}

# has_hangul FILE-OR-TEXT...: stdin holds at least one Hangul syllable
# (UTF-8 EA B0 80 .. ED 9E A3, matched as bytes, in any locale).
has_hangul() {
    LC_ALL=C grep -q $'[\xea-\xed][\x80-\xbf][\x80-\xbf]'
}

# valid_utf8 FILE: FILE is well-formed UTF-8.
valid_utf8() {
    iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1
}

# ko_msg KEY ARGS..., ko_re KEY ERE...: tmsg and tmsg_re (tests/lib.sh) in
# Korean, whatever TUNA_TEST_LANG is.
ko_msg() {
    ( TUNA_LOCALE_SET=1 lang_choose ko; msg "$@" )
}
ko_re() {
    ( TUNA_LOCALE_SET=1 lang_choose ko; tmsg_re "$@" )
}

# lab_name: a lab name of at most 8 characters, unique to this run.
lab_name() {
    printf 'k%x%03x' $(($$ % 4096)) $((RANDOM % 4096))
}

# result_summary OUT: what a lab's run held, language aside: the number of
# "[ ok ]" and "[FAIL]" lines and the post's claims (C22 ...) they name, in
# order.
result_summary() {
    echo "ok $(grep -c '^  \[ ok \] ' "$1") fail $(grep -c '^  \[FAIL\] ' "$1")"
    grep -E '^  \[( ok |FAIL)\] ' "$1" | grep -oE '\(C[0-9]+(, C[0-9]+)*\)$' | tr '\n' ' '
    echo
}

# run_nested_suite LANG SUITE [TEST...]: the suite (or its named tests) with
# the labs and exercises in LANG; fails the test unless all of it passed.
# Its skips are its own (with TUNA_MUST_RUN=1 they fail it): listed here.
run_nested_suite() {
    local lang=$1 suite=$2 out rc=0
    shift 2
    out=$TEST_TMP/$suite.$lang.out
    TUNA_RESULTS='' TUNA_TEST_LANG=$lang bash "$TESTS_DIR/$suite.sh" ${1:+--} "$@" >"$out" 2>&1 || rc=$?
    assertEquals "$suite in $lang: $(grep -aE 'ASSERT|SKIP|^Ran|^OK|^FAILED' "$out" | tail -25)" 0 "$rc"
    if [ $# -gt 0 ]; then
        assertTrue "$suite in $lang ran its $# test(s): $(tail -5 "$out")" \
            "grep -qx 'Ran $# tests\\{0,1\\}\\.' '$out'"
    fi
    assertTrue "$suite in $lang: OK" "grep -qx 'OK' '$out'"
    grep '^SKIP: ' "$out" | sed "s/^/  ($suite in $lang) /"
    return 0
}

# --- the tables -----------------------------------------------------------------------------

test_every_table_has_the_keys_and_conversions_of_the_english_one() {
    local table lang
    for table in "$LANG_DIR"/*.msg; do
        lang=$(basename "$table" .msg)
        assertEquals "$lang.msg: lines that are not KEY<TAB>TEXT" "" \
            "$(awk -F'\t' '/^#/ || NF == 0 { next } NF != 2 || $1 !~ /^[A-Za-z0-9_.]+$/ || $2 == "" { print NR": "$0 }' "$table")"
        assertEquals "$lang.msg: keys twice" "" "$(table_keys "$table" | uniq -d)"
        [ "$lang" = en ] && continue
        assertEquals "$lang.msg has exactly en.msg's keys" \
            "$(table_keys "$LANG_DIR/en.msg")" "$(table_keys "$table")"
        assertEquals "$lang.msg: the same printf conversions per key as en.msg" "" \
            "$(diff <(conversions "$LANG_DIR/en.msg") <(conversions "$table") | grep '^[<>]')"
    done
    assertTrue "there is a Korean table" "[ -f '$LANG_DIR/ko.msg' ]"
    assertTrue "ko.msg is Korean" "has_hangul <'$LANG_DIR/ko.msg'"
}

# Every key a script names is in the tables, every key of the tables is
# used, and every check of every exercise has its heading.
test_the_scripts_use_exactly_the_keys_of_the_tables() {
    local used checks
    # (msg "ex.check.$1", the headings, is checked below.)
    used=$(grep -ohE '\bmsg "?[a-z0-9_]+\.[A-Za-z0-9_.]+' "$TUNA_ROOT"/labs/*.sh \
        "$TUNA_ROOT"/labs/exercises/run "$TUNA_ROOT"/labs/exercises/*.sh |
        sed -E 's/^msg "?//' | grep -v '\.$' | sort -u)
    checks=$(grep -ohE '^test_[A-Za-z0-9_]+\(\)' "$TUNA_ROOT"/labs/exercises/[0-9][0-9]*-*.sh |
        sed 's/()$//; s/^/ex.check./' | sort -u)
    assertEquals "keys the scripts use that en.msg lacks" "" \
        "$(comm -23 <(echo "$used") <(table_keys "$LANG_DIR/en.msg"))"
    assertEquals "checks without a heading in en.msg" "" \
        "$(comm -23 <(echo "$checks") <(table_keys "$LANG_DIR/en.msg"))"
    assertEquals "keys in en.msg no script uses" "" \
        "$(comm -13 <(sort -u <(echo "$used"; echo "$checks")) <(table_keys "$LANG_DIR/en.msg"))"
}

# The language is chosen as POSIX chooses a locale category's: LC_ALL over
# LC_MESSAGES over LANG; TUNA_LANG over them; --lang over everything.
# title_in ENV... [-- ARGS...]: the language of exercise 01's task title,
# run with the environment ENV only (and ARGS before the exercise): en, ko or "?".
title_in() {
    local line envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    line=$(env -u TUNA_LANG -u LC_ALL -u LC_MESSAGES -u LANG "${envs[@]}" "$RUN" "$@" 01 --task 2>/dev/null |
        head -n 1)
    case "$line" in
    "$(tmsg ex.task_title 01 '')"*) echo en ;;
    "$(ko_msg ex.task_title 01 '')"*) echo ko ;;
    *) echo "? ($line)" ;;
    esac
}

test_the_language_follows_lang_then_tuna_lang_then_the_locale() {
    assertNotEquals "the Korean title differs" "$(tmsg ex.task_title 01 '')" \
        "$(ko_msg ex.task_title 01 '')"
    assertEquals "no locale: English" en "$(title_in)"
    assertEquals "LANG=$MISSING_LOCALE" ko "$(title_in LANG=$MISSING_LOCALE)"
    assertEquals "LANG=ko" ko "$(title_in LANG=ko)"
    assertEquals "LC_MESSAGES=ko_KR over LANG=C" ko "$(title_in LANG=C LC_MESSAGES=$MISSING_LOCALE)"
    assertEquals "LC_ALL=C over LC_MESSAGES=ko_KR" en "$(title_in LC_ALL=C LC_MESSAGES=$MISSING_LOCALE)"
    assertEquals "LC_ALL=ko_KR over LANG=en_US" ko "$(title_in LANG=en_US.UTF-8 LC_ALL=$MISSING_LOCALE)"
    assertEquals "TUNA_LANG=en over LC_ALL=ko_KR" en "$(title_in LC_ALL=$MISSING_LOCALE TUNA_LANG=en)"
    assertEquals "--lang ko over TUNA_LANG=en" ko "$(title_in TUNA_LANG=en -- --lang ko)"
    assertEquals "a language without a table: English" en "$(title_in LANG=xx_XX.UTF-8)"
    local rc=0
    "$RUN" --lang xx 01 --task >/dev/null 2>&1 || rc=$?
    assertEquals "--lang with no table: exit 2" 2 "$rc"
    rc=0
    "$LAB" --lang xx --help >/dev/null 2>&1 || rc=$?
    assertEquals "labs/all.sh --lang with no table: exit 2" 2 "$rc"
}

# Nothing here needs a Korean locale: with one that is not installed (and
# with C), the Korean output is the same well-formed UTF-8.
test_a_locale_that_is_not_installed_still_prints_utf8() {
    local n out=$TEST_TMP/out
    for n in 01 02 03 04 05 06 07; do
        env -u TUNA_LANG LC_ALL=$MISSING_LOCALE "$RUN" "$n" --task >"$out" 2>/dev/null
        assertTrue "task $n under LC_ALL=$MISSING_LOCALE is UTF-8" "valid_utf8 '$out'"
        assertTrue "task $n under LC_ALL=$MISSING_LOCALE is Korean" "has_hangul <'$out'"
        assertEquals "task $n: the same bytes under LC_ALL=C with --lang ko" \
            "$(cat "$out")" "$(LC_ALL=C "$RUN" --lang ko "$n" --task)"
    done
    env -u TUNA_LANG LANG=$MISSING_LOCALE "$LAB" --help >"$out" 2>&1
    assertTrue "labs/all.sh --help under LANG=$MISSING_LOCALE is UTF-8 and Korean" \
        "valid_utf8 '$out' && has_hangul <'$out'"
    # Korean folded to a narrow width: no character cut in two, no line too wide.
    wrap_text 20 "$(ko_msg lib.v2_busy ' /a/b')" >"$out"
    assertTrue "wrapped Korean is UTF-8" "valid_utf8 '$out'"
    assertEquals "no wrapped line wider than 20 columns" "" \
        "$(while IFS= read -r l; do text_width "$l"; [ "$REPLY" -le 20 ] || echo "$l"; done <"$out")"
}

# --- the lab ----------------------------------------------------------------------------------

# labs/all.sh three times: in English, with --lang ko, and under a Korean
# locale that is not installed.  The same results, the same exit status; the
# Korean banners in Hangul; the boxes of the network picture still line up.
test_the_lab_in_korean_holds_the_same_results_as_in_english() {
    require_root || return 0
    local name how out rc en_summary banners
    for how in en lang locale; do
        name=$(lab_name)
        on_cleanup "$TEARDOWN" --name "$name"
        out=$TEST_TMP/lab.$how
        rc=0
        case "$how" in
        en) "$LAB" --name "$name" --quiet --backend overlay >"$out" 2>&1 || rc=$? ;;
        lang) "$LAB" --name "$name" --quiet --backend overlay --lang ko >"$out" 2>&1 || rc=$? ;;
        locale) env -u TUNA_LANG -u LC_ALL LANG=$MISSING_LOCALE \
            "$LAB" --name "$name" --quiet --backend overlay >"$out" 2>&1 || rc=$? ;;
        esac
        assertEquals "labs/all.sh ($how) exit status: $(tail -12 "$out")" 0 "$rc"
        assertTrue "labs/all.sh ($how) output is UTF-8" "valid_utf8 '$out'"
        "$TEARDOWN" --name "$name"
    done
    en_summary=$(result_summary "$TEST_TMP/lab.en")
    for how in lang locale; do
        out=$TEST_TMP/lab.$how
        assertEquals "the same results with $how as in English" "$en_summary" "$(result_summary "$out")"
        banners=$(grep -E '^ [0-9]+단계\. ' "$out")
        assertEquals "as many Korean step banners ($how) as English ones" \
            "$(grep -cE '^ Step [0-9]+\. ' "$TEST_TMP/lab.en")" "$(echo "$banners" | grep -c .)"
        assertTrue "the banners are Hangul ($how)" "echo '$banners' | has_hangul"
        assertTrue "the summary is Korean ($how): $(tail -3 "$out")" \
            "grep -Eq '$(ko_re lib.all_held "$(grep -c '^  \[ ok \] ' "$out")")' '$out'"
        assertEquals "no English banner left ($how)" 0 "$(grep -c '^ Step [0-9]' "$out")"
        # Every line of a box is as wide as its top, in terminal columns.
        assertEquals "the boxes line up in Korean ($how)" "1" \
            "$(grep -E '^  (\+-.*\+|\|  .*\|)$' "$out" |
                while IFS= read -r l; do text_width "$l"; echo "$REPLY"; done | sort -u | wc -l)"
    done
}

# The suite that reads the lab's lines (banners, lessons, the network
# picture, the chart, "every result held") on the Korean lab: the full lab
# kept and checked from the kernel's side, and each step's lab alone.
test_the_lab_suite_passes_in_korean() {
    require_root || return 0
    require_zfs || return 0
    run_nested_suite ko test_labs test_lab_replays_the_post_and_the_kernel_agrees \
        test_each_step_lab_runs_alone_and_leaves_nothing
}

# --- the exercises ----------------------------------------------------------------------------

# The exercise suite in Korean: every exercise against a right answer (PASS)
# and the wrong ones (WRONG paragraphs in Korean with the English run's do:
# lines, see assert_exercise_fails_saying in test_exercises.sh).
test_every_exercise_right_and_wrong_in_korean() {
    require_root || return 0
    run_nested_suite ko test_exercises
}

# A Korean report keeps the markers and the layout: "- check:" headings in
# Korean, "ok:", "WRONG:", "do:", "PASS:", "NOT YET:" as in English.
test_a_korean_report_keeps_the_markers() {
    local out=$TEST_TMP/out rc=0
    EX_CGROUP=tuna-ko-none/never "$RUN" --lang ko 01 >"$out" 2>&1 || rc=$?
    assertEquals "exit status of a failing exercise in Korean: $(cat "$out")" 1 "$rc"
    assertTrue "the title is Korean: $(head -1 "$out")" \
        "head -n 1 '$out' | grep -Eq '^== $(ko_re ex.task_title 01 '')' && head -n 1 '$out' | has_hangul"
    assertTrue "check headings in Korean" "grep '^- check: ' '$out' | has_hangul"
    assertTrue "WRONG paragraphs" "grep -q '^  WRONG: ' '$out'"
    assertTrue "do: lines" "grep -q '^     do: mkdir -p ' '$out'"
    assertTrue "NOT YET, in Korean" "grep '^NOT YET: ' '$out' | has_hangul"
}

# --- the Korean pages ---------------------------------------------------------------------

# english_of KOREAN-PAGE: the English page a page of docs/ko translates
# (nothing for README.ko.md and the glossary, which are not translations).
english_of() {
    case "$1" in
    */docs/ko/exercises.md) echo "$TUNA_ROOT/labs/exercises/README.md" ;;
    */docs/ko/*) echo "$TUNA_ROOT/docs/${1##*/docs/ko/}" ;;
    esac
}

# korean_pages: README.ko.md and every page of docs/ko, one a line.
korean_pages() {
    [ -f "$TUNA_ROOT/README.ko.md" ] && echo "$TUNA_ROOT/README.ko.md"
    find "$TUNA_ROOT/docs/ko" -name '*.md' 2>/dev/null | sort
}

# Commands the pages' code blocks run: a line's first word is one of these,
# or a path (bin/..., labs/..., ./...).  Prose and program output in code
# blocks (translated, or different) are not commands.
DOC_COMMANDS="sudo make ip echo mkdir unshare zfs zpool btrfs mount umount cd cat nft iptables
sysctl truncate mkfs.btrfs mkfs.ext4 mkfs.xfs ping hostname exec stress rmdir ls ps nsenter cp
chroot pivot_root cgcreate cgclassify ln grep sed awk jq readlink stat findmnt df du tee kill
pgrep perf docker 01-cgroup 02-unshare 03-zfs-image 04-pivot 05-veth 06-nat 07-stress 08-harden
bash sh busybox apt-get git top qemu-system-x86_64 dmesg losetup wc env setpriv capsh modprobe
\$T T=\"bin/03-zfs-image flock zfs-fuse systemd-run systemctl watch sleep"

# code_commands PAGE: the commands of PAGE's code blocks, one a line, as
# typed (prompts "post$ ", "tuna$ ", "$ ", "# " and trailing "# comments"
# left out: those are translated), sorted.  Diagrams (box drawing, arrows)
# and lines in Hangul are not commands.  Bytes, whatever the locale.
code_commands() {
    LC_ALL=C awk -v cmds="$DOC_COMMANDS" '
        BEGIN { n = split(cmds, c, /[ \n]+/); for (i = 1; i <= n; i++) known[c[i]] = 1 }
        /^ *```/ { inside = !inside; next }
        !inside { next }
        {
            line = $0
            sub(/^[ \t]+/, "", line)
            sub(/^(post|tuna)\$ /, "", line)
            sub(/^root@[^ ]*[#$] /, "", line)
            sub(/^[$#] /, "", line)
            sub(/[ \t]+#( .*)?$/, "", line)
            sub(/[ \t]+\([^()]*\)$/, "", line)   # a remark in parentheses
            sub(/[ \t]+$/, "", line)
            if (line ~ /:$/) next                # a heading over commands
            if (line ~ /[\342][\224\226][\200-\277]/) next   # box drawing, arrows: a diagram
            if (line ~ /[\352-\355][\200-\277][\200-\277]/) next   # Hangul: prose
            split(line, w, /[ \t]+/)
            if (w[1] in known || w[1] ~ /^(\.\/|bin\/|labs\/|tests\/|steps\/)/) {
                gsub(/[ \t]+/, " ", line); print line
            }
        }' "$1" | sort
}

# README.md sends a Korean reader to README.ko.md at its top, and
# README.ko.md gives the two commands.
test_readme_ko_is_linked_from_the_top_and_has_the_two_commands() {
    assertTrue "README.md links README.ko.md in its first lines" \
        "head -n 5 '$TUNA_ROOT/README.md' | grep -q '](README.ko.md)'"
    assertTrue "README.ko.md is Korean" "has_hangul <'$TUNA_ROOT/README.ko.md'"
    assertTrue "README.ko.md: sudo make lab" "grep -q '^sudo make lab' '$TUNA_ROOT/README.ko.md'"
    assertTrue "README.ko.md: sudo make check" "grep -q '^sudo make check' '$TUNA_ROOT/README.ko.md'"
    assertTrue "README.ko.md links the glossary" "grep -q '](docs/ko/용어.md)' '$TUNA_ROOT/README.ko.md'"
}

# Every relative link of README.ko.md and docs/ko leads to a file that exists
# (and, with #anchor, to a heading of a Korean page that makes that anchor).
test_every_relative_link_of_the_korean_pages_resolves() {
    local page link target anchor bad='' count=0
    while read -r page; do
        while read -r link; do
            case "$link" in http://* | https://* | mailto:* | '#'*) continue ;; esac
            count=$((count + 1))
            target=${link%%#*} anchor=''
            [ "$target" != "$link" ] && anchor=${link#*#}
            if [ ! -e "$(dirname "$page")/$target" ]; then
                bad="$bad
${page#"$TUNA_ROOT"/}: $link"
            elif [ -n "$anchor" ] && ! heading_anchors "$(dirname "$page")/$target" | grep -qxF -- "$anchor"; then
                bad="$bad
${page#"$TUNA_ROOT"/}: $link (no such heading)"
            fi
        done < <(grep -oE '\]\([^)[:space:]]+\)' "$page" | sed -E 's/^\]\(//; s/\)$//')
    done < <(korean_pages)
    assertTrue "there are Korean pages with links" "[ $count -gt 0 ]"
    assertEquals "links that lead nowhere" "" "$bad"
}

# heading_anchors PAGE: the anchors its headings make, as GitHub makes them:
# lower case, punctuation out (Hangul stays), spaces to hyphens.
heading_anchors() {
    awk '/^ *```/ { inside = !inside; next } !inside && /^#+ / { sub(/^#+ +/, ""); print }' "$1" |
        sed -E 's/[[:space:]]+$//' |
        tr '[:upper:]' '[:lower:]' | sed -E 's/[][!"#$%&'"'"'()*+,./:;<=>?@\\^`{|}~]//g; s/ /-/g'
}

# translated_part PAGE: what of the English PAGE docs/ko translates: all of
# it, but of docs/vm.md only its instructor part (the "### How an
# instructor uses it" section).
translated_part() {
    case "$1" in
    */docs/vm.md) awk '/^#+ / { inside = tolower($0) ~ /instructor/ } inside' "$1" ;;
    *) cat "$1" ;;
    esac
}

# Each Korean page's code blocks run the same commands as its English page's
# (a command changed in one language and not the other shows here).
test_the_korean_pages_run_the_english_pages_commands() {
    local page english
    while read -r page; do
        english=$(english_of "$page")
        if [ -z "$english" ] || [ ! -f "$english" ]; then continue; fi
        translated_part "$english" >"$TEST_TMP/english.md"
        assertEquals "${page#"$TUNA_ROOT"/}: its code blocks' commands are ${english#"$TUNA_ROOT"/}'s" \
            "" "$(diff <(code_commands "$TEST_TMP/english.md") <(code_commands "$page") | grep '^[<>]')"
    done < <(korean_pages)
}

# docs/ko has a page for every lesson, the start page, the concepts lesson,
# the errata, the claims, the answers to the lessons' questions, the
# exercises' README and, where docs/vm.md has one, its instructor part: for
# each of them that exists in English.
test_docs_ko_has_a_page_for_every_english_page_listed() {
    local english korean missing=''
    for english in "$TUNA_ROOT"/docs/00-start.md "$TUNA_ROOT"/docs/00-concepts.md \
        "$TUNA_ROOT"/docs/0[1-9]-*.md "$TUNA_ROOT"/docs/errata.md "$TUNA_ROOT"/docs/claims.md \
        "$TUNA_ROOT"/docs/answers.md "$TUNA_ROOT"/docs/vm.md \
        "$TUNA_ROOT"/labs/exercises/README.md; do
        [ -f "$english" ] || continue
        case "$english" in
        */docs/vm.md) grep -qi '^#.*instructor' "$english" || continue ;;
        esac
        case "$english" in
        */labs/exercises/README.md) korean=$TUNA_ROOT/docs/ko/exercises.md ;;
        *) korean=$TUNA_ROOT/docs/ko/${english##*/} ;;
        esac
        [ -f "$korean" ] || missing="$missing ${korean#"$TUNA_ROOT"/}"
    done
    assertEquals "Korean pages missing" "" "$missing"
    assertTrue "the glossary" "[ -f '$TUNA_ROOT/docs/ko/용어.md' ]"
}

# shellcheck disable=SC1090
. "$SHUNIT2"
