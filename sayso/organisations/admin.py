from django.contrib import admin

from .models import DataPractice, Organisation


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ["name", "community", "kind", "is_published"]
    list_filter = ["kind"]


@admin.register(DataPractice)
class DataPracticeAdmin(admin.ModelAdmin[DataPractice]):
    list_display = ["title", "organisation", "community"]
