from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "govdata.web"
    label = "web"
