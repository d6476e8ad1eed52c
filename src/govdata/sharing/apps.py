from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "govdata.sharing"
    label = "sharing"
