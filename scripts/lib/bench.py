"""Whole-process benchmark of the Lambda functions under a local Lambda Runtime API.

This harness plays the Runtime API on loopback, starts each release binary as Lambda would
(AWS_LAMBDA_RUNTIME_API and friends), and measures: cold start (exec to the first request for
work), the first invocation, warm latency p50/p99, CPU per invocation (the function process's
utime+stime from /proc, so the harness's own CPU is not counted), peak RSS after init and after
the run, and binary size. The Node rows run the seed's stack under the same harness.

usage: bench.py CONFIG_JSON  (written by scripts/bench); prints markdown, writes JSON + markdown.
"""
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PREFIX = "/2018-06-01/runtime/"


class RuntimeApi:
    """The Lambda Runtime API: hands out queued events, collects responses."""

    def __init__(self):
        self.events = queue.Queue()
        self.ready = threading.Event()
        self.ready_at = None
        self.pending = {}
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # Headers and body go out in separate writes; without this, Nagle's algorithm
                # meets the client's delayed ACK and adds ~40 ms to some clients' requests.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.startswith(PREFIX + "invocation/next"):
                    return self.reply(404, b"{}")
                if not api.ready.is_set():
                    api.ready_at = time.perf_counter()
                    api.ready.set()
                request_id, body, slot = api.events.get()
                slot["handed_out"] = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path[len(PREFIX):].split("/")
                if parts[0] == "invocation" and len(parts) == 3:
                    with api.lock:
                        slot = api.pending.pop(parts[1], None)
                    if slot is not None:
                        slot["body"] = body
                        slot["kind"] = parts[2]
                        slot["done_at"] = time.perf_counter()
                        slot["done"].set()
                elif parts[0] == "init":
                    sys.stderr.write(f"init error: {body[:300]!r}\n")
                self.reply(202, b"{}")

            def reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a killed function drops its connection mid-request; that is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event):
        request_id = str(uuid.uuid4())
        slot = {"done": threading.Event()}
        with self.lock:
            self.pending[request_id] = slot
        queued = time.perf_counter()
        self.events.put((request_id, json.dumps(event).encode(), slot))
        if not slot["done"].wait(30):
            raise RuntimeError("the function did not answer within 30 s")
        if slot["kind"] != "response":
            raise RuntimeError(f"invocation error: {slot['body'][:300]!r}")
        return json.loads(slot["body"]), (slot["done_at"] - queued) * 1e6

    def close(self):
        self.server.shutdown()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def cold_start_median(name, command, env, runs=15):
    """Median time from exec to the first request for work, over fresh processes."""
    samples = []
    for _ in range(runs):
        api = RuntimeApi()
        process_env = {**os.environ, **env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}",
                       "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                       "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "RUST_LOG": "error"}
        started = time.perf_counter()
        process = subprocess.Popen(command, env=process_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if api.ready.wait(30):
            samples.append((api.ready_at - started) * 1000)
        process.kill()
        process.wait()
        api.close()
    return round(statistics.median(samples), 2)


def measure(name, command, env, events, size=None):
    """Runs `command` under a fresh Runtime API; `events` is a generator receiving responses."""
    api = RuntimeApi()
    process_env = dict(os.environ)
    process_env.update(env)
    process_env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_LEVEL": "error",
        "RUST_LOG": "error",
    })
    started = time.perf_counter()
    process = subprocess.Popen(command, env=process_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not api.ready.wait(30):
            raise RuntimeError(f"{name} never asked for work: {process.stderr.read(2000) if process.poll() is not None else ''}")
        cold_start_ms = (api.ready_at - started) * 1000
        rss_init = peak_rss_kib(process.pid)
        feed = events()
        response, first_us = api.invoke(next(feed))
        latencies = []
        cpu_before = cpu_seconds(process.pid)
        count = 0
        try:
            event = feed.send(response)
            while True:
                response, latency = api.invoke(event)
                latencies.append(latency)
                count += 1
                event = feed.send(response)
        except StopIteration:
            pass
        cpu_after = cpu_seconds(process.pid)
        rss_after = peak_rss_kib(process.pid)
    finally:
        process.kill()
        process.wait()
        api.close()
    return {
        "function": name,
        "cold_start_ms": round(cold_start_ms, 2),
        "first_invocation_us": round(first_us),
        "invocations": count,
        "p50_us": round(percentile(latencies, 0.50)) if latencies else None,
        "p99_us": round(percentile(latencies, 0.99)) if latencies else None,
        "cpu_per_invocation_us": round((cpu_after - cpu_before) / count * 1e6, 1) if count else None,
        "peak_rss_init_mib": round(rss_init / 1024, 1),
        "peak_rss_after_mib": round(rss_after / 1024, 1),
        "binary_bytes": size,
    }


# ------------------------------------------------------------------------------ events

def http_event(method, path, body=None, cookies=None, authorizer=None):
    event = {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "api.example.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api123", "domainName": "api.example.com", "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7", "userAgent": "bench"},
            "requestId": "bench", "routeKey": f"{method} {path}", "stage": "$default",
            "time": "22/Nov/2026:12:00:00 +0000", "timeEpoch": 1795348800000,
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = json.dumps(body)
    if cookies:
        event["cookies"] = cookies
    if authorizer:
        event["requestContext"]["authorizer"] = {"lambda": authorizer}
    return event


def authorizer_event(token):
    return {
        "version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api123/$default/GET/me",
        "identitySource": [f"Bearer {token}"], "routeKey": "GET /me", "rawPath": "/me", "rawQueryString": "",
        "headers": {"authorization": f"Bearer {token}", "host": "api.example.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api123", "domainName": "api.example.com",
            "http": {"method": "GET", "path": "/me", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "GET /me", "stage": "$default",
            "time": "22/Nov/2026:12:00:00 +0000", "timeEpoch": 1795348800000,
        },
    }


def refresh_cookie(response):
    for cookie in response.get("cookies") or []:
        if cookie.startswith("refreshToken="):
            return cookie.split(";", 1)[0]
    raise RuntimeError(f"no refresh cookie in {response}")


def expect(response, status):
    if response.get("statusCode") != status:
        raise RuntimeError(f"expected {status}, got {response}")
    return response


def main():
    config = json.load(open(sys.argv[1]))
    binaries, env, runs, slow_runs = config["binaries"], config["env"], config["runs"], config["slow_runs"]
    password = "correct horse battery staple"
    state = {}
    results = []

    def size(name):
        return os.path.getsize(binaries[name])

    def run(name, events, command=None, extra_env=None):
        command = command or [binaries[name]]
        result = measure(name, command, {**env, **(extra_env or {})}, events, size(name) if len(command) == 1 else None)
        result["cold_start_ms"] = cold_start_median(name, command, {**env, **(extra_env or {})})
        results.append(result)
        print(f"  {name}: {result}", file=sys.stderr)

    def register_events():
        for i in range(slow_runs + 1):
            email = f"bench-{uuid.uuid4().hex}@example.com"
            response = expect((yield http_event("POST", "/auth/register", {"name": "Bench", "email": email, "password": password})), 201)
            state["email"] = email
            state["user"] = json.loads(response["body"])["user"]

    def login_events():
        for i in range(slow_runs + 1):
            response = expect((yield http_event("POST", "/auth/login", {"email": state["email"], "password": password})), 200)
            state.setdefault("sessions", []).append(refresh_cookie(response))
            state["access_token"] = json.loads(response["body"])["accessToken"]

    def refresh_events():
        cookie = state["sessions"].pop()
        for i in range(runs + 1):
            cookie = refresh_cookie(expect((yield http_event("POST", "/auth/refresh", cookies=[cookie])), 200))

    def logout_events():
        sessions = state["sessions"]
        for i in range(min(slow_runs, len(sessions) - 1) + 1):
            expect((yield http_event("POST", "/auth/logout", cookies=[sessions.pop()])), 204)

    def authorizer_events():
        event = authorizer_event(state["access_token"])
        for i in range(runs + 1):
            response = yield event
            if response.get("isAuthorized") is not True:
                raise RuntimeError(f"not authorized: {response}")

    def me_events():
        user = state["user"]
        context = {"userId": user["id"], "role": "user", "sessionId": "0" * 32, "expiresAt": 1}
        for i in range(runs + 1):
            expect((yield http_event("GET", "/me", authorizer=context)), 200)

    def jwks_events():
        for i in range(runs + 1):
            expect((yield http_event("GET", "/.well-known/jwks.json")), 200)

    def echo_events():
        for i in range(runs + 1):
            yield {"ping": i}

    print("measuring (this takes a few minutes)", file=sys.stderr)
    run("register", register_events)
    run("login", login_events)
    run("refresh", refresh_events)
    run("logout", logout_events)
    run("authorizer", authorizer_events)
    run("me", me_events)
    run("jwks", jwks_events)
    run("echo-current-thread", echo_events)
    run("echo-multi-thread", echo_events)
    node = config["node"]
    for variant in ("seed", "careful"):
        run(f"node-authorizer-{variant}", authorizer_events, command=[node["bin"], node["authorizer"]],
            extra_env={"NODE_PATH": node["modules"], "VERIFY_STYLE": variant})
    seed = json.loads(subprocess.run([node["bin"], node["microbench"]], env={**os.environ, "NODE_PATH": node["modules"], "JWT_ACCESS_SECRET": env["JWT_ACCESS_SECRET"]},
                                     check=True, capture_output=True, text=True).stdout)
    report(config, results, seed)


def report(config, results, seed):
    rows = {result["function"]: result for result in results}
    round_trips = {"register": "1", "login": "2", "refresh": "1", "logout": "1", "me": "1", "authorizer": "0", "jwks": "0"}
    lines = [f"Machine: {config['machine']}", "",
             "| function | cold start to ready, median of 15 (ms) | first invocation (µs) | n | p50 (µs) | p99 (µs) | CPU/invocation (µs) | peak RSS init / after (MiB) | binary (KiB) | DynamoDB round trips |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        binary = f"{result['binary_bytes'] // 1024}" if result["binary_bytes"] else "-"
        lines.append(
            f"| {result['function']} | {result['cold_start_ms']} | {result['first_invocation_us']} | {result['invocations']} | "
            f"{result['p50_us']} | {result['p99_us']} | {result['cpu_per_invocation_us']} | "
            f"{result['peak_rss_init_mib']} / {result['peak_rss_after_mib']} | {binary} | {round_trips.get(result['function'], '-')} |")
    rust = rows["authorizer"]
    ratios = []
    for variant in ("seed", "careful"):
        node_row = rows[f"node-authorizer-{variant}"]
        ratios.append(f"- authorizer CPU per invocation: Rust {rust['cpu_per_invocation_us']} µs vs Node ({variant}) "
                      f"{node_row['cpu_per_invocation_us']} µs = {node_row['cpu_per_invocation_us'] / rust['cpu_per_invocation_us']:.1f}×")
        ratios.append(f"- authorizer cold start: Rust {rust['cold_start_ms']} ms vs Node ({variant}) {node_row['cold_start_ms']} ms = "
                      f"{node_row['cold_start_ms'] / rust['cold_start_ms']:.1f}×; peak RSS {rust['peak_rss_after_mib']} vs {node_row['peak_rss_after_mib']} MiB")
    floor = rows["echo-current-thread"]["cpu_per_invocation_us"]
    ratios.append(f"- runtime loop floor (echo, current_thread): {floor} µs CPU; multi-thread runtime: "
                  f"{rows['echo-multi-thread']['cpu_per_invocation_us']} µs; authorizer above the floor: "
                  f"{rust['cpu_per_invocation_us'] - floor:.1f} µs")
    lines += ["", *ratios, "", "Seed stack in-process (Node `jsonwebtoken@9`, `bcrypt@5`):", "",
              "| operation | µs per op |", "|---|---|"]
    for key, value in seed.items():
        lines.append(f"| {key} | {value} |")
    markdown = "\n".join(lines)
    os.makedirs(config["out_dir"], exist_ok=True)
    with open(os.path.join(config["out_dir"], "results.md"), "w") as out:
        out.write(markdown + "\n")
    with open(os.path.join(config["out_dir"], "results.json"), "w") as out:
        json.dump({"machine": config["machine"], "functions": results, "node_in_process_us": seed}, out, indent=2)
    print(markdown)


if __name__ == "__main__":
    main()
