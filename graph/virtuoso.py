"""A private Virtuoso Open Source server: start, bulk-load, stop (tests, bench, ``cooplink push``).

Virtuoso (Debian's ``virtuoso-opensource``, 7.2) is the remote backend's reference engine
(issue 13; docs/deploy.md).  The package ships a system service that a container never starts,
so cooplink runs its own instance from a folder holding a generated ``virtuoso.ini`` and the
database files.  The ini takes care of the engine's known pitfalls:

* both listeners (SQL and HTTP) bind to 127.0.0.1 only;
* ``ResultSetMaxRows`` is raised (default 10,000 silently truncates answers);
  :class:`graph.remote.RemoteStore` still detects a cut answer and says so;
* ``MaxQueryExecutionTime`` and ``MaxQueryCostEstimationTime`` are 0: no "anytime" partial
  answers and no refusal by cost estimate — the client's time limit applies instead;
* ``DirsAllowed`` includes the load folder, or ``ld_dir`` refuses to read it;
* the buffers (8 KiB pages) stay modest: ``buffers=85_000`` is about 700 MB;
* the default ``dba`` password is replaced at first start.

Bulk loading goes through ``isql-vt`` (``ld_dir`` then ``rdf_loader_run`` and a checkpoint),
the fastest path into Virtuoso; a direct POST of ``application/sparql-query`` can hang on this
version, so clients use GET or a form POST (:mod:`graph.remote`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from graph.errors import CooplinkError

SERVER_BINARY = "virtuoso-t"
ISQL_BINARIES = ("isql-vt", "isql")
#: where Debian's package keeps the pages served at / (the SPARQL endpoint needs none)
_DEBIAN_VSP = Path("/var/lib/virtuoso-opensource-7/vsp")
#: the password file kept in the server folder, so a restarted instance can be driven again
_PASSWORD_FILE = "dba.password"


class VirtuosoError(CooplinkError):
    """Virtuoso is missing, did not start, or refused a command."""

    status = 503


def server_binary() -> str | None:
    """Path of ``virtuoso-t`` if installed."""
    return shutil.which(SERVER_BINARY)


def isql_binary() -> str | None:
    """Path of Virtuoso's ``isql`` (``isql-vt`` on Debian) if installed."""
    return next((p for name in ISQL_BINARIES if (p := shutil.which(name))), None)


def free_port() -> int:
    """A TCP port free on loopback now (tests start private servers side by side)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def isql(address: str, password: str, sql: str, *, timeout: float = 3600.0,
         user: str = "dba") -> str:
    """Run ``sql`` (statements ending with ``;``) through ``isql`` on ``address``
    (``host:port``); its output.  Raises :class:`VirtuosoError` on any SQL error: isql itself
    exits 0 after a failed statement, so its output is read for ``*** Error``."""
    binary = isql_binary()
    if binary is None:
        raise VirtuosoError("isql-vt introuvable : installez virtuoso-opensource")
    try:
        done = subprocess.run([binary, address, user, password, "VERBOSE=OFF", "BANNER=OFF",
                               "PROMPT=OFF", "ECHO=OFF", f"EXEC={sql}"],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise VirtuosoError(f"isql n'a pas fini en {timeout:g} s : {sql[:200]}") from exc
    output = done.stdout + done.stderr
    if done.returncode != 0 or "*** Error" in output:
        raise VirtuosoError(f"Virtuoso a refusé « {sql[:200]} » : {output.strip()[:500]}")
    return done.stdout


def bulk_load(address: str, password: str, folder: Path, pattern: str = "*.nq",
              default_graph: str = "urn:cooplink:default") -> None:
    """Load every file of ``folder`` matching ``pattern`` with Virtuoso's bulk loader (N-Quads
    name their graph; ``default_graph`` only receives triples of triple formats).  ``folder``
    must be in the server's ``DirsAllowed``; files already loaded are forgotten first, so a
    second push of the same folder loads again."""
    where = str(folder.resolve()).replace("'", "''")
    isql(address, password,
         f"DELETE FROM DB.DBA.load_list WHERE ll_file LIKE '{where}/%';"
         f"ld_dir('{where}', '{pattern}', '{default_graph}');"
         "rdf_loader_run();"
         "checkpoint;")
    failed = isql(address, password,
                  "SELECT ll_file, ll_error FROM DB.DBA.load_list "
                  f"WHERE ll_file LIKE '{where}/%' AND ll_error IS NOT NULL;")
    if "0 Rows" not in failed and failed.strip():
        raise VirtuosoError(f"le chargeur de Virtuoso a échoué : {failed.strip()[:800]}")


class Virtuoso:
    """A Virtuoso server of its own in ``folder``, listening on 127.0.0.1 only.

    ``load_dir`` (default ``folder/load``) is the folder its bulk loader may read.  Use as a
    context manager, or :meth:`start` and :meth:`stop`; a server left running by a crashed
    test is stopped by the next :meth:`start` in the same folder (its pid file)."""

    def __init__(self, folder: Path, *, http_port: int = 8890, sql_port: int = 1111,
                 buffers: int = 20_000, max_rows: int = 1_000_000,
                 load_dir: Path | None = None) -> None:
        self.folder = folder
        self.http_port = http_port
        self.sql_port = sql_port
        self.buffers = buffers
        self.max_rows = max_rows
        self.load_dir = load_dir or folder / "load"
        self.password = ""
        self._process: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ addresses
    @property
    def endpoint(self) -> str:
        """The public, read-only SPARQL endpoint (user ``SPARQL``, no update rights)."""
        return f"http://127.0.0.1:{self.http_port}/sparql"

    @property
    def update_endpoint(self) -> str:
        """The authenticated endpoint (HTTP digest, user ``dba``) that accepts updates."""
        return f"http://127.0.0.1:{self.http_port}/sparql-auth"

    @property
    def address(self) -> str:
        """``host:port`` of the SQL listener, for ``isql``."""
        return f"127.0.0.1:{self.sql_port}"

    # ------------------------------------------------------------------ configuration
    def ini(self) -> str:
        db = self.folder / "db"
        dirty = self.buffers * 3 // 4
        vsp = f"ServerRoot = {_DEBIAN_VSP}\n" if _DEBIAN_VSP.is_dir() else ""
        return f"""; written by cooplink (graph/virtuoso.py): a private server, loopback only
