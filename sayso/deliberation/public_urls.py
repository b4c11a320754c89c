from django.urls import URLPattern

app_name = "deliberation_public"

urlpatterns: list[URLPattern] = []
