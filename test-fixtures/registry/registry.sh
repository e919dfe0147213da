#!/usr/bin/env bash
# Runs Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1 in the foreground, for tests.
#
# usage: registry.sh MODE DIR PORT [TOKEN_REALM]
#   MODE plain      no auth, plain HTTP
#   MODE basic-tls  htpasswd basic auth (user testuser, password $REGISTRY_PASSWORD or
#                   "testpassword") over TLS; a test CA is made with openssl in DIR
#                   (DIR/ca.crt; DIR/certs.d/127.0.0.1:PORT/ca.crt for clients)
#   MODE token      bearer token auth; tokens are signed by DIR/token.key (cert DIR/token.crt,
#                   made here) and issued by the test token issuer at TOKEN_REALM
#                   (test-fixtures/registry/TokenIssuer.ts), service "berth-test-registry",
#                   issuer "berth-test-issuer"
# State (blobs, config) lives in DIR; stop the registry by killing this process.
set -euo pipefail
mode=${1:?mode}; dir=${2:?dir}; port=${3:?port}; realm=${4:-}
mkdir -p "$dir/data"
cd "$dir"
auth=""
tls=""
case $mode in
  plain) ;;
  basic-tls)
    if [ ! -s server.crt ]; then
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-test-ca \
        -keyout ca.key -out ca.crt 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > server.ext
      openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.crt 2>/dev/null
      mkdir -p "certs.d/127.0.0.1:$port"
      cp ca.crt "certs.d/127.0.0.1:$port/ca.crt"
    fi
    htpasswd -Bbn testuser "${REGISTRY_PASSWORD:-testpassword}" > htpasswd 2>/dev/null
    auth="auth:
  htpasswd:
    realm: basic-realm
    path: $dir/htpasswd"
    tls="  tls:
    certificate: $dir/server.crt
    key: $dir/server.key"
    ;;
  token)
    [ -n "$realm" ] || { echo "registry.sh: token mode needs TOKEN_REALM" >&2; exit 2; }
    if [ ! -s token.crt ]; then
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-test-token \
        -keyout token.key -out token.crt 2>/dev/null
    fi
    auth="auth:
  token:
    realm: $realm
    service: berth-test-registry
    issuer: berth-test-issuer
    rootcertbundle: $dir/token.crt"
    ;;
  *) echo "registry.sh: unknown mode $mode (plain, basic-tls, token)" >&2; exit 2 ;;
esac
cat > config.yml <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: berth-test-secret
$tls
$auth
YAML
exec docker-registry serve config.yml
