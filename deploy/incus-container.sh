#!/bin/sh
# Runs incus-dns as an Incus container on the Incus host (docs/operations.md: "As an Incus container on the Incus host").
#
#   deploy/incus-container.sh [--name incus-dns] [--image images:debian/12] [--suffix incus.example.org]
#                             [--dns-listen 127.0.0.1:5300] [--http-listen 127.0.0.1:9153] [--socket PATH]
#                             [--project default] [--zones DIR] [--env INCUS_DNS_X=value ...]
#
# What it does, with the incus CLI of this host:
#   1. launches the image (any glibc Linux image: the project's own Node 24 is pushed in, nothing is
#      downloaded inside the container, so it needs no network);
#   2. builds dist/ and pushes it, package.json, the production node_modules and Node itself into
#      /opt/incus-dns (run `npm ci` in the checkout first), and the zone files of --zones DIR into
#      /etc/incus-dns/zones (none by default: the checkout's zones/ are the demo's examples, not yours);
#   3. gives it the host's Incus API through a proxy device (a unix socket inside the container at
#      /run/incus-dns/incus.socket; root-equivalent, so keep it to this container);
#   4. publishes its DNS port on the host with two proxy devices (UDP and TCP), and the HTTP side port;
#   5. starts it (a systemd unit where the image has systemd, else /etc/rc.local plus a start now) and waits
#      for /readyz.
# Run it again to replace the code of an existing container (it is stopped, updated and started).
set -eu

NAME=incus-dns
IMAGE=images:debian/12
SUFFIX=incus.example.org
DNS_LISTEN=127.0.0.1:5300
HTTP_LISTEN=127.0.0.1:9153
SOCKET="${INCUS_DIR:-/var/lib/incus}/unix.socket"
PROJECT=default
ZONES=""
EXTRA_ENV=""
here=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "incus-container.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --name) NAME=$2; shift 2 ;;
    --image) IMAGE=$2; shift 2 ;;
    --suffix) SUFFIX=$2; shift 2 ;;
    --dns-listen) DNS_LISTEN=$2; shift 2 ;;
    --http-listen) HTTP_LISTEN=$2; shift 2 ;;
    --socket) SOCKET=$2; shift 2 ;;
    --project) PROJECT=$2; shift 2 ;;
    --zones) ZONES=$2; shift 2 ;;
    --env) case "$2" in INCUS_DNS_*=*) EXTRA_ENV="$EXTRA_ENV$2
" ;; *) die "--env takes INCUS_DNS_NAME=value, not '$2'" ;; esac; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

command -v incus >/dev/null || die "the incus CLI is not on PATH"
[ -S "$SOCKET" ] || die "no Incus socket at $SOCKET; set --socket (or INCUS_DIR)"
node="$here/node_modules/node/bin/node"
[ -x "$node" ] || die "no Node in $here/node_modules: run 'npm ci' in $here first"
[ -z "$ZONES" ] || [ -d "$ZONES" ] || die "--zones takes a folder of *.zone files, and '$ZONES' is not one"
case "$DNS_LISTEN" in *:*) ;; *) die "--dns-listen takes ADDRESS:PORT, not '$DNS_LISTEN'" ;; esac
# stdin closed: incus launch (and others) read YAML from a stdin that is not a terminal.
inc() { incus --project "$PROJECT" "$@" </dev/null; }

# 1. The container.
if inc info "$NAME" >/dev/null 2>&1; then
  echo "updating the existing container $NAME"
  inc stop --force "$NAME" >/dev/null 2>&1 || true
  inc start "$NAME"
else
  echo "launching $NAME from $IMAGE"
  inc launch "$IMAGE" "$NAME" --quiet
fi

# 2. The code: a tarball made here, unpacked there (no network, no npm inside).
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/incus-dns/bin"
cp "$node" "$stage/incus-dns/bin/node"
# Compiled JavaScript (npm run build): the .ts sources would cost ~18 MB more RSS for the type stripper.
(cd "$here" && "$node" node_modules/typescript/bin/tsc -p tsconfig.build.json) || die "could not build dist/ (npm ci first)"
cp -R "$here/dist" "$here/package.json" "$stage/incus-dns/"
mkdir -p "$stage/zones"
[ -z "$ZONES" ] || find "$ZONES" -maxdepth 1 -name '*.zone' -exec cp {} "$stage/zones/" \;
# The production dependencies only (npm ls reads node_modules; it fetches nothing). Nested packages come
# with their parents, so only top-most paths are copied.
(cd "$here" && npm ls --omit=dev --all --parseable 2>/dev/null) | sed -n "s#^$here/##p" | grep '^node_modules/' | sort |
  awk 'BEGIN { last = "" } last != "" && index($0, last "/") == 1 { next } { print; last = $0 }' > "$stage/deps"
