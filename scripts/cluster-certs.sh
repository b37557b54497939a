#!/usr/bin/env bash
# Makes the certificates of a throwaway Temporal cluster with TLS on its frontend
# (test/harness/servers/temporalCluster.ts): a CA, the frontend's certificate (for localhost and
# 127.0.0.1, or the names given), and client certificates for mutual TLS, all signed by that CA.
# P-256 keys in PKCS#8 (what Go's crypto/tls and the SDKs' rustls read), valid for 30 days.
#
# Usage: scripts/cluster-certs.sh DIR [CLIENT_NAME ...]   (default client: temporal-kerchunk-worker)
# Writes DIR/ca.pem, DIR/server.{pem,key}, DIR/<client>.{pem,key}; DIR/ca.key stays beside them.
set -euo pipefail
dir=${1:?usage: scripts/cluster-certs.sh DIR [CLIENT_NAME ...]}
shift
clients=("${@:-temporal-kerchunk-worker}")
mkdir -p "$dir"
cd "$dir"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key ca.key
openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=temporal-kerchunk test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem

# sign NAME EXTENSIONS: a certificate for NAME.key signed by the CA.
sign() {
  local name=$1 ext=$2
  key "$name.key"
  openssl req -new -key "$name.key" -subj "/CN=$name" -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 \
    -extfile <(printf '%s\n' "$ext") -out "$name.pem" 2>/dev/null
  rm -f "$name.csr"
}

sign server "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
for client in "${clients[@]}"; do
  sign "$client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
done
chmod 644 ca.pem server.pem "${clients[@]/%/.pem}"
