# Sourced by scripts/dev and scripts/test: start and stop DynamoDB Local from .tools/.
# Needs scripts/setup to have run.

dynamodb_local_dir() { printf '%s/.tools/dynamodb-local' "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_dynamodb_local PORT LOGFILE: runs it in memory, without telemetry, and waits until it
# answers. Sets DYNAMODB_LOCAL_PID.
start_dynamodb_local() {
  local port="$1" logfile="$2" dir
  dir="$(dynamodb_local_dir)"
  java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
    -inMemory -port "$port" -disableTelemetry >"$logfile" 2>&1 &
  DYNAMODB_LOCAL_PID=$!
  local deadline=$((SECONDS + 60))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$DYNAMODB_LOCAL_PID" 2>/dev/null; then
      echo "DynamoDB Local exited; its log:" >&2
      cat "$logfile" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "DynamoDB Local did not listen on port $port within 60s" >&2
      return 1
    fi
    sleep 0.2
  done
}

stop_dynamodb_local() {
  if [ -n "${DYNAMODB_LOCAL_PID:-}" ] && kill -0 "$DYNAMODB_LOCAL_PID" 2>/dev/null; then
    kill "$DYNAMODB_LOCAL_PID" 2>/dev/null || true
    wait "$DYNAMODB_LOCAL_PID" 2>/dev/null || true
  fi
}

# Credentials DynamoDB Local accepts; never real ones.
export_local_aws_env() {
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_SESSION_TOKEN
}
