"""The page where a public user issues, replaces and revokes their personal API token
(``tokens``), at /open/account/token/. The secret is in the answer to the POST that issued it
and nowhere else: not stored, not in the session, not cached."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from govdata.common.actor import Actor
from govdata.orgs.permissions import require

from . import permissions as perm
from . import tokens


@login_required(login_url="open_account:login")
@require_http_methods(["GET", "POST"])
def token_page(request):
    require(perm.is_public_user(request.user), _("Personal API tokens are for registered public users."))
    context = {
        "token": tokens.live_token(request.user),
        "docs_url": request.build_absolute_uri(reverse("open_api:openapi-view")),
        "datasets_url": request.build_absolute_uri(reverse("open_api:list_datasets")),
    }
    action = request.POST.get("action")
    if action == "revoke" and context["token"] is not None:
        tokens.revoke_token(Actor.from_request(request), context["token"])
        messages.success(request, _("Your API token has been revoked: calls with it are refused from now on."))
        return redirect("open_api_token")
    if action == "issue":
        try:
            context["token"], context["secret"] = tokens.issue_token(
                Actor.from_request(request), request.POST.get("name", "")
            )
        except ValidationError as error:
            context["errors"] = error.messages
    response = render(request, "opendata/token.html", context)
    add_never_cache_headers(response)
    return response
