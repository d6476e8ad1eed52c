from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "govdata.audit"
    label = "audit"
