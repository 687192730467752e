"""Two nodes of the shipped config.yaml sharing one real redis-server (GODISPATCH_BROKER=redis), seen
through clients others wrote: `websockets` clients on each node, Centrifugo's `cent` on the API, and
redis-py reading what the broker keeps in Redis — the keys docs/SCALING.md names, with their hash tags,
and what one publish costs Redis."""

import json
import secrets
import shutil
import socket
import subprocess
import threading
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


@pytest.fixture
def three_nodes(start_shipped, redis_server):
    """Three shipped nodes on one Redis, heartbeat 300 ms (a silent node is gone after 0.9 s)."""
    port, client = redis_server
    shared = dict(
        GODISPATCH_BROKER="redis", GODISPATCH_REDIS_URL=f"redis://127.0.0.1:{port}/0",
        GODISPATCH_REDIS_PREFIX="pyw" + secrets.token_hex(3), GODISPATCH_HEARTBEAT="300ms",
        GODISPATCH_JWT_SECRET=secrets.token_hex(24), GODISPATCH_API_KEY=secrets.token_hex(16))
    nodes = [start_shipped(GODISPATCH_NODE_NAME=f"n{index}", **shared) for index in (1, 2, 3)]
    for node in nodes:
        wait_ready(node)
    return nodes, client


def join(ws, room, since=None):
    payload = {"quiet": True}
    if since:
        payload["since"] = since
    ws.send(json.dumps({"event": "room.join", "target": room, "payload": payload}))
    return next_frame(ws, "_joined", room)["payload"]


def test_presence_spans_nodes_and_a_killed_node_s_users_leave(three_nodes):
    (n1, n2, n3), _ = three_nodes
    room = "chat:presence"
    with n1.connect("ann") as ann, n2.connect("ben") as ben:
        join(ann, room)
        join(ben, room)
        with n3.connect("cid") as cid:
            joined = join(cid, room)
            assert sorted(joined["presence"]["users"]) == ["ann", "ben", "cid"], joined
            deadline = time.monotonic() + WAIT
            while sorted(n2.result("presence", {"room": room})["presence"]) == []:
                assert time.monotonic() < deadline
            assert sorted(entry["user"] for entry in n2.result("presence", {"room": room})["presence"].values()) == [
                "ann", "ben", "cid"]
            # ann, on n1, hears of cid's join on n3.
            diff = next_frame(ann, "_presence", room)
            while "cid" not in diff["payload"]["joins"]:
                diff = next_frame(ann, "_presence", room)
            killed_at = time.monotonic()
            n3.process.kill()  # kill -9: no goodbye
            n3.process.wait(timeout=WAIT)
            diff = next_frame(ann, "_presence", room)
            while "cid" not in diff["payload"]["leaves"]:
                diff = next_frame(ann, "_presence", room)
            gone_after = time.monotonic() - killed_at
        # Three heartbeats of 300 ms, one more for a node to notice, the 500 ms diff interval: about 2 s;
        # the bound is generous for a busy machine, and far below what a leak would take (forever).
        assert gone_after < 10, f"cid left {gone_after:.1f} s after n3 was killed"
        assert sorted(entry["user"] for entry in n1.result("presence", {"room": room})["presence"].values()) == ["ann", "ben"]
        ann.send(json.dumps({"event": "room.who", "target": room}))
        assert sorted(next_frame(ann, "_presence_state", room)["payload"]["users"]) == ["ann", "ben"]


def test_a_client_recovers_on_another_node_after_its_node_dies(three_nodes):
    (n1, n2, n3), _ = three_nodes
    room = "chat:recover"
    with n1.connect("pub", perms=["chat:write"]) as publisher:
        join(publisher, room)
        with n2.connect("sub") as subscriber:
            join(subscriber, room)
            publisher.send(json.dumps({"event": "chat.send", "target": room, "payload": {"text": "seen"}}))
            seen = next_frame(subscriber, "chat.message", room)
            n2.process.kill()
            n2.process.wait(timeout=WAIT)
        for index in range(5):
            publisher.send(json.dumps({"event": "chat.send", "target": room, "id": f"m{index}", "payload": {"text": f"missed {index}"}}))
            next_frame(publisher, "chat.ack")
        with n3.connect("sub") as again:
            joined = join(again, room, since={"offset": seen["offset"], "epoch": seen["epoch"]})
    assert joined["recovered"] is True, joined
    assert [p["payload"]["text"] for p in joined["publications"]] == [f"missed {index}" for index in range(5)]
    assert [p["offset"] for p in joined["publications"]] == list(range(seen["offset"] + 1, seen["offset"] + 6))


