"""The real `curl` binary as a witness of the backend API (issue 12): every method at least once,
against the shipped config.yaml, with real WebSocket clients showing the effects; the HTTP statuses
(401, 413), the error codes (104, 107) and messages; /health and /ready; and `godispatch api`'s exit
statuses."""

import json
import shutil
import socket
import subprocess

import pytest

from conftest import BINARY, WAIT, close_received, frame

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not installed")


def curl(server, method=None, body=None, key=None, path=None, extra=(), data_file=None):
    """One request with curl; returns (HTTP status, body text). `body`: a dict (sent as JSON) or raw str."""
    url = f"{server.base}{path}" if path else f"{server.api_url}/{method}"
    args = [CURL, "-sS", "--max-time", str(WAIT), "-o", "-", "-w", "\n%{http_code}"]
    if path is None:
        args += ["-X", "POST", "-H", "Content-Type: application/json"]
        if key is not False:
            args += ["-H", f"X-API-Key: {server.api_key if key is None else key}"]
        if data_file is not None:
            args += ["--data-binary", f"@{data_file}"]
        else:
            args += ["--data-binary", "@-"]
    args += list(extra) + [url]
    text = body if isinstance(body, str) else json.dumps({} if body is None else body)
    done = subprocess.run(args, input=None if path else text, capture_output=True, text=True, timeout=WAIT * 2)
    assert done.returncode == 0, f"curl failed: {done.stderr}"
    answer, _, status = done.stdout.rpartition("\n")
    return int(status), answer


def call(server, method, body=None):
    """A call that must answer HTTP 200 with a result; returns the result."""
    status, answer = curl(server, method, body)
    assert status == 200, answer
    reply = json.loads(answer)
    assert set(reply) == {"result"}, f"{method} {body} answered {answer}"
    return reply["result"]


def error(server, method, body=None):
    """A call that must answer HTTP 200 with an error; returns the error object."""
    status, answer = curl(server, method, body)
    assert status == 200, answer
    reply = json.loads(answer)
    assert set(reply) == {"error"}, f"{method} {body} answered {answer}"
    assert set(reply["error"]) == {"code", "message", "reason"}, answer
    return reply["error"]


# MARK: methods


def test_publish_join_leave_with_our_field_names(shipped):
    with shipped.connect("alice") as alice:
        assert call(shipped, "join", {"user": "alice", "room": "lobby"}) == {"joined": 1}
        assert call(shipped, "publish", {"room": "lobby", "event": "news", "payload": {"headline": "é ✓ \"quoted\""}}) == {}
        assert frame(alice) == {"event": "news", "target": "lobby", "payload": {"headline": "é ✓ \"quoted\""}}
        # Without a payload the frame has none (or null); without an event, "message".
        assert call(shipped, "publish", {"room": "lobby"}) == {}
        bare = frame(alice)
        assert bare.get("payload") is None and bare["event"] == "message" and bare["target"] == "lobby"
        assert "from" not in bare
        assert call(shipped, "leave", {"user": "alice", "room": "lobby"}) == {"left": 1}
        assert call(shipped, "leave", {"user": "alice", "room": "lobby"}) == {"left": 0}
        call(shipped, "publish", {"room": "lobby", "payload": "after leaving"})
        call(shipped, "publish", {"room": "user:alice", "payload": "sentinel"})
        assert frame(alice) == {"event": "message", "target": "user:alice", "payload": "sentinel"}


def test_subscribe_unsubscribe_with_centrifugo_field_names(shipped):
    with shipped.connect("alice") as alice:
        assert call(shipped, "subscribe", {"user": "alice", "channel": "news"}) == {"joined": 1}
        assert call(shipped, "publish", {"channel": "news", "data": [1, 2]}) == {}
        assert frame(alice) == {"event": "message", "target": "news", "payload": [1, 2]}
        assert call(shipped, "unsubscribe", {"user": "alice", "channel": "news"}) == {"left": 1}
        assert call(shipped, "rooms", {"pattern": "news"}) == {"rooms": [], "channels": {}}


