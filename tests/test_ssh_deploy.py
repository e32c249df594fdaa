"""The README's team recipe, run through a real OpenSSH server on 127.0.0.1.

The shipped ``contrib/sshd/tui-desk.conf`` runs in an ``sshd`` of its own (its own host
key, authorized keys and port; the forced command pointed at this checkout). Two Unix
logins in a group laid out as the README says (a setgid data folder, the host's settings
in a system config file) each open the desk over ``ssh -t`` and take a case with ``n``;
one connection is cut (its case freed, its presence cleared, no process left) while the
other keeps working; an ``ssh -T`` is refused with one line and leaves nothing running.

Needs root (it adds and removes two users and a group) and ``/usr/sbin/sshd`` (``.ci/run``
installs openssh-server); without sshd it skips locally and fails under CI=true.
"""

from __future__ import annotations

import contextlib
import functools
import grp
import io
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest
from sqlalchemy import select

from tests.conftest import _pg_admin, _pg_dsn
from tests.factories import Factory
from tui_desk.clock import utcnow
from tui_desk.db.engine import Database, open_database
from tui_desk.db.models import Agent, AgentPresence, CollectionCase

ROOT = Path(__file__).resolve().parent.parent
CONTRIB = ROOT / "contrib"
SSHD = Path("/usr/sbin/sshd")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SHIPPED_COMMAND = "/opt/tui-desk/.venv/bin/tui-desk"
NO_TERMINAL = (
    "tui-desk: the desk needs a terminal: connect with ssh -t (not -T), from a terminal window"
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs OpenSSH and Unix users")


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "shipped", ["sshd/tui-desk.conf", "systemd/tui-desk-worker.service"], ids=["sshd", "unit"]
)
def test_the_readme_quotes_the_shipped_files(shipped: str) -> None:
    """What the README shows is what contrib/ ships (and what the SSH test runs)."""
    text = (CONTRIB / shipped).read_text(encoding="utf-8")
    assert text in _readme(), f"README.md no longer quotes contrib/{shipped} as shipped"
    assert f"contrib/{shipped}" in _readme()


def test_the_example_host_settings_are_accepted(tmp_path: Path) -> None:
    from tui_desk.config import load_settings

    settings = load_settings(
        system_file=CONTRIB / "config.toml", file=tmp_path / "none.toml", env={}
    )
    assert settings.database_url == "sqlite:////var/lib/tui-desk/desk.db"
    assert settings.exports_dir == "/var/lib/tui-desk/exports"  # in the group's data folder


# --- the live test -----------------------------------------------------------------------


def _missing_tools() -> str | None:
    if not SSHD.exists():
        return f"OpenSSH server not installed ({SSHD}): apt-get install openssh-server"
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"no {tool} on PATH: apt-get install openssh-client"
    return None


