from django.apps import AppConfig


class DeployToolsConfig(AppConfig):
    """The deploy toolkit's app: its management commands and the read-only page's template."""

    name = "deploy.djangoapp"
    label = "deploy_tools"
    verbose_name = "Deploy tools"
