from django.forms.renderers import TemplatesSetting


class SaysoFormRenderer(TemplatesSetting):
    """Every `{{ form }}` renders through the design system's field component."""

    form_template_name = "components/form_fields.html"
    field_template_name = "components/field.html"
