#!/bin/sh
# Puts promtool, Prometheus' checker of rules, in DIR (`make setup`: .tools/bin) for the alert rules' tests
# (tests/unit/test_alert_rules.py). Debian's package `prometheus` carries it: only /usr/bin/promtool is taken
# out of the .deb, so no Prometheus service is installed or started and no root is needed, unless apt's
# package lists are missing. Nothing to do when DIR or PATH already has one. Where it cannot install it, it
# says what to do and exits 0: the demo does not need promtool, only the tests do.
#
#   sh deploy/prometheus/install-promtool.sh [DIR]
set -u
dir=${1:-.tools/bin}

if [ -x "$dir/promtool" ] || command -v promtool >/dev/null 2>&1; then
    exit 0
fi

explain() {
    echo "promtool is not installed ($1); the alert rules' tests need it and fail without it in CI." >&2
    echo "  Debian/Ubuntu: apt-get download prometheus, then" >&2
    echo "    dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xO ./usr/bin/promtool > $dir/promtool" >&2
    echo "    chmod +x $dir/promtool        (or: sudo apt-get install prometheus, which also starts a server)" >&2
    echo "  elsewhere: promtool from a release at https://prometheus.io/download/, in $dir/ or on PATH" >&2
    exit 0
}

command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 || explain "no apt-get here"

work=$(mktemp -d) || explain "no temporary folder"
trap 'rm -rf "$work"' EXIT

# `apt-get download` needs no root; as root, apt warns that its sandbox user cannot write here.
download() { (cd "$work" && apt-get download -q -o APT::Sandbox::User="$(id -un)" prometheus) >"$work/apt.log" 2>&1; }

echo "installing promtool from Debian's prometheus package into $dir (the alert rules' tests)"
if ! download; then
    # A fresh machine may have no package lists yet: read them, as root or through a sudo that needs no password.
    if [ "$(id -u)" = 0 ]; then
        apt-get update -q >"$work/apt.log" 2>&1 && download
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n apt-get update -q >"$work/apt.log" 2>&1 && download
    else
        false
    fi || { cat "$work/apt.log" >&2; explain "apt-get download prometheus failed"; }
fi

# Written beside its final name and renamed once it runs: an interrupted set-up leaves no broken promtool.
mkdir -p "$dir" || explain "cannot make $dir"
partial="$dir/promtool.partial"
dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -xO ./usr/bin/promtool >"$partial" \
    && chmod 0755 "$partial" && "$partial" --version >/dev/null 2>&1 && mv "$partial" "$dir/promtool" \
    || { rm -f "$partial"; explain "no working promtool in the package"; }
"$dir/promtool" --version 2>&1 | head -n 1
