"""The daemon's command launcher (see launcher.ts): starts the host commands tswarmd asks for and
answers with how each ended.

Why a Python process and not Node: a launcher exists because a fork costs in proportion to the
forking process's memory, and a container's life takes half a dozen commands. A Node helper held
~53 MiB resident on every node (a third of an idle worker's memory) and forked in ~9 ms; this one
holds ~10 MiB and starts a command with posix_spawn (a vfork-style clone in glibc, no page-table
copy) in ~3 ms, measured on the lab machine. It uses the standard library alone.

Protocol, one JSON object per line each way (stdin: requests; stdout: answers):
  -> {"id", "kind": "run", "command", "args", "env"?, "cwd"?, "input"? (base64), "timeoutMs"}
  <- {"id", "outcome": {"code", "signal", "stdout", "stderr" (base64), "timedOut"}}
  -> {"id", "kind": "detach", "command", "args", "env", "cwd", "outputPath", "timeoutMs"}
  <- {"id", "outcome": {"report", "outcome": "reported" | "ended" | "timed-out"}}
  <- {"id", "outcome": {"spawnError": {"code", "message"}}} when a command cannot start
  -> {"id", "kind": "mount", "source", "target", "fstype", "flags", "data"}
  -> {"id", "kind": "umount", "target", "flags"}
  <- {"id", "outcome": {"errno", "message"}} (errno 0: done)
The mount calls are made here, in a thread of their own (an overlay's unmount syncs its upper
dir and may take a while; other commands go on meanwhile): the mount(8) and umount(8) processes
cost ~4 ms each against well under 1 ms for the system call, twice in every container's life.
It says {"ready": true} once, first, and exits when its stdin ends (the daemon went away).
"""

import base64
import ctypes
import errno
import json
import os
import selectors
import signal
import sys
import threading
import time

# Output kept from one command, as run.ts keeps it: a runaway command cannot grow memory unbounded.
OUTPUT_BYTES_LIMIT = 4 * 1024 * 1024
# A detached process's report is one small JSON value; more text than this is read no further.
REPORT_CHARS_MAX = 64 * 1024
READ_CHUNK_BYTES = 256 * 1024
DEFAULT_TIMEOUT_MS = 60_000
# How long a command's outputs may stay open once it was killed or ended at its deadline.
OUTPUT_GRACE_S = 5

sel = selectors.DefaultSelector()
out_fd = sys.stdout.fileno()


send_lock = threading.Lock()


def send(message):
    data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
    with send_lock:  # mount threads answer too
        view = memoryview(data)
        while view:
            written = os.write(out_fd, view)
            view = view[written:]


libc = None


def mount_call(request):
    """One mount(2) or umount2(2), answered with its errno; run in a thread of its own."""
    global libc
    try:
        if libc is None:
            libc = ctypes.CDLL(None, use_errno=True)
        if request["kind"] == "mount":
            rc = libc.mount(
                request["source"].encode(),
                request["target"].encode(),
                request["fstype"].encode(),
                ctypes.c_ulong(request["flags"]),
                request["data"].encode(),
            )
        else:
            rc = libc.umount2(request["target"].encode(), ctypes.c_int(request["flags"]))
        err = ctypes.get_errno() if rc != 0 else 0
        outcome = {"errno": err, "message": os.strerror(err) if err else ""}
    except Exception as e:  # a bad request, no libc: said, not fatal
        outcome = {"errno": errno.EINVAL, "message": str(e)}
    send({"id": request["id"], "outcome": outcome})


def b64(data):
    return base64.b64encode(data).decode("ascii")


def resolve(command, env):
    """The executable as Node's spawn finds it: on the command's own PATH when it has an env."""
    if "/" in command:
        return command
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    for directory in path.split(":"):
        candidate = os.path.join(directory or ".", command)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))


def spawn_error(command, err):
    code = errno.errorcode.get(err.errno or 0, "UNKNOWN")
    return {"spawnError": {"code": code, "message": f"spawn {command} {code}"}}


def spawn(request, file_actions, setsid=False):
    """posix_spawn in the request's directory: the helper is single-threaded, so the chdir is safe."""
    env = request.get("env")
    executable = resolve(request["command"], env)
    cwd = request.get("cwd")
    home = os.getcwd() if cwd else None
    if cwd:
        os.chdir(cwd)
    try:
        return os.posix_spawn(
            executable,
            [request["command"], *request["args"]],
            env if env is not None else os.environ,
            file_actions=file_actions,
            setsid=setsid,
        )
    finally:
        if home:
            os.chdir(home)


