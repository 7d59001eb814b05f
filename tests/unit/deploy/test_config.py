"""Settings that would fail late, or do harm, are refused at load: one line, before any connection."""


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
    with pytest.raises(DeployError, match="known keys: app_name, app_path"):
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
