"""Median time from exec of a Lambda binary to its first request to the Runtime API.

usage: cold_start.py BINARY RUNS  (the binary's own config comes from the environment)
A loopback listener plays the Runtime API; the process is killed once it asks for work.
"""
import os
import socket
import statistics
import subprocess
import sys
import time


def once(binary: str) -> float:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "cold-start",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "RUST_LOG": "error",
    })
    started = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    connection, _ = listener.accept()
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = connection.recv(4096)
        if not chunk:
            break
        request += chunk
    elapsed = time.perf_counter() - started
    process.kill()
    process.wait()
    connection.close()
    listener.close()
    if b"/runtime/invocation/next" not in request:
        raise SystemExit(f"unexpected first request: {request[:80]!r}")
    return elapsed * 1000


def main() -> None:
    binary, runs = sys.argv[1], int(sys.argv[2])
    samples = [once(binary) for _ in range(runs)]
    print(f"{statistics.median(samples):.2f}")


if __name__ == "__main__":
    main()
