"""clients/js/godispatch.js in headless Chromium against a real engine on the shipped config.yaml:
chat between tabs, reconnect with recovery, token refresh without a disconnect, request/reply."""

import secrets

import pytest


def fresh(prefix):
    """A room or user name no other test uses (the server lives for the whole session)."""
    return f"{prefix}-{secrets.token_hex(4)}"


def test_two_tabs_chat_and_see_each_other(open_tab):
    room, alice, bob = fresh("chat:lobby"), fresh("alice"), fresh("bob")
    a, b = open_tab(), open_tab()
    a.start(alice)
    b.start(bob)
    assert a.call("join", room)["ok"]["recovered"] is False  # _joined: a first join recovers nothing
    assert b.call("join", room)["ok"]["epoch"]

    a.js("h.client.send('chat.send', arguments[0], {text: 'hello bob'})", room)
    b.wait("texts(arguments[0]).includes('hello bob')", "bob to get alice's message", room)
    b.js("h.client.send('chat.send', arguments[0], {text: 'hi alice'})", room)
    a.wait("texts(arguments[0]).includes('hi alice')", "alice to get bob's reply", room)
    said = b.js("h.frames.find(f => f.event === 'chat.message' && f.payload.text === 'hello bob')")
    assert said["from"] == alice and said["target"] == room and isinstance(said["offset"], int)

    # Presence: alice's member map (from her _joined) learns bob from a _presence diff, and loses him
    # when his tab closes its client.
    a.wait("h.client.presence(arguments[0]).has(arguments[1])", "alice's presence to list bob", room, bob)
    assert a.js("[...h.client.presence(arguments[0]).keys()].sort()", room) == sorted([alice, bob])
    members = b.call("who", room)["ok"]  # room.who → _presence_state
    assert sorted(members) == sorted([alice, bob]) and members[alice]["connections"] == 1, members
    b.js("h.client.close()")
    a.wait("!h.client.presence(arguments[0]).has(arguments[1])", "alice's presence to drop bob", room, bob)


def test_dropped_tab_reconnects_and_recovers_what_it_missed(open_tab, server):
    room, rita, sam = fresh("chat:recover"), fresh("rita"), fresh("sam")
    a, b = open_tab(), open_tab()
    a.start(rita)
    b.start(sam)
    a.call("join", room)
    b.call("join", room)
    b.js("h.client.send('chat.send', arguments[0], {text: 'before'})", room)
    a.wait("texts(arguments[0]).includes('before')", "rita to get 'before'", room)

    # The backend drops rita's connection with 1000 (a code after which clients come back); her client
    # may reconnect only when the test releases its getToken, so what follows is surely missed.
    a.js("hold()")
    assert server.api("disconnect", {"user": rita, "code": 1000, "reason": "test"})["closed"] == 1
    a.wait("h.waiting", "rita's client to try to reconnect")
    gone = a.log("disconnected")
    assert [(e["code"], e["reconnect"]) for e in gone] == [(1000, True)], gone
    server.api("publish", {"room": room, "event": "chat.message", "payload": {"text": "api-1"}})
    server.api("publish", {"room": room, "event": "chat.message", "payload": {"text": "api-2"}})
    b.js("h.client.send('chat.send', arguments[0], {text: 'while away'})", room)
    b.wait("texts(arguments[0]).length === 4", "sam to see all four messages", room)
    assert a.texts(room) == ["before"]

    a.js("release()")
    a.wait("h.log.filter(e => e.type === 'joined').length === 2", "rita to re-join")
    rejoin = a.log("joined")[1]
    assert rejoin["recovered"] is True and rejoin["publications"] == 3, rejoin
    before = a.js("h.frames.find(f => f.event === 'chat.message' && f.payload.text === 'before')")
    assert rejoin["since"] == {"offset": before["offset"], "epoch": before["epoch"]}, rejoin  # the last frame seen
    b.js("h.client.send('chat.send', arguments[0], {text: 'after'})", room)
    a.wait("texts(arguments[0]).includes('after')", "rita to get a live message after the re-join", room)
    assert a.texts(room) == ["before", "api-1", "api-2", "while away", "after"]  # in order, none twice
    offsets = a.js("h.frames.filter(f => f.event === 'chat.message').map(f => f.offset)")
    assert offsets == sorted(set(offsets)), offsets
    assert a.log("recovery_failed") == [] and len(a.log("connected")) == 2


