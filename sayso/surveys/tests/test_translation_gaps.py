"""An organiser is told, on the survey's page, how many texts a language still lacks."""

from __future__ import annotations

import pytest

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import services
from sayso.surveys.selectors import translation_entries

from .factories import make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db


def test_untranslated_texts_are_counted_until_translated() -> None:
    survey = make_survey(CommunityFactory.create())
    services.add_language(survey=survey, language="pl")
    client = organiser_client(survey)
    page = client.get(survey_url("detail", survey)).content.decode()
    assert "Translations missing" in page
    assert "16 texts are not translated into polski (pl) yet" in page
    texts = {e.key: "PL " + e.original for e in translation_entries(survey, "pl") if e.original}
    services.save_translations(survey=survey, language="pl", texts=texts)
    page = client.get(survey_url("detail", survey)).content.decode()
    assert "Translations missing" not in page
