from django.urls import URLPattern

app_name = "deliberation"

urlpatterns: list[URLPattern] = []
