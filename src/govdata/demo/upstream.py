"""A stand-in for the meteorological bureau's forecast interface, so that the demo's API
resource has an upstream to register and probe on a machine without internet.

The platform serves it itself, under ``/demo-upstream/weather/``, only when
``settings.DEMO_UPSTREAM`` is on (``make run`` switches it on; elsewhere it is a 404). Like a
real departmental interface it answers only callers sending the token in the ``X-Api-Key``
header, so the credentials the demo registers (encrypted) are what make the probe succeed.
The forecasts are generated from Yingkou's monthly climate, the same for the same area and day.
"""

from __future__ import annotations

import datetime as dt
import random

from django.conf import settings
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.http import require_safe

from govdata.common import clock

TOKEN_HEADER = "X-Api-Key"
FORECAST_DAYS = 7
AREAS = ("营口市区", "鲅鱼圈区", "老边区", "盖州市", "大石桥市")
# Yingkou's mean daily high and low (°C) by month, and the weather that month brings.
CLIMATE = {
    1: (-2, -12), 2: (1, -9), 3: (8, -2), 4: (16, 5), 5: (23, 12), 6: (27, 18),
    7: (29, 22), 8: (29, 21), 9: (25, 15), 10: (18, 7), 11: (8, -1), 12: (0, -8),
}  # fmt: skip
WINTER = ("晴", "晴", "多云", "阴", "小雪", "晴转多云", "多云转小雪")
SUMMER = ("晴", "多云", "阴", "小雨", "雷阵雨", "中雨", "多云转阵雨")
SPRING_AUTUMN = ("晴", "晴", "多云", "阴", "小雨", "晴转多云", "雾")


def token() -> str:
    """The upstream's access token. Derived from SECRET_KEY, so the demo loader and the server
    of one installation agree on it without it being written in the source."""
    return salted_hmac("govdata.demo.upstream", "weather-token").hexdigest()[:32]


def weather_url() -> str:
    return settings.DEMO_UPSTREAM_URL.rstrip("/") + reverse("demo_upstream:weather")


def forecast(area: str, day: dt.date) -> dict:
    """One area's forecast for one day, the same every time it is asked for."""
    rng = random.Random(f"{area}|{day.isoformat()}")
    high, low = CLIMATE[day.month]
    if day.month in (12, 1, 2):
        weather = WINTER
    elif day.month in (6, 7, 8):
        weather = SUMMER
    else:
        weather = SPRING_AUTUMN
    # The coast (Bayuquan) is milder than the inland county towns.
    offset = {"鲅鱼圈区": 1.0, "盖州市": 0.0, "大石桥市": -1.0}.get(area, 0.0)
    top = round(high + offset + rng.uniform(-3, 3), 1)
    return {
        "ybqy": area,
        "ybrq": day.isoformat(),
        "tqxx": rng.choice(weather),
        "zgqw": top,
        "zdqw": round(min(top - 3, low + offset + rng.uniform(-3, 3)), 1),
    }


@require_safe
def weather(request):
    if not settings.DEMO_UPSTREAM:
        raise Http404
    if not constant_time_compare(request.headers.get(TOKEN_HEADER, ""), token()):
        return JsonResponse(
            {"code": 401, "message": "无效的访问令牌"}, status=401, json_dumps_params={"ensure_ascii": False}
        )
    area = request.GET.get("ybqy", "").strip()
    if area and area not in AREAS:
        return JsonResponse(
            {"code": 400, "message": f"未知的预报区域：{area}", "areas": list(AREAS)},
            status=400,
            json_dumps_params={"ensure_ascii": False},
        )
    today = clock.today()
    days = [today + dt.timedelta(days=n) for n in range(FORECAST_DAYS)]
    return JsonResponse(
        {
            "code": 0,
            "source": "营口市气象台（演示数据）",
            "issued_at": clock.now().astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:00"),
            "data": [forecast(a, d) for a in ([area] if area else AREAS) for d in days],
        },
        json_dumps_params={"ensure_ascii": False},
    )