def test_flushall_starts_a_new_epoch_and_never_replays_wrongly(three_nodes):
    (n1, n2, _), client = three_nodes
    room = "chat:flushed"
    with n1.connect("pub", perms=["chat:write"]) as publisher, n2.connect("sub") as subscriber:
        join(publisher, room)
        first = join(subscriber, room)
        publisher.send(json.dumps({"event": "chat.send", "target": room, "payload": {"text": "before"}}))
        before = next_frame(subscriber, "chat.message", room)
        client.flushall()
        publisher.send(json.dumps({"event": "chat.send", "target": room, "payload": {"text": "after"}}))
        after = next_frame(subscriber, "chat.message", room)
        assert after["epoch"] != before["epoch"] and after["offset"] == 1, (before, after)
        subscriber.send(json.dumps({"event": "room.leave", "target": room}))
        rejoined = join(subscriber, room, since={"offset": before["offset"], "epoch": first["epoch"]})
    assert rejoined["recovered"] is False and rejoined["publications"] == [], rejoined
    assert rejoined["epoch"] == after["epoch"] and rejoined["offset"] >= after["offset"], (after, rejoined)


def pubsub_connections_of(process, redis_port, client):
    """The Redis client ids of `process`'s pub/sub connections (its subscriber), found through the socket
    table (`ss`) and CLIENT LIST."""
    table = subprocess.run(["ss", "-tnpH", "dst", f"127.0.0.1:{redis_port}"], capture_output=True, text=True).stdout
    ports = {line.split()[3].rsplit(":", 1)[1] for line in table.splitlines() if f"pid={process.pid}," in line}
    return [c["id"] for c in client.client_list(_type="pubsub") if c["addr"].rsplit(":", 1)[1] in ports]


@pytest.mark.skipif(shutil.which("ss") is None, reason="ss (iproute2) is not installed")
def test_a_node_whose_pubsub_connection_drops_catches_its_rooms_up_in_order(three_nodes, redis_server):
    (n1, n2, _), client = three_nodes
    redis_port, _ = redis_server
    room = "chat:outage"
    total = 300
    with n1.connect("pub", perms=["chat:write"]) as publisher, n2.connect("sub") as subscriber:
        join(publisher, room)
        join(subscriber, room)
        errors = []

        def publish():
            for index in range(total):
                publisher.send(json.dumps({"event": "chat.send", "target": room, "id": f"m{index}", "payload": {"text": str(index)}}))
                time.sleep(0.002)

        sender = threading.Thread(target=publish)
        sender.start()
        kills = 0
        deadline = time.monotonic() + WAIT
        while sender.is_alive() and kills < 3:
            ids = pubsub_connections_of(n2.process, redis_port, client)
            if ids:
                client.execute_command("CLIENT", "KILL", "ID", ids[0])
                kills += 1
            assert time.monotonic() < deadline
            time.sleep(0.1)
        sender.join(timeout=WAIT)
        texts = []
        offsets = []
        while len(texts) < total:
            frame = next_frame(subscriber, "chat.message", room)
            texts.append(frame["payload"]["text"])
            offsets.append(frame["offset"])
        acks = 0
        while acks < total:
            frame = json.loads(publisher.recv(timeout=WAIT))
            if frame.get("event") == "error":
                errors.append(frame)
                acks += 1
            elif frame.get("event") == "chat.ack":
                acks += 1
    assert kills >= 1, "n2's pub/sub connection was never found"
    assert errors == [], f"the publisher's node kept its connections, yet: {errors[:3]}"
    assert texts == [str(index) for index in range(total)], "frames missing, doubled or out of order on n2:\n" + "".join(l for l in n2.log if "broker" in l or "caught" in l or "recover" in l)
    assert offsets == list(range(offsets[0], offsets[0] + total))
