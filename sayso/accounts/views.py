from __future__ import annotations

import json
from typing import cast

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from sayso.core.decorators import access_level, post_only
from sayso.core.services import ServiceError

from . import services
from .forms import ApiTokenForm
from .models import ApiToken, User


@access_level("authenticated")
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html")


@access_level("authenticated")
@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _token, new_token = services.create_token(user=request.user, name=form.cleaned_data["name"])  # type: ignore[arg-type]
        form = ApiTokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "tokens": ApiToken.objects.filter(user=cast(User, request.user)),
            "new_token": new_token,
        },
    )


@access_level("authenticated")
@login_required
@post_only
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=cast(User, request.user))
    services.revoke_token(token=token)
    messages.success(
        request,
        _("Token '%(name)s' revoked. Anything using it stops working now.") % {"name": token.name},
    )
    return redirect("accounts:tokens")


@access_level("authenticated")
@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        data = services.export_personal_data(user=request.user)  # type: ignore[arg-type]
        response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="my-sayso-data.json"'
        return response
    return render(request, "accounts/my_data.html")


@access_level("authenticated")
@login_required
def delete_account(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("confirm") != "delete":
            messages.error(
                request, _("Tick the box to confirm that you want to delete your account.")
            )
            return redirect("accounts:delete")
        try:
            services.delete_account(user=request.user)  # type: ignore[arg-type]
        except ServiceError as error:
            messages.error(request, str(error))
            return redirect("accounts:delete")
        logout(request)
        messages.success(request, _("Your account has been deleted."))
        return redirect("home")
    return render(request, "accounts/delete.html")
