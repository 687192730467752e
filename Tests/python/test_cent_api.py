"""Centrifugo's own Python client, `cent` (unmodified), as a witness of the backend API (issue 12):
it drives the shipped config.yaml's server, and real WebSocket clients, authenticated with real JWTs,
show what the API's calls did."""

import pytest
from cent import (
    BatchRequest,
    BroadcastRequest,
    CentApiResponseError,
    CentTransportError,
    CentUnauthorizedError,
    ChannelsRequest,
    Client,
    Disconnect,
    HistoryRequest,
    DisconnectRequest,
    InfoRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    SubscribeRequest,
    UnsubscribeRequest,
)

from conftest import WAIT, close_received, frame


def cent_client(server, key=None):
    return Client(server.api_url, server.api_key if key is None else key, timeout=WAIT)


def extra(result, name):
    """A field of a cent result that cent's model does not declare (ours: joined, left, closed…)."""
    return (result.model_extra or {}).get(name)


def test_publish_reaches_the_room_members_only_and_carries_no_from(shipped):
    cent = cent_client(shipped)
    with shipped.connect("alice") as alice, shipped.connect("bob") as bob:
        joined = cent.subscribe(SubscribeRequest(user="alice", channel="news"))
        assert extra(joined, "joined") == 1
        cent.publish(PublishRequest(channel="news", data={"text": "hello", "n": [1, 2.5, None, True]}))
        # Exactly this frame: the event defaults to "message", no `from` (only a verified user is `from`).
        assert frame(alice) == {"event": "message", "target": "news", "payload": {"text": "hello", "n": [1, 2.5, None, True]}}
        # Bob is not in `news`: the first frame he gets is the one sent to his private room after it.
        cent.publish(PublishRequest(channel="user:bob", data="sentinel"))
        assert frame(bob) == {"event": "message", "target": "user:bob", "payload": "sentinel"}


def test_broadcast_sends_to_every_listed_room(shipped):
    cent = cent_client(shipped)
    with shipped.connect("alice") as alice, shipped.connect("bob") as bob:
        cent.subscribe(SubscribeRequest(user="alice", channel="room-a"))
        cent.subscribe(SubscribeRequest(user="bob", channel="room-b"))
        result = cent.broadcast(BroadcastRequest(channels=["room-a", "room-b", "room-empty"], data={"k": "v"}))
        assert len(result.responses) == 3
        assert all(response.error is None and response.result is not None for response in result.responses)
        assert frame(alice) == {"event": "message", "target": "room-a", "payload": {"k": "v"}}
        assert frame(bob) == {"event": "message", "target": "room-b", "payload": {"k": "v"}}


def test_subscribe_then_unsubscribe_stops_delivery(shipped):
    cent = cent_client(shipped)
    with shipped.connect("alice") as alice, shipped.connect("alice") as alice2:
        # Both of Alice's connections join; a second subscribe joins none anew.
        assert extra(cent.subscribe(SubscribeRequest(user="alice", channel="sports")), "joined") == 2
        assert extra(cent.subscribe(SubscribeRequest(user="alice", channel="sports")), "joined") == 0
        cent.publish(PublishRequest(channel="sports", data="goal"))
        assert frame(alice)["payload"] == "goal"
        assert frame(alice2)["payload"] == "goal"
        assert extra(cent.unsubscribe(UnsubscribeRequest(user="alice", channel="sports")), "left") == 2
        cent.publish(PublishRequest(channel="sports", data="after"))
        cent.publish(PublishRequest(channel="user:alice", data="sentinel"))
        assert frame(alice) == {"event": "message", "target": "user:alice", "payload": "sentinel"}
        assert frame(alice2) == {"event": "message", "target": "user:alice", "payload": "sentinel"}


def test_a_repeated_idempotency_key_publishes_once(shipped):
    cent = cent_client(shipped)
    with shipped.connect("alice") as alice:
        cent.subscribe(SubscribeRequest(user="alice", channel="orders"))
        first = PublishRequest(channel="orders", data={"order": 1}, idempotency_key="order-1-created")
        cent.publish(first)
        cent.publish(PublishRequest(channel="orders", data={"order": 1, "retry": True}, idempotency_key="order-1-created"))
        # The key is per room: the same key in another room publishes there.
        cent.publish(PublishRequest(channel="user:alice", data="other room", idempotency_key="order-1-created"))
        cent.publish(PublishRequest(channel="orders", data="sentinel"))
        assert frame(alice) == {"event": "message", "target": "orders", "payload": {"order": 1}}
        assert frame(alice) == {"event": "message", "target": "user:alice", "payload": "other room"}
        assert frame(alice) == {"event": "message", "target": "orders", "payload": "sentinel"}


