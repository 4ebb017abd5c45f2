#!/usr/bin/env bash
# Starts a real Flowise server as the peer of test/flowise-real/ (`npm run test:flowise`), with
# model-free flows and an API key, and leaves it running.
#
# Usage: scripts/flowise-peer.sh
# Environment (all optional):
#   FLOWISE_CACHE    install dir, reused across runs (default: <repo>/.cache/flowise, gitignored)
#   FLOWISE_PORT     port to listen on, on 127.0.0.1 (default: a free one)
#   FLOWISE_VERSION  npm version of `flowise` (default: 3.1.4, the one the suite was written against)
#   NODE24           Node >= 24 to run Flowise with (default: <repo>/node_modules/node, a devDependency)
#   NODEDIR          Node headers to build sqlite3 against (default: /usr when /usr/include/node exists)
# Output: progress on stderr; on stdout the lines of the env file it writes
#   (FLOWISE_URL, FLOWISE_KEY, FLOWISE_{ECHO,JSON,FAIL,KEYED}_FLOW, FLOWISE_PID, FLOWISE_DATA,
#   FLOWISE_LOG, FLOWISE_ENV = the env file). Stop the server with: kill "$FLOWISE_PID"
#
# Costs: the first run installs about 3 GB from the npm registry (9 minutes on an idle 2-core
# machine, 17 on a busy one); later runs reuse it and take 15 to 30 seconds. Building sqlite3 needs
# gcc, make and python3. Only `flowise` itself is pinned: npm resolves its dependencies afresh on
# each cold install (there is no lockfile for the peer), so a later install may differ a little.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${FLOWISE_CACHE:-$REPO/.cache/flowise}
VERSION=${FLOWISE_VERSION:-3.1.4}
NODE24=${NODE24:-$REPO/node_modules/node/bin/node}
log() { echo "[flowise-peer] $*" >&2; }
die() { log "error: $*"; exit 1; }

# Flowise 3 declares engines node ^24 and fails on older Node; our own code must also run on 22,
# so Node 24 comes from the `node` devDependency rather than from the PATH.
[ -x "$NODE24" ] || die "no Node at $NODE24 (set NODE24 to a Node >= 24)"
"$NODE24" -e 'process.exit(+process.versions.node.split(".")[0] >= 24 ? 0 : 1)' ||
  die "$NODE24 is Node $("$NODE24" --version); Flowise needs >= 24"
# npm runs under the same Node, so installs and native builds see the Node that will run them.
export PATH="$(dirname "$NODE24"):$PATH"

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
cd "$CACHE"

# 1. Install, once. A plain `npm install flowise` fails offline from github.com and rolls the whole
#    install back: faiss-node's install script downloads a prebuilt binary from GitHub releases and
#    falls back to cloning faiss from GitHub. So install with no install scripts at all, then build
#    the one native module start-up needs, sqlite3 (its prebuilt binary is on GitHub too, so it is
#    compiled from source). faiss-node, canvas, sharp, better-sqlite3 and the like stay unbuilt; the
#    Flowise nodes that need them fail to load (errors in the log) and the server runs without them.
if [ ! -f node_modules/flowise/package.json ]; then
  [ -f package.json ] || echo '{"name":"meshwarden-flowise-peer","private":true}' > package.json
  log "installing flowise@$VERSION into $CACHE (about 3 GB; 9-17 minutes the first time)"
  npm install "flowise@$VERSION" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
else
  log "reusing $CACHE/node_modules (flowise $("$NODE24" -p 'require("./node_modules/flowise/package.json").version'))"
fi
if [ ! -f node_modules/sqlite3/build/Release/node_sqlite3.node ]; then
  # sqlite3 is N-API, so any recent Node's headers build it; local ones avoid a download.
  [ -z "${NODEDIR:-}" ] && [ -d /usr/include/node ] && NODEDIR=/usr
  log "building sqlite3 from source (about 1-2 minutes)"
  ${NODEDIR:+env npm_config_nodedir=$NODEDIR} npm rebuild sqlite3 --loglevel=error >&2
fi