(cd "$here" && tar -cf - -T "$stage/deps") | (cd "$stage/incus-dns" && tar -xf -)
cat > "$stage/incus-dns/run" <<'EOF'
#!/bin/sh
# Started by the unit or rc.local: settings from /etc/incus-dns.env.
set -a; . /etc/incus-dns.env; set +a
cd /opt/incus-dns && exec /opt/incus-dns/bin/node dist/cli/bin.js
EOF
chmod +x "$stage/incus-dns/run"
{
  echo "INCUS_DNS_SUFFIX=$SUFFIX"
  echo "INCUS_DNS_INCUS_SOCKET=/run/incus-dns/incus.socket"
  echo "INCUS_DNS_LISTEN=127.0.0.1:5300"
  echo "INCUS_DNS_HTTP_LISTEN=127.0.0.1:9153"
  echo "INCUS_DNS_ZONES_DIR=/etc/incus-dns/zones"
  echo "INCUS_DNS_STATE_FILE=/var/lib/incus-dns/state.json"
  printf '%s' "$EXTRA_ENV"
} > "$stage/incus-dns.env"
tar -C "$stage" -czf "$stage/bundle.tar.gz" incus-dns zones
inc exec "$NAME" -- sh -c 'rm -rf /opt/incus-dns /etc/incus-dns/zones && mkdir -p /opt /run/incus-dns /var/lib/incus-dns /etc/incus-dns'
inc file push --quiet "$stage/bundle.tar.gz" "$NAME/opt/incus-dns.tar.gz"
inc file push --quiet "$stage/incus-dns.env" "$NAME/etc/incus-dns.env"
inc exec "$NAME" -- sh -c 'cd /opt && tar -xzf incus-dns.tar.gz && mv zones /etc/incus-dns/zones && rm incus-dns.tar.gz'

# 3. and 4. The devices (replaced when they exist, so a rerun can change the ports).
device() {
  dev=$1; shift
  inc config device remove "$NAME" "$dev" >/dev/null 2>&1 || true
  inc config device add "$NAME" "$dev" proxy "$@" >/dev/null
}
device incus-socket bind=instance listen=unix:/run/incus-dns/incus.socket connect="unix:$SOCKET" uid=0 gid=0 mode=0600
device dns-udp listen="udp:$DNS_LISTEN" connect=udp:127.0.0.1:5300
device dns-tcp listen="tcp:$DNS_LISTEN" connect=tcp:127.0.0.1:5300
[ -z "$HTTP_LISTEN" ] || device http listen="tcp:$HTTP_LISTEN" connect=tcp:127.0.0.1:9153

# 5. Start it, and on every boot.
if inc exec "$NAME" -- sh -c '[ -d /run/systemd/system ]'; then
  incus --project "$PROJECT" exec "$NAME" -- sh -c 'cat > /etc/systemd/system/incus-dns.service' <<'EOF'
[Unit]
Description=incus-dns: authoritative DNS for Incus instances
After=network.target
[Service]
ExecStart=/opt/incus-dns/run
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
[Install]
WantedBy=multi-user.target
EOF
  inc exec "$NAME" -- systemctl daemon-reload
  inc exec "$NAME" -- systemctl enable incus-dns.service >/dev/null 2>&1
  inc exec "$NAME" -- systemctl restart incus-dns.service
else
  echo "no systemd in $IMAGE: starting from /etc/rc.local"
  inc exec "$NAME" -- sh -c 'grep -q incus-dns /etc/rc.local 2>/dev/null || { [ -s /etc/rc.local ] || echo "#!/bin/sh" > /etc/rc.local; echo "setsid /opt/incus-dns/run >>/var/log/incus-dns.log 2>&1 </dev/null &" >> /etc/rc.local; chmod +x /etc/rc.local; }'
  inc exec "$NAME" -- sh -c 'kill $(cat /run/incus-dns.pid 2>/dev/null) 2>/dev/null; setsid /opt/incus-dns/run >>/var/log/incus-dns.log 2>&1 </dev/null & echo $! > /run/incus-dns.pid'
fi

# Ready when /readyz says so (the first Incus sync done).
i=0
until inc exec "$NAME" -- /opt/incus-dns/bin/node -e "fetch('http://127.0.0.1:9153/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 60 ] || { inc exec "$NAME" -- sh -c 'tail -5 /var/log/incus-dns.log 2>/dev/null || journalctl -u incus-dns -n 5' >&2 || true; die "incus-dns in $NAME did not become ready in 30 s"; }
  sleep 0.5
done
host=$(echo "${DNS_LISTEN%:*}" | tr -d '[]'); port=${DNS_LISTEN##*:}
echo "incus-dns is answering in $NAME: dig @$host -p $port <instance>.$SUFFIX"
