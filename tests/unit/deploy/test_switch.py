"""The zero-downtime switch: exact commands, and the order that keeps the old release serving."""

from shlex import quote

import pytest
from fabric.testing.base import Command, MockRemote

from deploy import switch as sw
from deploy.commands import compose, docker, health
from deploy.config import AppConfig, DeployConfig
from deploy.errors import DeployError
from deploy.scripts import source
from tests.harness.mockremote import names, remote, routed, session

CFG = DeployConfig(health_timeout=60, stop_timeout=30)
N = names(CFG)
ENV = "/home/deploy/apps/mysite/shared/.envs/.production"
HTTPS_ENV = "/home/deploy/apps/mysite/shared/.envs/.https"
NEW, OLD = "20261124100509-bbbbbbb", "20261123090000-aaaaaaa"
NEW_C, OLD_C = f"mysite-{NEW}", f"mysite-{OLD}"
LIST = docker.app_containers("mysite")
DIRECT = health.direct_check(NEW_C, "blog.example", 60, AppConfig())
VIA_NGINX = health.nginx_check("mysite_nginx_1", "blog.example", 60, AppConfig())


def test_run_app_is_the_contract_from_architecture():
    assert docker.run_app(N, NEW) == (
        f"docker run -d --name {NEW_C} --network mysite_default --network-alias {NEW_C} --env-file {ENV} "
        f'--env-file "$(test -f {HTTPS_ENV} && echo {HTTPS_ENV} || echo /dev/null)" '
        "-e MYSITE_MIGRATE_ON_START=0 -e MYSITE_SOCKET_DIR=/run/app-sockets "
        "-e DJANGO_SETTINGS_MODULE=mysite.settings.production -e MYSITE_APP_WSGI=mysite.wsgi:application "
        "-e MYSITE_APP_PORT=8000 -e MYSITE_APP_HEALTH_PATH=/healthz --restart unless-stopped "
        "-v mysite_database:/app/database -v mysite_static:/srv/static -v mysite_media:/app/media "
        f"-v mysite_sockets:/run/app-sockets --label mysite.project=mysite --label mysite.release={NEW} "
        f"mysite-django:{NEW}")


def test_https_env_file_sits_beside_the_env_file():
    assert (N.env_file, N.https_env) == (ENV, HTTPS_ENV)


def test_stack_runs_compose_in_the_release_with_its_tag_and_the_shared_env_file():
    assert compose.stack(N, NEW, "build", kind="v1") == (
        f"cd /home/deploy/apps/mysite/releases/{NEW} && MYSITE_TAG={NEW} MYSITE_ENV_FILE={ENV} "
        "MYSITE_NGINX_ENV_FILE=/home/deploy/apps/mysite/shared/.envs/.nginx "
        "MYSITE_POSTGRES_ENV_FILE=/home/deploy/apps/mysite/shared/.envs/.postgres "
        "MYSITE_LITESTREAM_ENV_FILE=/home/deploy/apps/mysite/shared/.envs/.production "
        "MYSITE_HTTP_ADDR=0.0.0.0 MYSITE_HTTP_PORT=80 MYSITE_HTTPS_PORT=443 "
        "MYSITE_APP_WSGI=mysite.wsgi:application MYSITE_APP_PORT=8000 MYSITE_APP_HEALTH_PATH=/healthz "
        "docker-compose -p mysite -f production.yml build")
    assert " docker compose -p mysite -f production.yml up -d --no-deps nginx" in compose.stack(
        N, NEW, "up -d --no-deps nginx", kind="v2")


def test_route_adds_the_shared_alias_and_keeps_the_private_one():
    assert docker.route(N, NEW_C) == (
        f"docker network disconnect mysite_default {NEW_C} && "
        f"docker network connect --alias mysite --alias {NEW_C} mysite_default {NEW_C}")


def test_serving_moves_nginx_s_link_inside_the_new_container():
    assert docker.serve(NEW_C) == f"docker exec {NEW_C} python -c {quote(source('serve_socket'))} /run/app-sockets"


def test_the_link_is_read_from_nginx_s_side_of_the_volume():
    # a container's socket is named after its host name (its ID): a restart reuses the container's name
    assert health.serves("mysite_nginx_1", NEW_C) == (
        '[ "$(docker exec mysite_nginx_1 readlink /run/app-sockets/serving.sock)" = '
        f'"$(docker inspect -f \'{{{{.Config.Hostname}}}}\' {NEW_C}).sock" ]')


