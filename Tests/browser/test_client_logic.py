"""The client's own logic in Chromium, without a server: a FakeSocket (page/fake-socket.js) stands in for
WebSocket, so the test decides every frame, duplicate and close code."""

SCRIPT = """
const done = arguments[arguments.length - 1];
(async () => {
  const { connect, shouldReconnect } = await import('/client/godispatch.js');
  const { FakeSocket, until } = await import('/fake-socket.js');
  const sockets = FakeSocket.instances;
  const payload = btoa(JSON.stringify({ sub: 'u', exp: 4102444800 })).replace(/=+$/, '');
  const client = connect('ws://fake.invalid/ws', { token: `e30.${payload}.sig`, WebSocket: FakeSocket,
                                                   minReconnectDelay: 1, maxReconnectDelay: 5 });
  const seen = [], joined = [];
  client.on('m', (_, frame) => seen.push(frame.offset));
  client.on('joined', (info) => joined.push(info));
  const first = client.join('r', { quiet: true });
  await until(() => sockets.length === 1);
  sockets[0].accept();
  const join1 = sockets[0].sent.find((m) => m.event === 'room.join');
  sockets[0].deliver({ event: '_joined', target: 'r', ref: join1.id,
                       payload: { offset: 2, epoch: 'e', recovered: false, publications: [] } });
  await first;
  for (const offset of [3, 3, 4, 2]) sockets[0].deliver({ event: 'm', target: 'r', offset, epoch: 'e' });
  sockets[0].drop(1001, 'going away');
  await until(() => sockets.length === 2);
  sockets[1].accept();
  const join2 = sockets[1].sent.find((m) => m.event === 'room.join');
  const publications = [4, 5, 6].map((offset) => ({ event: 'm', target: 'r', offset, epoch: 'e' }));
  sockets[1].deliver({ event: '_joined', target: 'r', ref: join2.id,
                       payload: { offset: 6, epoch: 'e', recovered: true, publications } });
  for (const offset of [6, 7]) sockets[1].deliver({ event: 'm', target: 'r', offset, epoch: 'e' });
  sockets[1].drop(4008, 'banned');
  done({
    url: sockets[0].url, join1, join2, seen, joined, state: client.state, sockets: sockets.length,
    table: [1000, 1001, 1006, 1011, 3000, 1008, 4001, 4003, 4008, 4999].map(shouldReconnect),
  });
})().catch((error) => done({ failed: String(error && error.stack || error) }));
"""


def test_rejoin_since_dedupe_and_the_close_code_table(open_tab):
    tab = open_tab()
    result = tab.driver.execute_async_script(SCRIPT)
    assert "failed" not in result, result["failed"]
    assert "token=e30." in result["url"]
    assert result["join1"]["payload"] == {"quiet": True}  # a first join asks for nothing
    assert result["join2"]["payload"] == {"quiet": True, "since": {"offset": 4, "epoch": "e"}}
    assert result["seen"] == [3, 4, 5, 6, 7]  # recovered in order, duplicates and stale offsets dropped
    assert [(j["recovered"], j["publications"]) for j in result["joined"]] == [(False, 0), (True, 3)]
    assert result["state"] == "closed" and result["sockets"] == 2  # no reconnect after 4008
    assert result["table"] == [True] * 5 + [False] * 5
