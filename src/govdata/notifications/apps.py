from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "govdata.notifications"
    label = "notifications"
