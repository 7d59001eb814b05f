"""Settings that would fail late, or do harm, are refused at load: one line, before any connection."""


import re

import pytest

from deploy import config
from deploy.errors import DeployError


class Context:
    def __init__(self, section):
        self.config = {"deploy": section}


@pytest.mark.parametrize("path", ["/", "/etc", "/etc/mysite", "/home", "/home/deploy", "/usr/local/blog",
                                  "/root/blog", "/var/lib/docker", "/srv", "/tmp/blog", ".", "./", "",
                                  "apps/../../etc", "/srv/../etc"])
def test_system_folders_homes_and_traversal_are_refused_as_app_path(path):
    with pytest.raises(DeployError, match="app_path="):
        config.load({"app_path": path}, {})


@pytest.mark.parametrize("path", ["apps/mysite", "blog", "/srv/mysite", "/home/deploy/blog", "/var/www/blog",
                                  "/opt/mysite", "apps/my site"])
def test_folders_of_the_apps_own_are_accepted(path):
    assert config.load({"app_path": path}, {}).app_path == path


@pytest.mark.parametrize(("key", "value"), [
    ("app_path", "apps/x\nExecStartPre=/bin/evil"), ("compose_file", "prod\ruction.yml"), ("known_hosts", "a\x00b"),
    ("env_file", ".envs/\x1b[31m.production"),
])
def test_newlines_and_control_characters_are_refused_in_every_setting(key, value):
    with pytest.raises(DeployError, match=f"deploy setting {key}=.* holds a newline or control character"):
        config.load({key: value}, {})


@pytest.mark.parametrize("addr", ["localhost", "1.2.3", "::1", "0.0.0.0;rm -rf /", "", "256.0.0.1"])
def test_http_addr_must_be_an_ipv4_address(addr):
    with pytest.raises(DeployError, match="http_addr=.* is not an IPv4 address"):
        config.load({"http_addr": addr}, {})


def test_http_addr_accepts_addresses():
    assert config.load({"http_addr": "127.0.0.1"}, {}).http_addr == "127.0.0.1"


@pytest.mark.parametrize("name", ["/etc/production.yml", "../production.yml", "production", ""])
def test_compose_file_must_be_a_yml_file_of_the_project(name):
    with pytest.raises(DeployError, match="compose_file=.* must be a .yml file of the project"):
        config.load({"compose_file": name}, {})


def test_gate_settings_name_the_projects_settings_module():
    assert config.DeployConfig().gate_settings == "mysite.settings.test"
    assert config.load({"gate_settings": "shop.settings.ci"}, {}).gate_settings == "shop.settings.ci"
    assert config.load({}, {"MYSITE_GATE_SETTINGS": "shop.test_settings"}).gate_settings == "shop.test_settings"


@pytest.mark.parametrize("name", ["", "shop/settings.py", "shop.settings.", "1shop.settings", "shop settings",
                                  "$(id)"])
def test_gate_settings_that_are_no_module_name_are_refused(name):
    with pytest.raises(DeployError, match=r"gate_settings=.* is not a Python module name: .*e\.g\. mysite"):
        config.load({"gate_settings": name}, {})


@pytest.mark.parametrize("key", ["keep_releases", "keep_backups", "health_timeout", "stop_timeout"])
def test_huge_numbers_are_refused(key):
    with pytest.raises(DeployError, match=f"{key} must be at least 1 and at most"):
        config.load({key: 10**30}, {})


def test_keep_warm_is_seconds_from_zero_to_a_week():
    assert config.DeployConfig().keep_warm == 600
    assert config.load({"keep_warm": "0"}, {}).keep_warm == 0
    assert config.load({"keep_warm": 60}, {"MYSITE_KEEP_WARM": " 15 "}).keep_warm == 15
    for value in (-1, 10**30):
        with pytest.raises(DeployError, match="keep_warm must be at least 0 .* and at most 604800 seconds"):
            config.load({"keep_warm": value}, {})
    with pytest.raises(DeployError, match="keep_warm must be a whole number, not '10m'"):
        config.load({}, {"MYSITE_KEEP_WARM": "10m"})


def test_a_misspelled_variable_names_the_setting_meant():
    with pytest.raises(DeployError) as info:
        config.load({}, {"MYSITE_KEEP_RELEASE": "3"})
    assert str(info.value) == ("environment variable MYSITE_KEEP_RELEASE is not a deploy setting "
                               "(did you mean MYSITE_KEEP_RELEASES?): rename or unset it")


@pytest.mark.parametrize("name", ["MYSITE_TAG", "MYSITE_E2E", "MYSITE_E2E_KEEP", "MYSITE_MIGRATE_ON_START",
                                  "MYSITE_LOCAL_PORT", "PATH"])