def _processes_of(uid: int) -> list[int]:
    """Live processes running as ``uid`` (from /proc; zombies do not count)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith("Z"):
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            found.append(int(entry.name))
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, f"{argv[0]} failed: {done.stderr.strip()}"


@dataclass
class Login:
    name: str
    uid: int
    agent_id: int
    case_id: int


@dataclass
class Host:
    folder: Path
    port: int
    key: Path
    database: Path
    group: str
    db: Database
    logins: tuple[Login, Login]

    def ssh(self, login: Login, *options: str) -> list[str]:
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            str(self.key),
            "-p",
            str(self.port),
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            *options,
            f"{login.name}@127.0.0.1",
        ]


def _interpreter(folder: Path, user: str) -> str:
    """A Python the test users can run with this checkout's packages.

    The checkout's own interpreter may live where other users cannot reach it (a Python
    built in root's home): then a bare virtual environment of the system's Python of the
    same version is made, which loads this checkout's site-packages.
    """
    probe = ["runuser", "-u", user, "--", sys.executable, "-c", "import tui_desk"]
    if subprocess.run(probe, capture_output=True, timeout=60, cwd="/").returncode == 0:
        return sys.executable
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    system_python = Path(f"/usr/bin/python{version}")
    if not system_python.exists():
        pytest.skip(f"the test users cannot run {sys.executable} and there is no {system_python}")
    env_dir = folder / "python"
    _run([str(system_python), "-m", "venv", "--without-pip", str(env_dir)])
    site = env_dir / "lib" / f"python{version}" / "site-packages"
    packages = sysconfig.get_paths()["purelib"]
    (site / "tui_desk_checkout.pth").write_text(f"import site; site.addsitedir({packages!r})\n")
    python = str(env_dir / "bin" / "python")
    check = ["runuser", "-u", user, "--", python, "-c", "import tui_desk"]
    done = subprocess.run(check, capture_output=True, text=True, timeout=60, cwd="/")
    if done.returncode != 0:
        pytest.skip(f"the test users cannot import tui_desk: {done.stderr.strip()[-200:]}")
    return python


def _sshd_config(host_folder: Path, port: int, group: str, command: str, system: Path) -> str:
    """The shipped snippet with the test's paths, under the test server's own settings."""
    snippet = (CONTRIB / "sshd" / "tui-desk.conf").read_text(encoding="utf-8")
    for old, new in (
        (
            "Match Group tuidesk\n",
            f"Match Group {group}\n    SetEnv TUI_DESK_SYSTEM_CONFIG={system}\n",
        ),
        (f"ForceCommand {SHIPPED_COMMAND}\n", f"ForceCommand {command}\n"),
    ):
        assert snippet.count(old) == 1, f"contrib/sshd/tui-desk.conf lost {old.strip()!r}"
        snippet = snippet.replace(old, new)
    own = f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {host_folder}/ssh_host_ed25519_key
PidFile {host_folder}/sshd.pid
AuthorizedKeysFile {host_folder}/keys/%u
# The test's folders sit under /tmp (world-writable), which strict modes refuse.
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
"""
    return own + snippet


def _host_settings(url: str, exports: Path) -> str:
    """The shipped ``contrib/config.toml`` with the test's database and exports folder."""
    text = (CONTRIB / "config.toml").read_text(encoding="utf-8")
    for old, new in (
        ('database_url = "sqlite:////var/lib/tui-desk/desk.db"\n', f'database_url = "{url}"\n'),
        ('exports_dir = "/var/lib/tui-desk/exports"\n', f'exports_dir = "{exports}"\n'),
    ):
        assert text.count(old) == 1, f"contrib/config.toml lost {old.strip()!r}"
        text = text.replace(old, new)
    return text


