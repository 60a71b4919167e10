# dbtune's locustfile: the scenario's requests on Locust, measured by dbtune.
#
# dbtune writes CONFIG (the scenario, compiled) above this text; everything
# else is this template, the same for every scenario (engines/locust/ in the
# dbtune package). Tested with Locust 2.12 (Debian's python3-locust).
#
# - Workers record every response into per-period, per-request histograms
#   with log-linear buckets (exact below 256 us, then 128 buckets per power
#   of two: at most 1/256 relative error from the bucket's middle), timed
#   here with a monotonic clock in microseconds: FastHttpUser's own
#   response_time is whole milliseconds.
# - The master is driven by dbtune over a loopback TCP connection
#   (DBTUNE_CONTROL=host:port), one JSON object per line. A period (warm-up,
#   ramp or measured stage) starts when the master tells the workers "go",
#   and ends when it tells them "pause": users then send nothing new, the
#   requests in flight finish and are recorded, and each worker reports the
#   period through report_to_master. The master merges the reports (bucket
#   sums: exact) and writes the period's result to dbtune. Between periods
#   no request is sent, so the database watch sees only a stage's load.

import bisect
import json
import os
import random
import socket
import ssl
import time
import uuid

import gevent
import locust
import locust.runners
from gevent.event import Event
from locust import LoadTestShape, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.runners import MasterRunner, WorkerRunner

# Debian's python3-locust 2.12.1 reports an empty version; its master then
# rejects every worker as "pre 2.0" (the worker sends the empty version in
# client_ready). dbtune has checked which package this is (dpkg) and passes
# the version it read: the runners send and compare that instead.
if not locust.runners.__version__ and CONFIG.get("empty_version_is"):  # noqa: F821 (CONFIG is written above)
    locust.runners.__version__ = CONFIG["empty_version_is"]  # noqa: F821

CFG = CONFIG  # noqa: F821
TIMEOUT_S = CFG["timeout_ms"] / 1000.0
REQUESTS = CFG["requests"]
WEIGHTS = [r["weight"] for r in REQUESTS]
ROWS = CFG["rows"]


# ---------------------------------------------------------------- histograms


def bucket_of(micros):
    if micros < 256:
        return micros
    e = micros.bit_length() - 8
    return 256 + (e - 1) * 128 + ((micros >> e) - 128)


class Tally:
    """One request name's figures for one period on one worker."""

    __slots__ = ("requests", "successes", "failures", "bytes", "errors", "buckets", "min", "max", "sum", "timed")

    def __init__(self):
        self.requests = 0
        self.successes = 0
        self.failures = 0
        self.bytes = 0
        self.errors = {}
        self.buckets = {}
        self.min = 0
        self.max = 0
        self.sum = 0
        self.timed = 0

    def time(self, micros):
        micros = max(1, micros)
        b = bucket_of(micros)
        self.buckets[b] = self.buckets.get(b, 0) + 1
        if self.timed == 0 or micros < self.min:
            self.min = micros
        if micros > self.max:
            self.max = micros
        self.sum += micros
        self.timed += 1

    def fail(self, kind):
        self.failures += 1
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def to_json(self):
        return {
            "requests": self.requests,
            "successes": self.successes,
            "failures": self.failures,
            "bytes": self.bytes,
            "errors": self.errors,
            "buckets": {str(k): v for k, v in self.buckets.items()},
            "min": self.min,
            "max": self.max,
            "sum": self.sum,
            "timed": self.timed,
        }


def merge_tallies(a, b):
    """Exact merge of two to_json() tallies (sums; min and max of both)."""
    if a is None:
        return json.loads(json.dumps(b))
    out = dict(a)
    for key in ("requests", "successes", "failures", "bytes", "sum", "timed"):
        out[key] = a[key] + b[key]
    out["errors"] = dict(a["errors"])
    for k, v in b["errors"].items():
        out["errors"][k] = out["errors"].get(k, 0) + v
    out["buckets"] = dict(a["buckets"])
    for k, v in b["buckets"].items():
        out["buckets"][k] = out["buckets"].get(k, 0) + v
    timed = [t for t in (a, b) if t["timed"]]
    out["min"] = min(t["min"] for t in timed) if timed else 0
    out["max"] = max(t["max"] for t in timed) if timed else 0
    return out


