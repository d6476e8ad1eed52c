from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "govdata.orgs"
    label = "orgs"
