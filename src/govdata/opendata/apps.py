from django.apps import AppConfig


class OpendataConfig(AppConfig):
    name = "govdata.opendata"
    label = "opendata"
