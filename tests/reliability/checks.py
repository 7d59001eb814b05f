"""What every reliability case asserts: one clear error line, the server unchanged, the data intact."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from tests.harness import flows
from tests.harness.flows import APP, DOMAIN

COMMENT = "a comment that must survive everything"
QUOTED = "    | "  # deploy/output.py's tail and the rollback's log lines


def one_error(done, *words: str) -> str:
    """Non-zero exit, exactly one `error:` line (naming ``words``), and no traceback of the toolkit's anywhere (a
    command's or a container's log it quotes, ``    | ...``, is the app's: a crashed app's log has its traceback)."""
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert not [line for line in output.splitlines() if "Traceback" in line and not line.startswith(QUOTED)], output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


SNAPSHOT = f"""\
echo '# files'; find /home/deploy /etc/docker /etc/sudoers.d -xdev -printf '%p %s %m %T@\\n' 2>/dev/null | sort
echo '# containers'; docker ps -a --format '{{{{.Names}}}} {{{{.Image}}}} {{{{.State}}}}' 2>/dev/null | sort
echo '# volumes'; docker volume ls -q 2>/dev/null | sort
echo '# images'; docker images --format '{{{{.Repository}}}}:{{{{.Tag}}}} {{{{.ID}}}}' 2>/dev/null | sort
echo '# networks'; docker network ls --format '{{{{.Name}}}}' 2>/dev/null | sort
echo '# packages'; dpkg-query -W -f '${{Package}} ${{Version}}\\n' | sort
echo '# groups'; getent group docker sudo
echo '# lock'; cat {APP}/.deploy.lock/holder 2>/dev/null || echo none
"""


def snapshot(server) -> str:
    """The server's state as root sees it (through docker exec, not the SSH under test)."""
    return server.exec(SNAPSHOT).stdout


def assert_unchanged(before: str, after: str) -> None:
    if before != after:
        old, new = set(before.splitlines()), set(after.splitlines())
        raise AssertionError(f"the server changed: gone {sorted(old - new)[:20]}, new {sorted(new - old)[:20]}")


def current_release(server) -> str:
    return server.exec(f"basename $(readlink {APP}/current)").stdout.strip()


def _running(server) -> list[tuple[str, str]]:
    """(name, restart policy) of the running app containers."""
    out = server.exec("docker ps -q --filter label=mysite.project=mysite | xargs -r docker inspect "
                      "-f '{{.Name}} {{.HostConfig.RestartPolicy.Name}}'").stdout
    return [(name.lstrip("/"), policy) for name, policy in (line.split() for line in out.splitlines() if line)]


def app_containers(server) -> list[str]:
    """The serving app containers (a warm one, kept for a fast rollback, runs without a restart policy)."""
    return sorted(name for name, policy in _running(server) if policy != "no")


def warm_containers(server) -> list[str]:
    return sorted(name for name, policy in _running(server) if policy == "no")


def all_app_containers(server) -> list[str]:
    out = server.exec("docker ps -a --filter label=mysite.project=mysite --format '{{.Names}}'").stdout
    return sorted(out.split())


CONTENT = (
    "import hashlib, json; from blog.models import Post, Comment; "
    "posts = sorted((p.pk, p.title, p.body) for p in Post.objects.all()); "
    "comments = sorted((c.pk, c.post_id, c.name, c.text) for c in Comment.objects.all()); "
    "print(json.dumps({'posts': len(posts), 'comments': len(comments), "
    "'digest': hashlib.sha256(repr((posts, comments)).encode()).hexdigest()}))"
)


def manage(server, command: str, timeout: float = 120) -> str:
    """manage.py in the running app container (root through docker exec: inspection, not the code under test)."""
    name = app_containers(server)[0]
    return server.exec(f"docker exec {name} python manage.py {command}", timeout=timeout).stdout


def content(server) -> dict:
    """Posts and comments: counts and a digest of every row's text."""
    out = manage(server, f"shell -c {json.dumps(CONTENT)}")
    return json.loads(out.strip().splitlines()[-1])


def comment_count(server, marker: str) -> int:
    code = f"from blog.models import Comment; print(Comment.objects.filter(text__startswith={marker!r}).count())"
    return int(manage(server, f"shell -c {json.dumps(code)}").strip().splitlines()[-1])


def post_comment(server, post: str, **fields: str) -> tuple[int, str]:
    """GET the post for a CSRF token, POST the comment form; returns the final (status, page)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    status, body = flows.get(server, post, opener)
    assert status == 200, body[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    pk = re.search(r"/posts/(\d+)/", post).group(1)
    form = {"csrfmiddlewaretoken": token, "name": "Ann", "email": "ann@example.com", "url": "", "text": "hello"}
    form.update(fields)
    request = urllib.request.Request(
        f"{server.http_url}/comment/{pk}", data=urllib.parse.urlencode(form).encode(),
        headers={"Host": DOMAIN, "Referer": f"http://{DOMAIN}{post}"})
    try:
        with opener.open(request, timeout=20) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def seed(server, checkout, laptop) -> None:
    done = flows.fab(server, checkout, laptop, "manage", "seed_demo --posts 3")
    assert done.returncode == 0, done.stdout + done.stderr
    status, page = post_comment(server, flows.first_post(server), text=COMMENT)
    assert status == 200 and COMMENT in page, page[:2000]


def wait_serving(server, timeout: float = 240) -> None:
    """Until / answers 200 through nginx (after a reboot or an `up`)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = flows.get(server, "/")
            if last[0] == 200:
                return
        except OSError as error:
            last = error
        time.sleep(1)
    raise AssertionError(f"the blog did not come back within {timeout:.0f}s: {str(last)[:300]}")


class Running:
    """A `fab` started with wait=False whose output is read while it runs (to act at a given step)."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(s, b), daemon=True)
                         for s, b in ((process.stdout, self.out), (process.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, buffer: list[str]) -> None:
        for line in stream:
            buffer.append(line)

    def wait_for(self, text: str, timeout: float = 600) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.out):
                if text in line:
                    return line
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.finish(5, check=False)
        raise AssertionError(f"fab never printed {text!r}:\n{''.join(self.out)}{''.join(self.err)}")

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends (to fab itself, not the ssh session)

    def finish(self, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)
            if check:
                raise
        for reader in self._readers:
            reader.join(10)
        done = subprocess.CompletedProcess(self.process.args, self.process.returncode, "".join(self.out),
                                           "".join(self.err))
        print(f"$ fab (background) -> exit {done.returncode}\n{done.stdout}{done.stderr}")
        return done
