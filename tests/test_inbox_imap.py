"""The IMAP source against a real server: Debian's dovecot on loopback, started and stopped here.

The fixture writes a throw-away dovecot configuration (loopback only, a free
port, one passwd-file user, Maildir storage in a temporary directory), starts
the daemon and stops it by its master pid. A message with a text attachment (the
notice itself) is delivered with IMAP APPEND (the server stores it), then
:func:`read_imap` reads it read-only: nothing is flagged as seen.
"""

from __future__ import annotations

import email.message
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from duban.engine.inbox.records import InboxError
from duban.engine.inbox.sources import read_imap

DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD = "clerk", "imap-test-pw-123"

pytestmark = pytest.mark.skipif(not DOVECOT.exists(), reason="dovecot is not installed (apt-get install dovecot-imapd)")


@dataclass
class Server:
    port: int

    @property
    def url(self) -> str:
        return f"imap://{USER}@127.0.0.1:{self.port}/INBOX"

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(USER, PASSWORD)
        return conn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(root: Path, port: int, uid: int, gid: int) -> str:
    return f"""base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {pwd.getpwuid(uid).pw_name}
default_login_user = {"dovenull" if os.getuid() == 0 else pwd.getpwuid(uid).pw_name}
mail_location = maildir:~/Maildir
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = passwd-file
  args = {root}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    root = Path(tempfile.mkdtemp(prefix="duban-imap-"))
    root.chmod(0o755)  # the mail user (not root) must reach its home below
    mail = pwd.getpwnam("dovecot") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
    home = root / "home"
    home.mkdir()
    os.chown(home, mail.pw_uid, mail.pw_gid)
    port = _free_port()
    content = f"{USER}:{{PLAIN}}{PASSWORD}:{mail.pw_uid}:{mail.pw_gid}::{home}\n"
    (root / "users").write_text(content, encoding="utf-8")
    (root / "dovecot.conf").write_text(_config(root, port, mail.pw_uid, mail.pw_gid), encoding="utf-8")
    with open(root / "start.log", "wb") as log:  # the daemon's children keep inherited pipes: a file, not a pipe
        subprocess.run([str(DOVECOT), "-c", str(root / "dovecot.conf")], stdin=subprocess.DEVNULL, stdout=log,
                       stderr=subprocess.STDOUT, timeout=30, check=True)
    pid_file = root / "run" / "master.pid"
    for _ in range(200):  # the daemon writes its pid after it forks: wait for it, bounded
        if pid_file.exists() and pid_file.read_text().strip():
            break
        time.sleep(0.05)
    pid = int(pid_file.read_text().strip())
    try:
        srv = Server(port=port)
        for _ in range(100):  # wait for the listener, not a fixed sleep
            try:
                srv.client().logout()
                break
            except OSError:
                time.sleep(0.05)
        yield srv
    finally:
        os.kill(pid, 15)
        for _ in range(100):
            try:
                os.kill(pid, 0)
                time.sleep(0.05)
            except ProcessLookupError:
                break
        shutil.rmtree(root, ignore_errors=True)


def _message() -> bytes:
    msg = email.message.EmailMessage()
    msg["Subject"] = "财政部 国家税务总局关于收费公路通行费增值税抵扣有关问题的通知"
    msg["From"] = "shouwen@example.gov.cn"
    msg["Date"] = "Thu, 04 Aug 2016 09:30:00 +0800"
    msg.set_content("转发如下，请及时公布。")
    msg.add_attachment("财税〔2016〕86号\n为保证营业税改征增值税试点的平稳运行，现将收费公路通行费增值税抵扣有关问题通知如下：\n"
                       "财政部 国家税务总局\n2016年8月3日\n".encode(), maintype="text", subtype="plain",
                       filename="caishui-2016-86.txt")
    return msg.as_bytes()


def test_reads_a_delivered_message_read_only(server: Server) -> None:
    conn = server.client()
    status, _ = conn.append("INBOX", None, None, _message())  # type: ignore[arg-type]
    assert status == "OK"
    conn.logout()
    [doc] = list(read_imap(server.url, password=PASSWORD))
    assert doc.title == "财政部 国家税务总局关于收费公路通行费增值税抵扣有关问题的通知"
    assert doc.doc_number == "财税〔2016〕86号" and "通行费增值税抵扣" in doc.text and "请及时公布" in doc.text
    assert doc.source.startswith("imap:127.0.0.1/INBOX#") and doc.link and ";UID=" in doc.link
    assert str(doc.received) == "2016-08-04"
    conn = server.client()
    conn.select("INBOX", readonly=True)
    status, data = conn.search(None, "UNSEEN")
    conn.logout()
    assert data[0].split(), "reading must not mark the message as seen"


def test_refusals_name_the_source(server: Server) -> None:
    with pytest.raises(InboxError, match="no password"):
        list(read_imap(server.url, password=None))
    with pytest.raises(InboxError, match="AUTHENTICATIONFAILED|failed|Authentication"):
        list(read_imap(server.url, password="wrong"))
    with pytest.raises(InboxError, match="only on loopback"):
        list(read_imap("imap://clerk@mail.example.gov.cn/INBOX", password="x"))
    with pytest.raises(InboxError, match="no password in the URL"):
        list(read_imap(f"imap://{USER}:{PASSWORD}@127.0.0.1:{server.port}/INBOX", password=None))
    with pytest.raises(InboxError, match="cannot open mailbox"):
        list(read_imap(f"imap://{USER}@127.0.0.1:{server.port}/Nowhere", password=PASSWORD))
