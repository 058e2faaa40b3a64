"""`sectorwatch serve` as a process: refuses to start without its secret, stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.conftest import wait_for_http
from tests.web.conftest import free_port

SECTORWATCH = str(Path(sys.executable).parent / "sectorwatch")


def config_file(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f'database_url: "sqlite:///{tmp_path / "sw.db"}"\n'
                    f"web: {{port: {port}}}\nsources: []\n", encoding="utf-8")
    return path


def test_serve_needs_the_secret_and_says_which_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECTORWATCH_SECRET")}
    done = subprocess.run([SECTORWATCH, "--config", str(config_file(tmp_path, free_port())),
                           "serve"], capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 2
    assert "SECTORWATCH_SECRET" in done.stderr + done.stdout
    short = subprocess.run([SECTORWATCH, "--config", str(config_file(tmp_path, free_port())),
                            "serve"], capture_output=True, text=True, timeout=30,
                           env={**env, "SECTORWATCH_SECRET": "too-short"})
    assert short.returncode == 2 and "at least 32" in short.stderr + short.stdout


def test_serve_listens_on_loopback_and_stops_cleanly_on_sigterm(tmp_path):
    port = free_port()
    proc = subprocess.Popen([SECTORWATCH, "--config", str(config_file(tmp_path, port)),
                             "serve"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        answer = wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=20)
        assert answer.text == "ok"
        assert requests.get(f"http://127.0.0.1:{port}/archive").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, output
    assert "serving on http://127.0.0.1:" in output and "web.stopped" in output


def test_slow_clients_are_cut_off_and_cannot_take_every_connection():
    import contextlib
    import socket
    import threading
    import time

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from sectorwatch.cli.serve import server

    app = Starlette(routes=[Route("/healthz", lambda r: PlainTextResponse("ok"))])
    port = free_port()
    running = server(app, "127.0.0.1", port, (), header_timeout=1.0, per_client=5)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", None, timeout=20)
        slow = []
        for _ in range(8):  # a slowloris: heads that never end, from one address
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        other = socket.create_connection(("127.0.0.1", port), timeout=5,
                                         source_address=("127.0.0.2", 0))  # another client
        other.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := other.recv(4096):
            answer += chunk
        other.close()
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok")
        t0 = time.monotonic()
        for s in slow:
            s.settimeout(5)
            with contextlib.suppress(ConnectionResetError):  # cut off: closed at once (over
                assert s.recv(100) == b""  # the cap) or at 1 s
            s.close()
        assert time.monotonic() - t0 < 4
    finally:
        running.should_exit = True
        thread.join(timeout=10)