class Run:
    """A command run to completion: done once it was reaped and both its outputs ended."""

    def __init__(self, request):
        self.id = request["id"]
        self.deadline = time.monotonic() + request.get("timeoutMs", DEFAULT_TIMEOUT_MS) / 1000
        self.out, self.err = [], []
        self.kept = 0
        self.open_pipes = 2
        self.status = None
        self.timed_out = False
        self.input = memoryview(base64.b64decode(request["input"]) if request.get("input") is not None else b"")
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        actions = [(os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
        try:
            self.pid = spawn(request, actions)
        except OSError:
            for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            raise
        for fd in (in_r, out_w, err_w):
            os.close(fd)
        self.pidfd = os.pidfd_open(self.pid)
        sel.register(self.pidfd, selectors.EVENT_READ, (self, "exit"))
        sel.register(out_r, selectors.EVENT_READ, (self, self.out))
        sel.register(err_r, selectors.EVENT_READ, (self, self.err))
        self.stdin = in_w
        self.stdin_registered = bool(self.input)
        if self.input:
            os.set_blocking(in_w, False)
            sel.register(in_w, selectors.EVENT_WRITE, (self, "stdin"))
        else:
            self.close_stdin()

    def close_stdin(self):
        if self.stdin is not None:
            if self.stdin_registered:
                sel.unregister(self.stdin)
                self.stdin_registered = False
            os.close(self.stdin)
            self.stdin = None

    def on_event(self, fd, what):
        if what == "exit":
            sel.unregister(fd)
            os.close(fd)
            self.status = os.waitpid(self.pid, 0)[1]
            self.close_stdin()  # it will read no more
        elif what == "stdin":
            try:
                written = os.write(fd, self.input[:READ_CHUNK_BYTES])
                self.input = self.input[written:]
            except BlockingIOError:
                return
            except BrokenPipeError:  # it exited before reading its input: not our failure
                self.input = b""
            if not self.input:
                self.close_stdin()
        else:
            chunk = os.read(fd, READ_CHUNK_BYTES)
            if not chunk:
                sel.unregister(fd)
                os.close(fd)
                self.open_pipes -= 1
            elif self.kept < OUTPUT_BYTES_LIMIT:
                self.kept += len(chunk)
                what.append(chunk)
        if self.status is not None and self.open_pipes == 0:
            self.finish()

    def expire(self):
        if self.status is None:
            # Killed at its deadline; reaped on its exit event. Its outputs get a moment more.
            self.timed_out = True
            os.kill(self.pid, signal.SIGKILL)
            self.deadline = time.monotonic() + OUTPUT_GRACE_S
            return
        # It ended, but something it started still holds its output open: stop waiting for that.
        for key in [k for k in sel.get_map().values() if k.data is not None and k.data[0] is self]:
            sel.unregister(key.fd)
            os.close(key.fd)
        self.open_pipes = 0
        self.finish()

    def finish(self):
        live.remove(self)
        code = os.waitstatus_to_exitcode(self.status)
        outcome = {
            "code": code if code >= 0 else None,
            "signal": signal.Signals(-code).name if code < 0 else None,
            "stdout": b64(b"".join(self.out)),
            "stderr": b64(b"".join(self.err)),
            "timedOut": self.timed_out,
        }
        send({"id": self.id, "outcome": outcome})


class Detach:
    """A process started to stay (conmon): detached, output appended to a file, one report read from its fd 3."""

    def __init__(self, request):
        self.id = request["id"]
        self.deadline = time.monotonic() + request["timeoutMs"] / 1000
        self.text = ""
        self.done = False
        output = os.open(request["outputPath"], os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        report_r, report_w = os.pipe()
        actions = [
            (os.POSIX_SPAWN_DUP2, null, 0),
            (os.POSIX_SPAWN_DUP2, output, 1),
            (os.POSIX_SPAWN_DUP2, output, 2),
            (os.POSIX_SPAWN_DUP2, report_w, 3),
        ]
        try:
            self.pid = spawn(request, actions, setsid=True)
        except OSError:
            os.close(report_r)
            raise
        finally:
            for fd in (output, null, report_w):
                os.close(fd)
        self.report = report_r
        sel.register(report_r, selectors.EVENT_READ, (self, "report"))
        # Reaped whenever it exits (conmon's first process exits as soon as it has daemonized).
        self.pidfd = os.pidfd_open(self.pid)
        sel.register(self.pidfd, selectors.EVENT_READ, (self, "exit"))

    def on_event(self, fd, what):
        if what == "exit":
            sel.unregister(fd)
            os.close(fd)
            os.waitpid(self.pid, 0)
            self.pidfd = None
            if self.done:
                live.remove(self)
            return
        chunk = os.read(fd, READ_CHUNK_BYTES)
        if not chunk:
            self.finish("ended")
            return
        self.text += chunk.decode("utf-8", "replace")
        try:
            json.loads(self.text.strip())
            self.finish("reported")
        except ValueError:
            if len(self.text) > REPORT_CHARS_MAX:
                self.text = self.text[:REPORT_CHARS_MAX]
                self.finish("ended")

    def expire(self):
        self.finish("timed-out")

    def finish(self, how):
        if self.done:
            return
        self.done = True
        sel.unregister(self.report)
        os.close(self.report)
        send({"id": self.id, "outcome": {"report": self.text, "outcome": how}})
        if self.pidfd is None:
            live.remove(self)


live = []


def take(line):
    request = json.loads(line)
    if request["kind"] in ("mount", "umount"):
        threading.Thread(target=mount_call, args=(request,), daemon=True).start()
        return
    kind = Detach if request["kind"] == "detach" else Run
    try:
        live.append(kind(request))
    except OSError as err:
        send({"id": request["id"], "outcome": spawn_error(request["command"], err)})


def main():
    in_fd = sys.stdin.fileno()
    os.set_blocking(in_fd, False)
    sel.register(in_fd, selectors.EVENT_READ, None)
    pending = []
    send({"ready": True})
    while True:
        waiting = [job for job in live if not getattr(job, "done", False)]
        timeout = None
        if waiting:
            timeout = max(0.0, min(job.deadline for job in waiting) - time.monotonic())
        for key, _ in sel.select(timeout):
            if key.data is None:
                try:
                    chunk = os.read(in_fd, READ_CHUNK_BYTES)
                except BlockingIOError:
                    continue
                if not chunk:
                    return  # the daemon went away
                # A request may span many reads (a 4 MiB input): split only at a line's end.
                if b"\n" not in chunk:
                    pending.append(chunk)
                    continue
                *lines, rest = b"".join([*pending, chunk]).split(b"\n")
                pending = [rest] if rest else []
                for line in lines:
                    if line.strip():
                        take(line)
            else:
                job, what = key.data
                job.on_event(key.fd, what)
        now = time.monotonic()
        for job in [j for j in live if not getattr(j, "done", False) and j.deadline <= now]:
            job.expire()


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
