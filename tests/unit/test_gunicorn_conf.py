"""compose/production/django/gunicorn.conf.py: where gunicorn listens (8000, and the socket nginx follows)."""

import runpy
import socket
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "compose/production/django/gunicorn.conf.py"


def bind(monkeypatch, **environ) -> list[str]:
    for key in ("MYSITE_SOCKET", "MYSITE_SOCKET_DIR", "MYSITE_APP_PORT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(CONF))["bind"]


def test_a_deploy_s_container_names_its_socket_after_its_host_name(monkeypatch):
    # a restart reuses the container's name: two containers of one name at once must not share a socket
    assert bind(monkeypatch, MYSITE_SOCKET_DIR="/run/app-sockets") == [
        "0.0.0.0:8000", f"unix:/run/app-sockets/{socket.gethostname()}.sock"]


def test_a_plain_compose_up_listens_where_nginx_looks(monkeypatch):
    assert bind(monkeypatch, MYSITE_SOCKET="/run/app-sockets/serving.sock") == [
        "0.0.0.0:8000", "unix:/run/app-sockets/serving.sock"]


def test_without_either_only_port_8000(monkeypatch):
    assert bind(monkeypatch) == ["0.0.0.0:8000"]  # a cluster's task: nginx finds it by name


def test_the_app_port_comes_from_the_app_contract(monkeypatch):
    assert bind(monkeypatch, MYSITE_APP_PORT="9000", MYSITE_SOCKET_DIR="/run/app-sockets") == [
        "0.0.0.0:9000", f"unix:/run/app-sockets/{socket.gethostname()}.sock"]


def conf(monkeypatch, **environ) -> dict:
    for key in ("MYSITE_SOCKET", "MYSITE_SOCKET_DIR", "MYSITE_APP_PORT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(CONF))


def test_a_plain_up_after_a_deploy_binds_where_nginx_s_link_pointed_at_a_gone_container(monkeypatch, tmp_path):
    link = tmp_path / "serving.sock"
    link.symlink_to("3f2a1b4c5d6e.sock")  # a deploy's container, gone: its gunicorn removed its socket
    settings = conf(monkeypatch, MYSITE_SOCKET=str(link))
    server = socket.socket(socket.AF_UNIX)
    try:
        settings["clear_link"]()
        server.bind(str(link))  # a link, even dangling, makes bind() fail with "Address already in use"
    finally:
        server.close()


def test_a_deploy_s_own_socket_folder_is_left_alone(monkeypatch, tmp_path):
    link = tmp_path / "serving.sock"
    link.symlink_to("3f2a1b4c5d6e.sock")
    conf(monkeypatch, MYSITE_SOCKET_DIR=str(tmp_path))["clear_link"]()
    assert link.is_symlink()  # nginx's link is the deploy's to move, never a starting container's


def test_gunicorn_clears_the_link_before_it_binds():
    assert "    clear_link()" in CONF.read_text().split("def on_starting(server):", 1)[1].split("\ndef ", 1)[0]