class Period:
    """What one worker recorded during one period (recorded only for a measured stage)."""

    def __init__(self, number, stage):
        self.number = number
        self.stage = stage
        self.started = time.monotonic()
        self.by_request = [Tally() for _ in REQUESTS]
        self.seconds = {}
        self.in_flight = 0
        self.reconnect_waits = 0
        self.live = Tally()
        self.ended = False
        self.drained = Event()

    def record(self, index, micros, status, size, ok, kind):
        if self.stage is None:
            return
        t = self.by_request[index]
        t.requests += 1
        if micros is not None:
            t.time(micros)
        if ok:
            t.successes += 1
        else:
            t.fail(kind)
        t.bytes += size
        live = self.live
        live.requests += 1
        if micros is not None:
            live.time(micros)
        if not ok:
            live.failures += 1
        second = int(time.monotonic() - self.started)
        s = self.seconds.get(second)
        if s is None:
            s = self.seconds[second] = Tally()
        s.requests += 1
        if micros is not None:
            s.time(micros)
        if not ok:
            s.fail(kind)

    def to_json(self, worker_index):
        return {
            "period": self.number,
            "stage": self.stage,
            "worker": worker_index,
            "by_request": [t.to_json() for t in self.by_request],
            "seconds": {str(k): v.to_json() for k, v in self.seconds.items()},
            "in_flight": self.in_flight,
            "reconnect_waits": self.reconnect_waits,
        }


# ---------------------------------------------------------------- templates


class Worker:
    """This worker's state: its share of {{seq}} and of the CSV rows, the gate, the current period."""

    index = 0
    count = 1
    seq = 0
    row = 0
    gate = Event()
    period = None
    outbox = []
    runner = None


def next_seq():
    Worker.seq += 1
    # Worker i of n sends i+1, i+1+n, i+1+2n...: unique across workers.
    return Worker.index + 1 + (Worker.seq - 1) * Worker.count


def next_row():
    if not ROWS:
        return None
    n = len(ROWS)
    # Worker i walks rows i, i+n, i+2n... (its share), or all rows when there are fewer rows than workers.
    if n >= Worker.count:
        share = (n - Worker.index + Worker.count - 1) // Worker.count
        row = ROWS[Worker.index + (Worker.row % share) * Worker.count]
    else:
        row = ROWS[(Worker.index + Worker.row) % n]
    Worker.row += 1
    return row


def quote_row(value):
    from urllib.parse import quote

    return quote(value, safe="-_.!~*'()")


def render(parts, rng, row, encode=None):
    out = []
    for p in parts:
        kind = p["kind"]
        if kind == "text":
            out.append(p["text"])
        elif kind == "int":
            out.append(str(p["min"] + int(rng.random() * (p["max"] - p["min"] + 1))))
        elif kind == "float":
            out.append("%.2f" % (p["min"] + rng.random() * (p["max"] - p["min"])))
        elif kind == "pick":
            out.append(p["choices"][int(rng.random() * len(p["choices"]))])
        elif kind == "uuid":
            out.append(str(uuid.uuid4()))
        elif kind == "seq":
            out.append(str(next_seq()))
        elif kind == "row":
            value = (row or {}).get(p["column"], "")
            out.append(encode(value) if encode else value)
    return "".join(out)


def render_json(node, rng, row):
    kind = node["kind"]
    if kind == "literal":
        return node["value"]
    if kind == "string":
        text = render(node["template"]["parts"], rng, row)
        if node["numeric"]:
            return float(text) if "." in text else int(text)
        return text
    if kind == "array":
        return [render_json(i, rng, row) for i in node["items"]]
    return {k: render_json(v, rng, row) for k, v in node["entries"]}


def constant_parts(parts):
    return all(p["kind"] == "text" for p in parts)


