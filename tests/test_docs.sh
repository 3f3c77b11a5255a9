#!/usr/bin/env bash
# tests/test_docs.sh - the lessons, read as a student would meet them:
# every relative link leads somewhere in the repository (and to a heading
# that exists), the text speaks about the project only, every lesson has a
# diagram and stays short, each lesson's numbered steps are its program's
# main() steps, and the claims list and the errata are complete.
# Reads files only: no root, no kernel objects.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DOCS=$TUNA_ROOT/docs
MAX_LESSON_WORDS=2000      # prose words, outside code blocks and tables
# A UTF-8 locale, so that [:alnum:] keeps the post's Korean headings in anchors.
export LC_ALL=C.UTF-8

# markdown_files: the pages a student reads (README, docs/, the exercises').
markdown_files() {
    {
        echo "$TUNA_ROOT/README.md"
        echo "$TUNA_ROOT/labs/exercises/README.md"
        find "$DOCS" -name '*.md'
    } | sort
}

# lessons: docs/NN-name.md.
lessons() {
    find "$DOCS" -maxdepth 1 -name '[0-9][0-9]-*.md' | sort
}

# links FILE: the target of every Markdown link [text](target), one a line,
# outside code blocks.
links() {
    awk '/^```/ { code = !code; next } !code' "$1" |
        grep -oE '\]\([^) ]+\)' | sed 's/^](//; s/)$//'
}

# anchors FILE: the anchor of every heading, as GitHub makes them: lower case,
# punctuation dropped (letters, digits, spaces, - and _ kept), spaces to -.
# A second heading with the same text gets -1 (then -2, ...).
anchors() {
    awk '/^```/ { code = !code; next } !code && /^#+ /' "$1" |
        sed -E 's/^#+ +//; s/ +$//' | tr '[:upper:]' '[:lower:]' |
        sed -E 's/[^[:alnum:] _-]//g; s/ /-/g' |
        awk '{ if (seen[$0]++) print $0 "-" seen[$0] - 1; else print }'
}

# prose_words FILE: words outside code blocks and table rows.
prose_words() {
    awk '/^```/ { code = !code; next } !code && !/^\|/' "$1" | wc -w
}

