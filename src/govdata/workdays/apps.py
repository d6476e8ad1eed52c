from django.apps import AppConfig


class WorkdaysConfig(AppConfig):
    name = "govdata.workdays"
    label = "workdays"
