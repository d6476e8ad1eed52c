from django.apps import AppConfig


class DatastoreConfig(AppConfig):
    name = "govdata.datastore"
    label = "datastore"