[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{self.sql_port}
DisableUnixSocket = 1
MaxClientConnections = 20
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = ., {self.load_dir.resolve()}
NumberOfBuffers = {self.buffers}
MaxDirtyBuffers = {dirty}
MaxQueryMem = 512M
ThreadsPerQuery = 2
AsyncQueueMaxThreads = 4
ServerThreads = 20

[HTTPServer]
ServerPort = 127.0.0.1:{self.http_port}
{vsp}MaxClientConnections = 20
ServerThreads = 20
MaxKeepAlives = 20
KeepAliveTimeout = 10
Charset = UTF-8
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows = {self.max_rows}
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime = 0
"""

    # ------------------------------------------------------------------ life cycle
    def start(self, timeout: float = 120.0) -> Virtuoso:
        binary = server_binary()
        if binary is None:
            raise VirtuosoError("virtuoso-t introuvable : installez le paquet "
                                "virtuoso-opensource (apt-get install virtuoso-opensource)")
        (self.folder / "db").mkdir(parents=True, exist_ok=True)
        self.load_dir.mkdir(parents=True, exist_ok=True)
        self._stop_stale()
        ini = self.folder / "virtuoso.ini"
        ini.write_text(self.ini(), "utf-8")
        stored = self.folder / _PASSWORD_FILE
        fresh = not stored.exists()
        with open(self.folder / "server.log", "ab") as log:
            # its own session: a Ctrl-C in a terminal running the tests does not reach it
            # before the finaliser shuts it down cleanly
            self._process = subprocess.Popen([binary, "+foreground", "+configfile", str(ini)],
                                             cwd=self.folder / "db", stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             start_new_session=True)
        (self.folder / "server.pid").write_text(str(self._process.pid))
        self.password = "dba" if fresh else stored.read_text("utf-8").strip()
        try:
            self._wait_ready(timeout)
            if fresh:
                self._secure(stored)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = self.endpoint + "?query=ASK%7B%7D"
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise VirtuosoError(f"Virtuoso s'est arrêté au démarrage (code "
                                    f"{self._process.returncode}) ; voir "
                                    f"{self.folder / 'server.log'}")
            with contextlib.suppress(OSError), urllib.request.urlopen(probe, timeout=2) as answer:
                if answer.status == 200:
                    return
            if time.monotonic() > deadline:
                raise VirtuosoError(f"Virtuoso n'a pas répondu en {timeout:g} s sur "
                                    f"{self.endpoint}")
            time.sleep(0.3)

    def _secure(self, stored: Path) -> None:
        """Replace the well-known default ``dba`` password (the Debian database has no
        ``dav`` user)."""
        new = secrets.token_urlsafe(18)
        isql(self.address, "dba", f"USER_SET_PASSWORD('dba', '{new}');")
        self.password = new
        stored.write_text(new, "utf-8")
        stored.chmod(0o600)

    def _stop_stale(self) -> None:
        """Stop a server a previous run left in this folder (its pid file)."""
        pid_file = self.folder / "server.pid"
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            return
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if SERVER_BINARY.encode() in cmdline and str(self.folder).encode() in cmdline:
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    time.sleep(0.1)
                    if not Path(f"/proc/{pid}").exists():
                        break
                else:
                    os.kill(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the server down (a checkpoint, then exit); killed if it does not go."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(VirtuosoError):
            isql(self.address, self.password, "shutdown;", timeout=timeout)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        (self.folder / "server.pid").unlink(missing_ok=True)

    def __enter__(self) -> Virtuoso:
        return self.start() if self._process is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------ commands
    def isql(self, sql: str, timeout: float = 3600.0) -> str:
        return isql(self.address, self.password, sql, timeout=timeout)

    def bulk_load(self, folder: Path | None = None, pattern: str = "*.nq") -> None:
        """Bulk-load the files of ``folder`` (default: the load folder)."""
        bulk_load(self.address, self.password, folder or self.load_dir, pattern)