def test_disconnect_closes_every_connection_of_the_user_with_the_code_given(shipped):
    cent = cent_client(shipped)
    with shipped.connect("alice") as alice, shipped.connect("alice") as alice2, shipped.connect("bob") as bob:
        result = cent.disconnect(DisconnectRequest(user="alice", disconnect=Disconnect(code=4005, reason="kicked")))
        assert extra(result, "closed") == 2
        assert close_received(alice) == (4005, "kicked")
        assert close_received(alice2) == (4005, "kicked")
        # Bob stays connected and served.
        cent.publish(PublishRequest(channel="user:bob", data="still here"))
        assert frame(bob)["payload"] == "still here"


def test_info_counts_clients_users_and_rooms(shipped):
    cent = cent_client(shipped)
    with shipped.connect("alice") as alice, shipped.connect("alice"), shipped.connect("bob"):
        cent.subscribe(SubscribeRequest(user="alice", channel="lobby"))
        nodes = cent.info(InfoRequest()).nodes
        assert len(nodes) == 1
        node = nodes[0]
        assert node.num_clients == 3
        assert node.num_users == 2
        # user:alice, user:bob (the shipped connect pipeline) and lobby.
        assert node.num_channels == 3
        assert node.version and node.uid and node.name
        assert node.uptime >= 0


def test_channels_lists_rooms_with_their_member_counts(shipped):
    cent = cent_client(shipped)
    with shipped.connect("alice"), shipped.connect("alice"), shipped.connect("bob"):
        cent.subscribe(SubscribeRequest(user="alice", channel="chat:one"))
        cent.subscribe(SubscribeRequest(user="bob", channel="chat:two"))
        everything = cent.channels(ChannelsRequest()).channels
        assert {name: info.num_clients for name, info in everything.items()} == {
            "chat:one": 2, "chat:two": 1, "user:alice": 2, "user:bob": 1}
        matching = cent.channels(ChannelsRequest(pattern="chat:*")).channels
        assert {name: info.num_clients for name, info in matching.items()} == {"chat:one": 2, "chat:two": 1}


def test_a_batch_runs_its_publishes_in_order(shipped):
    cent = cent_client(shipped)
    with shipped.connect("alice") as alice:
        cent.subscribe(SubscribeRequest(user="alice", channel="feed"))
        result = cent.batch(BatchRequest(requests=[
            PublishRequest(channel="feed", data={"seq": n}) for n in range(5)
        ] + [PublishRequest(channel="user:alice", data="last")]))
        assert len(result.replies) == 6
        for n in range(5):
            assert frame(alice) == {"event": "message", "target": "feed", "payload": {"seq": n}}
        assert frame(alice) == {"event": "message", "target": "user:alice", "payload": "last"}


def test_errors_raise_with_centrifugo_codes(shipped):
    cent = cent_client(shipped)
    with pytest.raises(CentApiResponseError) as raised:
        cent.subscribe(SubscribeRequest(user="nobody-connected", channel="news"))
    assert raised.value.code == 102 and "nobody-connected" in raised.value.message
    with pytest.raises(CentApiResponseError) as raised:
        cent.unsubscribe(UnsubscribeRequest(user="nobody-connected", channel="news"))
    assert raised.value.code == 102
    with shipped.connect("alice") as alice:
        with pytest.raises(CentApiResponseError) as raised:
            cent.disconnect(DisconnectRequest(user="alice", disconnect=Disconnect(code=1001, reason="no")))
        assert raised.value.code == 107 and "1001" in raised.value.message
        with pytest.raises(CentApiResponseError) as raised:
            cent.disconnect(DisconnectRequest(user="alice", client="no-such-connection"))
        assert raised.value.code == 102
        # The refused calls closed nothing.
        cent.publish(PublishRequest(channel="user:alice", data="alive"))
        assert frame(alice)["payload"] == "alive"
    with pytest.raises(CentApiResponseError) as raised:
        cent.publish(PublishRequest(channel="", data=1))
    assert raised.value.code == 107