def test_a_rejoin_that_cannot_recover_says_so(open_tab, server):
    room, uma = fresh("chat:lost"), fresh("uma")
    a = open_tab()
    a.start(uma)
    a.call("join", room)
    server.api("publish", {"room": room, "event": "chat.message", "payload": {"text": "seen"}})
    a.wait("texts(arguments[0]).includes('seen')", "uma to get 'seen'", room)
    a.js("hold()")
    server.api("disconnect", {"user": uma})  # the API's default code, 1000
    a.wait("h.waiting", "uma's client to try to reconnect")
    server.api("publish", {"room": room, "event": "chat.message", "payload": {"text": "gone"}})
    server.api("history_remove", {"room": room})  # what uma missed is no longer held
    a.js("release()")
    a.wait("h.log.some(e => e.type === 'recovery_failed')", "recovery_failed after the re-join")
    failed = a.log("recovery_failed")[0]
    assert failed["room"] == room and failed["recovered"] is False and failed["since"]["offset"] >= 1, failed
    position = a.js("h.client.position(arguments[0])", room)  # carries on from the top (or later: room.joined)
    assert position["epoch"] == failed["epoch"] and position["offset"] >= failed["offset"], (position, failed)
    assert a.texts(room) == ["seen"]


def test_a_request_in_flight_rejects_when_the_connection_drops(open_tab, server):
    vera = fresh("vera")
    a = open_tab()
    a.start(vera)
    # Joining a room without history sends nothing back: the request waits until the connection drops.
    a.js("void h.client.request('room.join', 'plain', {quiet: true}, {timeout: 120000})"
         ".then(() => h.outcome = 'resolved', e => h.outcome = e.code)")  # void: execute_script would await it
    assert a.js("h.client.state") == "connected"  # so the request went out at once
    server.api("disconnect", {"user": vera})
    a.wait("h.outcome", "the request to settle")
    assert a.js("h.outcome") == "disconnected"
    a.wait("h.client.state === 'connected' && h.log.filter(e => e.type === 'connected').length === 2",
           "the client to reconnect")


def test_expiring_token_is_refreshed_without_a_disconnect(open_tab, server):
    room, tess = fresh("chat:refresh"), fresh("tess")
    a = open_tab()
    # Each token lives 6 s; the server closes a connection at exp + leeway (5 s in config.yaml) with 4003.
    a.start(tess, ttl=6)
    a.call("join", room)
    first_exp = a.js("h.tokens[0].exp")
    a.wait("h.log.filter(e => e.type === 'refreshed').length >= 2 && Date.now() / 1000 > arguments[0]",
           "two refreshes and the first token's deadline (exp + leeway + 2 s) to pass", first_exp + 5 + 2)
    a.js("h.client.send('chat.send', arguments[0], {text: 'still here'})", room)
    a.wait("texts(arguments[0]).includes('still here')", "a message after the first token's deadline", room)
    assert a.log("disconnected") == [] and len(a.log("connected")) == 1, a.log()
    assert a.log("refresh_failed") == []
    assert a.js("h.client.state") == "connected"


def test_request_to_a_forbidden_event_rejects_with_its_code(open_tab):
    a = open_tab()
    a.start(fresh("una"))  # chat:write only: mod.mute requires `moderator`
    outcome = a.call("request", "mod.mute", "someone", None)
    assert outcome["error"]["code"] == "forbidden", outcome
    outcome = a.call("request", "no.such.event", None, {})
    assert outcome["error"]["code"] == "unknown_event", outcome
    assert a.log("error") == []  # errors that answered a request are not also reported as `error` events


def test_request_resolves_with_the_frame_that_names_its_id(open_tab):
    """The success path of request(): needs the engine to echo a message's id as the top-level `ref` of
    the frames a pipeline sends the sender back (chat.send's chat.ack). Skips on an engine without it."""
    room = fresh("chat:ref")
    a = open_tab()
    a.start(fresh("vic"))
    a.call("join", room)
    outcome = a.call("request", "chat.send", room, {"text": "with ack"}, {"timeout": 10000})
    if "error" in outcome:
        ack = a.js("h.frames.find(f => f.event === 'chat.ack')")
        if outcome["error"]["code"] == "timeout" and ack is not None and "ref" not in ack:
            pytest.skip("this engine does not echo `ref` on replies yet (the owner's change on main)")
        raise AssertionError(outcome)
    assert outcome["ok"]["event"] == "chat.ack" and outcome["ok"]["payload"]["delivered"] == 1, outcome


def test_no_reconnect_after_a_ban(open_tab, server):
    ned = fresh("ned")
    a = open_tab()
    a.start(ned)
    assert server.api("disconnect", {"user": ned, "code": 4008, "reason": "banned"})["closed"] == 1
    a.wait("h.client.state === 'closed'", "the client to stop after 4008")
    assert [(e["code"], e["reconnect"]) for e in a.log("disconnected")] == [(4008, False)]
    assert len(a.log("connecting")) == 1 and len(a.js("h.tokens")) == 1
    outcome = a.call("request", "room.who", "chat:x", None)
    assert outcome["error"]["code"] == "disconnected", outcome