def test_broadcast_answers_per_room(shipped):
    with shipped.connect("alice") as alice, shipped.connect("bob") as bob:
        result = call(shipped, "broadcast", {"rooms": ["user:alice", "", "user:bob"], "event": "alert", "payload": {"level": 2}})
        responses = result["responses"]
        assert len(responses) == 3
        assert responses[0] == {"result": {}} and responses[2] == {"result": {}}
        assert responses[1]["error"]["code"] == 107 and "rooms[1]" in responses[1]["error"]["message"]
        assert frame(alice) == {"event": "alert", "target": "user:alice", "payload": {"level": 2}}
        assert frame(bob) == {"event": "alert", "target": "user:bob", "payload": {"level": 2}}
        # Centrifugo's names work too.
        result = call(shipped, "broadcast", {"channels": ["user:bob"], "data": "x"})
        assert result == {"responses": [{"result": {}}]}
        assert frame(bob) == {"event": "message", "target": "user:bob", "payload": "x"}


def test_notify_user_reaches_every_connection_of_the_user(shipped):
    with shipped.connect("alice") as alice, shipped.connect("alice") as alice2, shipped.connect("bob") as bob:
        assert call(shipped, "notify_user", {"user": "alice", "event": "invoice.paid", "payload": {"id": 7}}) == {"delivered": 2}
        for ws in (alice, alice2):
            received = frame(ws)
            assert received["event"] == "invoice.paid" and received["payload"] == {"id": 7}
            assert "from" not in received
            assert received.get("target") is None
        assert call(shipped, "notify_user", {"user": "nobody", "event": "x"}) == {"delivered": 0}
        call(shipped, "notify_user", {"user": "bob", "event": "sentinel"})
        assert frame(bob)["event"] == "sentinel"


def test_set_permissions_takes_effect_on_the_next_message(shipped):
    send = {"event": "chat.send", "target": "user:alice", "payload": {"text": "hi"}}
    with shipped.connect("alice", perms=["chat:write"]) as alice:
        alice.send(json.dumps({**send, "id": "m1"}))
        received = [frame(alice), frame(alice)]
        assert {f["event"] for f in received} == {"chat.message", "chat.ack"}, received
        assert call(shipped, "set_permissions", {"user": "alice", "remove": ["chat:write"]}) == {}
        alice.send(json.dumps({**send, "id": "m2"}))
        refused = frame(alice)
        assert refused["event"] == "error" and refused["payload"]["code"] == "forbidden", refused
        assert call(shipped, "set_permissions", {"user": "alice", "add": ["chat:write"]}) == {}
        alice.send(json.dumps({**send, "id": "m3"}))
        assert {frame(alice)["event"], frame(alice)["event"]} == {"chat.message", "chat.ack"}
        assert call(shipped, "set_permissions", {"user": "alice", "set": []}) == {}
        alice.send(json.dumps({**send, "id": "m4"}))
        assert frame(alice)["payload"]["code"] == "forbidden"
    failure = error(shipped, "set_permissions", {"user": "alice", "add": ["a"], "remove": ["b"]})
    assert failure["code"] == 107 and "exactly one" in failure["message"]
    assert error(shipped, "set_permissions", {"user": "ghost", "set": []})["code"] == 102


def test_disconnect_with_our_fields_and_by_default(shipped):
    with shipped.connect("alice") as alice, shipped.connect("bob") as bob:
        assert call(shipped, "disconnect", {"user": "alice", "code": 4100, "reason": "maintenance"}) == {"closed": 1}
        assert close_received(alice) == (4100, "maintenance")
        assert call(shipped, "disconnect", {"user": "bob"}) == {"closed": 1}
        code, _ = close_received(bob)
        assert code == 1000
    assert call(shipped, "disconnect", {"user": "nobody"}) == {"closed": 0}
    failure = error(shipped, "disconnect", {"user": "alice", "code": 3000})
    assert failure["code"] == 107 and "3000" in failure["message"]


