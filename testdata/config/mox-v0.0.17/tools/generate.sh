#!/bin/bash
# Regenerates the fixtures in testdata/config/mox-v0.0.17/ with the real mox v0.0.17.
# Usage: tools/generate.sh [MOX-BINARY]   (default: what shared/peers/mox/build.sh prints, found
# as the tests find it: $MOX_PEER_BUILD, beside the checkout, beside its parent, /work/shared)
# Needs root (for the private namespaces of run-mox.sh), python3, unshare and ip.
# Keys, passwords and timestamps differ on every run; everything else is deterministic.
set -euo pipefail
tools=$(cd "$(dirname "$0")" && pwd)
out=$(dirname "$tools")
mox=${1:-}
if [ -z "$mox" ]; then
    root=$(cd "$out/../../.." && pwd)
    for script in "${MOX_PEER_BUILD:-}" "$root/../shared/peers/mox/build.sh" \
        "$root/../../shared/peers/mox/build.sh" /work/shared/peers/mox/build.sh; do
        if [ -n "$script" ] && [ -f "$script" ]; then mox=$(bash "$script"); break; fi
    done
    [ -n "$mox" ] || { echo "generate.sh: no mox binary given and no shared/peers/mox/build.sh found" >&2; exit 1; }
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# serve re-executes itself as the mox user, which must be able to read the binary.
chmod 755 "$work"
cp "$mox" "$work/mox"; chmod 755 "$work/mox"; mox=$work/mox

# Static outputs.
"$mox" config describe-static >"$out/describe-static.conf"
"$mox" config describe-domains >"$out/describe-domains.conf"
rm -rf "$out/example" "$out/config-example"; mkdir -p "$out/example" "$out/config-example"
for n in $("$mox" example); do "$mox" example "$n" >"$out/example/$n.txt"; done
for n in $("$mox" config example); do "$mox" config example "$n" >"$out/config-example/$n.conf"; done

# quickstart NAME DNS_A ARGS...: runs quickstart in $work/NAME, keeps config/ and mox.service.
quickstart() {
    name=$1; a=$2; shift 2
    mkdir "$work/$name"
    (cd "$work/$name" && DNS_A="$a" "$tools/run-mox.sh" "$mox" quickstart "$@" >/dev/null)
    rm -rf "$out/$name"; mkdir -p "$out/$name"
    cp -r "$work/$name/config" "$work/$name/mox.service" "$out/$name/"
}
quickstart quickstart mail.example.com=192.0.2.10 -skipdial -hostname mail.example.com mjl@example.com
quickstart quickstart-idna mail.xn--bcher-kva.example=192.0.2.20 -skipdial -hostname mail.bücher.example jøran@bücher.example
quickstart quickstart-existing-webserver mail.example.org=192.0.2.30 -skipdial -existing-webserver -hostname mail.example.org mjl@example.org

# localserve's configuration, without serving.
"$tools/run-mox.sh" "$mox" localserve -initonly -dir "$work/localserve" >/dev/null
rm -rf "$out/localserve"; mkdir -p "$out/localserve"
(cd "$work/localserve" && cp mox.conf domains.conf adminpasswd localhost.crt localhost.key dkim.localserve.privatekey.pkcs8.pem "$out/localserve/")

# Edits through a running mox serve (the commands talk to it over its control socket), on
# the first quickstart's configuration. domains.conf after each step.
cp -r "$work/quickstart" "$work/edits"
rm -rf "$out/edits"; mkdir -p "$out/edits"
(cd "$work/edits" && DNS_A="mail.example.com=192.0.2.10" "$tools/run-mox.sh" sh -c '
    set -e
    ip addr add 192.0.2.10/32 dev lo
    "$0" -config config/mox.conf serve >serve.log 2>&1 &
    for i in $(seq 1 100); do [ -S data/ctl ] && break; sleep 0.1; done
    "$0" -config config/mox.conf config domain add example.net mjl
    cp config/domains.conf domains-after-domain-add.conf
    "$0" -config config/mox.conf config account add bob bob@example.com
    cp config/domains.conf domains-after-account-add.conf
    "$0" -config config/mox.conf config address add @example.com bob
    cp config/domains.conf domains-after-catchall-add.conf
    "$0" -config config/mox.conf config address add bob@example.net bob
    cp config/domains.conf domains-after-address-add.conf
    "$0" -config config/mox.conf stop
    wait
' "$mox" >/dev/null)
cp -r "$work/edits/config" "$out/edits/"
rm "$out/edits/config/domains.conf"
cp "$work/edits"/domains-after-*.conf "$out/edits/"
echo "fixtures written to $out"
