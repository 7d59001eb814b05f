"""A request the app never answered gets nginx's clear "try again in a moment" page, as a 503."""

import re
from pathlib import Path

NGINX = Path(__file__).resolve().parents[2] / "compose/production/nginx"


def test_502_and_504_become_a_503_page_that_says_to_try_again():
    conf = (NGINX / "mysite.conf.template").read_text()
    assert "error_page 502 504 =503 /mysite-retry.html;" in conf
    block = re.search(r"location = /mysite-retry.html \{(.*?)\n    \}", conf, re.S).group(1)
    assert "internal;" in block and "root /etc/nginx/mysite;" in block
    assert "add_header Retry-After 30 always;" in block
    assert "Try again in a moment" in (NGINX / "mysite-retry.html").read_text()


def test_the_page_is_in_the_image_where_the_config_looks():
    dockerfile = (NGINX / "Dockerfile").read_text()
    assert "compose/production/nginx/mysite-retry.html /etc/nginx/mysite/" in dockerfile
