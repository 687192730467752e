"""`make install`'s layout, installed into a temporary prefix from this checkout's build and started from
there: the installed config finds the installed plugins, and the systemd unit names the installed paths."""

import json
import pathlib
import secrets
import subprocess
import tempfile

import requests
from websockets.sync.client import connect

from conftest import BUILD, ROOT, WAIT, clean_environment, frame, probe, start, stop


def install(prefix):
    result = subprocess.run([str(ROOT / "scripts" / "install.sh"), str(prefix), str(BUILD)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_the_installed_server_runs_from_its_prefix():
    with tempfile.TemporaryDirectory() as folder:
        prefix = pathlib.Path(folder) / "usr"
        output = install(prefix)
        binary = prefix / "bin" / "godispatch"
        assert binary.is_symlink() and binary.resolve() == (prefix / "lib" / "godispatch" / "godispatch").resolve()
        config = prefix / "etc" / "godispatch" / "config.yaml"
        assert "installed godispatch" in output
        for path in [binary, config, prefix / "include" / "godispatch" / "godispatch_plugin.h",
                     prefix / "lib" / "systemd" / "system" / "godispatch.service"]:
            assert path.exists(), f"{path} was not installed"
        assert sorted(p.name for p in (prefix / "lib" / "godispatch" / "plugins").iterdir()) == sorted(
            f"libGoDispatch{name}.so" for name in ["Messaging", "Rooms", "Permissions", "Webhook", "Presence", "History"])

        version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
        assert version.returncode == 0 and version.stdout.strip().count(".") == 2, version

        unit = (prefix / "lib" / "systemd" / "system" / "godispatch.service").read_text()
        assert f"ExecStart={binary} serve --config {config}" in unit
        assert "@PREFIX@" not in unit and "@SYSCONFDIR@" not in unit

        # No --plugins: the installed config must find the installed plugins by itself.
        key = secrets.token_hex(16)
        env = clean_environment(GODISPATCH_API_KEY=key, GODISPATCH_JWT_SECRET=secrets.token_hex(24))
        process, port, api_port, log = start(config, None, env=env, api=True, binary=binary)
        try:
            assert requests.get(f"http://127.0.0.1:{api_port}/ready", timeout=WAIT).status_code == 200
            token = subprocess.run([str(binary), "token", "--config", str(config), "--sub", "ada", "--perms", "chat:write"],
                                   capture_output=True, text=True, timeout=60, env=env, check=True).stdout.strip()
            with connect(f"ws://127.0.0.1:{port}/ws?token={token}", open_timeout=WAIT) as ws:
                probe(ws)
                ws.send(json.dumps({"event": "room.join", "target": "lobby", "payload": {"quiet": True}}))
                ws.send(json.dumps({"event": "chat.send", "target": "lobby", "id": "m1", "payload": {"text": "installed"}}))
                frames = [frame(ws) for _ in range(2)]
                assert frames[0]["payload"] == {"text": "installed"} and frames[0]["from"] == "ada"
                assert frames[1]["event"] == "chat.ack" and frames[1]["ref"] == "m1"
        finally:
            stop(process)


def test_an_existing_config_is_never_overwritten():
    with tempfile.TemporaryDirectory() as folder:
        prefix = pathlib.Path(folder) / "usr"
        install(prefix)
        config = prefix / "etc" / "godispatch" / "config.yaml"
        config.write_text("# mine\n")
        output = install(prefix)
        assert config.read_text() == "# mine\n"
        assert "keeping the existing" in output
        assert (config.parent / "config.yaml.new").exists()
