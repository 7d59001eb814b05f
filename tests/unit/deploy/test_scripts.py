"""deploy/scripts run for real, the way the builders ship them: ``python -c <file text> ARGS``."""

import datetime
import http.server
import json
import os
import socket
import socketserver
import sqlite3
import ssl
import subprocess
import sys
import threading
from contextlib import closing

import pytest

from deploy.scripts import source
from deploy.scripts.sqlite_backup import NO_DATABASE
from deploy.scripts.sqlite_restore import FAILS

NAMES = ["probe", "sqlite_backup", "sqlite_restore", "sqlite_verify", "served_cert"]
# no proxy may catch the requests to 127.0.0.1
ENV = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}


def run(name, *args, stdin=b"", env=None):
    return subprocess.run([sys.executable, "-c", source(name), *args], input=stdin, capture_output=True,
                          timeout=30, env=env or ENV, check=False)


@pytest.mark.parametrize("name", NAMES)
def test_source_is_the_file_and_plain_ascii(name):
    text = source(name)
    assert text.startswith('"""') and 'if __name__ == "__main__":' in text
    assert text.isascii()  # it travels as a shell argument over SSH, whatever the server's locale
    assert source(name) is text  # cached


@pytest.mark.parametrize("name", NAMES)
def test_usage_error_without_arguments(name):
    result = run(name)
    assert result.returncode == 2 and b"usage:" in result.stderr and result.stdout == b""


# --- probe -------------------------------------------------------------------------------------------------------

class Site(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.answers = {"/healthz": 200, "/": 200}
        self.requests = []


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append((self.path, self.headers["Host"]))
        code = self.server.answers.get(self.path, 404)
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "/gone")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    server = Site()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def answers(site):
    site.answers, site.requests = {"/healthz": 200, "/": 200}, []
    return site


def probe(site):
    result = run("probe", f"http://127.0.0.1:{site.server_address[1]}", "blog.example.test")
    return result.returncode, result.stdout.decode().strip()


def test_probe_healthy(answers):
    assert probe(answers) == (0, "/healthz: 200 /: 200")
    assert answers.requests == [("/healthz", "blog.example.test"), ("/", "blog.example.test")]  # Host header sent


def test_probe_fails_on_unhealthy_healthz(answers):
    answers.answers["/healthz"] = 503
    assert probe(answers) == (1, "/healthz: 503 /: 200")


def test_probe_says_up_but_broken_when_the_home_page_is_a_server_error(answers):
    answers.answers["/"] = 500
    assert probe(answers) == (3, "/healthz: 200 /: 500")
    answers.answers["/"] = 502
    assert probe(answers) == (3, "/healthz: 200 /: 502")


def test_probe_says_not_up_yet_when_healthz_fails_whatever_the_home_page(answers):
    answers.answers["/healthz"], answers.answers["/"] = 503, 500
    assert probe(answers) == (1, "/healthz: 503 /: 500")


def test_probe_counts_a_client_error_of_the_home_page_as_an_answer(answers):
    answers.answers["/"] = 404  # a site with no home page (startproject makes none): the app answered
    assert probe(answers) == (0, "/healthz: 200 /: 404")
    answers.answers["/"] = 403  # one behind a login
    assert probe(answers) == (0, "/healthz: 200 /: 403")
    answers.answers["/healthz"] = 400  # a host the app refuses: its health path says so
    assert probe(answers) == (1, "/healthz: 400 /: 403")


def test_probe_counts_a_redirect_as_an_answer_and_does_not_follow_it(answers):
    answers.answers["/"] = 302
    assert probe(answers) == (0, "/healthz: 200 /: 302")
    assert [path for path, _ in answers.requests] == ["/healthz", "/"]  # /gone never asked


def test_probe_fails_when_nothing_listens():
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("probe", f"http://127.0.0.1:{port}", "blog.example.test")
    assert result.returncode == 1
    out = result.stdout.decode()
    assert out.startswith("/healthz: URLError(ConnectionRefusedError(") and "/: URLError(" in out


class UnixSite(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def test_probe_over_a_unix_socket_as_nginx_is_asked(tmp_path, answers):
    """nginx's own socket (unix:PATH): the same answers, the same Host, redirects not followed."""
    answers.answers = {"/healthz": 200, "/": 302}

    class Relay(Handler):
        def setup(self):
            super().setup()
            self.server = answers  # the answers and the requests of the TCP site's fixture

        def address_string(self):
            return "unix"

    path = str(tmp_path / "nginx.sock")
    unix = UnixSite(path, Relay)
    threading.Thread(target=unix.serve_forever, daemon=True).start()
    try:
        result = run("probe", f"unix:{path}", "blog.example.test")
    finally:
        unix.shutdown()
        unix.server_close()
    assert (result.returncode, result.stdout.decode().strip()) == (0, "/healthz: 200 /: 302")
    assert answers.requests == [("/healthz", "blog.example.test"), ("/", "blog.example.test")]
    missing = run("probe", f"unix:{tmp_path}/none.sock", "blog.example.test")
    assert missing.returncode == 1 and missing.stdout.decode().startswith("/healthz: FileNotFoundError(")


# --- sqlite_backup / sqlite_restore ------------------------------------------------------------------------------

def make_db(path, rows):
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT)")
        db.execute("CREATE INDEX post_title ON post (title)")
        db.executemany("INSERT INTO post (title) VALUES (?)", [(r,) for r in rows])