def test_info_rooms_and_channels(shipped):
    with shipped.connect("alice"), shipped.connect("bob"):
        call(shipped, "join", {"user": "alice", "room": "game:1"})
        call(shipped, "join", {"user": "bob", "room": "game:1"})
        (node,) = call(shipped, "info")["nodes"]
        assert set(node) >= {"name", "uid", "version", "uptime", "num_clients", "num_users", "num_rooms", "num_channels"}
        assert (node["num_clients"], node["num_users"], node["num_rooms"], node["num_channels"]) == (2, 2, 3, 3)
        assert call(shipped, "rooms", {"pattern": "game:*"}) == {
            "rooms": [{"room": "game:1", "members": 2}], "channels": {"game:1": {"num_clients": 2}}}
        everything = call(shipped, "channels")
        assert [room["room"] for room in everything["rooms"]] == ["game:1", "user:alice", "user:bob"]
        assert call(shipped, "rooms", {"pattern": "user:?ob"})["rooms"] == [{"room": "user:bob", "members": 1}]


def test_batch_answers_every_command_in_order(shipped):
    with shipped.connect("alice") as alice:
        status, answer = curl(shipped, "batch", {"commands": [
            {"publish": {"room": "user:alice", "payload": 1}},
            {"publish": {"room": 5}},
            {"no_such_method": {}},
            {"notify_user": {"user": "alice", "event": "direct"}},
            {"batch": {"commands": []}},
        ]})
        assert status == 200
        replies = json.loads(answer)["replies"]
        assert len(replies) == 5
        assert replies[0] == {"publish": {}}
        assert replies[1]["error"]["code"] == 107 and "commands[1].publish.room" in replies[1]["error"]["message"]
        assert replies[2]["error"]["code"] == 104
        assert replies[3] == {"notify_user": {"delivered": 1}}
        assert replies[4]["error"]["code"] == 107
        assert frame(alice) == {"event": "message", "target": "user:alice", "payload": 1}
        assert frame(alice)["event"] == "direct"


def test_emit_runs_a_server_event_pipeline(shipped):
    with shipped.connect("alice") as alice:
        status, answer = curl(shipped, "emit", {"event": "order.shipped", "target": "alice", "payload": {"order": "A-17"}})
        assert status == 200
        assert "result" in json.loads(answer), answer
        received = frame(alice)
        assert received["event"] == "order.update", received
        assert "from" not in received
    failure = error(shipped, "emit", {"event": "no.such.server.event"})
    assert failure["code"] == 102, failure


# MARK: refusals


def test_a_missing_or_wrong_key_answers_401(shipped):
    with shipped.connect("alice") as alice:
        for key in (False, "", "wrong", shipped.api_key.upper() if shipped.api_key != shipped.api_key.upper() else "x"):
            status, answer = curl(shipped, "publish", {"room": "user:alice", "payload": "forged"}, key=key)
            assert status == 401, (key, answer)
            assert json.loads(answer)["error"]["code"] == 101
        call(shipped, "publish", {"room": "user:alice", "payload": "genuine"})
        assert frame(alice)["payload"] == "genuine"


def test_a_body_over_max_body_bytes_answers_413(shipped, tmp_path):
    big = tmp_path / "big.json"
    padding = "x" * (1024 * 1024)
    big.write_text(json.dumps({"room": "r", "payload": padding}))
    assert big.stat().st_size > 1048576
    # Announced by Content-Length…
    status, answer = curl(shipped, "publish", data_file=big)
    assert status == 413, answer
    assert json.loads(answer)["error"]["code"] == 106
    # …and streamed without one.
    status, answer = curl(shipped, "publish", data_file=big, extra=["-H", "Transfer-Encoding: chunked"])
    assert status == 413, answer
    # Just under the limit passes.
    fits = tmp_path / "fits.json"
    fits.write_text(json.dumps({"room": "r", "payload": "x" * (1048576 - 100)}))
    assert fits.stat().st_size <= 1048576
    status, answer = curl(shipped, "publish", data_file=fits)
    assert (status, json.loads(answer)) == (200, {"result": {}})


