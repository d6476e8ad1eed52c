from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "govdata.common"
    label = "common"