def test_other_variables_of_the_project_are_left_alone(name):
    assert config.load({}, {name: "x"}) == config.DeployConfig()


@pytest.mark.parametrize("section", ["mysite", ["app_name", "blog"], 3])
def test_a_deploy_section_that_is_not_a_mapping_is_one_line(section):
    with pytest.raises(DeployError, match=r"fabric.yaml: `deploy:` must be a section of settings"):
        config.from_context(Context(section))


def test_config_defaults_then_file_then_env_then_flags():
    cfg = config.load({"keep_releases": "3", "app_name": "blog"}, {"MYSITE_KEEP_RELEASES": "4"}, health_timeout=9)
    assert (cfg.app_name, cfg.keep_releases, cfg.health_timeout, cfg.keep_backups) == ("blog", 4, 9, 10)


def test_config_flags_left_unset_do_not_override():
    assert config.load({"http_port": 8080}, {}, http_port=None).http_port == 8080


@pytest.mark.parametrize("key, suggestion", [("keep_release", "keep_releases"), ("helth_timeout", "health_timeout"),
                                             ("app_nmae", "app_name")])
def test_misspelled_key_names_the_nearest_known_key(key, suggestion):
    with pytest.raises(DeployError, match=f"unknown deploy key '{key}' \\(did you mean {suggestion}\\?\\)"):
        config.load({key: 1}, {})


def test_unknown_key_without_near_match_lists_known_keys():
    with pytest.raises(DeployError, match="known keys: app, app_path"):
        config.load({"zzz": 1}, {})


@pytest.mark.parametrize("settings, message", [
    ({"http_port": 0}, "http_port=0 is not a TCP port"),
    ({"https_port": 70000}, "https_port=70000 is not a TCP port"),
    ({"http_port": "eighty"}, "http_port must be a whole number"),
    ({"http_port": 8000, "https_port": 8000}, "same port"),
    ({"app_name": "My Site"}, "not usable as a Docker name"),
    ({"keep_releases": 0}, "keep_releases must be at least 1"),
    ({"app_path": "../etc"}, "without '..'"),
])
def test_bad_settings_are_one_clear_line(settings, message):
    with pytest.raises(DeployError, match=message) as info:
        config.load(settings, {})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["shop_", "shop-", "_shop", "-shop", "shop___2", "shop_-2", "shop.2", "a" * 41, ""])
def test_an_app_name_docker_refuses_in_an_image_name_is_refused(name):
    with pytest.raises(DeployError, match="not usable as a Docker name"):
        config.load({"app_name": name}, {})


@pytest.mark.parametrize("name", ["shop", "my-shop", "my_shop", "my__shop", "my--shop", "shop2", "2shop", "a" * 40])
def test_app_names_docker_accepts_are_kept(name):
    assert config.load({"app_name": name}, {}).app_name == name


def test_bad_env_value_is_reported():
    with pytest.raises(DeployError, match="keep_releases must be a whole number"):
        config.load({}, {"MYSITE_KEEP_RELEASES": "many"})


def test_the_app_section_defaults_to_the_blog():
    app = config.load({}, {}).app
    assert (app.name, app.settings, app.wsgi, app.port, app.health_path, app.gate_settings) == (
        "mysite", "mysite.settings.production", "mysite.wsgi:application", 8000, "/healthz", "mysite.settings.test")


def test_the_app_section_then_its_variables_then_flags():
    section = {"app": {"name": "shop", "settings": "shop.settings.prod", "wsgi": "shop.wsgi:app", "port": "9000",
                       "health_path": "/up", "gate_settings": "shop.settings.ci"}}
    cfg = config.load(section, {})
    assert cfg.app == config.AppConfig("shop", "shop.settings.prod", "shop.wsgi:app", 9000, "/up", "shop.settings.ci")
    assert (cfg.app_name, cfg.gate_settings, cfg.app_path) == ("shop", "shop.settings.ci", "apps/shop")
    environ = {"MYSITE_APP_PORT": "9100", "MYSITE_APP_HEALTH_PATH": "/ready", "MYSITE_APP_SETTINGS": "shop.other",
               "MYSITE_APP_WSGI": "shop.asgi:wsgi", "MYSITE_APP_GATE_SETTINGS": "shop.gate"}
    app = config.load(section, environ).app
    assert (app.port, app.health_path, app.settings, app.wsgi, app.gate_settings) == (
        9100, "/ready", "shop.other", "shop.asgi:wsgi", "shop.gate")
    assert config.load(section, environ, app={"port": 9200}).app.port == 9200


