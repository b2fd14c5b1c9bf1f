#!/bin/sh
# man/links.sh DIR install|uninstall
# Every function named in a page's NAME section (.Nm) gets a link page in
# DIR that points at the family page, so `man llm_stream_next` works.
set -eu
dir=$1
action=$2
here=$(dirname "$0")
for page in "$here"/*.3; do
    [ -f "$page" ] || continue
    base=$(basename "$page")
    for name in $(sed -n 's/^\.Nm \([a-z_0-9]*\).*/\1/p' "$page" | sort -u); do
        [ "$name.3" = "$base" ] && continue
        if [ "$action" = install ]; then
            printf '.so man3/%s\n' "$base" > "$dir/$name.3"
        else
            rm -f "$dir/$name.3"
        fi
    done
done
