"""The Python `websockets` library as a witness: a real, widely used client that offers
permessage-deflate by default. The engine declines the extension cleanly and speaks plain frames."""

import json

from websockets.sync.client import connect


def test_a_deflate_offer_is_declined_and_the_connection_works(server):
    token = server.token("alice")
    with connect(server.url, additional_headers={"Authorization": f"Bearer {token}"},
                 compression="deflate", open_timeout=60) as ws:
        offered = ws.request.headers.get("Sec-WebSocket-Extensions", "")
        assert "permessage-deflate" in offered, "the client offers compression by default"
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None, "the server must decline it"
        ws.send(json.dumps({"event": "room.join", "target": "lobby"}))
        assert json.loads(ws.recv(timeout=60)) == {"event": "joined", "target": "lobby", "from": "alice"}
        big = "x" * 4000  # would be compressed if the extension were in use
        ws.send(json.dumps({"event": "echo", "payload": {"text": big}}))
        assert json.loads(ws.recv(timeout=60))["payload"] == {"text": big}


def test_a_malformed_message_gets_an_error_frame_and_the_connection_lives(server):
    token = server.token("bob")
    with connect(server.url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=60) as ws:
        ws.send("{not json")
        error = json.loads(ws.recv(timeout=60))
        assert error["event"] == "error" and error["payload"]["code"] == "bad_request"
        ws.send(json.dumps({"event": "echo", "payload": 1}))
        assert json.loads(ws.recv(timeout=60))["payload"] == 1


def test_a_close_with_a_code_is_echoed(server):
    token = server.token("carol")
    with connect(server.url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=60) as ws:
        ws.close(code=4000, reason="done")
        assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 4000
