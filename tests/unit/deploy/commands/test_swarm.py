"""The Swarm builders by exact string: the join token and the secret values stay out of every command line,
and the stack never resolves images from a registry."""

import json

from deploy.commands import swarm
from tests.harness.mockremote import names

P = names()


def test_a_worker_joins_through_the_engine_api_with_the_request_on_stdin_never_in_the_command():
    assert swarm.join("1.41") == (
        "curl -sS --unix-socket /var/run/docker.sock -X POST -H 'Content-Type: application/json' --data-binary @- "
        "-w '\\n%{http_code}' http://localhost/v1.41/swarm/join")
    assert json.loads(swarm.join_request("SWMTKN-1-secret", "10.0.0.5", "10.0.0.6")) == {
        "ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "10.0.0.6", "RemoteAddrs": ["10.0.0.5:2377"],
        "JoinToken": "SWMTKN-1-secret"}
    assert swarm.parse_join("\n200") == ("200", "")
    assert swarm.parse_join('{"message":"This node is already part of a swarm."}\n503') == (
        "503", "This node is already part of a swarm.")
    assert swarm.rotate_join_token() == "docker swarm join-token --rotate -q worker >/dev/null"


def test_curl_versions_are_read():
    assert swarm.parse_curl_version("curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1\n") == (7, 88)
    assert swarm.parse_curl_version("curl 7.29.0 (x86_64-redhat-linux-gnu)") < swarm.CURL_UNIX_SOCKET
    assert swarm.parse_curl_version("") == ()


def test_a_secret_is_created_from_stdin():
    assert swarm.create_secret("mysite_database_url_0123456789ab", "mysite") == (
        "docker secret create --label mysite.project=mysite mysite_database_url_0123456789ab - >/dev/null")


def test_nginx_is_tagged_by_its_image_id():
    assert swarm.nginx_tag("sha256:" + "ab" * 32) == "id-abababababab"


def test_a_stack_deploy_never_resolves_images_from_a_registry():
    assert swarm.stack_deploy(P, "/srv/r", {"MYSITE_TAG": "r1"}) == (
        "cd /srv/r && MYSITE_TAG=r1 docker stack deploy --resolve-image never --prune -c swarm.yml mysite >/dev/null")


def test_a_one_off_job_gets_the_apps_secrets_and_the_stacks_network():
    assert swarm.job(P, "mysite_migrate_r1", "mysite-django:r1", "python manage.py migrate --noinput",
                     {"django_secret_key": "mysite_django_secret_key_x"}, {"DJANGO_ALLOWED_HOSTS": "a b"}) == (
        "docker service create --detach --quiet --name mysite_migrate_r1 --mode replicated-job "
        "--restart-condition none --network mysite_default --label mysite.project=mysite "
        "--secret source=mysite_django_secret_key_x,target=django_secret_key --env 'DJANGO_ALLOWED_HOSTS=a b' "
        "--env DJANGO_SETTINGS_MODULE=mysite.settings.production "
        "mysite-django:r1 python manage.py migrate --noinput >/dev/null")
