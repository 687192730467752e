"""The Prometheus project's own text-format parser (prometheus_client) as a witness of /metrics
(issue 12): after real WebSocket and API traffic on the shipped config.yaml, the families are there,
typed, with values that match the traffic, and no label carries a user id or a room name."""

import json

import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import WAIT, frame

USERS = ("metrics-user-alice", "metrics-user-bob")
ROOMS = ("metrics-room-secret", "user:metrics-user-alice", "user:metrics-user-bob")


def scrape(server):
    response = requests.get(f"{server.base}/metrics", timeout=WAIT)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain"), response.headers
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def samples(family, **labels):
    return [sample for sample in family.samples if all(sample.labels.get(k) == v for k, v in labels.items())]


def value(family, name, **labels):
    found = [sample for sample in samples(family, **labels) if sample.name == name]
    assert len(found) == 1, f"{name}{labels}: {family.samples}"
    return found[0].value


def traffic(server, alice, bob):
    """Two room joins, two chat.send messages, API publishes (ok) and a subscribe of nobody (error)."""
    alice.send(json.dumps({"event": "room.join", "target": ROOMS[0]}))
    assert frame(alice)["event"] == "room.joined"
    bob.send(json.dumps({"event": "room.join", "target": ROOMS[0]}))
    assert frame(bob)["event"] == "room.joined"
    assert frame(alice)["event"] == "room.joined"
    for n in range(2):
        alice.send(json.dumps({"event": "chat.send", "target": ROOMS[0], "id": f"m{n}", "payload": {"text": f"hi {n}"}}))
        received = [frame(alice), frame(alice)]
        assert sorted(f["event"] for f in received) == ["chat.ack", "chat.message"], received
        assert frame(bob)["payload"] == {"text": f"hi {n}"}
    for _ in range(3):
        server.result("publish", {"room": ROOMS[0], "payload": {}})
        assert frame(bob)["event"] == "message"
        assert frame(alice)["event"] == "message"
    response = server.api("subscribe", {"user": "metrics-nobody", "channel": ROOMS[0]})
    assert response.json()["error"]["code"] == 102


def test_metrics_families_after_traffic(shipped):
    with shipped.connect(USERS[0], perms=["chat:write"]) as alice, shipped.connect(USERS[1]) as bob:
        traffic(shipped, alice, bob)
        families = scrape(shipped)

        connections = families.get("godispatch_connections")
        assert connections is not None, sorted(families)
        assert connections.type == "gauge"
        assert value(connections, "godispatch_connections") == 2

        received = families.get("godispatch_messages_received")
        assert received is not None, sorted(families)
        assert received.type == "counter"
        assert value(received, "godispatch_messages_received_total", event="chat.send") == 2
        assert value(received, "godispatch_messages_received_total", event="room.join") == 2

        api = families.get("godispatch_api_requests")
        assert api is not None, sorted(families)
        assert api.type == "counter"
        assert all("method" in sample.labels for sample in api.samples)
        assert value(api, "godispatch_api_requests_total", method="publish", result="ok") == 3
        assert value(api, "godispatch_api_requests_total", method="subscribe", result="error") == 1

        build = families.get("godispatch_build_info")
        assert build is not None, sorted(families)
        version = shipped.result("info")["nodes"][0]["version"]
        (info,) = build.samples
        assert info.labels.get("version") == version and info.value == 1

        # Every metric is ours.
        assert all(name.startswith("godispatch_") or name.startswith("process_") for name in families), sorted(families)


def test_no_label_carries_a_user_a_room_or_a_name_a_caller_chose(shipped):
    with shipped.connect(USERS[0], perms=["chat:write"]) as alice, shipped.connect(USERS[1]) as bob:
        traffic(shipped, alice, bob)
        # Names callers choose: an unknown client event and an unknown API method.
        alice.send(json.dumps({"event": "metrics.unknown.event-name", "id": "u1"}))
        assert frame(alice)["payload"]["code"] == "unknown_event"
        assert shipped.api("metrics-unknown-method").json()["error"]["code"] == 104
        shipped.result("notify_user", {"user": USERS[1], "event": "ping"})
        assert frame(bob)["event"] == "ping"
        families = scrape(shipped)
    values = {value for family in families.values() for sample in family.samples for value in sample.labels.values()}
    forbidden = set(USERS) | set(ROOMS) | {"metrics-nobody", "metrics.unknown.event-name", "metrics-unknown-method"}
    assert not values & forbidden, sorted(values & forbidden)
    # The unknown API method is still counted, under a fixed label.
    api = families["godispatch_api_requests"]
    assert sum(sample.value for sample in api.samples
               if sample.name == "godispatch_api_requests_total" and sample.labels.get("method") not in
               {"publish", "subscribe", "notify_user", "info"}) >= 1