def test_old_containers_stop_gracefully_then_go():
    assert docker.stop(["a", "b"], 30) == "docker stop -t 30 a b && docker rm a b"


def test_checks_ask_healthz_and_home_with_the_site_host():
    assert DIRECT == (
        "broken=0; end=$(($(date +%s)+60)); until docker exec " + NEW_C + " python -c " + quote(source("probe"))
        + " http://127.0.0.1:8000 blog.example /healthz; do "
        "if [ $? -eq 3 ]; then broken=$((broken+1)); else broken=0; fi; if [ $broken -ge 10 ]; then exit 3; fi; "
        "if [ \"$(docker inspect -f '{{.State.Status}} {{.RestartCount}}' "
        + NEW_C + " 2>/dev/null)\" != 'running 0' ]; then echo '" + NEW_C + " is not running (crashed or restarting)'; "
        "exit 2; "
        "fi; if [ \"$(date +%s)\" -ge \"$end\" ]; then exit 1; fi; sleep 1; done")
    # through nginx: no cache to wait out (nginx follows the socket's link at each connection)
    assert VIA_NGINX == ("end=$(($(date +%s)+60)); until docker exec mysite_nginx_1 python3 -c "
                         + quote(source("probe")) + " unix:/run/nginx-checks.sock blog.example /healthz; "
                         "do if [ \"$(date +%s)\" -ge \"$end\" ]; then exit 1; fi; sleep 1; done")


def test_probe_script_compiles():
    compile(source("probe"), "probe", "exec")


def test_parse_containers():
    assert docker.parse_containers(f"{OLD_C} Up 3 hours (healthy)\nmysite_mysite_1 Exited (0) 2 days ago\n") == {
        OLD_C: True, "mysite_mysite_1": False}


def _switch(*commands):
    with MockRemote() as mock:
        mock.expect_sessions(session(*commands))
        sw.switch(remote(), N, NEW, "blog.example", "mysite_nginx_1")


def test_switch_starts_checks_routes_verifies_then_stops_the_old():
    _switch(
        Command(LIST, out=f"{OLD_C} Up 2 hours (healthy)\nleftover Exited (137) 1 day ago\n".encode()),
        docker.run_app(N, NEW), DIRECT, *routed(N, NEW_C), VIA_NGINX,
        f"docker stop -t 30 {OLD_C} leftover && docker rm {OLD_C} leftover")


def test_first_switch_has_nothing_to_stop():
    _switch(Command(LIST), docker.run_app(N, NEW), DIRECT, *routed(N, NEW_C), VIA_NGINX)


ABORT = [docker.logs_tail(NEW_C, sw.LOG_SEARCHED),
         f"docker stop -t 10 {NEW_C} >/dev/null 2>&1; docker rm -f {NEW_C} >/dev/null 2>&1 || true"]


def test_unhealthy_new_container_is_removed_and_the_old_one_keeps_serving(capsys):
    with pytest.raises(DeployError) as info:
        _switch(Command(LIST, out=f"{OLD_C} Up 2 hours\n".encode()), docker.run_app(N, NEW),
                Command(DIRECT, out=b"/healthz: 500 /: 500\n/healthz: 500 /: 500\n", exit=1),
                Command(ABORT[0], out=b"Traceback...\nZeroDivisionError: boom\n"), ABORT[1], f"docker start {OLD_C}")
    assert str(info.value) == (
        f"{NEW_C} failed its health check (/healthz: 500 /: 500); rolled back: {NEW_C} removed, still serving: "
        f"{OLD_C} (its last log lines are above)")
    assert "| ZeroDivisionError: boom" in capsys.readouterr().out