def rows(path):
    with closing(sqlite3.connect(path)) as db:
        return [r[0] for r in db.execute("SELECT title FROM post ORDER BY id")]


@pytest.fixture
def private_tmp(tmp_path):
    """TMPDIR for the script, to see that its temporary files are gone afterwards."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder, {**ENV, "TMPDIR": str(folder)}


def test_backup_writes_a_copy_of_the_database_to_stdout(tmp_path, private_tmp):
    make_db(tmp_path / "db.sqlite3", ["first", "second"])
    folder, env = private_tmp
    result = run("sqlite_backup", str(tmp_path / "db.sqlite3"), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"SQLite format 3\x00")
    (tmp_path / "copy.sqlite3").write_bytes(result.stdout)
    assert rows(tmp_path / "copy.sqlite3") == ["first", "second"]
    assert list(folder.iterdir()) == []


def test_backup_of_a_missing_database_exits_3_with_no_output(tmp_path):
    result = run("sqlite_backup", str(tmp_path / "none.sqlite3"))
    assert NO_DATABASE == 3
    assert (result.returncode, result.stdout) == (NO_DATABASE, b"")
    assert not (tmp_path / "none.sqlite3").exists()


def test_restore_replaces_the_database(tmp_path, private_tmp):
    make_db(tmp_path / "live.sqlite3", ["old"])
    make_db(tmp_path / "upload.sqlite3", ["new 1", "new 2"])
    folder, env = private_tmp
    result = run("sqlite_restore", str(tmp_path / "live.sqlite3"), stdin=(tmp_path / "upload.sqlite3").read_bytes(),
                 env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == "restored 2 schema objects\n"  # the table and its index
    assert rows(tmp_path / "live.sqlite3") == ["new 1", "new 2"]
    assert list(folder.iterdir()) == []


def test_backup_then_restore_round_trip(tmp_path):
    make_db(tmp_path / "a.sqlite3", ["kept"])
    make_db(tmp_path / "b.sqlite3", ["replaced", "too"])
    backup = run("sqlite_backup", str(tmp_path / "a.sqlite3"))
    restore = run("sqlite_restore", str(tmp_path / "b.sqlite3"), stdin=backup.stdout)
    assert restore.returncode == 0, restore.stderr
    assert rows(tmp_path / "b.sqlite3") == ["kept"]


def corrupt_index(path):
    """A database whose index no longer matches its table: PRAGMA integrity_check reports it, nothing raises."""
    make_db(path, ["a", "b", "c"])
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA writable_schema = ON")
        db.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX post_title ON post (id)' WHERE name = 'post_title'")
        db.commit()
    return path.read_bytes()


@pytest.mark.parametrize("upload", ["not sqlite", "corrupt index", "truncated"])
def test_restore_refuses_a_bad_upload_and_leaves_the_database_alone(tmp_path, private_tmp, upload):
    make_db(tmp_path / "live.sqlite3", ["precious"])
    before = (tmp_path / "live.sqlite3").read_bytes()
    if upload == "not sqlite":
        data = b"<html>502 Bad Gateway</html>\n" * 200
    elif upload == "corrupt index":
        data = corrupt_index(tmp_path / "bad.sqlite3")
    else:
        make_db(tmp_path / "big.sqlite3", [f"row {i} " * 50 for i in range(200)])
        data = (tmp_path / "big.sqlite3").read_bytes()[:8192]
    folder, env = private_tmp
    result = run("sqlite_restore", str(tmp_path / "live.sqlite3"), stdin=data, env=env)
    assert result.returncode == 1 and result.stdout == b""
    message = result.stderr.decode()
    assert message.startswith(FAILS) and len(message.strip()) > len(FAILS), message
    assert "Traceback" not in message
    assert (tmp_path / "live.sqlite3").read_bytes() == before
    assert list(folder.iterdir()) == []


# --- served_cert -------------------------------------------------------------------------------------------------

def certificate(tmp_path, name, serial, sans, expires):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test CA Org"),
                        x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(serial).not_valid_before(expires - datetime.timedelta(days=90))
               .not_valid_after(expires))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


@pytest.fixture
def tls_server(tmp_path):
    """127.0.0.1: blog.example.test's certificate for that SNI name, a default one (no SAN) for any other."""
    import ipaddress

    x509 = pytest.importorskip("cryptography.x509")  # in the Pipfile.lock, so in the dev venv

    expires = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    blog = certificate(tmp_path, "blog.example.test", 0xC0FFEE1234567890ABCDEF,
                       [x509.DNSName("blog.example.test"), x509.DNSName("www.blog.example.test"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))], expires)
    default = certificate(tmp_path, "default", 0x2A, [], expires)
    asked = []

    def by_name(sslobj, server_name, _ctx):
        asked.append(server_name)
        if server_name == "blog.example.test":
            sslobj.context = blog

    default.sni_callback = by_name
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    with default.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(1)  # until the client hangs up
                except (OSError, ssl.SSLError):
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], asked
    stop.set()
    thread.join(5)
    listener.close()


