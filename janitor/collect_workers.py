"""collect --workers N: one run spread over N processes, so the janitor's CPU work (TLS, HTTP, JSON) uses
every core it may, instead of N threads taking turns on one interpreter lock.

The parent lists the projects (once: the request count stays the minimum) and hands each to the worker
whose shard it is: worker w of N collects the ids with (id // shard total) % N == w, a shard of the run's
own --shard I/T, in the way --shard splits a run between jobs. Each worker is a forked process with its own
pool of threads and its own connections; all append their entries to the same inventory files (each
entry one locked append), and the parent closes the files with the run's facts. Nothing is merged or read
back at the end. The requests in flight stay at --concurrency (split between the workers) and so do rate
limits: each worker keeps to its share of every limit.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, cast

from janitor.collect import Collection, CollectOptions, Progress
from janitor.errors import JanitorError
from janitor.gitlab_api import GitLabAPI
from janitor.inventory import InventoryWriter
from janitor.model import Json

MAX_DEFAULT_WORKERS = 4
# cgroup v2 puts the CPU quota in cpu.max ("max 100000" or "200000 100000"); v1 in two files.
_CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")
_CGROUP_V1 = (Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))


def default_workers() -> int:
    """The CPUs this process may use (its affinity, and the cgroup quota a CI container runs under), at
    most MAX_DEFAULT_WORKERS: beyond that the server, not the janitor, is what a run waits for."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpus()
    if quota is not None:
        cpus = min(cpus, quota)
    return max(1, min(MAX_DEFAULT_WORKERS, cpus))


