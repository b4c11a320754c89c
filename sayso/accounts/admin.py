from django.contrib import admin

from .models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin[User]):
    list_display = ["email", "name", "is_advisor", "is_staff", "date_joined"]
    list_filter = ["is_advisor", "is_staff"]
    search_fields = ["email", "name"]
    exclude = ["password"]
