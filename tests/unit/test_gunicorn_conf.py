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