def test_malformed_json_answers_107_naming_the_problem(shipped):
    for body in ('{"room": "lobby", ', "{not json}", '{"room": "lobby"} trailing'):
        failure = error(shipped, "publish", body)
        assert failure["code"] == 107, (body, failure)
        assert "JSON" in failure["message"], (body, failure)
    failure = error(shipped, "publish", '["room", "lobby"]')
    assert failure["code"] == 107 and "object" in failure["message"]


def test_an_unknown_method_answers_104(shipped):
    failure = error(shipped, "publsh", {"room": "lobby"})
    assert failure["code"] == 104 and "publsh" in failure["message"]


@pytest.mark.parametrize("method, body, field", [
    ("publish", {"room": 5}, "`room`"),
    ("publish", {"channel": ["a"]}, "`channel`"),
    ("publish", {"room": "r", "event": 3}, "`event`"),
    ("publish", {"room": "r", "idempotency_key": {}}, "`idempotency_key`"),
    ("broadcast", {"rooms": "lobby"}, "`rooms`"),
    ("broadcast", {"rooms": ["a", 2]}, "`rooms[1]`"),
    ("notify_user", {"user": True, "event": "x"}, "`user`"),
    ("join", {"user": "alice", "room": 1}, "`room`"),
    ("disconnect", {"user": "alice", "code": "4000"}, "`code`"),
    ("disconnect", {"user": "alice", "disconnect": {"code": "x"}}, "`disconnect.code`"),
    ("set_permissions", {"user": "alice", "add": "chat:write"}, "`add`"),
    ("rooms", {"pattern": 1}, "`pattern`"),
    ("batch", {"commands": {}}, "`commands`"),
])
def test_a_wrong_field_type_names_the_field(shipped, method, body, field):
    failure = error(shipped, method, body)
    assert failure["code"] == 107 and field in failure["message"], failure


def test_a_missing_field_names_it(shipped):
    failure = error(shipped, "publish", {"payload": 1})
    assert failure["code"] == 107 and "`room`" in failure["message"] and "`channel`" in failure["message"]
    assert "`user`" in error(shipped, "join", {"room": "x"})["message"]


# MARK: health


def test_health_and_ready(shipped):
    assert curl(shipped, path="/health") == (200, '{"status":"ok"}')
    status, answer = curl(shipped, path="/ready")
    assert status == 200 and json.loads(answer)["status"] == "ready"
    status, _ = curl(shipped, path="/nowhere")
    assert status == 404


# MARK: godispatch api


def run_cli(*args, env=None, input=None):
    return subprocess.run([str(BINARY), "api", *args], capture_output=True, text=True, timeout=WAIT * 2,
                          env=env, input=input)


def free_port():
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


def test_the_api_command_exit_statuses(shipped):
    url = shipped.base
    with shipped.connect("alice") as alice:
        # 0: a result (key from --key; the URL without /api).
        done = run_cli("publish", '{"room":"user:alice","event":"cli","payload":{"n":1}}', "--url", url, "--key", shipped.api_key)
        assert done.returncode == 0, done
        assert json.loads(done.stdout) == {"result": {}}
        assert frame(alice) == {"event": "cli", "target": "user:alice", "payload": {"n": 1}}
        # 0: key from GODISPATCH_API_KEY, body from standard input, URL with /api.
        done = run_cli("info", "-", "--url", shipped.api_url, env=shipped.env, input="{}")
        assert done.returncode == 0, done
        assert json.loads(done.stdout)["result"]["nodes"][0]["num_clients"] == 1
    # 1: an API error.
    done = run_cli("subscribe", '{"user":"ghost","channel":"c"}', "--url", url, "--key", shipped.api_key)
    assert done.returncode == 1, done
    assert json.loads(done.stdout)["error"]["code"] == 102
    # 1: a wrong key (401).
    done = run_cli("info", "--url", url, "--key", "not-the-key")
    assert done.returncode == 1, done
    # 2: nobody listening.
    done = run_cli("info", "--url", f"http://127.0.0.1:{free_port()}", "--key", shipped.api_key)
    assert done.returncode == 2, done