def test_the_exception_the_app_raised_is_in_the_one_line(capsys):
    """A crash at import: gunicorn's own halt comes last in the log, the app's exception above the lines shown."""
    log = (b"[INFO] Booting worker with pid: 7\nTraceback (most recent call last):\n  File \"/app/x.py\", line 1\n"
           b"RuntimeError: bad settings\n" + b"[INFO] filler\n" * 40 + b"Traceback (most recent call last):\n"
           b"  File \"/venv/gunicorn/arbiter.py\", line 683\n"
           b"gunicorn.errors.HaltServer: <HaltServer 'Worker failed to boot.' 3>\n")
    with pytest.raises(DeployError) as info:
        _switch(Command(LIST, out=f"{OLD_C} Up 2 hours\n".encode()), docker.run_app(N, NEW),
                Command(DIRECT, out=f"{NEW_C} is not running (crashed or restarting)\n".encode(), exit=2),
                Command(ABORT[0], out=log), ABORT[1], f"docker start {OLD_C}")
    assert str(info.value) == (
        f"{NEW_C} failed its health check ({NEW_C} is not running (crashed or restarting)); the app raised "
        f"RuntimeError: bad settings; rolled back: {NEW_C} removed, still serving: {OLD_C} (its last log lines "
        "are above)")
    assert "RuntimeError: bad settings" not in capsys.readouterr().out  # 40 lines above the 30 shown


def test_a_new_container_that_keeps_failing_its_home_page_is_said_to(capsys):
    with pytest.raises(DeployError) as info:
        _switch(Command(LIST, out=f"{OLD_C} Up 2 hours\n".encode()), docker.run_app(N, NEW),
                Command(DIRECT, out=b"/healthz: 200 /: 500\n" * 10, exit=3), *ABORT[:1], ABORT[1],
                f"docker start {OLD_C}")
    assert str(info.value).startswith(f"{NEW_C} failed its health check (/healthz: 200 /: 500, 10 times in a row); "
                                      f"rolled back: {NEW_C} removed, still serving: {OLD_C}")


def test_failure_through_nginx_after_routing_stops_the_new_one_gracefully():
    with pytest.raises(DeployError, match="nginx could not serve the new release"):
        _switch(Command(LIST, out=f"{OLD_C} Up 2 hours\n".encode()), docker.run_app(N, NEW), DIRECT,
                *routed(N, NEW_C), Command(VIA_NGINX, exit=1), *ABORT, f"docker start {OLD_C}")


def test_a_link_nginx_does_not_see_aborts_before_any_old_container_stops():
    route, serve, serves = routed(N, NEW_C)
    with pytest.raises(DeployError) as info:
        _switch(Command(LIST, out=f"{OLD_C} Up 2 hours\n".encode()), docker.run_app(N, NEW), DIRECT,
                route, serve, Command(serves, exit=1), *ABORT, f"docker start {OLD_C}")
    assert str(info.value).startswith(f"nginx does not see {NEW_C}'s socket (its container lacks the sockets' volume: ")
    assert f"rolled back: {NEW_C} removed, still serving: {OLD_C}" in str(info.value)


def test_an_image_that_makes_no_socket_is_refused_and_the_old_one_keeps_serving():
    route, serve, _ = routed(N, NEW_C)
    with pytest.raises(DeployError) as info:
        _switch(Command(LIST, out=f"{OLD_C} Up 2 hours\n".encode()), docker.run_app(N, NEW), DIRECT,
                route, Command(serve, out=b"no socket 3f2a1b4c5d6e.sock in /run/app-sockets\n", exit=3),
                *ABORT, f"docker start {OLD_C}")
    assert str(info.value).startswith(f"{NEW_C} made no socket for nginx (no socket 3f2a1b4c5d6e.sock in "
                                      "/run/app-sockets): its image predates routing through sockets; "
                                      "deploy that commit again")


def test_ctrl_c_during_the_check_also_removes_the_new_container():
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(LIST), docker.run_app(N, NEW), *ABORT))
        server = remote()
        real_run = server.run

        def run(command, **kwargs):
            if command == DIRECT:
                raise KeyboardInterrupt
            return real_run(command, **kwargs)
        server.run = run
        with pytest.raises(KeyboardInterrupt):
            sw.switch(server, N, NEW, "blog.example", "mysite_nginx_1")


def test_with_on_routed_a_failure_after_routing_keeps_the_new_container():
    """The move to PostgreSQL: once traffic may reach the new container, nothing is rolled back."""
    told = []
    with MockRemote() as mock, pytest.raises(DeployError, match="nginx could not serve the new release"):
        mock.expect_sessions(session(Command(LIST, out=f"{OLD_C} Up 2 hours\n".encode()), docker.run_app(N, NEW),
                                     DIRECT, *routed(N, NEW_C), Command(VIA_NGINX, exit=1)))
        sw.switch(remote(), N, NEW, "blog.example", "mysite_nginx_1", on_routed=lambda: told.append("routed"))
    assert told == ["routed"]