for _request in REQUESTS:
    # A request without generators is built once (as the autocannon engine builds it once per connection).
    _request["constant"] = (
        not _request["uses_rows"]
        and constant_parts(_request["path"])
        and all(constant_parts(parts) for _, parts in _request["headers"])
        and (_request.get("body") is None or constant_parts(_request["body"]))
        and (_request.get("json") is None or json.dumps(_request["json"]).find('"kind": "string"') < 0)
    )
    _request["built"] = None

CUMULATIVE = []
for _weight in WEIGHTS:
    CUMULATIVE.append((CUMULATIVE[-1] if CUMULATIVE else 0) + _weight)


def pick(rng):
    if len(CUMULATIVE) == 1:
        return 0
    return bisect.bisect_right(CUMULATIVE, rng.random() * CUMULATIVE[-1])


def build(request, rng):
    if request["constant"]:
        if request["built"] is None:
            request["built"] = build_now(request, rng)
        return request["built"]
    return build_now(request, rng)


def build_now(request, rng):
    row = next_row() if request["uses_rows"] else None
    path = CFG["prefix"] + render(request["path"], rng, row, quote_row)
    headers = {name: render(parts, rng, row) for name, parts in request["headers"]}
    body = None
    if request.get("body") is not None:
        body = render(request["body"], rng, row)
    elif request.get("json") is not None:
        body = json.dumps(render_json(request["json"], rng, row), separators=(",", ":"))
    return path, headers, body


# ---------------------------------------------------------------- failures


def failure_kind(error):
    """The same kinds as dbtune's autocannon engine, where Python tells them apart."""
    error = getattr(error, "original", None) or error
    if isinstance(error, (socket.timeout, gevent.Timeout, TimeoutError)):
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(error, (ConnectionResetError, BrokenPipeError)):
        return "connection_reset"
    if isinstance(error, ssl.SSLError):
        return "tls"
    name = type(error).__name__
    if name in ("HTTPConnectionClosed", "EmptyResponse") or "closed" in str(error).lower():
        return "connection_closed"
    if "timed out" in str(error).lower():
        return "timeout"
    return "connection_error"


# ---------------------------------------------------------------- the user


def wait_for_gate(user):
    # Called while the user is "waiting": a lowered user count stops a paused user at once.
    Worker.gate.wait()
    return 0


class DbtuneUser(FastHttpUser):
    host = CFG["origin"]
    network_timeout = TIMEOUT_S
    connection_timeout = TIMEOUT_S
    max_retries = 1
    insecure = CFG["insecure"]
    wait_time = wait_for_gate

    def on_start(self):
        agent = self.client.client
        # No redirect is followed, no status raises, no cookie is kept: as dbtune's autocannon engine.
        agent.redirect_resonse_codes = []
        agent.valid_response_codes = frozenset(range(100, 600))
        agent.cookiejar = None
        self.rng = random.Random()

    @task
    def send(self):
        period = Worker.period
        if period is None or not Worker.gate.is_set():
            return
        index = pick(self.rng)
        request = REQUESTS[index]
        path, headers, body = build(request, self.rng)
        period.in_flight += 1
        kind = None
        started = time.perf_counter_ns()
        try:
            response = self.client.client.urlopen(CFG["origin"] + path, method=request["method"], headers=headers, payload=body)
            content = response.content
            micros = (time.perf_counter_ns() - started) // 1000
            status = response.status_code
            ok = 200 <= status < 300 or status in request["expect_status"]
            period.record(index, micros, status, len(content or b""), ok, "http_%d" % status)
        except gevent.GreenletExit:
            raise
        except Exception as error:  # noqa: BLE001 (every failure is counted by kind)
            kind = failure_kind(error)
            micros = CFG["timeout_ms"] * 1000 if kind == "timeout" else None
            period.record(index, micros, 0, 0, False, kind)
        finally:
            period.in_flight -= 1
            if period.ended and period.in_flight == 0:
                period.drained.set()
        if kind in ("connection_refused", "connection_error"):
            # As the autocannon engine: a refused or unreachable target is retried after 100 ms,
            # not in a busy loop that would starve the worker.
            period.reconnect_waits += 1
            gevent.sleep(0.1)