def test_served_cert_reports_the_certificate_served_for_the_domain(tls_server):
    port, asked = tls_server
    result = run("served_cert", "blog.example.test", "127.0.0.1", str(port))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [
        "serial=c0ffee1234567890abcdef",
        "expires=2031-05-06T07:08:09Z",
        "names=blog.example.test,www.blog.example.test",  # DNS names only
        "issuer=CN=Test CA,O=Test CA Org",
    ]
    assert asked == ["blog.example.test"]


def test_served_cert_without_san_has_empty_names(tls_server):
    port, asked = tls_server
    result = run("served_cert", "other.example.test", "127.0.0.1", str(port))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[:3] == ["serial=2a", "expires=2031-05-06T07:08:09Z", "names="]
    assert asked == ["other.example.test"]


@pytest.mark.parametrize(("args", "address"), [
    (["blog.example.test"], ("blog.example.test", "127.0.0.1", 443)),
    (["blog.example.test", "10.0.0.5"], ("blog.example.test", "10.0.0.5", 443)),
    (["blog.example.test", "10.0.0.5", "8443"], ("blog.example.test", "10.0.0.5", 8443)),
])
def test_served_cert_defaults_to_127_0_0_1_port_443(monkeypatch, args, address):
    pytest.importorskip("cryptography")
    from deploy.scripts import served_cert

    asked = []

    def served(*called):
        asked.append(called)
        raise ConnectionRefusedError

    monkeypatch.setattr(served_cert, "served", served)
    with pytest.raises(ConnectionRefusedError):
        served_cert.main(args)
    assert asked == [address]


def serve_socket(folder) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", source("serve_socket"), str(folder)], capture_output=True, text=True,
                          timeout=30)


def test_serve_socket_points_the_link_at_this_container_s_socket_in_one_rename(tmp_path):
    own = f"{socket.gethostname()}.sock"
    with closing(socket.socket(socket.AF_UNIX)) as listening:
        listening.bind(str(tmp_path / own))
        (tmp_path / "serving.sock").symlink_to("an-older-container.sock")
        (tmp_path / f".{own}.link").symlink_to("left-by-a-stopped-attempt")
        done = serve_socket(tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert os.readlink(tmp_path / "serving.sock") == own  # relative: the same in nginx's container
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([own, "serving.sock"])


def test_serve_socket_without_the_socket_exits_3_and_leaves_the_link(tmp_path):
    (tmp_path / "serving.sock").symlink_to("the-serving-container.sock")
    done = serve_socket(tmp_path)
    assert (done.returncode, done.stdout) == (3, f"no socket {socket.gethostname()}.sock in {tmp_path}\n")
    assert os.readlink(tmp_path / "serving.sock") == "the-serving-container.sock"


def test_probe_asks_the_apps_own_health_path(answers):
    answers.answers = {"/up": 200, "/": 200}  # another app's contract: no /healthz at all
    result = run("probe", f"http://127.0.0.1:{answers.server_address[1]}", "shop.example.test", "/up")
    assert (result.returncode, result.stdout.decode().strip()) == (0, "/up: 200 /: 200")
    assert answers.requests == [("/up", "shop.example.test"), ("/", "shop.example.test")]


# --- sqlite_verify ------------------------------------------------------------------------------------------------

def test_verify_checks_the_copy_and_counts_both_databases_without_writing(tmp_path):
    make_db(tmp_path / "copy.sqlite3", ["a", "b"])
    make_db(tmp_path / "live.sqlite3", ["a", "b", "c"])
    before = (tmp_path / "live.sqlite3").read_bytes()
    result = run("sqlite_verify", str(tmp_path / "copy.sqlite3"), str(tmp_path / "live.sqlite3"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"integrity": "ok", "restored": [1, 2], "live": [1, 3]}
    assert (tmp_path / "live.sqlite3").read_bytes() == before
    alone = run("sqlite_verify", str(tmp_path / "copy.sqlite3"), str(tmp_path / "none.sqlite3"))
    assert json.loads(alone.stdout)["live"] is None and not (tmp_path / "none.sqlite3").exists()


@pytest.mark.parametrize("copy", ["not sqlite", "corrupt index"])
def test_verify_reports_a_copy_that_fails_the_check_and_exits_1(tmp_path, copy):
    if copy == "not sqlite":
        (tmp_path / "copy.sqlite3").write_bytes(b"<html>502 Bad Gateway</html>\n" * 200)
    else:
        corrupt_index(tmp_path / "copy.sqlite3")
    result = run("sqlite_verify", str(tmp_path / "copy.sqlite3"), str(tmp_path / "none.sqlite3"))
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["integrity"] != "ok" and report["restored"] is None, report
    assert b"Traceback" not in result.stderr
