"""The open platform's name (开放平台, Arts. 6 and 8), said in one place: the portal's pages,
the CKAN API's ``status_show``, the DCAT catalog and the open API's description all read
``portal_name``. A deployment names its platform with ``GOVDATA_OPEN_PORTAL_NAME``
(``settings.OPEN_PORTAL_NAME``); without it the platform is Yingkou's, translated
(营口市公共数据开放平台)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy

DEFAULT_NAME = gettext_lazy("Yingkou Public Data Open Platform")


def portal_name() -> str:
    """The name in the active language (a configured name reads the same in every language)."""
    return settings.OPEN_PORTAL_NAME or str(DEFAULT_NAME)