# ---------------------------------------------------------------- worker side


def on_setup(environment, msg, **kwargs):
    Worker.index = msg.data["index"]
    Worker.count = msg.data["count"]


def on_go(environment, msg, **kwargs):
    period = Worker.period = Period(msg.data["period"], msg.data["stage"])
    Worker.gate.set()
    if period.stage is not None:
        gevent.spawn(send_live, period)


def send_live(period):
    """Every second of a measured stage: what this worker recorded so far, for the progress line."""
    while not period.ended:
        gevent.sleep(1)
        if period.ended:
            return
        live = period.live
        Worker.runner.send_message("dbtune_live", {"period": period.number, "tally": live.to_json()})


def on_pause(environment, msg, **kwargs):
    Worker.gate.clear()
    period = Worker.period
    if period is None or period.number != msg.data["period"]:
        return
    period.ended = True

    def report():
        if period.in_flight:
            period.drained.wait(TIMEOUT_S + 1)
        if Worker.period is period:
            Worker.period = None
        Worker.outbox.append(period.to_json(Worker.index))
        # Report now rather than at the next interval (3 s): the master is waiting for it.
        Worker.runner._send_stats()

    gevent.spawn(report)


@events.report_to_master.add_listener
def on_report_to_master(client_id, data, **kwargs):
    if Worker.outbox:
        data["dbtune"] = Worker.outbox
        Worker.outbox = []


# ---------------------------------------------------------------- master side


class Master:
    runner = None
    reports = {}  # period -> {worker client id: report}
    live = {}  # period -> {worker client id: tally so far}
    arrived = Event()


def on_live(environment, msg, **kwargs):
    Master.live.setdefault(msg.data["period"], {})[msg.node_id] = msg.data["tally"]


@events.worker_report.add_listener
def on_worker_report(client_id, data, **kwargs):
    for report in data.get("dbtune", []):
        Master.reports.setdefault(report["period"], {})[client_id] = report
    Master.arrived.set()


@events.init.add_listener
def on_init(environment, **kwargs):
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        Worker.runner = runner
        runner.register_message("dbtune_setup", on_setup)
        runner.register_message("dbtune_go", on_go)
        runner.register_message("dbtune_pause", on_pause)
    elif isinstance(runner, MasterRunner):
        Master.runner = runner
        runner.register_message("dbtune_live", on_live)


def live_workers(runner):
    return [c for c in runner.clients.values() if c.state != "missing"]


class Control:
    """The line-based JSON connection to dbtune; commands are read by a greenlet of their own."""

    def __init__(self):
        from gevent.queue import Queue

        host, port = os.environ["DBTUNE_CONTROL"].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)))
        self.reader = self.sock.makefile("r", encoding="utf-8")
        self.commands = Queue()
        gevent.spawn(self._read)

    def _read(self):
        while True:
            line = self.reader.readline()
            if not line:
                self.commands.put({"op": "quit"})
                return
            self.commands.put(json.loads(line))

    def send(self, message):
        self.sock.sendall((json.dumps(message, separators=(",", ":")) + "\n").encode("utf-8"))

    def read(self, timeout=None):
        from gevent.queue import Empty

        try:
            return self.commands.get(timeout=timeout)
        except Empty:
            return None


def wait_for_workers(control, runner, command):
    deadline = time.monotonic() + command["timeout_ms"] / 1000.0
    wanted = command["count"]
    while len(runner.clients.ready) < wanted and time.monotonic() < deadline:
        control.send({"event": "waiting", "connected": len(runner.clients.ready), "expected": wanted})
        gevent.sleep(0.2 if time.monotonic() + 1 > deadline else 1)
    ready = runner.clients.ready
    if len(ready) < wanted:
        control.send({"event": "workers", "ok": False, "connected": len(ready), "expected": wanted})
        return False
    for position, client in enumerate(ready):
        runner.send_message("dbtune_setup", {"index": position, "count": len(ready)}, client_id=client.id)
    control.send({"event": "workers", "ok": True, "connected": len(ready), "expected": wanted})
    return True


