from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "govdata.catalog"
    label = "catalog"
