#!/bin/bash
# The S3 gateway with large objects and failures: a 1 GiB object through aws cli multipart reads
# back exactly (through S3 and `glory get`); a data server killed with -9 in the middle of a
# multipart upload: the upload completes and reads back exactly; the gateway itself killed -9
# mid-upload: nothing half-written is visible, and a restarted gateway serves everything; every
# data server killed during a GET: the response is cut, the gateway serves on.
. "$(dirname "$0")/lib.sh"

AWS=/usr/bin/aws
PY=/usr/bin/python3
unset AWS_CA_BUNDLE AWS_PROFILE
export AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-creds
printf '[default]\ns3 =\n    multipart_chunksize = 64MB\n    multipart_threshold = 64MB\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
BIG_MB=${S3_BIG_MB:-$(light 1024 256)}
mkdir -p "$D/s3"

s3_start() {
	"$GLORY" s3 --listen "127.0.0.1:$PORT" --log-file "$D/s3/log" "$@" >>"$D/s3/out" 2>&1 &
	echo $! >"$D/s3/pid"
	wait_for 20 "the gateway" curl -s -o /dev/null "$EP/"
}
s3_stop() {
	[ -f "$D/s3/pid" ] && kill "$(cat "$D/s3/pid")" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$(cat "$D/s3/pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
	rm -f "$D/s3/pid"
}
trap 'rc=$?; set +e; s3_stop; (exit $rc); cleanup' EXIT
a() { $AWS --endpoint-url "$EP" "$@"; }

cluster_up --ds 4 --mds 1
"$GLORY" tenant create t >/dev/null
"$GLORY" volume create default --tenant t --redundancy rep:2 --dedup off >/dev/null
eval "$("$GLORY" key create --tenant t --env | grep -E '^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=')"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=us-east-1
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
EP=http://127.0.0.1:$PORT
s3_start
a s3 mb s3://big >/dev/null

# --- 1 GiB through multipart
mkrand "$T/g" $((BIG_MB << 20))
SUM=$(sha "$T/g")
say "putting $BIG_MB MiB"
check "aws s3 cp of $BIG_MB MiB (multipart, 64 MiB parts)" bash -c "'$AWS' --endpoint-url '$EP' s3 cp --no-progress '$T/g' s3://big/g >/dev/null"
check "its ETag has the part count" bash -c "'$AWS' --endpoint-url '$EP' s3api head-object --bucket big --key g --query ETag --output text | grep -q -- '-$(((BIG_MB + 63) / 64))\"\$'"
check "it reads back exactly over S3" bash -c "[ \"\$('$AWS' --endpoint-url '$EP' s3 cp --no-progress s3://big/g - | sha256sum | cut -d' ' -f1)\" = $SUM ]"
check "and with glory get" bash -c "[ \"\$('$GLORY' get default/big/g --tenant t | sha256sum | cut -d' ' -f1)\" = $SUM ]"
a s3 rm s3://big/g >/dev/null
rm -f "$T/g"

# --- kill -9 of a data server during a multipart upload
mkrand "$T/m" $((200 << 20))
$AWS --endpoint-url "$EP" s3 cp --no-progress "$T/m" s3://big/m >"$T/cp.out" 2>&1 &
CP=$!
sleep 1.5
say "kill -9 ds1 during the upload"
kill -9 "$(ds_pid ds1)"
check "the multipart upload completes with a data server down" wait "$CP"
check "the completed object reads back exactly" bash -c "[ \"\$('$AWS' --endpoint-url '$EP' s3 cp --no-progress s3://big/m - | sha256sum | cut -d' ' -f1)\" = $(sha "$T/m") ]"
"$GLORY" dev start --dir "$D" ds1 >/dev/null 2>&1 || true

# --- kill -9 of the gateway during uploads: nothing half-written, a new gateway serves
$PY - "$EP" >"$T/slow.out" 2>&1 <<'PY' &
import boto3, sys, os
c = boto3.client("s3", endpoint_url=sys.argv[1])
c.put_object(Bucket="big", Key="before", Body=b"kept")
u = c.create_multipart_upload(Bucket="big", Key="partial")["UploadId"]
c.upload_part(Bucket="big", Key="partial", UploadId=u, PartNumber=1, Body=os.urandom(8 << 20))
print(u, flush=True)
c.put_object(Bucket="big", Key="cut", Body=os.urandom(150 << 20))
PY
PYPID=$!
wait_for 60 "the part upload" grep -q . "$T/slow.out"
tmp_used() { [ -n "$("$GLORY" ls default/.s3/tmp --tenant t)" ]; }
check "the 150 MiB PUT is being written to a temporary file" wait_for 60 "a temporary file" tmp_used
kill -9 "$(cat "$D/s3/pid")"
wait "$PYPID" 2>/dev/null || true
check "the dead gateway left it in /.s3/tmp" tmp_used
sleep 1
s3_start --tmp-max-age 1
check "an object cut off by the gateway's death is not visible" bash -c "! '$AWS' --endpoint-url '$EP' s3api head-object --bucket big --key cut >/dev/null 2>&1"
check "nor is the incomplete multipart upload" bash -c "! '$AWS' --endpoint-url '$EP' s3api head-object --bucket big --key partial >/dev/null 2>&1"
check "but it is still listed as an upload, and can be aborted" bash -c "U=\$(head -1 '$T/slow.out');
	'$AWS' --endpoint-url '$EP' s3api list-multipart-uploads --bucket big | grep -q \$U &&
	'$AWS' --endpoint-url '$EP' s3api abort-multipart-upload --bucket big --key partial --upload-id \$U"
check "the restarted gateway removed the abandoned temporary file" bash -c "[ -z \"\$('$GLORY' ls default/.s3/tmp --tenant t)\" ]"
check "objects written before the kill read back" bash -c "[ \"\$('$AWS' --endpoint-url '$EP' s3 cp s3://big/before -)\" = kept ]"
check "the listing shows exactly the complete objects" bash -c \
	"[ \"\$('$AWS' --endpoint-url '$EP' s3api list-objects-v2 --bucket big --query 'join(\`,\`, Contents[].Key)' --output text)\" = before,m ]"

# --- a GET whose read-ahead fails: the response is cut after the bytes read, the gateway serves on
mkrand "$T/r" $((40 << 20))
a s3 cp --no-progress "$T/r" s3://big/r >/dev/null
URL=$(a s3 presign s3://big/r)
curl -s --limit-rate 4M -o "$T/r.cut" "$URL" &
CURL=$!
sleep 1.5
say "kill -9 every data server during a slow GET"
for s in "$D"/ds*; do kill -9 "$(cat "$s/pid")"; done
wait "$CURL" && RC=0 || RC=$?
N=$(stat -c %s "$T/r.cut")
check "the GET is cut short (curl $RC, $N bytes), and what came is the object's start" bash -c \
	"[ $RC != 0 ] && [ $N -lt $((40 << 20)) ] && cmp -s -n $N '$T/r' '$T/r.cut'"
for s in "$D"/ds*; do "$GLORY" dev start --dir "$D" "$(basename "$s")" >/dev/null 2>&1 || true; done
# the master may not have noticed the deaths yet (all_up is then true at once): the servers are
# back when a read succeeds, which must happen soon and for good
reads_whole() { curl -sf "$URL" | cmp -s - "$T/r"; }
wait_for 60 "the data servers" all_up
wait_for 30 "a whole read" reads_whole
check "with the data servers back, it reads back whole" reads_whole
s3_stop
finish
