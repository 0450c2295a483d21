"""A real redis-server for the shared-tier tests (test_l2.py): on a unix
socket of its own, no persistence, started and restarted on demand, and
a minimal RESP client to look at and tamper with what the daemons store.
Also a black hole: a socket that accepts connections and never answers."""

import os
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path
from typing import Optional

READY = "ready to accept connections"


def available() -> bool:
    return shutil.which("redis-server") is not None


class RedisServer:
    def __init__(self, workdir: Path, ready_timeout: float = 20.0, port: int = 0, extra=()):
        """`port`: also listen on 127.0.0.1@port (replication needs TCP);
        `extra`: more redis-server arguments (e.g. --replicaof)."""
        self.workdir = workdir
        self.path = str(workdir / "redis.sock")
        self.ready_timeout = ready_timeout
        self.port = port
        self.extra = list(extra)
        self.proc: Optional[subprocess.Popen] = None
        self.start()

    @property
    def addr(self) -> str:
        """What --redis takes."""
        return f"unix:{self.path}"

    def start(self):
        """Starts the server; returns once it says it accepts connections."""
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--unixsocket", self.path,
                "--unixsocketperm", "700",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                "--loglevel", "notice",
                *self.extra,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()
        lines = []

        def drain():
            for line in iter(self.proc.stdout.readline, ""):
                lines.append(line)
                if READY in line.lower():
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(self.ready_timeout) or self.proc.poll() is not None:
            raise RuntimeError("redis-server did not start:\n" + "".join(lines))

    def kill(self):
        """SIGKILL, as a crash or a lost host: nothing is kept."""
        self.proc.kill()
        self.proc.wait(10)

    def pause(self):
        """SIGSTOP: connections stay open, nothing is answered (a stall)."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.resume()
            self.kill()

    def command(self, *args):
        """One command, its reply decoded (bytes, int, list, None; errors raise)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.path)
            out = b"*%d\r\n" % len(args)
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            return _read_reply(s.makefile("rb"))

    def keys(self) -> list:
        return sorted(self.command("KEYS", "*"))


def _read_reply(f):
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise RuntimeError(f"bad reply {line!r}")


class BlackHole:
    """Accepts connections on a unix socket, reads and never answers; with
    `garbage`, answers PING as Redis does and everything else with bytes
    that are not the Redis protocol."""

    def __init__(self, workdir: Path, garbage: bool = False, name: str = ""):
        self.garbage = garbage
        self.gets = 0
        self.path = str(workdir / (name or ("garbage.sock" if garbage else "blackhole.sock")))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(16)
        self.conns = []
        self.accepted = threading.Event()
        self.closed = False
        threading.Thread(target=self._run, daemon=True).start()

    @property
    def addr(self) -> str:
        return f"unix:{self.path}"

    def _run(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)  # held open
            self.accepted.set()
            talk = self._talker()
            if talk:
                threading.Thread(target=talk, args=(c,), daemon=True).start()

    def _talker(self):
        """What answers on a connection (None: nothing does)."""
        return self._babble if self.garbage else None

    def _babble(self, c):
        while True:
            try:
                data = c.recv(65536)
                if not data:
                    return
                if b"PING" in data:
                    c.sendall(b"+PONG\r\n")
                if b"GET" in data:
                    self.gets += 1
                    c.sendall(b"\x00\x01 not RESP at all\r\n")
            except OSError:
                return

    def close(self):
        self.closed = True
        for c in self.conns:
            try:  # wakes a thread blocked sending on it
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        self.sock.close()
        os.unlink(self.path)


class ScriptedRedis(BlackHole):
    """A hostile or broken Redis: it parses the commands it is sent (RESP
    arrays) and answers each with what `answer(args, conn)` returns (bytes
    sent at once; None: nothing). `answer` may also write to conn itself
    (a slow drip, a reply that never ends)."""

    def __init__(self, workdir: Path, answer):
        self.answer = answer
        self.commands = []
        super().__init__(workdir, name="scripted.sock")

    def _talker(self):
        return self._serve

    def _serve(self, c):
        try:
            f = c.makefile("rb")
            while not self.closed:
                args = _read_reply(f)
                if not isinstance(args, list):
                    return
                self.commands.append(args)
                out = self.answer(args, c)
                if out:
                    c.sendall(out)
        except (OSError, RuntimeError, ValueError):
            return

    def count(self, verb: bytes) -> int:
        return sum(1 for a in self.commands if a and a[0].upper() == verb)