# 2. Start, with everything Flowise writes (SQLite DB, secret key, logs, blobs) in a fresh data dir.
PORT=${FLOWISE_PORT:-$("$NODE24" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}
B=http://127.0.0.1:$PORT
# Otherwise the wait below would take another server's answer for this one's.
curl -s -m 5 -o /dev/null "$B/" && die "something already answers on port $PORT"
DATA=$CACHE/runs/$PORT-$$
mkdir -p "$DATA"
log "starting Flowise on $B (log: $DATA/flowise.log)"
HOST=127.0.0.1 PORT=$PORT DATABASE_PATH=$DATA BLOB_STORAGE_PATH=$DATA/storage SECRETKEY_PATH=$DATA \
  LOG_PATH=$DATA/logs APIKEY_PATH=$DATA HOME=$DATA DISABLE_FLOWISE_TELEMETRY=true \
  nohup "$NODE24" node_modules/flowise/bin/run start > "$DATA/flowise.log" 2>&1 &
PID=$!
# Past this point a failure stops the server it started.
trap 'kill "$PID" 2> /dev/null || true' ERR
for _ in $(seq 1 180); do
  curl -sf "$B/api/v1/ping" > /dev/null 2>&1 && break
  kill -0 "$PID" 2> /dev/null || { tail -30 "$DATA/flowise.log" >&2; die "Flowise exited while starting"; }
  sleep 1
done
curl -sf "$B/api/v1/ping" > /dev/null || { kill "$PID"; die "Flowise did not answer /api/v1/ping in 180 s"; }
log "up: Flowise $(curl -sf "$B/api/v1/version")"

# 3. An admin and an API key. Flowise 3 has no switch to turn its login off: the management API
#    needs a user, so the script registers the first one (a throwaway, on loopback) and logs in.
#    Predictions need no login unless the flow has an API key.
J='content-type: application/json'
JAR=$DATA/cookies.txt
curl -sf -X POST "$B/api/v1/account/register" -H "$J" \
  -d '{"user":{"name":"Mesh Admin","email":"admin@meshwarden.test","credential":"Meshwarden-Test-1!"}}' > /dev/null
curl -sf -c "$JAR" -X POST "$B/api/v1/auth/login" -H "$J" \
  -d '{"email":"admin@meshwarden.test","password":"Meshwarden-Test-1!"}' > /dev/null
# An API key needs its permissions listed (without them: 412 "permissions must be an array").
PERMS='["chatflows:view","chatflows:create","chatflows:update","chatflows:delete","agentflows:view","agentflows:create","agentflows:update","agentflows:delete","apikeys:view"]'
curl -sf -b "$JAR" -H 'x-request-from: internal' -H "$J" -X POST "$B/api/v1/apikey" \
  -d "{\"keyName\":\"meshwarden\",\"permissions\":$PERMS}" > "$DATA/apikey.json"
read -r KEY KEY_ID < <("$NODE24" -e 'const k = JSON.parse(require("fs").readFileSync(process.argv[1]))[0]; console.log(k.apiKey, k.id)' "$DATA/apikey.json")
log "admin and API key created"

# 4. The flows (scripts/flowise-flows.mjs), created with the API key.
create() {
  "$NODE24" "$REPO/scripts/flowise-flows.mjs" "$1" |
    curl -sf -H "Authorization: Bearer $KEY" -H "$J" -X POST "$B/api/v1/chatflows" --data @- |
    "$NODE24" -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).id))'
}
ECHO=$(create echo)
JSONF=$(create json)
FAIL=$(create fail)
KEYED=$(create keyed)
# A flow with an API key refuses a missing or wrong key with 500 "... - Unauthorized" (not 401).
curl -sf -H "Authorization: Bearer $KEY" -H "$J" -X PUT "$B/api/v1/chatflows/$KEYED" \
  -d "{\"apikeyid\":\"$KEY_ID\"}" > /dev/null
log "flows created: echo json fail keyed"

ENV_FILE=$CACHE/peer-$PORT.env
cat > "$ENV_FILE" << EOF
FLOWISE_URL=$B
FLOWISE_KEY=$KEY
FLOWISE_ECHO_FLOW=$ECHO
FLOWISE_JSON_FLOW=$JSONF
FLOWISE_FAIL_FLOW=$FAIL
FLOWISE_KEYED_FLOW=$KEYED
FLOWISE_PID=$PID
FLOWISE_DATA=$DATA
FLOWISE_LOG=$DATA/flowise.log
FLOWISE_ENV=$ENV_FILE
EOF
log "ready; settings in $ENV_FILE; stop with: kill $PID"
cat "$ENV_FILE"
