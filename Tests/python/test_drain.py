"""Graceful drain on SIGTERM (issue 12), on the shipped config.yaml: /ready turns 503 at once, the
WebSocket listener keeps accepting for server.drain_delay, then stops; open connections are closed
with 1001 and the process exits within server.shutdown_timeout (10 s in config.yaml)."""

import signal
import time

import pytest
import requests
from websockets.sync.client import connect

from conftest import WAIT, close_received, frame, probe

SHUTDOWN_TIMEOUT = 10  # config.yaml's server.shutdown_timeout
MARGIN = 10  # a loaded 2-core machine


def ready_status(server):
    return requests.get(f"{server.base}/ready", timeout=1).status_code


def test_sigterm_drains_then_closes_with_1001_and_exits(start_shipped):
    server = start_shipped(GODISPATCH_DRAIN_DELAY="2s")
    late_token = server.token("late")  # minted ahead: the drain window is short
    with server.connect("early") as early:
        assert ready_status(server) == 200
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)

        # /ready answers 503 within a second.
        statuses = []
        while time.monotonic() - signalled < 1.0:
            statuses.append(ready_status(server))
            if statuses[-1] == 503:
                break
        assert statuses and statuses[-1] == 503, f"/ready answered {statuses} in the first second of the drain"

        # Within the drain delay the listener still accepts a new client, and serves it.
        with connect(server.url, additional_headers={"Authorization": f"Bearer {late_token}"}, open_timeout=WAIT) as late:
            accepted = time.monotonic() - signalled
            assert accepted < 2.0, f"the new connection took {accepted:.2f}s: not within the drain delay"
            probe(late)
            server.result("publish", {"room": "user:late", "payload": "during drain"})
            assert frame(late)["payload"] == "during drain"
            assert ready_status(server) == 503

            # After the delay: both connections get 1001 ("going away").
            assert close_received(early)[0] == 1001
            closed = time.monotonic() - signalled
            assert closed >= 1.9, f"closed {closed:.2f}s after SIGTERM, before server.drain_delay (2s) was over"
            assert close_received(late)[0] == 1001

        # The listener no longer accepts.
        with pytest.raises(OSError):
            with connect(server.url, additional_headers={"Authorization": f"Bearer {late_token}"}, open_timeout=WAIT):
                pass

    assert server.process.wait(timeout=SHUTDOWN_TIMEOUT + MARGIN - (time.monotonic() - signalled)) == 0, server.log_text()
    assert time.monotonic() - signalled <= SHUTDOWN_TIMEOUT + MARGIN


def test_sigterm_without_a_drain_delay_closes_at_once(start_shipped):
    server = start_shipped()  # config.yaml's default: GODISPATCH_DRAIN_DELAY unset, 0s
    with server.connect("alice") as alice, server.connect("alice") as alice2:
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert close_received(alice)[0] == 1001
        assert close_received(alice2)[0] == 1001
    assert server.process.wait(timeout=SHUTDOWN_TIMEOUT + MARGIN) == 0, server.log_text()
    assert time.monotonic() - signalled <= SHUTDOWN_TIMEOUT + MARGIN
