#!/bin/sh
# Install or uninstall files for `make install` / `make uninstall`:
#     tools/install-files.sh install|uninstall DESTDIR DEST:SRC:MODE...
# MODE "link" makes DEST a symbolic link to SRC. Uninstall removes each DEST
# and then the directories of ours it leaves empty (.../amp/..., openamp-stubs),
# never a shared one such as PREFIX/include.
set -e
action=$1; destdir=$2
shift 2
for spec in "$@"; do
    dest=$destdir${spec%%:*}
    rest=${spec#*:}
    src=${rest%:*}; mode=${rest##*:}
    case $action in
    install)
        echo "  INSTALL $dest"
        install -d "$(dirname "$dest")"
        if [ "$mode" = link ]; then
            ln -sfn "$src" "$dest"
        else
            install -m "$mode" "$src" "$dest"
        fi
        ;;
    uninstall)
        if [ -e "$dest" ] || [ -L "$dest" ]; then
            echo "  RM      $dest"
            rm -f "$dest"
        fi
        d=$(dirname "$dest")
        while :; do
            case $d in */amp|*/amp/*|*/openamp-stubs) ;; *) break ;; esac
            rmdir "$d" 2>/dev/null || break
            d=$(dirname "$d")
        done
        ;;
    *) echo "install-files.sh: unknown action $action" >&2; exit 2 ;;
    esac
done
