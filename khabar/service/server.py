"""`khabar serve`: the application on uvicorn, the analysis worker and the watchers.

    from khabar.service.server import serve
    serve("news.db", port=8000)              # blocks until SIGTERM / Ctrl-C

Processes: the server (uvicorn, one event loop; reads and ingest on its thread
pool) and ONE analysis worker process (`worker_main`), which takes queued
documents from the database in batches, so the analysis never runs in the
request loop and the story stream stays sequential. ``--watch`` and ``--feed``
are threads of the server that only read and ingest. On SIGTERM uvicorn stops
taking connections and finishes the requests in flight; the worker finishes
its batch (or is stopped after a grace period: its batch is redone at the next
start, nothing committed is lost) and the watchers stop.
"""

from __future__ import annotations

import contextlib
import html.parser
import ipaddress
import multiprocessing as mp
import os
import socket
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from khabar.document import Document
from khabar.errors import KhabarError

POLL = 0.2
"""Seconds between two looks at the queue when it is empty."""
WATCH_POLL = 1.0
STOP_GRACE = 20.0
"""Seconds the worker gets to finish its batch on shutdown."""

Echo = Callable[[str], None]


# -- the analysis worker ------------------------------------------------------------------------


def worker_main(db: str, stop: Any, batch: int | None = None, parent: int | None = None
                ) -> None:
    """Analyse queued documents until `stop` is set or the server is gone (runs in its own
    process)."""
    import signal

    from khabar.service.analysis import MAX_EXPLAIN_DELAY, AnalysisParams, Analyzer

    # the server decides when the worker stops (SIGINT of a terminal goes to the group)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    params = AnalysisParams(batch=batch) if batch else AnalysisParams()
    with Analyzer(db, params) as an:
        while not stop.is_set():
            if parent is not None and os.getppid() != parent:
                return  # the server died (SIGKILL): a new one starts its own worker
            try:
                # new articles are placed in their stories first; the explanations and
                # pages of the stories they touched are made when no article waits (or
                # when a story has waited MAX_EXPLAIN_DELAY), each once for many batches
                done = an.run_pending(limit=an.params.batch, explain=False)
                explained = 0
                if not done or an.waited() >= MAX_EXPLAIN_DELAY:
                    explained = an.explain_pending(
                        give_way=lambda: stop.is_set() or an.pending() > 0)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                _skip_failing(an)
                continue
            if not done and not explained:
                stop.wait(POLL)


def _skip_failing(an: Any) -> None:
    """After a batch failed: analyse its documents one by one, and take out of the queue
    (with the job marked) the ones that fail alone."""
    rows = an.store.db.execute("SELECT n, job FROM svc_queue ORDER BY n LIMIT ?",
                               (an.params.batch,)).fetchall()
    for n, job in rows:
        try:
            an.analyze([n], {n: job}, explain=False)
        except Exception as exc:
            print(f"khabar serve: document {n} could not be analysed: {exc}", file=sys.stderr)
            with an.store.transaction() as db:
                db.execute("DELETE FROM svc_queue WHERE n=?", (n,))
                db.execute("UPDATE svc_jobs SET analyzed = analyzed + 1, stage = CASE WHEN "
                           "analyzed + 1 >= accepted THEN 'done' ELSE stage END WHERE job=?",
                           (job,))


# -- watchers -----------------------------------------------------------------------------------