def test_a_wrong_key_is_refused(shipped):
    with shipped.connect("alice") as alice:
        with pytest.raises(CentUnauthorizedError):
            cent_client(shipped, key="0" * 32).publish(PublishRequest(channel="user:alice", data="forged"))
        with pytest.raises(CentUnauthorizedError):
            cent_client(shipped, key=shipped.api_key[:-1]).publish(PublishRequest(channel="user:alice", data="forged"))
        # Nothing was published: Alice's first frame is the one the right key sends.
        cent_client(shipped).publish(PublishRequest(channel="user:alice", data="genuine"))
        assert frame(alice)["payload"] == "genuine"


def test_a_body_over_the_limit_is_refused_with_413(shipped):
    # cent sends with `requests`, no Expect: 100-continue: the 413 must still arrive (not a reset).
    with shipped.connect("alice") as alice:
        with pytest.raises(CentTransportError) as raised:
            cent_client(shipped).publish(PublishRequest(channel="user:alice", data="x" * (2 << 20)))
        assert raised.value.status_code == 413
        cent_client(shipped).publish(PublishRequest(channel="user:alice", data="x" * 1000))
        assert frame(alice)["payload"] == "x" * 1000


def test_presence_and_presence_stats_read_the_room(shipped):
    # config.yaml keeps full presence in "chat:*" rooms.
    cent = cent_client(shipped)
    with shipped.connect("alice") as alice, shipped.connect("alice") as alice2, shipped.connect("bob") as bob:
        for user in ("alice", "bob"):
            cent.subscribe(SubscribeRequest(user=user, channel="chat:lounge"))
        stats = cent.presence_stats(PresenceStatsRequest(channel="chat:lounge"))
        assert (stats.num_clients, stats.num_users) == (3, 2)
        presence = cent.presence(PresenceRequest(channel="chat:lounge")).presence
        assert sorted(info.user for info in presence.values()) == ["alice", "alice", "bob"]
        assert all(client == info.client for client, info in presence.items())
        cent.unsubscribe(UnsubscribeRequest(user="alice", channel="chat:lounge"))
        stats = cent.presence_stats(PresenceStatsRequest(channel="chat:lounge"))
        assert (stats.num_clients, stats.num_users) == (1, 1)


def test_presence_is_not_available_where_the_room_keeps_none(shipped):
    # Like Centrifugo for a channel without presence: error 108, whatever the room's membership.
    cent = cent_client(shipped)
    with shipped.connect("alice"):
        cent.subscribe(SubscribeRequest(user="alice", channel="lounge"))
        for call in (lambda: cent.presence(PresenceRequest(channel="lounge")),
                     lambda: cent.presence_stats(PresenceStatsRequest(channel="lounge"))):
            with pytest.raises(CentApiResponseError) as refused:
                call()
            assert refused.value.code == 108


def test_history_numbers_publications_in_rooms_that_keep_it(shipped):
    # config.yaml keeps 100 frames in "chat:*" rooms; publish results carry the stream position.
    cent = cent_client(shipped)
    with shipped.connect("alice") as alice:
        cent.subscribe(SubscribeRequest(user="alice", channel="chat:history"))
        results = [cent.publish(PublishRequest(channel="chat:history", data={"n": n})) for n in range(3)]
        assert [result.offset for result in results] == [1, 2, 3]
        epoch = results[0].epoch
        assert epoch and all(result.epoch == epoch for result in results)
        received = [frame(alice) for _ in range(3)]
        assert [(f["offset"], f["epoch"], f["payload"]) for f in received] == [(n + 1, epoch, {"n": n}) for n in range(3)]
        history = cent.history(HistoryRequest(channel="chat:history", limit=-1))
        assert (history.offset, history.epoch) == (3, epoch)
        assert [(p.offset, p.data) for p in history.publications] == [(n + 1, {"n": n}) for n in range(3)]
        newest = cent.history(HistoryRequest(channel="chat:history", limit=2, reverse=True))
        assert [p.offset for p in newest.publications] == [3, 2]
        # A room without history has no stream to read.
        with pytest.raises(CentApiResponseError) as refused:
            cent.history(HistoryRequest(channel="news", limit=1))
        assert refused.value.code == 108