def run_period(control, runner, command):
    number = command["period"]
    users = command["users"]
    ramp_rate = command.get("spawn_rate")
    if ramp_rate:
        gevent.spawn(runner.start, users, ramp_rate)
    else:
        # Returns once the workers report every user spawned (Locust waits up to 1 s for that).
        runner.start(users, 10000)
    workers = {c.id: sum(c.user_classes_count.values()) for c in live_workers(runner)}
    runner.send_message("dbtune_go", {"period": number, "stage": command.get("stage")})
    started = time.monotonic()
    control.send({"event": "started", "period": number, "workers": len(workers)})
    # The period lasts its time, unless dbtune ends it first (Ctrl-C): {"op": "end"}.
    deadline = started + command["duration_ms"] / 1000.0
    ended_early = None
    next_live = started + 1.2
    while time.monotonic() < deadline:
        early = control.read(timeout=max(0, min(deadline, next_live) - time.monotonic()))
        if early is not None:
            ended_early = early
            break
        if time.monotonic() >= next_live:
            next_live += 1
            tallies = list(Master.live.get(number, {}).values())
            if tallies:
                merged = None
                for tally in tallies:
                    merged = merge_tallies(merged, tally)
                control.send({"event": "live", "period": number, "elapsed_ms": int((time.monotonic() - started) * 1000), "tally": merged})
    runner.send_message("dbtune_pause", {"period": number})
    seconds = time.monotonic() - started
    # Each worker reports once its requests in flight have ended (at most the timeout); a worker
    # that stopped sending heartbeats is lost, with the users it had.
    deadline = time.monotonic() + TIMEOUT_S + 10
    while True:
        got = Master.reports.get(number, {})
        alive = {c.id for c in live_workers(runner)}
        waiting = [w for w in workers if w not in got and w in alive]
        if not waiting or time.monotonic() > deadline:
            break
        Master.arrived.clear()
        Master.arrived.wait(0.5)
    got = Master.reports.pop(number, {})
    Master.live.pop(number, None)
    lost = [w for w in workers if w not in got]
    result = {"event": "period", "period": number, "stage": command.get("stage"), "seconds": seconds,
              "workers": len(workers), "lost_workers": len(lost), "lost_users": sum(workers[w] for w in lost)}
    if command.get("stage") is not None:
        by_request = [None] * len(REQUESTS)
        seconds_merged = {}
        in_flight = 0
        for report in got.values():
            in_flight += report["in_flight"]
            for i, tally in enumerate(report["by_request"]):
                by_request[i] = merge_tallies(by_request[i], tally)
            for k, tally in report["seconds"].items():
                seconds_merged[k] = merge_tallies(seconds_merged.get(k), tally)
        empty = Tally().to_json()
        result["by_request"] = [t or empty for t in by_request]
        result["seconds_tallies"] = seconds_merged
        result["in_flight"] = in_flight
        result["reconnect_waits"] = sum(r.get("reconnect_waits", 0) for r in got.values())
    control.send(result)
    return ended_early


class DbtuneShape(LoadTestShape):
    """Runs dbtune's commands on the master: Locust's shape greenlet is where the test is driven."""

    def tick(self):
        runner = Master.runner
        if runner is None:
            return None
        control = Control()
        control.send({"event": "hello", "version": locust.runners.__version__, "token": os.environ.get("DBTUNE_CONTROL_TOKEN", "")})
        try:
            command = control.read()
            while command is not None:
                op = command["op"]
                if op == "workers":
                    wait_for_workers(control, runner, command)
                elif op == "period":
                    # A command that ended the period early (after "end", which only ends it) comes next.
                    early = run_period(control, runner, command)
                    if early is not None and early["op"] != "end":
                        command = early
                        continue
                elif op == "quit":
                    break
                command = control.read()
        except Exception as error:  # noqa: BLE001 (reported to dbtune, then the run ends)
            try:
                control.send({"event": "error", "message": "%s: %s" % (type(error).__name__, error)})
            except OSError:
                pass
        return None