def test_with_on_routed_a_failure_before_routing_still_rolls_back():
    told = []
    with MockRemote() as mock, pytest.raises(DeployError, match="rolled back"):
        mock.expect_sessions(session(Command(LIST, out=f"{OLD_C} Up 2 hours\n".encode()), docker.run_app(N, NEW),
                                     Command(DIRECT, exit=1), *ABORT, f"docker start {OLD_C}"))
        sw.switch(remote(), N, NEW, "blog.example", "mysite_nginx_1", on_routed=lambda: told.append("routed"))
    assert told == []


def test_a_restart_that_failed_after_routing_leaves_the_old_one_aside():
    aside = f"{NEW_C}-on-sqlite"
    with MockRemote() as mock, pytest.raises(DeployError, match="exit 1"):
        mock.expect_sessions(session(docker.rename(NEW_C, aside), Command(LIST, out=f"{NEW_C} Up 2 hours\n".encode()),
                                     docker.run_app(N, NEW), DIRECT, *routed(N, NEW_C), VIA_NGINX,
                                     Command(docker.stop([aside], 30), exit=1)))
        sw.restart(remote(), N, NEW, "blog.example", "mysite_nginx_1", [NEW_C], aside="on-sqlite",
                   on_routed=lambda: None)


def test_a_stopped_leftover_with_the_same_name_is_removed_first():
    _switch(Command(LIST, out=f"{NEW_C} Exited (1) 1 hour ago\n".encode()), f"docker rm {NEW_C}",
            docker.run_app(N, NEW), DIRECT, *routed(N, NEW_C), VIA_NGINX)


def test_switching_to_the_release_already_serving_is_refused():
    with pytest.raises(DeployError, match="already serving"):
        _switch(Command(LIST, out=f"{NEW_C} Up 1 hour\n".encode()))


NGINX_PS = docker.nginx_container("mysite")


IMAGES = docker.image_ids("mysite_nginx_1", f"mysite-nginx:{NEW}")
BESIDE = compose.stack(N, NEW, "up -d --no-deps --no-recreate --scale nginx=2 nginx", kind="v1")
NEW_NGINX = health.new_nginx_check("mysite_nginx_2", "blog.example", 60, AppConfig())
ANY_STATE = docker.nginx_containers_any_state("mysite")


def test_nginx_with_the_same_image_is_left_alone(capsys):
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(NGINX_PS, out=b"mysite_nginx_1\n"),
                                     Command(IMAGES, out=b"sha256:aaa\nsha256:aaa\n")))
        assert sw.ensure_nginx(remote(), N, NEW, "v1", "blog.example") == "mysite_nginx_1"
    assert "left alone, no reload" in capsys.readouterr().out


def test_a_new_nginx_image_starts_beside_the_running_one_which_then_stops_gracefully(capsys):
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(NGINX_PS, out=b"mysite_nginx_1\n"),
                                     Command(IMAGES, out=b"sha256:aaa\nsha256:bbb\n"),
                                     Command(docker.network_mode("mysite_nginx_1"), out=b"host\n"),
                                     BESIDE, Command(NGINX_PS, out=b"mysite_nginx_1\nmysite_nginx_2\n"),
                                     NEW_NGINX, "docker stop -t 30 mysite_nginx_1 && docker rm mysite_nginx_1"))
        assert sw.ensure_nginx(remote(), N, NEW, "v1", "blog.example") == "mysite_nginx_2"
    out = capsys.readouterr().out
    assert "nginx: its image changed: start the new nginx beside mysite_nginx_1" in out
    assert "stop the old nginx mysite_nginx_1 gracefully" in out


def test_the_builders_of_the_nginx_update():
    assert compose.START_NGINX_BESIDE == "up -d --no-deps --no-recreate --scale nginx=2 nginx"
    assert docker.network_mode("mysite_nginx_1") == "docker inspect -f '{{.HostConfig.NetworkMode}}' mysite_nginx_1"
    # the probe through the new nginx's own socket, given up on when that container crashes or restarts
    assert NEW_NGINX.startswith("end=$(($(date +%s)+60)); until docker exec mysite_nginx_2 python3 -c ")
    assert " unix:/run/nginx-checks.sock blog.example /healthz; do " in NEW_NGINX
    assert "{{.State.Status}} {{.RestartCount}}' mysite_nginx_2 2>/dev/null)\" != 'running 0' ]" in NEW_NGINX


