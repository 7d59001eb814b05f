"""The cluster's HTTPS builders by exact string: certbot runs in the certbot task (its saved deploy hook hands
every certificate to the nodes), and each node's nginx switches with a tested config and a graceful reload."""

from deploy.commands import swarm_https
from tests.harness.mockremote import names

P = names()


def test_the_certs_service_secret_is_read_from_its_spec_by_file_name():
    assert swarm_https.certs_secret(P) == (
        "docker service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}"
        "{{if eq .File.Name \"certs\"}}{{.SecretName}}{{end}}{{end}}' mysite_certs 2>/dev/null || true")
    assert swarm_https.placeholder(P) == "mysite_certs_none"


def test_certonly_runs_in_the_certbot_task_with_the_publishing_hook_saved_for_renewals():
    assert swarm_https.certonly("c0ffee", ["blog.example", "www.blog.example"], "me@blog.example",
                                server="https://10.0.0.9:14000/dir") == (
        "docker exec c0ffee /mysite-entrypoint.sh certbot certonly --webroot -w /var/www/acme "
        "--cert-name blog.example -d blog.example -d www.blog.example --email me@blog.example "
        "--agree-tos --non-interactive --no-eff-email --reuse-key --server https://10.0.0.9:14000/dir "
        "--deploy-hook '/mysite-entrypoint.sh certs-publish'")
    assert " --staging --deploy-hook" in swarm_https.certonly("c", ["blog.example"], "me@blog.example", staging=True)


def test_publish_runs_the_hook_by_hand_and_its_secret_is_read_back():
    assert swarm_https.publish("c0ffee", ["blog.example", "www.blog.example"]) == (
        "docker exec -e RENEWED_LINEAGE=/etc/letsencrypt/live/blog.example "
        "-e RENEWED_DOMAINS='blog.example www.blog.example' c0ffee /mysite-entrypoint.sh certs-publish")
    assert swarm_https.parse_published("noise\ncerts: mysite_certs_0123456789ab\n") == "mysite_certs_0123456789ab"
    assert swarm_https.parse_published("Traceback ...\n") == ""


def test_renew_forces_one_lineage_in_the_certbot_task():
    assert swarm_https.renew("c0ffee", "blog.example") == (
        "docker exec c0ffee /mysite-entrypoint.sh certbot renew --cert-name blog.example --force-renewal --reuse-key "
        "--no-random-sleep-on-renew --non-interactive")


def test_a_node_is_switched_by_a_tested_config_and_a_graceful_reload():
    assert swarm_https.copied("n1") == "docker exec n1 cat /etc/letsencrypt/mysite/certs-sha256 2>/dev/null || true"
    assert swarm_https.serve_https("n1") == (
        "docker exec n1 sh -c '/mysite-entrypoint.sh render && nginx -t 2>&1 && nginx -s reload'")


def test_django_is_told_by_a_rolling_update_of_the_app_service():
    assert swarm_https.app_https(P) == (
        "docker service update --detach --env-add DJANGO_HTTPS=true mysite_mysite >/dev/null")
