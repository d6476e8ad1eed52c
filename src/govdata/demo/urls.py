"""The demo's stand-in upstream interfaces (``govdata.demo.upstream``); 404 unless switched on."""

from django.urls import path

from . import upstream

app_name = "demo_upstream"
urlpatterns = [path("weather/", upstream.weather, name="weather")]
