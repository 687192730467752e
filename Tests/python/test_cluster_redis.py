"""Two nodes of the shipped config.yaml sharing one real redis-server (GODISPATCH_BROKER=redis), seen
through clients others wrote: `websockets` clients on each node, Centrifugo's `cent` on the API, and
redis-py reading what the broker keeps in Redis — the keys docs/SCALING.md names, with their hash tags,
and what one publish costs Redis."""

import json
import secrets
import shutil
import socket
import subprocess
import time

import pytest
import redis
import requests
from cent import Client, InfoRequest

from conftest import WAIT

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_server():
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    deadline = time.monotonic() + WAIT
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    try:
        yield port, client
    finally:
        process.terminate()
        process.wait(timeout=WAIT)


def wait_ready(server):
    deadline = time.monotonic() + WAIT
    while requests.get(f"{server.base}/ready", timeout=WAIT).status_code != 200:
        assert time.monotonic() < deadline, f"{server.base}/ready stayed 503:\n{server.log_text()}"
        time.sleep(0.05)


def next_frame(ws, event, target=None):
    """The next frame with `event` (and `target`), skipping others."""
    deadline = time.monotonic() + WAIT
    while True:
        frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if frame.get("event") == event and (target is None or frame.get("target") == target):
            return frame


def commandstats(client):
    return {name: stats["calls"] for name, stats in client.info("commandstats").items()}


@pytest.fixture
def cluster(start_shipped, redis_server):
    port, client = redis_server
    prefix = "pyw" + secrets.token_hex(3)
    shared = dict(
        GODISPATCH_BROKER="redis", GODISPATCH_REDIS_URL=f"redis://127.0.0.1:{port}/0", GODISPATCH_REDIS_PREFIX=prefix,
        GODISPATCH_JWT_SECRET=secrets.token_hex(24), GODISPATCH_API_KEY=secrets.token_hex(16))
    a = start_shipped(GODISPATCH_NODE_NAME="a", **shared)
    b = start_shipped(GODISPATCH_NODE_NAME="b", **shared)
    wait_ready(a)
    wait_ready(b)
    return a, b, client, prefix


def test_cent_sees_both_nodes_and_info_counts_each(cluster):
    a, b, _, _ = cluster
    deadline = time.monotonic() + WAIT
    while True:
        nodes = Client(a.api_url, b.api_key, timeout=WAIT).info(InfoRequest()).nodes
        if sorted(node.name for node in nodes) == ["a", "b"]:
            break
        assert time.monotonic() < deadline, f"info lists {[node.name for node in nodes]}"
        time.sleep(0.1)
    with b.connect("bob"):
        deadline = time.monotonic() + WAIT
        while {node.name: node.num_clients for node in Client(a.api_url, a.api_key, timeout=WAIT).info(InfoRequest()).nodes}.get("b") != 1:
            assert time.monotonic() < deadline, "node b's client never showed in info asked on node a"
            time.sleep(0.1)


def test_a_room_with_history_is_one_stream_in_redis_and_one_publish_is_one_script(cluster):
    a, b, client, prefix = cluster
    room = "chat:general"
    with a.connect("alice", perms=["chat:write"]) as alice, b.connect("bob", perms=["chat:write"]) as bob:
        for ws in (alice, bob):
            ws.send(json.dumps({"event": "room.join", "target": room, "payload": {"quiet": True}}))
            next_frame(ws, "_joined", room)
        # Presence is the cluster's: each node's _presence_state lists both users.
        bob.send(json.dumps({"event": "room.who", "target": room}))
        deadline = time.monotonic() + WAIT
        while sorted(next_frame(bob, "_presence_state", room)["payload"]["users"]) != ["alice", "bob"]:
            assert time.monotonic() < deadline
            bob.send(json.dumps({"event": "room.who", "target": room}))
        before = commandstats(client)
        alice.send(json.dumps({"event": "chat.send", "target": room, "id": "m1", "payload": {"text": "hello from a"}}))
        received = next_frame(bob, "chat.message", room)
        own = next_frame(alice, "chat.message", room)
        ack = next_frame(alice, "chat.ack")
        after = commandstats(client)
    assert received["payload"] == {"text": "hello from a"} and received["from"] == "alice"
    assert own["offset"] == received["offset"] == 1 and own["epoch"] == received["epoch"]
    assert ack["ref"] == "m1"
    # One EVALSHA (append + publish); its PUBLISH runs inside it, once for the whole cluster. (Heartbeats
    # are scripts too, each with one ZADD: they are taken out.)
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in set(before) | set(after)}
    assert delta.get("cmdstat_evalsha", 0) - delta.get("cmdstat_zadd", 0) == 1, {k: v for k, v in delta.items() if v}
    assert delta.get("cmdstat_publish", 0) == 1, delta
    assert delta.get("cmdstat_xadd", 0) == 1, delta
    # The keys docs/SCALING.md names, hash-tagged by room.
    stream = f"{prefix}:history:{{{room}}}"
    meta = f"{prefix}:history-meta:{{{room}}}"
    assert client.xlen(stream) == 1
    assert client.hgetall(meta) == {"epoch": received["epoch"], "top": "1"}
    assert json.loads(client.xrange(stream)[0][1]["f"]) == received
    assert 0 < client.pttl(stream) <= 300_000  # the rule's history ttl


def test_presence_and_connection_slots_live_in_redis(cluster):
    a, b, client, prefix = cluster
    room = "chat:general"
    with a.connect("carol") as carol, b.connect("carol") as again:
        for ws in (carol, again):
            ws.send(json.dumps({"event": "room.join", "target": room, "payload": {"quiet": True}}))
            next_frame(ws, "_joined", room)
        entries = {field: json.loads(value) for field, value in client.hgetall(f"{prefix}:presence:{{{room}}}").items()}
        assert [entry["u"] for entry in entries.values()] == ["carol", "carol"]
        assert sorted(entry["n"].split("~")[0] for entry in entries.values()) == ["a", "b"]
        # Two connections, one on each node, each counted against per_user_limit.
        slots = client.zrange(f"{prefix}:conns:{{carol}}", 0, -1)
        assert sorted(slot.split("|")[1].split("~")[0] for slot in slots) == ["a", "b"]
        stats = a.result("presence_stats", {"room": room})
        assert stats == {"num_clients": 2, "num_users": 1}
    deadline = time.monotonic() + WAIT
    while client.zcard(f"{prefix}:conns:{{carol}}") or client.hlen(f"{prefix}:presence:{{{room}}}"):
        assert time.monotonic() < deadline, "closed connections kept their slots or presence entries"
        time.sleep(0.05)
