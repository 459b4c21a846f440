#!/usr/bin/env bash
# Translation catalogues (Flask-Babel; English msgids, Simplified Chinese by default).
#
#   scripts/i18n.sh            extract + update + compile (the usual run after changing strings)
#   scripts/i18n.sh extract    write saas/translations/messages.pot from the source (babel.cfg)
#   scripts/i18n.sh update     merge the .pot into each language's messages.po (init when missing)
#   scripts/i18n.sh compile    build the .mo files the app reads (the set-up step; .mo are not committed)
#   scripts/i18n.sh missing    list msgids still untranslated or fuzzy in Chinese; exit 1 when any
#
# Idempotent: a run that finds no new or changed strings leaves every file as it was (the dates in
# the headers are not rewritten for nothing). New strings arrive untranslated, never fuzzy-guessed;
# strings gone from the source are dropped from the .po.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
PYBABEL=("$PY" -m babel.messages.frontend)

DIR=saas/translations
POT="$DIR/messages.pot"
# the directory is named as Babel resolves the locale: Locale.parse("zh_CN") is zh_Hans_CN, and
# Flask-Babel looks for that name (a zh_CN directory would silently leave every page in English)
LANGS=(zh_Hans_CN)
# keep in step with tests/kernel/test_i18n.py (KEYWORDS)
KEYWORDS=(-k _l -k lazy_gettext -k "lazy_ngettext:1,2" -k "lazy_pgettext:1c,2")

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# replace $2 by $1 unless they differ only in the generated dates of the header
replace_if_changed() {
    local new="$1" old="$2"
    if [ -f "$old" ] && diff -q <(grep -v -e '^"POT-Creation-Date:' -e '^"PO-Revision-Date:' "$new") \
                                 <(grep -v -e '^"POT-Creation-Date:' -e '^"PO-Revision-Date:' "$old") >/dev/null; then
        echo "unchanged: $old"
    else
        mkdir -p "$(dirname "$old")"
        cp "$new" "$old"
        echo "written:   $old"
    fi
}

extract() {
    "${PYBABEL[@]}" -q extract -F babel.cfg "${KEYWORDS[@]}" \
        --add-comments=TRANSLATORS: --add-location=file --no-wrap --sort-by-file \
        --project=Wanggetong --version=0.1 --copyright-holder=Wanggetong --msgid-bugs-address=" " \
        -o "$TMP/messages.pot" .
    replace_if_changed "$TMP/messages.pot" "$POT"
}

update() {
    [ -f "$POT" ] || extract
    local lang po
    for lang in "${LANGS[@]}"; do
        po="$DIR/$lang/LC_MESSAGES/messages.po"
        mkdir -p "$TMP/$lang/LC_MESSAGES"
        if [ -f "$po" ]; then
            cp "$po" "$TMP/$lang/LC_MESSAGES/messages.po"
            "${PYBABEL[@]}" -q update -i "$POT" -d "$TMP" -l "$lang" \
                --no-fuzzy-matching --ignore-obsolete --no-wrap
        else
            "${PYBABEL[@]}" -q init -i "$POT" -d "$TMP" -l "$lang" --no-wrap
        fi
        replace_if_changed "$TMP/$lang/LC_MESSAGES/messages.po" "$po"
    done
}

compile() {
    # --use-fuzzy is deliberately absent: a fuzzy entry is shown in English until someone checks it
    "${PYBABEL[@]}" compile -d "$DIR" --statistics
}

missing() {
    local lang status=0
    for lang in "${LANGS[@]}"; do
        "$PY" - "$DIR/$lang/LC_MESSAGES/messages.po" <<'EOF' || status=1
import sys
from babel.messages.pofile import read_po

with open(sys.argv[1], "rb") as f:
    catalog = read_po(f)
todo = [m for m in catalog if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, (tuple, list)) else [m.string]))]
for m in todo:
    print(("fuzzy: " if m.fuzzy else "") + (m.id if isinstance(m.id, str) else m.id[0]))
print(f"{sys.argv[1]}: {len(todo)} of {sum(1 for m in catalog if m.id)} msgids to translate", file=sys.stderr)
sys.exit(1 if todo else 0)
EOF
    done
    return $status
}

case "${1:-all}" in
    extract) extract ;;
    update) extract; update ;;
    compile) compile ;;
    missing) missing ;;
    all) extract; update; compile ;;
    *) echo "usage: $0 [all|extract|update|compile|missing]" >&2; exit 2 ;;
esac