class Watchers:
    """``--watch DIR`` and ``--feed URL`` pollers (threads that ingest what is new)."""

    def __init__(self, ingest: Callable[[list[Document], str], Any], db: Path,
                 folders: Sequence[Path] = (), feeds: Sequence[str] = (),
                 feed_interval: float = 300.0, echo: Echo | None = None) -> None:
        self.ingest = ingest
        self.db = db
        self.folders = list(folders)
        self.feeds = list(feeds)
        self.feed_interval = feed_interval
        self.echo = echo or (lambda line: print(line, file=sys.stderr))
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for folder in self.folders:
            self._spawn(self._watch, folder)
        for url in self.feeds:
            self._spawn(self._feed, url)

    def _spawn(self, fn: Callable[..., None], arg: Any) -> None:
        t = threading.Thread(target=fn, args=(arg,), daemon=True, name=f"khabar-{fn.__name__}")
        t.start()
        self.threads.append(t)

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)

    def _conn(self) -> Any:
        import sqlite3

        return sqlite3.connect(self.db.resolve().as_uri(), uri=True, timeout=60,
                               isolation_level=None)

    # a folder: each new or changed file, once its size stops changing
    def _watch(self, folder: Path) -> None:
        from khabar.io.readers import read

        conn = self._conn()
        pending: dict[str, tuple[int, float]] = {}
        while not self.stop.is_set():
            try:
                for path in sorted(p for p in folder.rglob("*") if p.is_file()
                                   and not p.name.startswith(".")):
                    st = path.stat()
                    key = str(path.resolve())
                    sig = (st.st_size, st.st_mtime)
                    row = conn.execute("SELECT size, mtime FROM svc_watch WHERE path=?",
                                       (key,)).fetchone()
                    if row is not None and (row[0], row[1]) == sig:
                        continue
                    if pending.get(key) != sig:
                        pending[key] = sig  # seen once: read it when it has stopped growing
                        continue
                    problems: list[Any] = []
                    docs = list(read([path], on_problem=problems.append))
                    if docs:
                        done = self.ingest(docs, f"watch:{path.name}")
                        self.echo(f"watch: {path}: {done.new} new, {done.updated} updated, "
                                  f"{len(problems)} skipped")
                    elif problems:
                        self.echo(f"watch: {path}: nothing read ({problems[0].message})")
                    conn.execute("INSERT OR REPLACE INTO svc_watch VALUES (?, ?, ?)",
                                 (key, *sig))
                    pending.pop(key, None)
            except OSError as exc:
                self.echo(f"watch: {folder}: {exc.strerror or exc}")
            except KhabarError as exc:
                self.echo(f"watch: {folder}: {exc}")
            self.stop.wait(WATCH_POLL)
        conn.close()

    # a feed: polled with feedparser; entries never seen before become articles
    def _feed(self, url: str) -> None:
        conn = self._conn()
        while not self.stop.is_set():
            try:
                docs = fetch_feed(url)
                seen = {e for (e,) in conn.execute("SELECT entry FROM svc_feed_seen WHERE url=?",
                                                   (url,))}
                fresh = [d for d in docs if d.id not in seen]
                if fresh:
                    done = self.ingest(fresh, f"feed:{url}")
                    conn.executemany("INSERT OR IGNORE INTO svc_feed_seen VALUES (?, ?)",
                                     [(url, d.id) for d in fresh])
                    self.echo(f"feed: {url}: {done.new} new")
            except (OSError, KhabarError, ValueError) as exc:
                self.echo(f"feed: {url}: {exc}")
            self.stop.wait(self.feed_interval)
        conn.close()


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("p", "br", "div", "li", "h1", "h2", "h3", "blockquote"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def plain_text(markup: str) -> str:
    """The text of an entry's HTML (scripts and styles dropped, blocks on their own lines)."""
    p = _Text()
    p.feed(markup)
    p.close()
    lines = [" ".join(line.split()) for line in "".join(p.parts).splitlines()]
    return "\n".join(line for line in lines if line)


FEED_TIMEOUT = 30


def fetch_feed(url: str) -> list[Document]:
    """The entries of an RSS or Atom feed as documents (feedparser; one request)."""
    import feedparser

    from khabar.io.dates import parse_date

    if not url.startswith(("http://", "https://")):
        raise KhabarError(f"{url}: a feed is an http(s) URL")
    request = urllib.request.Request(url, headers={"User-Agent": "khabar-serve"})
    with urllib.request.urlopen(request, timeout=FEED_TIMEOUT) as response:
        payload = response.read(32 * 1024 * 1024)
    parsed = feedparser.parse(payload)
    if parsed.bozo and not parsed.entries:
        raise KhabarError(f"not a feed ({parsed.get('bozo_exception')})")
    source = (parsed.feed.get("title") or "").strip() or urllib.parse.urlsplit(url).netloc
    out = []
    for e in parsed.entries:
        body = ""
        if e.get("content"):
            body = " ".join(c.get("value", "") for c in e["content"])
        body = body or e.get("summary", "") or ""
        text = plain_text(body)
        if not text.strip():
            continue
        raw = e.get("published") or e.get("updated")
        doc_id = e.get("id") or e.get("link") or f"{url}#{e.get('title', '')}"
        out.append(Document(id=doc_id, text=text, title=plain_text(e.get("title", "")) or None,
                            source=source, date=parse_date(raw) if raw else None,
                            url=e.get("link"), date_raw=raw, origin=f"feed:{url}"))
    return out


# -- the server ---------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise KhabarError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(db: str | Path, host: str = "127.0.0.1", port: int = 8000, *,
          token: str | None = None, watch: Sequence[str | Path] = (),
          feeds: Sequence[str] = (), feed_interval: float = 300.0,
          max_body: int | None = None, echo: Echo | None = None,
          batch: int | None = None) -> None:
    """Run the service until SIGTERM or Ctrl-C."""
    import uvicorn

    from khabar.service.analysis import open_store
    from khabar.service.app import MAX_BODY, Config, create_app

    say = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    path = Path(db)
    folders = [Path(w) for w in watch]
    for folder in folders:
        if not folder.is_dir():
            raise KhabarError(f"--watch {folder}: not a folder")
    for url in feeds:
        if not url.startswith(("http://", "https://")):
            raise KhabarError(f"--feed {url}: give an http(s) URL")
    open_store(path).close()  # create or check the database before anything listens
    sock = bind(host, port)
    if not _is_loopback(host) and not token:
        say(f"khabar serve: listening on {host} without --token: anyone who can reach it "
            "can add articles")
    config = Config(path, token, max_body or MAX_BODY)
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        worker = ctx.Process(target=worker_main, args=(str(path), stop, batch, os.getpid()),
                             name="khabar-analysis", daemon=True)
        worker.start()
        service = state["app"].state.service
        watchers = Watchers(service.ingest, path, folders, feeds, feed_interval, say)
        watchers.start()
        try:
            yield
        finally:
            stop.set()  # first: whatever fails below, the worker stops
            try:
                watchers.close()
            finally:
                worker.join(STOP_GRACE)
                if worker.is_alive():
                    worker.terminate()  # its batch is redone at the next start
                    worker.join(5)
                service.close()

    app = create_app(config, lifespan)
    state["app"] = app.app
    shown = f"[{host}]" if ":" in host else host
    say(f"khabar serve: http://{shown}:{sock.getsockname()[1]}/ (database {path}; "
        f"{'writes need the token' if token else 'writes open'}); Ctrl-C or SIGTERM stops it")
    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            # a SIGTERM that led to a clean shutdown is a normal end (exit 0), not a death by
            # signal (uvicorn raises it again after shutting down)
            with super().capture_signals():
                try:
                    yield
                finally:
                    self._captured_signals.clear()

    server = Server(uvicorn.Config(
        app, log_level="warning", lifespan="on", server_header=False, date_header=True,
        timeout_graceful_shutdown=15, limit_concurrency=256, timeout_keep_alive=5,
        access_log=False))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        raise KhabarError("the server could not start (see the message above)")


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    """Block until `url` answers (for tests and benchmarks that start a server)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


__all__ = ["Watchers", "fetch_feed", "free_port", "plain_text", "serve", "wait_until_up",
           "worker_main"]


class Running:
    """A `khabar serve` in a child process (its own process group), for scripts and tests:

        with Running(db, ["--token", "t"]) as srv:
            urllib.request.urlopen(srv.url + "api/stats")

    Binds 127.0.0.1 on a free port; `stop()` sends SIGTERM and waits, `kill()` SIGKILLs the
    whole group (server and worker) as a crash would."""

    def __init__(self, db: str | Path, args: Sequence[str] = (), port: int | None = None,
                 timeout: float = 90.0, env: dict[str, str] | None = None,
                 host: str | None = "127.0.0.1") -> None:
        import subprocess

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        # host None: no --host at all (the command's default)
        cmd = [sys.executable, "-m", "khabar", "serve", "--db", str(db),
               *(["--host", host] if host else []), "--port", str(self.port), *args]
        self.log = Path(str(db) + f".serve-{self.port}.log")
        self._log = self.log.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True,
                                     env=None if env is None else {**os.environ, **env})
        try:
            wait_until_up(self.url + "api/stats", timeout)
        except BaseException:
            self.kill()
            raise

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 60.0) -> int | None:
        import signal
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()
        return self.proc.returncode

    def kill(self) -> None:
        import signal

        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self._close()

    def _close(self) -> None:
        if not self._log.closed:
            self._log.close()
