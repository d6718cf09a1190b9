"""The dashboard shell: the home page with today's key figures."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from backoffice.health import system_summary
from records.summary import records_summary


@login_required
def home(request):
    today = timezone.localdate()
    return render(request, "home.html", {
        "today": today,
        "summary": records_summary(today=today),
        "system": system_summary(),
    })
