#!/bin/bash
# The S3 gateway (glory s3) against real clients: aws cli v2, boto3 (tests/s3/s3_api.py: every
# API item and error code), our own raw SigV4 client (tests/s3/s3_raw.py: aws-chunked bodies
# with chunk signatures and trailers, skew, hostile input), s3cmd, rclone, libs3's s3 (SigV2),
# curl with presigned URLs; the same bytes through `glory get` and a FUSE mount; tenant
# isolation; paging 1,500 keys.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
AWS=/usr/bin/aws
PY=/usr/bin/python3
unset AWS_CA_BUNDLE AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
export AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-creds
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
M=$T/mnt
mkdir -p "$M" "$D/s3"

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
s3_stop() {
	[ -n "${TLSPID:-}" ] && kill "$TLSPID" 2>/dev/null || true
	[ -f "$D/s3/pid" ] && kill "$(cat "$D/s3/pid")" 2>/dev/null
	for _ in $(seq 50); do [ -f "$D/s3/pid" ] && kill -0 "$(cat "$D/s3/pid")" 2>/dev/null || break; sleep 0.1; done
	rm -f "$D/s3/pid"
}
unmount() { grep -q " $M " /proc/mounts && { fusermount3 -u "$M" 2>/dev/null || umount -l "$M"; }; true; }
trap 'rc=$?; set +e; s3_stop; unmount; (exit $rc); cleanup' EXIT

cluster_up --ds 3 --mds 1
"$GLORY" tenant create t >/dev/null
"$GLORY" tenant create u >/dev/null
"$GLORY" volume create default --tenant t --redundancy rep:2 >/dev/null
"$GLORY" volume create default --tenant u --redundancy rep:1 --quota-bytes 3M >/dev/null
eval "$("$GLORY" key create --tenant t --env | grep -E '^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=')"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=us-east-1
UK=$("$GLORY" key create --tenant u --env)
U_KEY=$(echo "$UK" | sed -n 's/^AWS_ACCESS_KEY_ID=//p')
U_SECRET=$(echo "$UK" | sed -n 's/^AWS_SECRET_ACCESS_KEY=//p')

PORT=$(free_port)
EP=http://127.0.0.1:$PORT
"$GLORY" s3 --listen 127.0.0.1:$PORT --log-file "$D/s3/log" --domain s3.test >"$D/s3/out" 2>&1 &
echo $! >"$D/s3/pid"
up() { curl -s -o /dev/null "$EP/"; }
check "glory s3 answers on $EP" wait_for 20 "the gateway" up
export GLORY_S3_URL=$EP
a() { $AWS --endpoint-url "$EP" "$@"; }
q() { "$@" >/dev/null; }

# --- aws cli: buckets, objects, the same bytes everywhere
check "aws s3 mb" q a s3 mb s3://photos
mkrand "$T/one" 1234567
check "aws s3 cp up" q a s3 cp --no-progress "$T/one" s3://photos/2024/jan/one.bin
check "aws s3 cp down reads back the same bytes" bash -c \
	"'$AWS' --endpoint-url '$EP' s3 cp --no-progress s3://photos/2024/jan/one.bin '$T/one.back' >/dev/null && cmp -s '$T/one' '$T/one.back'"
check "the object is the file photos/2024/jan/one.bin of the volume (glory get)" bash -c \
	"'$GLORY' get default/photos/2024/jan/one.bin '$T/one.get' --tenant t && cmp -s '$T/one' '$T/one.get'"