def test_a_new_nginx_that_does_not_serve_is_removed_and_the_old_one_keeps_serving(capsys):
    with MockRemote() as mock, pytest.raises(DeployError) as info:
        mock.expect_sessions(session(Command(NGINX_PS, out=b"mysite_nginx_1\n"),
                                     Command(IMAGES, out=b"sha256:aaa\nsha256:bbb\n"),
                                     Command(docker.network_mode("mysite_nginx_1"), out=b"host\n"),
                                     BESIDE, Command(NGINX_PS, out=b"mysite_nginx_2\nmysite_nginx_1\n"),
                                     Command(NEW_NGINX, out=b"mysite_nginx_2 is not running (crashed or restarting)\n",
                                             exit=2),
                                     Command(ANY_STATE, out=b"mysite_nginx_2\nmysite_nginx_1\n"),
                                     Command(docker.logs_tail("mysite_nginx_2", 30),
                                             out=b"[emerg] bind() to 0.0.0.0:80 failed (98: Address in use)\n"),
                                     docker.discard("mysite_nginx_2")))
        sw.ensure_nginx(remote(), N, NEW, "v1", "blog.example")
    assert str(info.value) == ("the new nginx mysite_nginx_2 does not serve (mysite_nginx_2 is not running (crashed or "
                               "restarting)); rolled back: mysite_nginx_2 removed, mysite_nginx_1 still serves "
                               "(the log is above)")
    assert "| [emerg] bind() to 0.0.0.0:80 failed" in capsys.readouterr().out


def test_an_nginx_compose_could_not_start_is_removed_too():
    """E.g. a rollback to a release whose production.yml still publishes nginx's ports through Docker."""
    with MockRemote() as mock, pytest.raises(DeployError) as info:
        mock.expect_sessions(session(Command(NGINX_PS, out=b"mysite_nginx_1\n"),
                                     Command(IMAGES, out=b"sha256:aaa\nsha256:bbb\n"),
                                     Command(docker.network_mode("mysite_nginx_1"), out=b"host\n"),
                                     Command(BESIDE, out=b"Error starting userland proxy: listen tcp4 0.0.0.0:80: "
                                                         b"bind: address already in use\n", exit=1),
                                     Command(ANY_STATE, out=b"mysite_nginx_1\nmysite_nginx_2\n"),
                                     docker.logs_tail("mysite_nginx_2", 30), docker.discard("mysite_nginx_2")))
        sw.ensure_nginx(remote(), N, NEW, "v1", "blog.example")
    assert "address already in use; rolled back: mysite_nginx_2 removed, mysite_nginx_1 still serves" in str(info.value)
    assert docker.nginx_containers_any_state("mysite") == (
        "docker ps -a --filter label=com.docker.compose.project=mysite "
        "--filter label=com.docker.compose.service=nginx --format '{{.Names}}'")


def test_an_nginx_that_publishes_its_ports_through_docker_is_recreated_stop_first_once(capsys):
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(NGINX_PS, out=b"mysite_nginx_1\n"),
                                     Command(IMAGES, out=b"sha256:aaa\nsha256:bbb\n"),
                                     Command(docker.network_mode("mysite_nginx_1"), out=b"mysite_default\n"),
                                     compose.stack(N, NEW, "up -d --no-deps nginx", kind="v1"),
                                     Command(NGINX_PS, out=b"mysite_nginx_1\n")))
        assert sw.ensure_nginx(remote(), N, NEW, "v1", "blog.example") == "mysite_nginx_1"
    assert "recreate nginx on the host's network, stop-first (once" in capsys.readouterr().out


def test_nginx_is_started_when_missing():
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(NGINX_PS), compose.stack(N, NEW, "up -d --no-deps nginx", kind="v2"),
                                     Command(NGINX_PS, out=b"mysite-nginx-1\n")))
        assert sw.ensure_nginx(remote(), N, NEW, "v2", "blog.example") == "mysite-nginx-1"