def test_the_old_top_level_keys_are_the_same_settings():
    assert config.load({"app_name": "shop", "gate_settings": "shop.ci"}, {}).app == config.AppConfig(
        name="shop", gate_settings="shop.ci")
    assert config.load({"app": {"port": 9000}}, {"MYSITE_APP_NAME": "shop"}).app == config.AppConfig(
        name="shop", port=9000)
    assert config.load({"app_name": "shop", "app": {"name": "shop"}}, {}).app_name == "shop"  # the same: fine
    assert config.load({"app": {"gate_settings": "a.b"}}, {"MYSITE_GATE_SETTINGS": "c.d"}).gate_settings == "c.d"
    assert config.load({}, {}, app_name="shop").app_path == "apps/shop"


@pytest.mark.parametrize(("settings", "environ", "message"), [
    ({"app_name": "shop", "app": {"name": "blog"}}, {},
     "fabric.yaml: app_name='shop' and app name='blog' disagree: give it once, as `app: name:`"),
    ({"gate_settings": "a.b", "app": {"gate_settings": "c.d"}}, {},
     "fabric.yaml: gate_settings='a.b' and app gate_settings='c.d' disagree: give it once, as `app: gate_settings:`"),
    ({}, {"MYSITE_GATE_SETTINGS": "a.b", "MYSITE_APP_GATE_SETTINGS": "c.d"},
     "environment: gate_settings='a.b' and app gate_settings='c.d' disagree"),
])
def test_one_app_setting_given_twice_differently_is_one_line(settings, environ, message):
    with pytest.raises(DeployError, match=re.escape(message)) as info:
        config.load(settings, environ)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("app", "message"), [
    ({"prot": 9000}, "fabric.yaml: unknown app key 'prot' (did you mean port?)"),
    ({"healthpath": "/up"}, "fabric.yaml: unknown app key 'healthpath' (did you mean health_path?)"),
    ({"zzz": 1}, "fabric.yaml: unknown app key 'zzz' (known keys: name, settings, wsgi, port, health_path,"),
    ({"port": "http"}, "deploy setting app port must be a whole number, not 'http'"),
    ({"port": 80}, "deploy setting app port=80 is not a port the app's user may listen on: use a number from 1024"),
    ({"port": 70000}, "deploy setting app port=70000 is not a port"),
    ({"settings": "shop/settings.py"}, "deploy setting app settings='shop/settings.py' is not a Python module name"),
    ({"settings": "shop.settings\nX=1"}, "deploy setting app settings='shop.settings\\nX=1' holds a newline"),
    ({"wsgi": "shop.wsgi"}, "deploy setting app wsgi='shop.wsgi' is not module:variable"),
    ({"wsgi": "shop.wsgi:application()"}, "deploy setting app wsgi='shop.wsgi:application()' is not module:variable"),
    ({"health_path": "healthz"}, "deploy setting app health_path='healthz' is not a URL path"),
    ({"health_path": "/healthz?x=1"}, "deploy setting app health_path='/healthz?x=1' is not a URL path"),
    ({"health_path": "/up/"}, "deploy setting app health_path='/up/' is not a URL path"),
    ({"health_path": "/up;rm"}, "deploy setting app health_path='/up;rm' is not a URL path"),
    ({"gate_settings": "shop settings"}, "deploy setting gate_settings='shop settings' is not a Python module name"),
    ({"name": "My Shop"}, "deploy setting app name='My Shop' is not usable as a Docker name"),
])
def test_bad_app_settings_are_one_clear_line(app, message):
    with pytest.raises(DeployError, match=re.escape(message)) as info:
        config.load({"app": app}, {})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("section", ["shop", ["name", "shop"], 3])
def test_an_app_section_that_is_not_a_mapping_is_one_line(section):
    with pytest.raises(DeployError, match=r"fabric.yaml: `app:` must be a section of settings \(name, settings, wsgi"):
        config.load({"app": section}, {})


def test_a_misspelled_app_variable_names_the_one_meant():
    with pytest.raises(DeployError, match=r"MYSITE_APP_HEALTHPATH is not a deploy setting \(did you mean "
                                          r"MYSITE_APP_HEALTH_PATH\?\)"):
        config.load({}, {"MYSITE_APP_HEALTHPATH": "/up"})


def test_swarm_monitor_is_seconds_from_the_file_or_the_environment():
    assert config.load({}, {}).swarm.monitor == 20
    assert config.load({"swarm": {"monitor": "5"}}, {}).swarm.monitor == 5
    assert config.load({}, {"MYSITE_SWARM_MONITOR": "0"}).swarm.monitor == 0


@pytest.mark.parametrize("value", ["-1", "601", "5s"])
def test_a_swarm_monitor_out_of_range_or_not_seconds_is_one_line(value):
    with pytest.raises(DeployError) as error:
        config.load({"swarm": {"monitor": value}}, {})
    assert "deploy setting swarm monitor must be" in str(error.value)
