# shellcheck shell=bash
# Sourced by scripts/dev and scripts/test: start and stop DynamoDB Local from .tools/.
# Needs scripts/setup to have run.

dynamodb_local_dir() { printf '%s/.tools/dynamodb-local' "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# refuse_port_in_use PORT: fails, saying so, when PORT is taken, so that DynamoDB Local is not
# started behind (and requests silently sent to) another process.
refuse_port_in_use() {
  local port="$1"
  port_in_use "$port" || return 0
  {
    echo "Port $port on 127.0.0.1 is already in use by another process; not starting DynamoDB Local"
    echo "there, since requests would go to that process instead."
    echo "Stop that process, or choose a free port, e.g.: DYNAMODB_PORT=$(free_port) scripts/dev"
  } >&2
  return 1
}

# port_owned_by PID PORT: true when process PID is the one listening on PORT. Uses /proc
# (Linux) or lsof; where neither is available it only checks that PID is alive.
port_owned_by() {
  local pid="$1" port="$2" inode inodes
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r /proc/net/tcp ] && [ -d "/proc/$pid/fd" ]; then
    # Listening (state 0A) sockets whose local port is PORT, as socket inodes.
    inodes="$(awk -v p="$(printf '%04X' "$port")" \
      '$4 == "0A" { n = split($2, a, ":"); if (a[n] == p) print $10 }' \
      /proc/net/tcp /proc/net/tcp6 2>/dev/null)"
    for inode in $inodes; do
      # The JVM is a single process, so its listening socket is among its own descriptors.
      find "/proc/$pid/fd" -lname "socket:\[$inode\]" 2>/dev/null | grep -q . && return 0
    done
    return 1
  fi
  if command -v lsof >/dev/null 2>&1; then
    lsof -nP -a -p "$pid" -iTCP:"$port" -sTCP:LISTEN >/dev/null 2>&1
    return
  fi
  return 0
}

# java_major_version: reads `java -version` output on stdin and prints the major version:
# 'openjdk version "17.0.15"' -> 17, 'java version "1.8.0_392"' -> 8, '"21"' / '"21-ea"' -> 21.
# Prints nothing when there is no version line.
java_major_version() {
  local version major
  version="$(sed -n 's/^.* version "\([^"]*\)".*$/\1/p' | head -n 1)"
  [ -n "$version" ] || return 0
  case "$version" in
    1.*) major="${version#1.}" ;;
    *) major="$version" ;;
  esac
  major="${major%%[!0-9]*}"
  [ -n "$major" ] && printf '%s\n' "$major"
  return 0
}

# start_dynamodb_local PORT LOGFILE [ORIGIN]: runs it in memory, without telemetry, and waits
# until it answers. Sets DYNAMODB_LOCAL_PID. Refuses a port that is already in use, and makes
# sure the process answering on PORT is the one it started.
# Browsers: DynamoDB Local allows every origin unless told `-cors`; it gets ORIGIN alone (the dev
# page's), or without one its own address, which serves no page, so a page some other site
# opened in the developer's browser cannot read or write the local tables. (Every request needs
# `X-Amz-Target`, so the browser always asks first, and the preflight answer names no other
# origin.) It has no bind-address option and listens on every interface: it holds only local
# test data under throwaway credentials, in memory, for as long as the script runs.
start_dynamodb_local() {
  local port="$1" logfile="$2" origin="${3:-http://127.0.0.1:$1}" dir
  dir="$(dynamodb_local_dir)"
  refuse_port_in_use "$port" || return 1
  java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
    -inMemory -port "$port" -disableTelemetry -cors "$origin" >"$logfile" 2>&1 &
  DYNAMODB_LOCAL_PID=$!
  local deadline=$((SECONDS + 60))
  until port_in_use "$port"; do
    if ! kill -0 "$DYNAMODB_LOCAL_PID" 2>/dev/null; then
      echo "DynamoDB Local exited; its log:" >&2
      cat "$logfile" >&2
      if grep -q 'Address already in use' "$logfile"; then
        echo "Port $port is taken by another process; choose another, e.g. DYNAMODB_PORT=$(free_port)" \
          >&2
      fi
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "DynamoDB Local did not listen on port $port within 60s; its log is $logfile" >&2
      stop_dynamodb_local
      return 1
    fi
    sleep 0.2
  done
  # Another process may have taken the port between the check above and Java binding it.
  if ! port_owned_by "$DYNAMODB_LOCAL_PID" "$port"; then
    {
      echo "Port $port answers, but not from the DynamoDB Local just started (pid $DYNAMODB_LOCAL_PID):"
      echo "another process took the port. Choose another, e.g. DYNAMODB_PORT=$(free_port)"
      echo "(its log: $logfile)"
    } >&2
    stop_dynamodb_local
    return 1
  fi
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