ETAG=$(a s3api head-object --bucket photos --key 2024/jan/one.bin --query ETag --output text)
check "ETag is the MD5 of a single-part object" [ "$ETAG" = "\"$(md5sum "$T/one" | cut -d' ' -f1)\"" ]
: >"$T/zero"
check "a zero-byte object" bash -c "'$AWS' --endpoint-url '$EP' s3 cp --no-progress '$T/zero' s3://photos/zero >/dev/null &&
	[ \"\$('$AWS' --endpoint-url '$EP' s3api head-object --bucket photos --key zero --query ContentLength)\" = 0 ] &&
	'$AWS' --endpoint-url '$EP' s3 cp --no-progress s3://photos/zero '$T/zero.back' >/dev/null && [ ! -s '$T/zero.back' ]"
mkrand "$T/big" $((40 << 20))
check "a 40 MiB object through multipart (aws s3 cp, 8 MiB parts) reads back" bash -c \
	"'$AWS' --endpoint-url '$EP' s3 cp --no-progress '$T/big' s3://photos/big >/dev/null &&
	 '$AWS' --endpoint-url '$EP' s3 cp --no-progress s3://photos/big '$T/big.back' >/dev/null && cmp -s '$T/big' '$T/big.back'"
check "its ETag is md5-of-md5s -5" bash -c "'$AWS' --endpoint-url '$EP' s3api head-object --bucket photos --key big --query ETag --output text | grep -q -- '-5\"\$'"
check "glory get reads the multipart object" bash -c "'$GLORY' get default/photos/big '$T/big.get' --tenant t && cmp -s '$T/big' '$T/big.get'"
mkdir -p "$T/tree/a/b"
for i in 1 2 3; do mkrand "$T/tree/a/f$i" $((i * 1000)); done
mkrand "$T/tree/a/b/deep" 5000
check "aws s3 sync up" q a s3 sync --no-progress "$T/tree" s3://photos/tree
check "aws s3 ls --recursive lists the synced tree" bash -c \
	"[ \"\$('$AWS' --endpoint-url '$EP' s3 ls --recursive s3://photos/tree/ | wc -l)\" = 4 ]"
check "aws s3 sync down matches" bash -c "'$AWS' --endpoint-url '$EP' s3 sync --no-progress s3://photos/tree '$T/tree2' >/dev/null && diff -r '$T/tree' '$T/tree2'"
check "aws s3 rm --recursive" bash -c "'$AWS' --endpoint-url '$EP' s3 rm --recursive s3://photos/tree >/dev/null &&
	[ -z \"\$('$AWS' --endpoint-url '$EP' s3 ls s3://photos/tree/)\" ]"
check "the directories the removed keys implied are gone" bash -c "! '$GLORY' ls default/photos/tree --tenant t >/dev/null 2>&1"

# --- boto3: the API item by item, every error code
check "boto3: the API and its errors (tests/s3/s3_api.py)" \
	$PY "$SRC/tests/s3/s3_api.py" "$EP" "$U_KEY" "$U_SECRET"
# --- raw SigV4: aws-chunked, trailers, presigned, hostile requests
check "raw SigV4 client: chunked bodies, trailers, skew, presigned, garbage (tests/s3/s3_raw.py)" \
	$PY "$SRC/tests/s3/s3_raw.py" "$EP"

# --- presigned URLs with curl
URL=$(a s3 presign s3://photos/2024/jan/one.bin --expires-in 300)
check "presigned GET with curl" bash -c "curl -sf -o '$T/pre' '$URL' && cmp -s '$T/one' '$T/pre'"
LAST=${URL: -1}
[ "$LAST" = 0 ] && FLIP=1 || FLIP=0
check "a presigned URL with a changed signature is refused (403 SignatureDoesNotMatch)" bash -c \
	"curl -s '${URL%?}$FLIP' | grep -q SignatureDoesNotMatch"
BAD=$(AWS_SECRET_ACCESS_KEY=wrongsecretwrongsecretwrongsecret00000000 $AWS --endpoint-url "$EP" s3 presign s3://photos/2024/jan/one.bin)
check "a URL presigned with a wrong secret is refused" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$BAD')\" = 403 ]"
NOKEY=$(AWS_ACCESS_KEY_ID=AKNOTAKEY0000000000 $AWS --endpoint-url "$EP" s3 presign s3://photos/2024/jan/one.bin)
check "an unknown access key is InvalidAccessKeyId" bash -c "curl -s '$NOKEY' | grep -q InvalidAccessKeyId"
EXP=$(a s3 presign s3://photos/2024/jan/one.bin --expires-in 1)
sleep 2
check "an expired presigned URL is refused (403 AccessDenied, expired)" bash -c \
	"curl -s -w '%{http_code}' '$EXP' | grep -q 'Request has expired.*403\$'"
PUT=$($PY -c "import boto3,sys; c=boto3.client('s3',endpoint_url='$EP'); print(c.generate_presigned_url('put_object',Params={'Bucket':'photos','Key':'presigned-put'},ExpiresIn=300))")
mkrand "$T/pp" 100000
check "presigned PUT with curl, then read back" bash -c "curl -sf -T '$T/pp' '$PUT' >/dev/null &&
	'$AWS' --endpoint-url '$EP' s3 cp --no-progress s3://photos/presigned-put '$T/pp.back' >/dev/null && cmp -s '$T/pp' '$T/pp.back'"
VH=$($PY -c "import boto3; from botocore.config import Config; c=boto3.client('s3',endpoint_url='http://s3.test:$PORT',config=Config(s3={'addressing_style':'virtual'})); print(c.generate_presigned_url('get_object',Params={'Bucket':'photos','Key':'2024/jan/one.bin'}))")
check "virtual-host style (photos.s3.test) presigned GET" bash -c \
	"curl -sf --resolve 'photos.s3.test:$PORT:127.0.0.1' -o '$T/vh' '$VH' && cmp -s '$T/one' '$T/vh'"

# --- listing 1,500 keys in every paging form
$PY - "$EP" <<'PY' || fail "could not put 1,500 keys"
import boto3, sys, concurrent.futures as cf
c = boto3.client("s3", endpoint_url=sys.argv[1])
c.create_bucket(Bucket="many")
def put(i):
    c.put_object(Bucket="many", Key="d%d/k%04d" % (i % 3, i), Body=b"x" * (i % 7))
with cf.ThreadPoolExecutor(8) as ex:
    list(ex.map(put, range(1500)))
PY
check "aws s3 ls --recursive lists all 1,500 keys (v2 paging, 1000 + 500)" bash -c \
	"[ \"\$('$AWS' --endpoint-url '$EP' s3 ls --recursive s3://many | wc -l)\" = 1500 ]"
check "list-objects (v1, marker paging by 100)" bash -c \
	"[ \"\$('$AWS' --endpoint-url '$EP' s3api list-objects --bucket many --page-size 100 --query 'length(Contents)')\" = 1500 ]"
check "list-objects-v2 (continuation tokens, pages of 7)" bash -c \
	"[ \"\$('$AWS' --endpoint-url '$EP' s3api list-objects-v2 --bucket many --page-size 7 --prefix d1/ --query 'length(Contents)')\" = 500 ]"
check "delimiter: three common prefixes" bash -c \
	"[ \"\$('$AWS' --endpoint-url '$EP' s3api list-objects-v2 --bucket many --delimiter / --query 'join(\`,\`, CommonPrefixes[].Prefix)' --output text)\" = d0/,d1/,d2/ ]"
check "boto3 paginators and start-after/marker in order (tests/s3/s3_list.py)" $PY "$SRC/tests/s3/s3_list.py" "$EP"

# --- other clients
cat >"$T/s3cfg" <<EOF
[default]
access_key = $AWS_ACCESS_KEY_ID
secret_key = $AWS_SECRET_ACCESS_KEY
host_base = 127.0.0.1:$PORT
host_bucket = 127.0.0.1:$PORT
use_https = False
EOF
S3CMD="s3cmd -c $T/s3cfg --no-progress"
check "s3cmd put" $S3CMD put "$T/one" s3://photos/s3cmd/one >/dev/null
check "s3cmd get reads back the same bytes" bash -c "$S3CMD get --force s3://photos/s3cmd/one '$T/one.s3cmd' >/dev/null && cmp -s '$T/one' '$T/one.s3cmd'"
check "s3cmd ls" bash -c "$S3CMD ls s3://photos/s3cmd/ | grep -q s3://photos/s3cmd/one"
check "s3cmd info (acl, policy, cors sub-resources)" bash -c "$S3CMD info s3://photos/s3cmd/one | grep -q 'MD5 sum: *$(md5sum "$T/one" | cut -d' ' -f1)'"
check "s3cmd put of 20 MiB (its multipart)" bash -c "head -c 20000000 '$T/big' >'$T/b20' && $S3CMD put '$T/b20' s3://photos/s3cmd/b20 >/dev/null &&
	$S3CMD get --force s3://photos/s3cmd/b20 '$T/b20.back' >/dev/null && cmp -s '$T/b20' '$T/b20.back'"
SIGNED=$($S3CMD signurl s3://photos/s3cmd/one +300)
check "a SigV2 presigned URL (s3cmd signurl) with curl" bash -c "curl -sf -o '$T/v2pre' '$SIGNED' && cmp -s '$T/one' '$T/v2pre'"
check "the same URL with another signature is refused" bash -c "curl -s '${SIGNED/Signature=/Signature=x}' | grep -q SignatureDoesNotMatch"
check "s3cmd del" bash -c "$S3CMD del s3://photos/s3cmd/b20 >/dev/null && ! $S3CMD ls s3://photos/s3cmd/ | grep -q b20"
export RCLONE_CONFIG_G_TYPE=s3 RCLONE_CONFIG_G_PROVIDER=Other RCLONE_CONFIG_G_ENV_AUTH=true \
	RCLONE_CONFIG_G_ENDPOINT=$EP RCLONE_CONFIG_G_REGION=us-east-1
RC="rclone --config /dev/null -q"
mkdir -p "$T/rc/sub"
for i in 1 2 3 4; do mkrand "$T/rc/f$i" $((i * 3000)); done
mkrand "$T/rc/sub/big" $((12 << 20))
check "rclone copy" $RC copy "$T/rc" g:photos/rc
check "rclone check finds no differences" $RC check "$T/rc" g:photos/rc
rm "$T/rc/f1"
mkrand "$T/rc/f5" 777
check "rclone sync (a delete and an add)" $RC sync "$T/rc" g:photos/rc
check "rclone check after sync" $RC check "$T/rc" g:photos/rc
L3="env S3_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY S3_HOSTNAME=127.0.0.1:$PORT s3 -u"
check "libs3 s3 (SigV2): put" $L3 put photos/libs3/one filename="$T/one"
check "libs3 s3 (SigV2): get reads back" bash -c "$L3 get photos/libs3/one filename='$T/one.l3' && cmp -s '$T/one' '$T/one.l3'"
check "libs3 s3 (SigV2): list" bash -c "$L3 list photos prefix=libs3/ | grep -q libs3/one"
check "libs3 s3 (SigV2): delete" bash -c "$L3 delete photos/libs3/one && ! $L3 list photos prefix=libs3/ | grep -q libs3/one"
check "libs3 s3 (SigV2): list buckets" bash -c "$L3 list | grep -q photos"

# --- tenant isolation
ua() { AWS_ACCESS_KEY_ID=$U_KEY AWS_SECRET_ACCESS_KEY=$U_SECRET $AWS --endpoint-url "$EP" "$@"; }
check "another tenant does not see t's buckets" bash -c "[ -z \"\$(AWS_ACCESS_KEY_ID=$U_KEY AWS_SECRET_ACCESS_KEY=$U_SECRET $AWS --endpoint-url $EP s3 ls | grep photos)\" ]"
check "another tenant gets NoSuchBucket for t's bucket" bash -c \
	"AWS_ACCESS_KEY_ID=$U_KEY AWS_SECRET_ACCESS_KEY=$U_SECRET $AWS --endpoint-url $EP s3api head-object --bucket photos --key zero 2>&1 | grep -q 404"
check "and BucketAlreadyExists when creating its name" bash -c \
	"AWS_ACCESS_KEY_ID=$U_KEY AWS_SECRET_ACCESS_KEY=$U_SECRET $AWS --endpoint-url $EP s3 mb s3://photos 2>&1 | grep -q BucketAlreadyExists"

# --- one namespace with the FUSE mount
if [ -w /dev/fuse ]; then
	mkdir -p "$D/mount"
	"$GLORY" mount default "$M" --tenant t --log-file "$D/mount/log"
	check "an S3 object is a file under the FUSE mount" cmp -s "$T/one" "$M/photos/2024/jan/one.bin"
	mkdir -p "$M/photos/fuse"
	cp "$T/pp" "$M/photos/fuse/written.bin"
	check "a file written under the mount is an object" bash -c \
		"'$AWS' --endpoint-url '$EP' s3 cp --no-progress s3://photos/fuse/written.bin '$T/w.back' >/dev/null && cmp -s '$T/pp' '$T/w.back'"
	E1=$(a s3api head-object --bucket photos --key fuse/written.bin --query ETag --output text)
	E2=$(a s3api head-object --bucket photos --key fuse/written.bin --query ETag --output text)
	check "its ETag is stable while it does not change" [ -n "$E1" ] && [ "$E1" = "$E2" ]
	echo more >>"$M/photos/fuse/written.bin"
	E3=$(a s3api head-object --bucket photos --key fuse/written.bin --query ETag --output text)
	check "and changes when the file changes under the mount" [ "$E3" != "$E1" ]
	unmount
fi

# --- HTTPS: a second gateway with a certificate; aws cli over TLS sends its checksums as
# aws-chunked trailers (STREAMING-UNSIGNED-PAYLOAD-TRAILER)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 2 \
	-subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
TPORT=$(free_port)
mkdir -p "$D/s3tls"
"$GLORY" s3 --listen 127.0.0.1:$TPORT --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" \
	--log-file "$D/s3tls/log" >"$D/s3tls/out" 2>&1 &
TLSPID=$!
wait_for 20 "the TLS gateway" curl -s --cacert "$T/tls.crt" -o /dev/null "https://127.0.0.1:$TPORT/"
at() { $AWS --endpoint-url "https://127.0.0.1:$TPORT" --ca-bundle "$T/tls.crt" "$@"; }
check "HTTPS: aws s3 cp up and down (30 MB, multipart)" bash -c "head -c 30000000 '$T/big' >'$T/t30' &&
	$(declare -f at); AWS=$AWS TPORT=$TPORT T=$T; at s3 cp --no-progress '$T/t30' s3://photos/tls >/dev/null &&
	at s3 cp --no-progress s3://photos/tls '$T/t30.back' >/dev/null && cmp -s '$T/t30' '$T/t30.back'"
CRC=$($PY -c "import zlib,base64,sys; print(base64.b64encode(zlib.crc32(open(sys.argv[1],'rb').read()).to_bytes(4,'big')).decode())" "$T/one")
check "HTTPS: aws put-object --checksum-algorithm CRC32 (a trailer) stores the checksum" bash -c \
	"$(declare -f at); AWS=$AWS TPORT=$TPORT T=$T; at s3api put-object --bucket photos --key tlsck --body '$T/one' --checksum-algorithm CRC32 >/dev/null &&
	[ \"\$(at s3api head-object --bucket photos --key tlsck --checksum-mode ENABLED --query ChecksumCRC32 --output text)\" = '$CRC' ]"
check "plain HTTP to the TLS port is not served" bash -c "! curl -sf -o /dev/null http://127.0.0.1:$TPORT/"
kill $TLSPID
wait $TLSPID || true
TLSPID=

# --- the gateway stops on SIGTERM
s3_stop
check "glory s3 stopped on SIGTERM" bash -c "! curl -s -o /dev/null '$EP/'"
finish