def _wait(
    condition: Callable[[], bool], what: str, seconds: float, *children: pexpect.spawn[str]
) -> None:
    """Poll ``condition``, draining the sessions' output (a full pty would block a desk)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for child in children:
            with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
                child.read_nonblocking(65536, timeout=0.05)
        if condition():
            return
        time.sleep(0.05)
    seen = "".join(
        f"\n--- session {n}: {_screen_text(child)[-600:]!r}" for n, child in enumerate(children)
    )
    raise AssertionError(f"{what} within {seconds} s{seen}")


def _screen_text(child: pexpect.spawn[str]) -> str:
    log = child.logfile_read
    return log.getvalue() if isinstance(log, io.StringIO) else ""


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def host(request: pytest.FixtureRequest) -> Iterator[Host]:
    """The team host of the README, its database on SQLite (a group-owned file in the data
    folder) or on PostgreSQL (a database made from the migrated template)."""
    missing = _missing_tools()
    if missing:
        if IN_CI:
            pytest.fail(f"CI=true requires OpenSSH: {missing}")
        pytest.skip(missing)
    if os.geteuid() != 0:
        pytest.skip("adds two Unix users and a group for the SSH logins: run as root")
    tag = uuid.uuid4().hex[:6]
    group = f"tdssh{tag}"
    users = [f"tdssh{tag}a", f"tdssh{tag}b"]
    folder = Path(tempfile.mkdtemp(prefix="tui-desk-ssh-", dir="/tmp"))
    folder.chmod(0o755)  # the test users reach their homes, the settings and the data
    sshd: subprocess.Popen[bytes] | None = None
    db: Database | None = None
    created: list[str] = []
    pg_name: str | None = None
    if request.param == "postgresql":
        template = request.getfixturevalue("pg_template")
        pg_name = f"tdssh_{tag}"
        _pg_admin(f"CREATE DATABASE {pg_name} TEMPLATE {template}")
    try:
        _run(["groupadd", group])
        for user in users:
            home = folder / "home" / user
            home.parent.mkdir(exist_ok=True)
            # "*": no password, but not a locked account (sshd refuses those).
            _run(["useradd", "-m", "-d", str(home), "-s", "/bin/sh", "-G", group, "-p", "*", user])
            created.append(user)
        gid = grp.getgrnam(group).gr_gid

        # The README's layout: a group-owned setgid data folder, the host's settings.
        data = folder / "data"
        data.mkdir()
        os.chown(data, 0, gid)
        data.chmod(0o2770)
        database = data / "desk.db"
        etc = folder / "etc"
        etc.mkdir()
        system = etc / "config.toml"
        url = f"sqlite:///{database}" if pg_name is None else _pg_dsn(pg_name)
        system.write_text(_host_settings(url, data / "exports"))
        system.chmod(0o644)
        cli_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TUI_DESK_SYSTEM_CONFIG": str(system),
            "TUI_DESK_CONFIG": str(folder / "no-user-config.toml"),
        }
        tui_desk = [sys.executable, "-m", "tui_desk"]
        _run([*tui_desk, "db", "upgrade"], env=cli_env)
        for user, name in zip(users, ("王小明", "李娜"), strict=True):
            _run(
                [*tui_desk, "agents", "add", user, "--name", name, "--role", "operator"],
                env=cli_env,
            )
        db = open_database(url, create=False)
        make = Factory(db, now=utcnow())
        logins = []
        for i, user in enumerate(users):
            with db.read() as s:
                agent_id = s.scalar(select(Agent.id).where(Agent.login == user))
            assert agent_id is not None
            case_id = make.case(name=f"客户{i}", priority=900 - i, owner_id=agent_id)
            logins.append(Login(user, pwd.getpwnam(user).pw_uid, agent_id, case_id))

        # Keys: the server's own host key, one client key authorised for both logins.
        _run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                str(folder / "ssh_host_ed25519_key"),
            ]
        )
        key = folder / "client_key"
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
        keys = folder / "keys"
        keys.mkdir(mode=0o755)
        for user in users:
            shutil.copyfile(key.with_suffix(".pub"), keys / user)
            (keys / user).chmod(0o644)

        python = _interpreter(folder, users[0])
        port = _free_port()
        config = folder / "sshd_config"
        config.write_text(_sshd_config(folder, port, group, f"{python} -m tui_desk", system))
        # sshd's privilege separation folder, which its service would make. It stays: another
        # sshd (a second run of this test) may be using it.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        checked = subprocess.run(
            [str(SSHD), "-t", "-f", str(config)], capture_output=True, text=True
        )
        assert checked.returncode == 0, f"sshd refuses the shipped snippet: {checked.stderr}"
        log = (folder / "sshd.log").open("wb")
        sshd = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stderr=log)
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            assert sshd.poll() is None, (folder / "sshd.log").read_text()
            assert time.monotonic() < deadline, "sshd did not listen within 15 s"
            time.sleep(0.05)
        yield Host(folder, port, key, database, group, db, (logins[0], logins[1]))
    finally:
        if sshd is not None:
            sshd.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                sshd.wait(timeout=10)
            if sshd.poll() is None:
                sshd.kill()
                sshd.wait()
        if db is not None:
            db.dispose()
        for user in created:
            with contextlib.suppress(KeyError):
                for pid in _processes_of(pwd.getpwnam(user).pw_uid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            subprocess.run(["userdel", "-r", user], capture_output=True, timeout=60)
        subprocess.run(["groupdel", group], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
        if pg_name is not None:
            _pg_admin(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")


def _holder(db: Database, case_id: int) -> int | None:
    with db.read() as s:
        return s.scalar(select(CollectionCase.lease_holder_id).where(CollectionCase.id == case_id))


def _holds(db: Database, login: Login) -> bool:
    return _holder(db, login.case_id) == login.agent_id


def _online(db: Database, agent_id: int) -> bool:
    with db.read() as s:
        return s.get(AgentPresence, agent_id) is not None


def _mode_and_group(path: Path) -> tuple[int, str]:
    st = path.stat()
    return st.st_mode & 0o777, grp.getgrgid(st.st_gid).gr_name


def test_two_logins_work_one_hangs_up_and_ssh_without_a_terminal_is_refused(host: Host) -> None:
    db = host.db
    first, second = host.logins
    sqlite = host.db.engine.dialect.name == "sqlite"
    if sqlite:
        assert _mode_and_group(host.database) == (0o660, host.group)  # as `db upgrade` made it
    env = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "PATH": os.environ.get("PATH", "/usr/bin")}
    sessions = {
        login.name: pexpect.spawn(
            "ssh",
            host.ssh(login, "-t")[1:],
            dimensions=(24, 80),
            env=env,
            encoding="utf-8",
            codec_errors="replace",
            timeout=5,
        )
        for login in host.logins
    }
    children = list(sessions.values())
    for child in children:
        child.logfile_read = io.StringIO()  # what each session showed, for a failure
    try:
        for login in host.logins:
            _wait(
                functools.partial(_online, db, login.agent_id),
                f"{login.name}'s desk did not open",
                60,
                *children,
            )
        for login in host.logins:
            sessions[login.name].send("n")  # take next
        for login in host.logins:
            _wait(
                functools.partial(_holds, db, login),
                f"{login.name} did not take a case",
                30,
                *children,
            )
        # Both wrote through the shared WAL: its files belong to the group, as the database.
        for suffix in ("-wal", "-shm") if sqlite else ():
            sidecar = host.database.with_name(host.database.name + suffix)
            assert _mode_and_group(sidecar) == (0o660, host.group), suffix

        # The first connection drops (the client is killed): sshd hangs up that desk.
        cut = sessions[first.name]
        cut.kill(signal.SIGKILL)
        _wait(
            lambda: not _processes_of(first.uid),
            f"{first.name}'s desk outlived the cut",
            20,
            *children,
        )
        assert _holder(db, first.case_id) is None, "the case of the cut session is still held"
        assert not _online(db, first.agent_id), "the cut session still shows online"
        # The other desk works on.
        assert _holder(db, second.case_id) == second.agent_id
        assert _online(db, second.agent_id)

        # Without a terminal: one line, exit status 1, nothing left running.
        for options in (["-T"], []):
            argv = host.ssh(first, *options)
            if not options:
                argv.append("report")  # `ssh host command`: the forced command, no terminal
            done = subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, env=env
            )
            assert done.returncode == 1, (options, done.stdout, done.stderr)
            assert done.stderr.strip().splitlines() == [NO_TERMINAL], done.stderr
            assert done.stdout == ""
            _wait(lambda: not _processes_of(first.uid), "a process outlived ssh -T", 10)
            assert not _online(db, first.agent_id)

        # The second operator quits with q: the case goes back, the session ends.
        quitting = sessions[second.name]
        quitting.send("q")
        quitting.expect(pexpect.EOF, timeout=20)
        _wait(lambda: not _processes_of(second.uid), f"{second.name}'s desk did not end", 20)
        assert _holder(db, second.case_id) is None
        assert not _online(db, second.agent_id)
    finally:
        for child in children:
            if child.isalive():
                child.terminate(force=True)
    log = (host.folder / "sshd.log").read_text(errors="replace")
    assert re.search(rf"Accepted publickey for {first.name}", log), log[-2000:]