test_every_relative_link_resolves() {
    local file link path anchor target bad=''
    while read -r file; do
        while read -r link; do
            case "$link" in '' | http://* | https://* | mailto:*) continue ;; esac
            path=${link%%#*} anchor=''
            [ "$path" != "$link" ] && anchor=${link#*#}
            if [ -z "$path" ]; then
                target=$file
            else
                target=$(dirname "$file")/$path
            fi
            if [ ! -e "$target" ]; then
                bad="$bad
  ${file#"$TUNA_ROOT"/}: $link (no such file)"
            elif [ -n "$anchor" ] && [ "${target%.md}" != "$target" ] &&
                ! anchors "$target" | grep -qxF -- "$anchor"; then
                bad="$bad
  ${file#"$TUNA_ROOT"/}: $link (no heading #$anchor there)"
            fi
        done < <(links "$file")
    done < <(markdown_files)
    assertEquals "links that lead nowhere:$bad" "" "$bad"
}

test_links_stay_inside_the_repository() {
    local file link target bad=''
    while read -r file; do
        while read -r link; do
            case "$link" in '' | http://* | https://* | mailto:* | '#'*) continue ;; esac
            target=$(realpath -m "$(dirname "$file")/${link%%#*}")
            case "$target" in "$TUNA_ROOT" | "$TUNA_ROOT"/*) ;; *)
                bad="$bad ${file#"$TUNA_ROOT"/}:$link" ;;
            esac
        done < <(links "$file")
    done < <(markdown_files)
    assertEquals "links out of the repository:$bad" "" "$bad"
}

# Words about how tuna was made, or files a student does not have.
INTERNAL='\bissues?\b|\bbriefs?\b|the brief|engineers?\b|reviewers?\b|this development (machine|vm)|shared/seed|kernel-interfaces|blog-outline|later issue'

test_no_internal_phrases_in_the_docs_or_the_labs_output() {
    local hits
    # The docs, whole; the labs' code lines (what they print), not their comments;
    # the message tables.
    hits=$( {
        markdown_files | xargs grep -niE "$INTERNAL"
        { find "$TUNA_ROOT/labs" -name '*.sh'; echo "$TUNA_ROOT/labs/exercises/run"; } |
            xargs grep -niE "$INTERNAL" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*#'
        # The labs' and exercises' texts, in every language.
        find "$TUNA_ROOT/labs" -name '*.msg' -exec grep -niE "$INTERNAL" {} +
    } 2>/dev/null | sed "s|^$TUNA_ROOT/||")
    assertEquals "internal phrases (say it to the student, about the project):
$hits" "" "$hits"
}

test_every_lesson_has_a_diagram() {
    local lesson missing=''
    for lesson in "$DOCS/00-start.md" $(lessons); do
        # A code block holding box-drawing characters.
        awk '/^```/ { code = !code; next } code && /[─│┌┐└┘├┤┬┴┼═║▲▼►◄]/ { found = 1 }
            END { exit !found }' "$lesson" || missing="$missing $(basename "$lesson")"
    done
    assertEquals "lessons without a diagram:$missing" "" "$missing"
}

test_every_lesson_is_short_enough_to_read_in_one_sitting() {
    local lesson words long=''
    for lesson in $(lessons); do
        words=$(prose_words "$lesson")
        [ "$words" -le "$MAX_LESSON_WORDS" ] || long="$long $(basename "$lesson"):$words"
    done
    assertEquals "lessons over $MAX_LESSON_WORDS words of prose:$long" "" "$long"
}

test_every_lesson_has_think_about_questions_and_answers() {
    local lesson name anchor missing=''
    for lesson in $(lessons); do
        name=$(basename "$lesson")
        [ "$name" = 00-start.md ] && continue
        grep -q '^## Think about' "$lesson" || { missing="$missing $name(no questions)"; continue; }
        anchor=$(grep -oE 'answers\.md#[a-z0-9_-]+' "$lesson" | head -n 1)
        [ -n "$anchor" ] || missing="$missing $name(no link to its answers)"
    done
    assertEquals "lessons without questions or answers:$missing" "" "$missing"
}

# A lesson's first bold numbered list ("1. **...**") is its program's main()
# in order: the same numbers as the "/* N. */" steps of the step's main file.
test_each_lessons_numbered_steps_are_its_programs() {
    local lesson n dir main code text bad=''
    for lesson in $(lessons); do
        n=$(basename "$lesson" | cut -c1-2)
        dir=$(find "$TUNA_ROOT/steps" -maxdepth 1 -name "$n-*" | head -n 1)
        [ -n "$dir" ] || continue
        main=$(grep -l '^int main' "$dir"/*.c | head -n 1)
        code=$(grep -oE '/\* ?[0-9]+\. ' "$main" | grep -oE '[0-9]+' | sort -un | tr '\n' ' ')
        text=$(awk '/^[0-9]+\. \*\*/ { sub(/\..*/, ""); if (!seen[$0]++) print }' "$lesson" |
            tr '\n' ' ')
        [ "$code" = "$text" ] || bad="$bad
  $(basename "$lesson"): lesson [$text], ${main#"$TUNA_ROOT"/} [$code]"
    done
    assertEquals "numbered steps that disagree:$bad" "" "$bad"
}

test_the_start_page_comes_first_in_the_readme() {
    local first
    # (A README in another language may come before it: README.ko.md.)
    first=$(links "$TUNA_ROOT/README.md" | grep -v '^https\?:' | grep -v '^README\.' | head -n 1)
    assertEquals "the README's first link" "docs/00-start.md" "$first"
    local section missing=''
    # Every chapter of the post, by its Korean heading, is mapped.
    for section in 'Hypervisor 가상화방식' 'Container 가상화' 'cgroup 사용예제' \
        '리눅스 네임스페이스' 'unshare —fork option deepdive' '스냅샷과 컨테이너' \
        '컨테이너와 inode limit' '유니온 파일시스템 컨셉' 'AUFS' 'Overlay2' 'Devicemapper' \
        '파일시스템(zfs)를 이용하여 파티션(이미지) 생성' '컨테이너를 위한 네임스페이스 생성' \
        'pivot root 와 proc 파일시스템 마운트' '컨테이너를 위한 네트워크 가상화' \
        '컨테이너에 인터넷 통신 기능 부여하기' 'cgroup을 통해 컨테이너의 자원 제한' '컨테이너 부하테스트'; do
        grep -qF -- "$section" "$DOCS/00-start.md" || missing="$missing [$section]"
    done
    assertEquals "sections of the post missing from 00-start.md:$missing" "" "$missing"
}

# claims.md: "**Cn — ...**" (or "; Cn — ..." in a shared heading) for every
# claim, and its paragraph says where tuna shows it.
test_claims_lists_every_claim_with_where_it_is_shown() {
    local n missing='' unshown=''
    for n in $(seq 30); do
        if ! grep -qE "(^\*\*|; )C$n — " "$DOCS/claims.md"; then
            missing="$missing C$n"
            continue
        fi
        # The claim's paragraph: from its line to the next claim or heading.
        awk -v c="C$n — " 'index($0, c) && !on { on = 1; print; next }
            on && (/^\*\*C[0-9]+ — / || /^#/) { exit } on' "$DOCS/claims.md" |
            grep -qE 'test_|labs/|lab |[Ll]esson|\.md|Not measurable|Cannot be reproduced' ||
            unshown="$unshown C$n"
    done
    assertEquals "claims not in claims.md:$missing" "" "$missing"
    assertEquals "claims that do not say where they are shown:$unshown" "" "$unshown"
    assertTrue "claims.md cites the post by its title" "grep -qF '컨테이너 가상화 개론' '$DOCS/claims.md'"
}

# errata.md: one table row per correction, each with its source and how tuna
# shows it; the rows the lessons rely on, by what they quote.
test_the_errata_has_every_row_with_a_source() {
    local rows row cells phrase missing=''
    rows=$(grep -E '^\| E[0-9]+ \|' "$DOCS/errata.md")
    while IFS= read -r row; do
        cells=$(awk -F' \\| ' '{ print NF }' <<<"$row")
        [ "$cells" -ge 4 ] || missing="$missing [${row:0:6}: not 4 columns]"
        grep -q 'Source:' <<<"$row" || missing="$missing [${row:0:6}: no source]"
        [ -n "$(awk -F' \\| ' '{ gsub(/ *\|$/, "", $NF); print $NF }' <<<"$row")" ] ||
            missing="$missing [${row:0:6}: not how tuna shows it]"
    done <<<"$rows"
    # shellcheck disable=SC2016  # backquotes as the errata writes them
    for phrase in 'cfs_quota_us' '172.17.0.1/16' '198M' 'Reference on write' \
        'cp bin/* usr/bin*' 'cp /bin/stress.' 'ls ping ps' 'lib64' 'pivot_root' \
        'without `--fork`' 'exec does not separate a session' 'IPC namespaces' \
        'PIDs do overlap' 'cgroup is not a module' 'mkfs.ext4' \
        'RoW makes create/delete slow' 'before the cgroup join' 'Docker 1.13' \
        'Killed' 'worker N got signal 9' 'redirect-on-write'; do
        grep -qF -- "$phrase" <<<"$rows" || missing="$missing [$phrase]"
    done
    assertEquals "errata rows missing or incomplete:$missing" "" "$missing"
}

# The lab names the lessons: every "step N ... NN-name" of labs/all.sh is a
# lesson that exists.
test_the_labs_banners_name_lessons_that_exist() {
    local lesson bad=''
    while read -r lesson; do
        [ -f "$DOCS/$lesson.md" ] || bad="$bad $lesson"
    done < <(grep -oE '^ *step [0-9]+ "[^"]*" [0-9][0-9]-[a-z-]+' "$TUNA_ROOT/labs/all.sh" |
        awk '{ print $NF }')
    assertNotEquals "labs/all.sh names a lesson at each step" "" \
        "$(grep -cE '^ *step [0-9]+ "[^"]*" [0-9][0-9]-' "$TUNA_ROOT/labs/all.sh" | grep -v '^0$')"
    assertEquals "banners naming a lesson that is not there:$bad" "" "$bad"
}

. "$SHUNIT2"
