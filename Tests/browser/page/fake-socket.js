// A WebSocket stand-in for tests of the client's own logic (the `WebSocket` option of connect()): the test
// opens, feeds and drops it by hand, and reads what the client sent.
export class FakeSocket {
  static instances = [];

  constructor(url) {
    this.url = url;
    this.sent = [];
    this.readyState = 0;
    FakeSocket.instances.push(this);
  }

  send(data) {
    this.sent.push(JSON.parse(data));
  }

  close(code, reason) {
    this.readyState = 3;
    this.closedWith = { code, reason };
  }

  accept() {
    this.readyState = 1;
    this.onopen({});
  }

  deliver(frame) {
    this.onmessage({ data: JSON.stringify(frame) });
  }

  drop(code, reason = '') {
    this.readyState = 3;
    this.onclose({ code, reason });
  }
}

/** Resolves when `condition()` holds (checked every 10 ms), rejects after `ms`. */
export function until(condition, ms = 10000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (condition()) return resolve();
      if (Date.now() - started > ms) return reject(new Error(`timed out: ${condition}`));
      setTimeout(check, 10);
    };
    check();
  });
}