def cgroup_cpus(v2: Path = _CGROUP_V2, v1: tuple[Path, Path] = _CGROUP_V1) -> int | None:
    """Whole CPUs the cgroup quota grants (at least 1), or None when there is no quota."""
    try:
        quota, period = v2.read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota, period = v1[0].read_text().strip(), v1[1].read_text().strip()
        except OSError:
            return None
    if quota in ("max", "-1"):
        return None
    try:
        return max(1, int(quota) // max(1, int(period)))
    except ValueError:
        return None


def run_workers(job: Collection, api: GitLabAPI, projects: Iterator[Json], options: CollectOptions) -> None:
    workers = min(options.workers, options.concurrency)
    if workers <= 1:
        job.run(api, projects, options.concurrency)
        return
    total = options.shard[1]
    shares = [options.concurrency // workers + (w < options.concurrency % workers) for w in range(workers)]
    context = multiprocessing.get_context("fork")  # the workers share the loaded policy, kinds and writer
    inboxes: list[Any] = [context.Queue(maxsize=2 * share) for share in shares]
    pipes = [context.Pipe(duplex=False) for _ in range(workers)]
    job.writer.flush()  # the head must be on disk before any worker appends
    processes = [context.Process(target=_worker, args=(job, api, inboxes[w], pipes[w][1], shares[w], workers),
                                 name=f"janitor-collect-{w + 1}", daemon=True) for w in range(workers)]
    for process in processes:
        process.start()
    for _, sender in pipes:
        sender.close()  # the parent's copy: a worker that dies then reads as EOF
    state = _Workers(job, [receiver for receiver, _ in pipes])
    try:
        for project in projects:
            inbox = inboxes[(int(project["id"]) // total) % workers]
            while True:
                state.drain()
                try:
                    inbox.put(project, timeout=0.2)
                    break
                except queue.Full:
                    continue
        for inbox in inboxes:
            inbox.put(None)
        job.progress.listing_done = True
        while not state.finished():
            state.drain(timeout=0.5)
    except BaseException:
        for process in processes:
            process.kill()
        raise
    finally:
        for process in processes:
            process.join()
        for inbox in inboxes:
            inbox.close()
            inbox.cancel_join_thread()


class _Workers:
    """What the workers have reported: progress while they run, their totals or their error at the end."""

    def __init__(self, job: Collection, receivers: list[Connection]) -> None:
        self.job = job
        self.receivers = receivers
        self.counts: list[tuple[int, int, int]] = [(0, 0, 0)] * len(receivers)  # done, incomplete, requests
        self.done = [False] * len(receivers)
        self.last_report = time.monotonic()
        self.logged: set[tuple[str, int, str]] = set()

    def log(self, name: str, level: int, text: str) -> None:
        """A worker's log line, said once by the parent (each worker would say a warning once itself)."""
        if (name, level, text) not in self.logged:
            self.logged.add((name, level, text))
            logging.getLogger(name).log(level, "%s", text)

    def finished(self) -> bool:
        return all(self.done)

    def drain(self, timeout: float = 0.0) -> None:
        open_ = [r for r, done in zip(self.receivers, self.done, strict=True) if not done]
        ready = wait(open_, timeout=timeout) if open_ else []
        for item in ready:
            receiver = cast(Connection, item)
            index = self.receivers.index(receiver)
            try:
                message: tuple[Any, ...] = receiver.recv()
            except EOFError:
                raise JanitorError(f"collect worker {index + 1} ended without a word (killed, or out of memory?).",
                                   "Nothing was kept; run collect again, with fewer --workers if memory is short.",
                                   ) from None
            kind = message[0]
            if kind == "error":
                raise _rebuild(message[1])
            if kind == "log":
                self.log(*message[1:])
                continue
            done, incomplete, requests = message[1], message[2], message[3]
            self.counts[index] = (done, len(incomplete) if kind == "done" else incomplete, requests)
            if kind == "done":
                self.done[index] = True
                self.job.incomplete.extend(incomplete)
        progress = self.job.progress
        progress.done = sum(c[0] for c in self.counts)
        progress.incomplete = sum(c[1] for c in self.counts)
        self.job.other_requests = sum(c[2] for c in self.counts)
        if time.monotonic() - self.last_report >= 2.0:
            self.last_report = time.monotonic()
            progress.requests = self.job.other_requests
            self.job.on_progress(progress)


class _ToParent(logging.Handler):
    """A worker's log records go to the parent, which prints them where the user reads (and redacts them)."""

    def __init__(self, send: Callable[[tuple[Any, ...]], None]) -> None:
        super().__init__()
        self.send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.send(("log", record.name, record.levelno, record.getMessage()))
        except Exception:  # a log line must never stop the run
            self.handleError(record)


def _worker(job: Collection, api: GitLabAPI, inbox: Any, outbox: Connection, concurrency: int, workers: int) -> None:
    lock = threading.Lock()  # threads share the pipe: one message at a time

    def send(message: tuple[Any, ...]) -> None:
        with lock:
            outbox.send(message)

    logging.getLogger().handlers[:] = [_ToParent(send)]
    try:
        pacer = api.pacer
        pacer.margin /= workers  # each worker keeps to its share of every rate limit
        mine = GitLabAPI(api.connection, pacer)  # fresh connections: the parent's are not for sharing
        parent = job.writer
        writer = InventoryWriter(parent.directory, parent.timestamp, parent.meta, join=True)
        progress = Progress()

        def report(p: Progress) -> None:
            send(("progress", p.done, p.incomplete, mine.requests))

        share = Collection(job.kinds, job.contexts, writer, progress, report)
        share.run(mine, iter(inbox.get, None), concurrency)
        writer.close_joined()
        send(("done", progress.done, share.incomplete, mine.requests))
    except BaseException as exc:  # whatever it is, the parent says it and removes the partial files
        send(("error", _portable(exc)))


def _portable(exc: BaseException) -> tuple[Any, ...]:
    if isinstance(exc, JanitorError):
        simple = (str, int, float, bool, type(None))
        attrs = {k: v for k, v in vars(exc).items() if isinstance(v, simple)}
        return ("janitor", type(exc).__module__, type(exc).__qualname__, exc.message, exc.hint, attrs)
    if isinstance(exc, KeyboardInterrupt):
        return ("interrupt",)
    return ("other", "".join(traceback.format_exception(exc)))


def _rebuild(payload: tuple[Any, ...]) -> BaseException:
    """The worker's error as the parent raises it: the same JanitorError class, message, hint and fields."""
    if payload[0] == "janitor":
        _, module, name, message, hint, attrs = payload
        cls = getattr(importlib.import_module(module), name, None)
        if isinstance(cls, type) and issubclass(cls, JanitorError):
            exc = cls.__new__(cls)
            Exception.__init__(exc, message)
            exc.__dict__.update(attrs)
            return exc
        return JanitorError(message, hint)
    if payload[0] == "interrupt":
        return KeyboardInterrupt()
    return RuntimeError("a collect worker failed:\n" + payload[1])
