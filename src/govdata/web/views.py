"""Sign-in, sign-out and the role-aware dashboard."""

from __future__ import annotations

from django import forms
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from govdata.common.actor import Actor, client_ip
from govdata.orgs import services as org_services

from .dashboard import dashboard_for


class LoginForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)


def login_view(request, template_name: str = "web/login.html", landing: str = "web:dashboard"):
    """Sign in with lockout. The open portal mounts it with its own page and landing."""
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        try:
            user = org_services.authenticate(
                form.cleaned_data["username"], form.cleaned_data["password"], ip=client_ip(request)
            )
        except org_services.LoginRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
                next_url = ""
            return redirect(next_url or landing)
    return render(request, template_name, {"form": form, "next": next_url})


@require_POST
def logout_view(request, landing: str = "web:login"):
    if request.user.is_authenticated:
        org_services.record_logout(Actor.from_request(request))
    logout(request)
    return redirect(landing)


@login_required
def dashboard(request):
    return render(request, "web/dashboard.html", {"panels": dashboard_for(request.user)})
