"""Runs the README's quickstart exactly as written, inside a fresh network namespace (so the shipped
config's 127.0.0.1:8080 is free): `make run`'s server, then terminal 2 (Bob) and terminal 3 (Alice), each
block of shell lines run by bash and each block of typed lines written to its stdin. Standard library
only: test_quickstart.py starts it with `unshare --net`. Exit 0 when every frame the README promises
arrived; otherwise 1, with what was seen."""

import json
import pathlib
import queue
import re
import subprocess
import sys
import threading
import time

WAIT = 60


def section(readme):
    text = readme.read_text()
    start = text.index("## Quickstart: two users chatting")
    return text[start:text.index("\n## ", start + 1)]


def blocks(text):
    return [(kind, body.strip("\n")) for kind, body in re.findall(r"```(sh|json)\n(.*?)```", text, re.S)]


class Terminal:
    """bash running one README block, its stdin ours, its output read line by line."""

    def __init__(self, name, script, cwd, env):
        self.name = name
        self.process = subprocess.Popen(["bash", "-c", script], cwd=cwd, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.frames = queue.Queue()
        self.stderr = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, args=(self.process.stdout, self.frames), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.process.stderr, self.stderr), daemon=True).start()

    @staticmethod
    def _pump(stream, into):
        for line in stream:
            into.put(line.rstrip("\n"))

    def wait_stderr(self, needle):
        lines = []
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                line = self.stderr.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None and self.stderr.empty():
                    break
                continue
            lines.append(line)
            if needle in line:
                return
        fail(f"{self.name}: `{needle}` never appeared on stderr; it printed:\n  " + "\n  ".join(lines))

    def type(self, lines):
        for line in lines.splitlines():
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()

    def expect(self, predicate, what):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                line = self.frames.get(timeout=1)
            except queue.Empty:
                continue
            self.seen.append(line)
            try:
                frame = json.loads(line)
            except ValueError:
                continue
            if predicate(frame):
                return frame
        fail(f"{self.name} never printed {what}; printed:\n  " + "\n  ".join(self.seen))

    def end_input(self):
        self.process.stdin.close()
        try:
            return self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            fail(f"{self.name}: connect did not exit after end of input")


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def main(workdir, readme):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir}
    found = blocks(section(pathlib.Path(readme)))
    kinds = [kind for kind, _ in found]
    if kinds != ["sh", "json", "sh", "json"]:
        fail(f"the quickstart's code blocks changed (found {kinds}); update this driver with it")
    (_, bob_shell), (_, bob_types), (_, alice_shell), (_, alice_types) = found

    # Terminal 1: what `make run` serves once it has built.
    server = subprocess.Popen(["dist/bin/godispatch", "serve", "--config", "config.yaml"], cwd=workdir, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + WAIT
        log = []
        for line in server.stderr:
            log.append(line)
            if "path=/ws" in line and "listening" in line:
                break
            if time.monotonic() > deadline:
                fail("the server did not start:\n" + "".join(log))
        else:
            fail("the server exited:\n" + "".join(log))
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()

        bob = Terminal("Bob", bob_shell, workdir, env)
        bob.wait_stderr("connected to")
        bob.type(bob_types)
        bob.expect(lambda f: f.get("event") == "room.joined" and f["payload"] == {"user": "bob"}, "his own room.joined")

        alice = Terminal("Alice", alice_shell, workdir, env)
        alice.wait_stderr("connected to")
        alice.type(alice_types)
        bob.expect(lambda f: f.get("event") == "room.joined" and f["payload"] == {"user": "alice"}, "Alice's room.joined")
        bob.expect(lambda f: f.get("event") == "chat.message" and f["payload"] == {"text": "hello bob"}
                   and f["from"] == "alice", "the chat.message from alice")
        bob.expect(lambda f: f.get("event") == "chat.direct" and f["payload"] == {"text": "psst"}
                   and f["from"] == "alice", "the direct message")
        alice.expect(lambda f: f.get("event") == "chat.message" and f["from"] == "alice", "her own chat.message")
        alice.expect(lambda f: f.get("event") == "chat.ack" and f.get("ref") == "m1"
                     and f["payload"] == {"ref": "m1", "delivered": 2}, "the ack of m1 with delivered 2")
        alice.expect(lambda f: f.get("event") == "chat.ack" and f.get("ref") == "d1"
                     and f["payload"]["delivered"] == 1, "the ack of d1 with delivered 1")
        for terminal in (alice, bob):
            code = terminal.end_input()
            if code != 0:
                fail(f"{terminal.name}: connect exited {code} after Ctrl-D")
    finally:
        server.terminate()
        server.wait(timeout=WAIT)
    print("quickstart: every frame the README promises arrived")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
