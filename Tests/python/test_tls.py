"""TLS without a proxy: `server.tls` serves wss://, `api.tls` HTTPS with client certificates
(`client_ca_file`), and SIGHUP makes new connections use certificates read again. Certificates are made
by the test with `openssl`; the witnesses are Python's `ssl`, `websockets` and `requests`."""

import json
import pathlib
import signal
import ssl
import subprocess
import tempfile
import time

import pytest
import requests
from websockets.sync.client import connect

from conftest import BINARY, SECRET, WAIT, clean_environment, plugin_folder, probe, start, stop

CONFIG = """
server:
  listen: "127.0.0.1:0"
  tls: {{ cert_file: server.pem, key_file: server.key }}
api:
  listen: "127.0.0.1:0"
  keys: ["tls-test-api-key-0123456789abcdef"]
  tls: {{ cert_file: server.pem, key_file: server.key, client_ca_file: client.pem }}
auth:
  jwt: {{ secret: "{secret}" }}
events:
  echo:
    pipeline:
      - action: _notify_origin
        params: {{ event: echo, payload: "{{{{payload}}}}" }}
"""


def make_certificate(folder, name, common_name):
    """A self-signed certificate for 127.0.0.1 (and its key), as PEM files `name`.pem and `name`.key."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={common_name}",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / f"{name}.key"), "-out", str(folder / f"{name}.pem")],
        check=True, capture_output=True, timeout=120)


def token(config, sub):
    return subprocess.run([str(BINARY), "token", "--config", str(config), "--sub", sub],
                          check=True, capture_output=True, text=True, timeout=60).stdout.strip()


def peer_certificate(port, cafile):
    """The DER certificate the server presents to a new TLS connection."""
    context = ssl.create_default_context(cafile=cafile)
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert(binary_form=True)


def test_wss_https_with_client_certificates_and_a_reload_on_sighup():
    assert BINARY.exists(), f"{BINARY} is missing: run `swift build` first (make test does)"
    with tempfile.TemporaryDirectory() as name:
        folder = pathlib.Path(name)
        make_certificate(folder, "server", "godispatch-test-1")
        make_certificate(folder, "client", "backend")
        config = folder / "config.yaml"
        config.write_text(CONFIG.format(secret=SECRET))
        process, port, api_port, log = start(config, plugin_folder(folder), env=clean_environment(), api=True)
        try:
            server_ca = str(folder / "server.pem")
            context = ssl.create_default_context(cafile=server_ca)
            with connect(f"wss://127.0.0.1:{port}/ws?token={token(config, 'ada')}", ssl=context, open_timeout=WAIT) as ws:
                probe(ws)
                ws.send(json.dumps({"event": "echo", "payload": {"over": "tls"}}))
                assert json.loads(ws.recv(timeout=WAIT)) == {"event": "echo", "payload": {"over": "tls"}, "from": "ada"}

                # Plain ws:// to the TLS port gets no WebSocket.
                with pytest.raises(Exception):
                    with connect(f"ws://127.0.0.1:{port}/ws?token={token(config, 'bob')}", open_timeout=10):
                        pass

                # The API: HTTPS, and only with a client certificate its client_ca_file signed.
                headers = {"X-API-Key": "tls-test-api-key-0123456789abcdef"}
                answer = requests.post(f"https://127.0.0.1:{api_port}/api/info", json={}, headers=headers, timeout=WAIT,
                                       verify=server_ca, cert=(str(folder / "client.pem"), str(folder / "client.key")))
                assert answer.status_code == 200 and answer.json()["result"]["nodes"][0]["num_clients"] == 1
                with pytest.raises(requests.exceptions.SSLError):
                    requests.post(f"https://127.0.0.1:{api_port}/api/info", json={}, headers=headers, timeout=WAIT,
                                  verify=server_ca)

                # A renewed certificate: new connections get it after SIGHUP; the open one stays.
                before = peer_certificate(port, server_ca)
                make_certificate(folder, "server", "godispatch-test-2")
                process.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + WAIT
                while sum("TLS certificates read again" in line for line in log) < 2:
                    assert time.monotonic() < deadline, "no TLS reload in the log:\n" + "".join(log)
                    time.sleep(0.05)  # polling the log, not waiting for time to pass
                after = peer_certificate(port, str(folder / "server.pem"))
                assert after != before, "new connections still get the old certificate"
                ws.send(json.dumps({"event": "echo", "payload": "still open"}))
                assert json.loads(ws.recv(timeout=WAIT))["payload"] == "still open"
        finally:
            stop(process)


def test_a_missing_certificate_file_is_a_load_error_at_its_line():
    with tempfile.TemporaryDirectory() as name:
        folder = pathlib.Path(name)
        config = folder / "config.yaml"
        config.write_text(CONFIG.format(secret=SECRET))
        result = subprocess.run([str(BINARY), "validate", "--config", str(config)], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode != 0
        assert f"{config}:4:" in result.stderr and "server.tls.cert_file" in result.stderr and "server.pem" in result.stderr, result.stderr
