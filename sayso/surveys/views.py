from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sayso.core.code_sheets import asked_sheet, keep_sheet
from sayso.core.decorators import access_level, community_view, post_only
from sayso.core.models import Community
from sayso.core.permissions import access_for
from sayso.core.selectors import batches_for, sheet_codes, sheet_page
from sayso.core.services import ServiceError

from . import charts, export_jobs, exports, logic, selectors, services, xlsform
from .forms import (
    CodeEntryForm,
    CodesForm,
    ImportForm,
    QuestionForm,
    SectionForm,
    SurveyForm,
    WeightingForm,
    WeightLimitForm,
    shown_text,
    translation_errors,
    translation_limit,
)
from .models import (
    Answer,
    Choice,
    Question,
    Response,
    Section,
    Survey,
    SurveyExport,
    language_name,
)


def _survey(community: Community, pk: int, request: HttpRequest) -> Survey:
    survey = get_object_or_404(
        Survey.objects.select_related("community"), pk=pk, community=community
    )
    # Members see open and closed surveys; drafts are the organisers' work in progress.
    if survey.status == Survey.Status.DRAFT and not request.access.can_organise:  # type: ignore[attr-defined]
        raise Http404
    return survey


# --------------------------------------------------------------------------- organiser pages


@community_view("viewer")
def survey_list(request: HttpRequest, community: Community) -> HttpResponse:
    surveys = (
        Survey.objects.filter(community=community)
        .select_related("community")
        .annotate(
            answered=Count(
                "responses",
                filter=Q(responses__status=Response.Status.COMPLETE, responses__is_preview=False),
            )
        )
    )
    if not request.access.can_organise:  # type: ignore[attr-defined]
        surveys = surveys.exclude(status=Survey.Status.DRAFT)
    return render(request, "surveys/list.html", {"community": community, "surveys": surveys})


@community_view("organiser")
def survey_create(request: HttpRequest, community: Community) -> HttpResponse:
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        survey = services.save_survey(survey=form.save(), community=community, actor=request.user)
        messages.success(request, _("Survey created. Now add questions."))
        return redirect(survey)
    return render(request, "surveys/survey_form.html", {"community": community, "form": form})


def _choice_summary(choice: Choice, language: str) -> str:
    """A choice as the survey's outline lists it, saying when it is ticked on its own."""
    if choice.exclusive:
        return _("%(choice)s (ticked on its own)") % {"choice": choice.text(language)}
    return choice.text(language)


@community_view("viewer")
def survey_detail(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    survey = _survey(community, pk, request)
    sections = survey.sections.prefetch_related("questions__choices")
    language = survey.default_language
    outline = [
        (
            section,
            section.label(language),
            [
                (q, q.text(language), [_choice_summary(c, language) for c in q.choices.all()])
                for q in section.questions.all()
            ],
        )
        for section in sections
    ]
    answered = selectors.complete_responses(survey).count()
    # A member who has answered a one-answer-each survey is told so, not offered a
    # button that can only refuse them.
    you_answered = selectors.member_has_answered(survey, request.user)
    # Said before the organiser closes it, not only after (services.set_status).
    closing_withholds = (
        survey.is_open
        and request.access.can_organise  # type: ignore[attr-defined]
        and selectors.closing_would_withhold(survey, answered)
    )
    return render(
        request,
        "surveys/detail.html",
        {
            "community": community,
            "survey": survey,
            "outline": outline,
            "answered": answered,
            "you_answered": you_answered,
            "closing_withholds": closing_withholds,
            "public_link": request.build_absolute_uri(survey.public_url()),
            "code_link": request.build_absolute_uri(
                reverse("surveys_public:code", kwargs={"link": survey.link_token})
            ),
            "languages": [(code, language_name(code)) for code in survey.languages],
            "translation_gaps": selectors.translation_gaps(survey)
            if request.access.can_organise  # type: ignore[attr-defined]
            else [],
        },
    )


@community_view("organiser")
def survey_edit(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    survey = _survey(community, pk, request)
    form = SurveyForm(request.POST or None, instance=survey)
    if request.method == "POST" and form.is_valid():
        services.save_survey(survey=form.save(), community=community, actor=request.user)
        messages.success(request, _("Changes saved."))
        return redirect(survey)
    return render(
        request,
        "surveys/survey_form.html",
        {"community": community, "form": form, "survey": survey},
    )


@community_view("organiser")
@post_only
def survey_status(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    survey = _survey(community, pk, request)
    try:
        services.set_status(
            survey=survey, status=request.POST.get("status", ""), actor=request.user
        )
        messages.success(
            request, _("The survey is now: %(status)s.") % {"status": survey.get_status_display()}
        )
        if survey.status == Survey.Status.CLOSED and survey.figures_withheld_since_shown:
            messages.warning(
                request,
                _(
                    "Members will not see the new results yet: too few people answered "
                    "since members last saw results or since one was cited as evidence, and "
                    "comparing the two would show what those few people said. Open the "
                    "survey again to collect more answers."
                ),
            )
    except ServiceError as error:
        messages.error(request, str(error))
    return redirect(survey)


@community_view("organiser")
def section_create(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    survey = _survey(community, pk, request)
    form = SectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.save_section(
            section=Section(title={survey.default_language: form.cleaned_data["title"]}),
            survey=survey,
        )
        messages.success(request, _("Page added."))
        return redirect(survey)
    return render(
        request,
        "surveys/simple_form.html",
        {
            "community": community,
            "survey": survey,
            "form": form,
            "heading": _("Add a page"),
            "submit": _("Add page"),
        },
    )


@community_view("organiser")
def section_edit(request: HttpRequest, community: Community, pk: int, section: int) -> HttpResponse:
    survey = _survey(community, pk, request)
    found = get_object_or_404(Section, pk=section, survey=survey)
    language = survey.default_language
    form = SectionForm(request.POST or None, initial={"title": found.label(language)})
    if request.method == "POST" and form.is_valid():
        services.save_section(section=found, survey=survey, title=form.cleaned_data["title"])
        messages.success(request, _("Page title saved."))
        return redirect(survey)
    return render(
        request,
        "surveys/simple_form.html",
        {
            "community": community,
            "survey": survey,
            "form": form,
            "heading": _("Page title"),
            "submit": _("Save"),
        },
    )


@community_view("organiser")
def section_delete(
    request: HttpRequest, community: Community, pk: int, section: int
) -> HttpResponse:
    """GET asks to confirm (a page, so it works without JavaScript); POST deletes."""
    survey = _survey(community, pk, request)
    found = get_object_or_404(Section, pk=section, survey=survey)
    if request.method != "POST":
        title = found.label(survey.default_language)
        questions = found.questions.count()
        return render(
            request,
            "surveys/confirm_delete.html",
            {
                "community": community,
                "survey": survey,
                "heading": (
                    _("Delete the page '%(title)s' and its questions?") % {"title": title}
                    if title
                    else _("Delete this page and its questions?")
                ),
                "detail": ngettext(
                    "It has %(n)s question. This cannot be undone.",
                    "It has %(n)s questions. This cannot be undone.",
                    questions,
                )
                % {"n": questions},
                "button": _("Delete the page"),
                "refusal": services.section_delete_refusal(found),
            },
        )
    try:
        services.delete_section(section=found)
        messages.success(request, _("Page deleted with its questions."))
    except ServiceError as error:
        messages.error(request, str(error))
    return redirect(survey)


@community_view("organiser")
@post_only
def question_move(
    request: HttpRequest, community: Community, pk: int, question: int
) -> HttpResponse:
    survey = _survey(community, pk, request)
    found = get_object_or_404(
        Question.objects.select_related("section"), pk=question, survey=survey
    )
    try:
        services.move_question(question=found, up=request.POST.get("direction") != "down")
    except ServiceError as error:
        messages.error(request, str(error))
    return redirect(
        reverse("surveys:detail", kwargs={"slug": community.slug, "pk": survey.pk})
        + f"#question-{found.pk}"
    )


@community_view("organiser")
@post_only
def language_add(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    survey = _survey(community, pk, request)
    language = request.POST.get("language", "").strip().lower()
    try:
        services.add_language(survey=survey, language=language)
    except ServiceError as error:
        messages.error(request, str(error))
        return redirect(survey)
    messages.success(
        request,
        _("Language added: %(language)s. Now translate the texts.")
        % {"language": language_name(language)},
    )
    return redirect("surveys:translations", slug=community.slug, pk=survey.pk, language=language)


@community_view("organiser")
def translations(
    request: HttpRequest, community: Community, pk: int, language: str
) -> HttpResponse:
    """Every text of the survey with an input for its translation into `language`."""
    survey = _survey(community, pk, request)
    if language not in survey.languages or language == survey.default_language:
        raise Http404
    entries = selectors.translation_entries(survey, language)
    texts: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        # No box is offered for a text left empty in the main language, and no
        # translation of one is kept (one kept from before is removed).
        texts = {
            e.key: shown_text(request.POST[e.key]) if e.original else ""
            for e in entries
            if e.key in request.POST or (not e.original and e.translation)
        }
        errors = translation_errors(texts)
        if not errors:
            services.save_translations(survey=survey, language=language, texts=texts)
            messages.success(request, _("Translations saved."))
            return redirect(survey)
    return render(
        request,
        "surveys/translations.html",
        {
            "community": community,
            "survey": survey,
            "language": language,
            "language_name": language_name(language),
            "default_name": language_name(survey.default_language),
            # Each box with what was typed when it is shown again with an error.
            "entries": [
                (e, texts.get(e.key, e.translation), errors.get(e.key), translation_limit(e.key))
                for e in entries
            ],
            "errors": errors,
            "missing": sum(1 for e in entries if e.original and not e.translation),
        },
    )


def _edit_question(
    request: HttpRequest, community: Community, survey: Survey, section: Section, question: Question
) -> HttpResponse:
    language = survey.default_language
    form = QuestionForm(
        request.POST or None, question=question, language=language, survey=survey, section=section
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_question(
                question=form.updated_question(),
                survey=survey,
                section=section,
                choices=form.choices_given,
                language=language,
                exclusive=form.exclusive_given,
            )
        except ServiceError as error:
            # Next to the field it is about (marked aria-invalid), else above the form.
            form.add_error(getattr(error, "field", None), str(error))
        else:
            messages.success(request, _("Question saved."))
            return redirect(survey)
    return render(
        request,
        "surveys/question_form.html",
        {"community": community, "survey": survey, "form": form, "question": question},
    )


@community_view("organiser")
def question_create(
    request: HttpRequest, community: Community, pk: int, section: int
) -> HttpResponse:
    survey = _survey(community, pk, request)
    found = get_object_or_404(Section, pk=section, survey=survey)
    return _edit_question(request, community, survey, found, Question())


@community_view("organiser")
def question_edit(
    request: HttpRequest, community: Community, pk: int, question: int
) -> HttpResponse:
    survey = _survey(community, pk, request)
    found = get_object_or_404(Question, pk=question, survey=survey)
    return _edit_question(request, community, survey, found.section, found)


@community_view("organiser")
def question_delete(
    request: HttpRequest, community: Community, pk: int, question: int
) -> HttpResponse:
    """GET asks to confirm (a page, so it works without JavaScript); POST deletes."""
    survey = _survey(community, pk, request)
    found = get_object_or_404(Question, pk=question, survey=survey)
    if request.method != "POST":
        return render(
            request,
            "surveys/confirm_delete.html",
            {
                "community": community,
                "survey": survey,
                "heading": _("Delete the question '%(label)s'?")
                % {"label": found.text(survey.default_language)},
                "detail": _("This cannot be undone."),
                "button": _("Delete the question"),
                "refusal": services.question_delete_refusal(found),
            },
        )
    try:
        services.delete_question(question=found)
        messages.success(request, _("Question deleted."))
    except ServiceError as error:
        messages.error(request, str(error))
    return redirect(survey)


def _breakable(link: str, width: int = 8) -> list[str]:
    """The link in pieces to join with <wbr>: after each "/" and every `width`
    characters, so that the random token wraps on a phone instead of scrolling."""
    pieces: list[str] = []
    parts = link.split("/")
    for number, part in enumerate(parts):
        chunks = [part[i : i + width] for i in range(0, len(part), width)] or [""]
        if number < len(parts) - 1:
            chunks[-1] += "/"
        pieces += chunks
    return pieces


@community_view("organiser")
def codes(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    survey = _survey(community, pk, request)
    form = CodesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        batch, made = services.create_codes(
            survey=survey, actor=request.user, size=form.cleaned_data["size"]
        )
        # Post/redirect/get: the codes are shown by a page of their own, so reloading
        # it shows them again instead of making another batch.
        sheet = reverse("surveys:code-sheet", kwargs={"slug": community.slug, "pk": survey.pk})
        response = HttpResponseRedirect(f"{sheet}?{urlencode({'batch': batch.pk})}")
        keep_sheet(request, response, batch_id=batch.pk, codes=made)
        return response
    return _codes_page(request, community, survey, form)


def _codes_page(
    request: HttpRequest, community: Community, survey: Survey, form: CodesForm
) -> HttpResponse:
    return render(
        request,
        "surveys/codes.html",
        {
            "community": community,
            "survey": survey,
            "form": form,
            # What the organiser is told before making codes: that the survey will then
            # take only codes, and that earlier codes keep working.
            "switches": survey.distribution != Survey.Distribution.CODES,
            "batches": list(batches_for(survey).with_used_counts(activity=survey)),
        },
    )


@community_view("organiser")
def code_sheet(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    """The sheet of codes just made (core.selectors.sheet_page), a page at a time. The
    database never gives the codes back: GET ?batch= shows a sheet the organiser made in
    the last day in this browser (core.code_sheets), and without ?batch= the codes page;
    POST shows another page, the codes posted back signed from the sheet. Any batch made
    for this survey (all of its codes open it), never another's, and only to the
    organiser who made it."""
    survey = _survey(community, pk, request)
    asked_for = asked_sheet(request)
    if asked_for is None:
        return _codes_page(request, community, survey, CodesForm())
    asked, token = asked_for
    try:
        batch_id, made = sheet_codes(token, user_id=request.user.pk)
        if batch_id not in services.survey_code_batch_ids(survey):
            raise signing.BadSignature("a sheet of another survey's codes")
    except (signing.BadSignature, KeyError, TypeError):
        messages.error(
            request,
            _(
                "These codes can no longer be shown: a code sheet opens only from the page"
                " where the codes were made, by the organiser who made them, for a day (Sayso"
                " keeps no copy of the codes). If some were not printed, make new ones."
            ),
        )
        if request.method == "POST":
            return redirect(survey)
        return redirect("surveys:codes", slug=community.slug, pk=survey.pk)
    try:
        page = int(asked.get("page", "1"))
    except ValueError:
        page = 1
    return _code_sheet(request, community, survey, batch_id, made, page)


def _code_sheet(
    request: HttpRequest,
    community: Community,
    survey: Survey,
    batch_id: int,
    made: list[str],
    page: int,
) -> HttpResponse:
    """One page of the printable codes. Every card has the same QR code (the survey's
    code page), drawn once; pages keep a large batch to a printable, quick page."""
    link = request.build_absolute_uri(
        reverse("surveys_public:code", kwargs={"link": survey.link_token})
    )
    qr = charts.qr_svg(link)
    sheet = sheet_page(
        batch_id=batch_id, user_id=request.user.pk, codes=made, page=page, draw=False
    )
    response = render(
        request,
        "surveys/code_sheet.html",
        {
            "community": community,
            "survey": survey,
            "codes": [(code, qr) for code, _svg in sheet.cards],
            "sheet": sheet,
            "link_pieces": _breakable(link),
        },
    )
    response["Cache-Control"] = "private, no-store"  # the codes are not to be kept anywhere
    return response


@community_view("organiser")
@post_only
def preview(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    """Start an organiser's preview (from the start page as respondents see it, with
    ?preview=1: views.start), at its first page of questions."""
    survey = _survey(community, pk, request)
    started, raw = services.start_response(
        survey=survey, language=survey.choose_language(request.POST.get("language")), preview=True
    )
    return HttpResponseRedirect(_private_url("page", started.language, token=raw, page=0))


@community_view("member")
@post_only
def take(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    """ "Answer this survey" on the survey's page: to its start page, as people with
    the link or a code see it (welcome text, who sees the answers, language choice),
    whose Start begins the response. A member who has already answered is told so
    here, before any question."""
    survey = _survey(community, pk, request)
    language = survey.choose_language(request.POST.get("language"))
    if problem := services.start_refusal(survey=survey, user=request.user):
        messages.error(request, str(problem))
        return redirect(survey)
    return HttpResponseRedirect(f"{survey.public_url()}?{urlencode({'lang': language})}")


# --------------------------------------------------------------------------- results


def _result_options(
    request: HttpRequest, questions: dict[str, Question]
) -> tuple[str, tuple[Question, str] | None, bool]:
    """The audience and the filter asked for in the query string, and whether a filter
    was asked for that is not one of those offered (then the results are everyone's)."""
    audience = "published" if request.GET.get("audience") == "published" else "members"
    only = None
    asked = request.GET.get("only", "")
    if ":" in asked:
        name, choice = asked.split(":", 1)
        found = questions.get(name)
        if (
            found is not None
            and found.is_breakdown
            and any(c.name == choice for c in found.choices.all())
        ):
            only = (found, choice)
    return audience, only, bool(asked) and only is None


@community_view("viewer")
def results(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    survey = _survey(community, pk, request)
    can_organise = request.access.can_organise  # type: ignore[attr-defined]
    if withheld := selectors.withheld_because(survey, can_organise=can_organise):
        # Only the number who have answered: no figures that could be compared.
        return render(
            request,
            "surveys/results.html",
            {"community": community, "survey": survey, "withheld": withheld},
        )
    questions = {q.name: q for q in survey.questions.prefetch_related("choices")}
    audience, only, only_ignored = _result_options(request, questions)
    asked_by = request.GET.get("by", "")
    breakdown = questions.get(asked_by)
    if breakdown is not None and not breakdown.is_breakdown:
        breakdown = None
    weighted = request.GET.get("weighted") == "1" and bool(survey.weighting_targets)
    found = selectors.results(
        survey,
        audience=audience,
        # "As published" shows what would be published: approved text answers only.
        can_see_all_text=can_organise and audience != "published",
        only=only,
        breakdown=breakdown,
        weighted=weighted,
    )
    if can_organise and any(
        not answer.approved for result in found.questions for answer in result.texts
    ):
        services.record_unapproved_read(survey=survey, actor=request.user)
    chart_query = urlencode(
        {
            "audience": audience,
            **({"only": request.GET["only"]} if only else {}),
            # The charts draw what the tables show: weighted figures when weighted.
            **({"weighted": "1"} if weighted else {}),
        }
    )
    language = survey.default_language
    # Only what would be shown to this reader (selectors._offers), in the words people
    # read, not the short names; found.not_offered says why the rest are missing.
    breakdowns = [
        (
            offer.question.name,
            offer.label,
            [
                (f"{offer.question.name}:{name}", f"{offer.label}: {words}")
                for name, words in offer.filters
            ],
        )
        for offer in found.offers
    ]
    return render(
        request,
        "surveys/results.html",
        {
            "community": community,
            "survey": survey,
            "results": found,
            "audience": audience,
            "breakdowns": breakdowns,
            "chosen_only": f"{only[0].name}:{only[1]}" if only else "",
            "narrowing_ignored": only_ignored or (bool(asked_by) and breakdown is None),
            "breakdown_label": found.breakdown.text(language) if found.breakdown else "",
            "weighted": weighted,
            # Sent with a citation of weighted figures: refused if the weighting changed.
            "weighting_key": selectors.weighting_key(survey) if weighted else "",
            "chart_query": chart_query,
            # Listed unless removed (core's Evidence page); the checks count them all.
            "citations": selectors.citations(survey).filter(removed_at__isnull=True),
        },
    )


@community_view("viewer")
def chart(request: HttpRequest, community: Community, pk: int, question: int) -> HttpResponse:
    """The bar chart of one question's shown figures, as the results page has them."""
    survey = _survey(community, pk, request)
    if withheld := selectors.withheld_because(survey, can_organise=request.access.can_organise):  # type: ignore[attr-defined]
        # The results page shows no chart either, and says why.
        note = HttpResponse(
            charts.note_svg(
                _("Results will be shown here when the survey closes.")
                if withheld.reason == "open"
                else _("These results are not shown to members at the moment.")
            ),
            content_type="image/svg+xml",
        )
        note["Cache-Control"] = "private, no-cache"
        return note
    questions = {q.name: q for q in survey.questions.prefetch_related("choices")}
    found = next((q for q in questions.values() if q.pk == question), None)
    if found is None:
        raise Http404
    audience, only, _ignored = _result_options(request, questions)
    weighted = request.GET.get("weighted") == "1" and bool(survey.weighting_targets)
    data = selectors.results(
        survey, audience=audience, only=only, question=found, weighted=weighted
    )
    if data.still_counting:
        # Not an empty chart: a browser would keep that for a minute (max-age below).
        unavailable = HttpResponse(_("Still counting."), status=503, content_type="text/plain")
        unavailable["Retry-After"] = "30"
        return unavailable
    rows = data.questions[0].rows if data.questions else []
    if data.weighting is not None and data.questions and data.questions[0].weighted:
        # The weighted shares, as the table's "Weighted %" column shows them; one it
        # does not show is drawn as not shown, never as the unweighted figure.
        rows = [
            dataclasses.replace(row, share=row.weighted, hidden=row.hidden or row.weighted is None)
            for row in rows
        ]
    response = HttpResponse(charts.bar_chart_svg(rows), content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"
    return response


@community_view("organiser")
@post_only
def answer_approve(
    request: HttpRequest, community: Community, pk: int, question: int, response_key: int
) -> HttpResponse:
    survey = _survey(community, pk, request)
    found = get_object_or_404(
        Answer.objects.exclude(text=""),
        survey=survey,
        question_id=question,
        response__export_key=response_key,
    )
    services.approve_answer(answer=found, approved=request.POST.get("approved", "1") == "1")
    messages.success(
        request,
        _("Answer approved for members to read.") if found.approved else _("Approval removed."),
    )
    return redirect("surveys:results", slug=community.slug, pk=survey.pk)


@community_view("organiser")
@post_only
def cite_result(request: HttpRequest, community: Community, pk: int, question: int) -> HttpResponse:
    """Cite a result as the button's table shows it: with `weighted`, the weighted
    figures beside the counts (or nothing, if they cannot all be cited as shown)."""
    survey = _survey(community, pk, request)
    found = get_object_or_404(Question, pk=question, survey=survey)
    weighted = request.POST.get("weighted") == "1"
    back = reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    # Back to the view the button was in: citations are offered as published.
    back += "?audience=published"
    if weighted or request.POST.get("back_weighted") == "1":
        back += "&weighted=1"
    if weighted and request.POST.get("weighting") != selectors.weighting_key(survey):
        messages.error(
            request,
            _(
                "These weighted figures were not cited: the weighting was changed after the "
                "page was shown. Check the weighted figures below, then cite them again."
            ),
        )
        return redirect(back)
    data = selectors.results(survey, audience="published", weighted=weighted)
    if data.still_counting:
        messages.error(
            request,
            _("This result cannot be cited yet: the answers are still being counted."),
        )
        return redirect(back)
    result = next((r for r in data.questions if r.question.pk == found.pk), None)
    # A number question's figure is its average (with n and the interval), cited with
    # or without its ranges (selectors.citation_snapshot); others, their table.
    average = result is not None and result.mean is not None
    if result is None or result.refusal:
        messages.error(
            request,
            _("This result cannot be cited: its figures are not shown. %(reason)s")
            % {"reason": result.refusal}
            if result is not None
            else _("This result cannot be cited: it has no figures."),
        )
        return redirect(back)
    if not (result.rows or average):
        # Not offered on the page either (QuestionResult.number_citable).
        messages.error(
            request,
            _(
                "This result cannot be cited: neither its average nor ranges of its answers "
                "are shown, so there is no figure to cite."
            )
            if found.type == Question.Type.NUMBER
            else _("This result cannot be cited: it has no figures to cite."),
        )
        return redirect(back)
    if result.any_hidden and not average:
        # Not offered on the page either: a citation would leave out, or be nothing but,
        # figures hidden to protect people.
        messages.error(
            request,
            _(
                "This result cannot be cited: some of its figures are hidden to protect "
                "people, so it would not show the whole picture."
            ),
        )
        return redirect(back)
    if weighted and not (data.weighting is not None and result.weighted_in_full):
        # Evidence is shared beyond the community, with the stricter published threshold:
        # there the weighting (or some weighted figures) may be withheld. Citing the
        # unweighted figures instead would not be the figures beside the button.
        messages.error(
            request,
            _(
                "These weighted figures cannot be cited: evidence is shared beyond the "
                "community, where results are protected more strictly (groups of at least "
                "%(n)s people), and not all of them could be shown there. To cite the "
                "figures without weighting, show the results unweighted."
            )
            % {"n": data.threshold},
        )
        return redirect(back)
    snapshot = selectors.citation_snapshot(survey, data, result)
    if services.already_cited(survey=survey, question=found, snapshot=snapshot):
        messages.info(request, _("This result, with these figures, is already cited."))
    else:
        try:
            services.cite_result(
                survey=survey, question=found, snapshot=snapshot, actor=request.user
            )
        except ServiceError as refused:
            messages.error(request, str(refused))
        else:
            messages.success(
                request,
                _("Weighted result cited as evidence.")
                if weighted
                else _("Result cited as evidence."),
            )
    return redirect(back + "#citations")


@community_view("organiser")
def weighting(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    survey = _survey(community, pk, request)
    here = reverse("surveys:weighting", kwargs={"slug": community.slug, "pk": survey.pk})
    if request.method == "POST" and "stop" in request.POST:
        services.stop_weighting(survey=survey)
        messages.success(request, _("Weighting stopped. Results are no longer weighted."))
        return redirect("surveys:results", slug=community.slug, pk=survey.pk)
    in_force = selectors.weighting_in_force(survey)
    if request.method == "POST" and "remove" in request.POST:
        name = request.POST["remove"]
        label = next((t.label for t in in_force if t.name == name), name)
        try:
            services.remove_weighting_target(survey=survey, name=name)
        except ServiceError as problem:
            messages.error(request, str(problem))
        else:
            messages.success(
                request,
                _("The results are no longer weighted by '%(question)s'.") % {"question": label}
                if survey.weighting_targets
                else _("The results are no longer weighted by '%(question)s', or at all.")
                % {"question": label},
            )
        return redirect(here + "#in-force")
    limit_form = WeightLimitForm(
        request.POST if "save_limit" in request.POST else None,
        initial={"limit": survey.weight_limit},
        prefix="trim",
    )
    if limit_form.is_bound and limit_form.is_valid():
        try:
            services.set_weight_limit(survey=survey, limit=limit_form.cleaned_data["limit"])
        except ServiceError as problem:
            limit_form.add_error("limit", str(problem))
        else:
            messages.success(
                request,
                _("Limit saved: nobody counts for more than %(n)s times the average person.")
                % {"n": survey.weight_limit}
                if survey.weight_limit
                else _("Limit removed: weighting no longer limits how much one person counts."),
            )
            return redirect(here + "#limit")
    form = WeightingForm(
        request.POST if request.method == "POST" and not limit_form.is_bound else None,
        candidates=selectors.weighting_questions(survey),
        wanted=request.POST.get("question", request.GET.get("question", "")),
        current=survey.weighting_targets or {},
        language=survey.default_language,
    )
    if form.is_bound and form.chosen is not None and form.is_valid():
        try:
            services.set_weighting_targets(
                survey=survey, question=form.chosen, population=form.population()
            )
        except services.FiguresRefused as problem:
            for name in problem.choices:  # next to each figure it is about
                form.add_error(f"pop_{name}", str(problem))
        except ServiceError as problem:
            form.add_error(None, str(problem))  # the form checks each count first
        else:
            messages.success(
                request,
                _("Figures saved for '%(question)s'. Weighted results are approximate.")
                % {"question": form.chosen.text(survey.default_language)},
            )
            return redirect(
                reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
                + "?weighted=1"
            )
    language = survey.default_language
    # The results page's reason when it shows the results unweighted (for members, or
    # only as published), so this page does not say they are weighted meanwhile.
    not_applied, not_published = selectors.weighting_refusals(survey)
    return render(
        request,
        "surveys/weighting.html",
        {
            "community": community,
            "survey": survey,
            "form": form,
            "limit_form": limit_form,
            "in_force": in_force,
            # Raking reads each question's figures as shares of its own total.
            "totals_differ": len({round(t.total, 6) for t in in_force}) > 1,
            # The questions as people read them, not their short names.
            "candidates": [
                (q.name, q.text(language), q == form.chosen, q.name in survey.weighting_targets)
                for q in form.candidates
            ],
            "candidate_names": [q.name for q in form.candidates],
            "chosen_label": form.chosen.text(language) if form.chosen else "",
            "not_applied": not_applied,
            "not_published": "" if not_applied else not_published,
        },
    )


# --------------------------------------------------------------------------- XLSForm and exports


@community_view("organiser")
def import_xlsform(request: HttpRequest, community: Community) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            imported = services.import_survey(
                upload=form.cleaned_data["file"], community=community, actor=request.user
            )
        except xlsform.XLSFormError as error:
            # Each problem is about the file: shown next to it (and linked to it from
            # the error summary), like any other field's error.
            problems = error.problems
            for problem in problems:
                form.add_error("file", problem)
        else:
            messages.success(
                request,
                _("Imported '%(title)s' as a draft. Check it, then open it.")
                % {"title": imported.survey.title},
            )
            for note in imported.notes:
                messages.warning(request, note)
            if selectors.has_namesake(imported.survey):
                messages.warning(
                    request,
                    _(
                        "Another survey here has the same title. Edit this one's title to tell"
                        " them apart. An imported survey accepts answers by its link: change"
                        " who can answer before you open it if it used codes or members."
                    ),
                )
            return redirect(imported.survey)
    return render(
        request, "surveys/import.html", {"community": community, "form": form, "problems": problems}
    )


@community_view("organiser")
def export_xlsform(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    survey = _survey(community, pk, request)
    response = HttpResponse(xlsform.export_xlsform(survey), content_type=exports.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-xlsform.xlsx"'
    return response


@community_view("organiser")
def export(request: HttpRequest, community: Community, pk: int, fmt: str) -> HttpResponse:
    """CSV streams at once. The other formats are files the task worker prepares: a
    POST asks for one and leads to its page; a GET (an old link) leads to the list."""
    survey = _survey(community, pk, request)
    if fmt == "csv":
        rows = selectors.complete_responses(survey).count()
        services.audit_export(survey=survey, actor=request.user, fmt=fmt, rows=rows)
        return exports.export_csv(survey)  # type: ignore[return-value]  # streamed
    if fmt not in exports.FILE_FORMATS:
        raise Http404
    if request.method != "POST":
        return redirect("surveys:exports", slug=community.slug, pk=survey.pk)
    job = export_jobs.start_export(survey=survey, actor=request.user, fmt=fmt)
    return redirect("surveys:export-job", slug=community.slug, pk=survey.pk, job=job.pk)


@community_view("organiser")
def export_list(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    """The survey's export files: ask for one, see those being prepared or ready."""
    survey = _survey(community, pk, request)
    export_jobs.expire_stale_exports()
    export_jobs.purge_exports()
    jobs = survey.exports.select_related("created_by")[:20]
    return render(
        request,
        "surveys/exports.html",
        {
            "community": community,
            "survey": survey,
            "jobs": jobs,
        },
    )


def _export_job(survey: Survey, job: int) -> SurveyExport:
    # Scoped to the survey, itself scoped to the community: another survey's job is 404.
    return get_object_or_404(
        SurveyExport.objects.select_related("created_by"), pk=job, survey=survey
    )


@community_view("organiser")
def export_job(request: HttpRequest, community: Community, pk: int, job: int) -> HttpResponse:
    """How one export is going: a page to reload by hand (no script), with the
    download once the file is ready."""
    survey = _survey(community, pk, request)
    export_jobs.expire_stale_exports()
    export_jobs.purge_exports()
    found = _export_job(survey, job)
    return render(
        request,
        "surveys/export_job.html",
        {
            "community": community,
            "survey": survey,
            "job": found,
            "filename": export_jobs.download_name(found),
            "deleted_at": (
                found.finished_at + export_jobs.RETENTION if found.finished_at else None
            ),
        },
    )


@community_view("organiser")
def export_download(request: HttpRequest, community: Community, pk: int, job: int) -> HttpResponse:
    survey = _survey(community, pk, request)
    export_jobs.purge_exports()
    found = _export_job(survey, job)
    try:
        handle = export_jobs.open_download(job=found, actor=request.user)
    except ServiceError as error:
        messages.error(request, str(error))
        return redirect("surveys:export-job", slug=community.slug, pk=survey.pk, job=found.pk)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=export_jobs.download_name(found),
        content_type=exports.FILE_FORMATS[found.format].content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response  # type: ignore[return-value]  # streamed from the file


# --------------------------------------------------------------------------- respondents


# Every survey link there is or was: capitals and digits (models.new_link_token), or
# letters, digits, "-" and "_" (the older models.new_token), at most the column's 64.
_LINK_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _open_survey(link: str) -> Survey:
    """The survey of a link, also when typed in small letters (links are capitals and
    digits: models.new_link_token; older ones, mixed case, only as they are). A link
    that no survey can have is not looked up: one with a null character ("%00" in
    the address) failed the query on PostgreSQL, a 500 instead of "not found"."""
    if not _LINK_RE.fullmatch(link):
        raise Http404
    surveys = Survey.objects.select_related("community")
    found = surveys.filter(link_token=link).first()
    if found is None and link.upper() != link:
        found = surveys.filter(link_token=link.upper()).first()
    if found is None:
        raise Http404
    return found


# Sayso's own words on the respondent pages (buttons, progress, checks, messages) come
# in these languages too, chosen by the survey language the respondent picked, never
# by the browser. They are not in settings.LANGUAGES on purpose: LocaleMiddleware would
# then switch any page, the organisers' as well (translated only on the respondent
# path), to follow a browser's Accept-Language. Adding one: docs/architecture.md.
RESPONDENT_UI_LANGUAGES = frozenset({"cy", "pl"})


def respondent_ui_language(survey_language: str) -> str:
    """The language of Sayso's words for someone answering in `survey_language` (as a
    survey keeps it: "cy", "pl-PL", or a name such as "welsh"): its catalogue's ("pl"
    for "pl-PL"), or English, the site's language, when Sayso has none for it."""
    primary = logic.html_lang(survey_language).split("-")[0].lower()
    return primary if primary in RESPONDENT_UI_LANGUAGES else settings.LANGUAGE_CODE


def _lang_query(survey_language: str, **extra: str) -> str:
    """The query "?lang=cy" for someone answering in a language Sayso speaks other than
    English, else "" (with `extra` parameters after it). The private link's pages carry
    it: they follow the response's language (and a language link on them, ?lang= naming
    another of the survey's languages, changes it: _switch_language), but once the
    answers are sent nothing links the link to them, and its address is all that tells
    the "link has ended" page which language to speak."""
    ui = respondent_ui_language(survey_language)
    params = ({} if ui == settings.LANGUAGE_CODE else {"lang": ui}) | extra
    return "?" + urlencode(params) if params else ""


def _private_url(
    name: str, survey_language: str, query: dict[str, str] | None = None, **kwargs: Any
) -> str:
    """A page of a response's private link (surveys_public:`name`), with _lang_query
    and the parameters `query`."""
    return reverse(f"surveys_public:{name}", kwargs=kwargs) + _lang_query(
        survey_language, **(query or {})
    )


def respondent_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A respondent page: once it knows the language the person answers in, it speaks
    it (use_respondent_language) for its messages and its page; the request's language
    is put back afterwards. Content-Language says which language the page is in.

    No respondent page is kept by the browser or anything between (no-store): on a
    shared phone, Back after "Forget my answers" or after sending would otherwise show
    the answers again from the cache to whoever picks the phone up next."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with translation.override(translation.get_language()):
            response = view(request, *args, **kwargs)
            response.headers["Content-Language"] = translation.get_language()
        add_never_cache_headers(response)
        return response

    return wrapper


def use_respondent_language(survey_language: str) -> None:
    """Sayso's words in the respondent's language from here on, inside a
    @respondent_page view (which puts the request's language back after it)."""
    translation.activate(respondent_ui_language(survey_language))


def _language_options(survey: Survey) -> list[tuple[str, str, str]]:
    """The survey's languages as the language links and select offer them: (code, its
    name in that language, its BCP 47 tag)."""
    return [
        (code, language_name(logic.html_lang(code) or code), logic.html_lang(code))
        for code in survey.languages
    ]


def _respondent_texts(
    survey: Survey, language: str, request: HttpRequest | None = None
) -> dict[str, Any]:
    """What the first pages show in the respondent's chosen language, and the choice.
    Each text carries the language it is really in (logic.Shown), for lang attributes.
    Given the request, also whether Sayso will record that this person answered
    (_privacy.html says so)."""
    return {
        "survey": survey,
        "language": language,
        "language_options": _language_options(survey),
        "title": logic.survey_text(survey, "title", language),
        "welcome": logic.survey_text(survey, "welcome", language),
        "privacy_notice": logic.survey_text(survey, "privacy_notice", language),
        "records_participation": _records_participation(survey, request),
    }


def _records_participation(survey: Survey, request: HttpRequest | None) -> str:
    """Whether sending the answers records that this person answered (a
    MemberParticipation, services._write_submission): "members" on a members-only
    survey taking one answer each, "signed_in" where the survey takes one answer from
    each signed-in person and this one is signed in; "" when nothing is recorded."""
    if not survey.one_response_per_member:
        return ""
    if survey.distribution == Survey.Distribution.MEMBERS:
        return "members"
    user = getattr(request, "user", None)
    return "signed_in" if user is not None and user.is_authenticated else ""


def _chosen_language(request: HttpRequest, survey: Survey) -> str:
    """The language picked on the start page: a posted field, or ?lang= to read it first."""
    return survey.choose_language(request.POST.get("language") or request.GET.get("lang"))


def _can_preview(request: HttpRequest, survey: Survey) -> bool:
    """Whether this person may preview the survey (its community's organisers)."""
    return request.user.is_authenticated and access_for(request.user, survey.community).can_organise


@access_level("public")
@respondent_page
def start(request: HttpRequest, link: str) -> HttpResponse:
    """The start page: welcome text, who sees the answers, the language choice, and
    Start. Reached by the survey's link, by a member's "Answer this survey" (views.take)
    and by an organiser's preview (?preview=1, whose Start posts to views.preview)."""
    survey = _open_survey(link)
    language = _chosen_language(request, survey)
    use_respondent_language(language)
    preview = request.GET.get("preview") == "1" and _can_preview(request, survey)
    if (
        survey.distribution == Survey.Distribution.CODES
        and request.method != "POST"
        and not preview
    ):
        target = reverse("surveys_public:code", kwargs={"link": link})
        return redirect(
            f"{target}?{urlencode({'lang': language})}" if "lang" in request.GET else target
        )
    members_only = survey.distribution == Survey.Distribution.MEMBERS
    is_member = (
        members_only
        and request.user.is_authenticated
        and access_for(request.user, survey.community).is_member
    )
    problem = ""
    if survey.is_open and not preview and (is_member or not members_only):
        refusal = services.start_refusal(survey=survey, user=request.user)
        problem = str(refusal) if refusal is not None else ""
    if (
        request.method == "POST"
        and survey.is_open
        and not preview
        and not problem
        and (survey.distribution == Survey.Distribution.LINK or is_member)
    ):
        try:
            _response, raw = services.start_response(
                survey=survey, language=language, user=request.user
            )
        except ServiceError as error:
            problem = str(error)
        else:
            return HttpResponseRedirect(_private_url("page", language, token=raw, page=0))
    return render(
        request,
        "surveys/respond_start.html",
        {
            **_respondent_texts(survey, language, request),
            "preview": preview,
            "is_member": is_member,
            "problem": problem,
            "community_name": survey.community.name,
            "keep_query": "&preview=1" if preview else "",
        },
    )


@access_level("public")
@respondent_page
def code_entry(request: HttpRequest, link: str) -> HttpResponse:
    survey = _open_survey(link)
    language = _chosen_language(request, survey)
    use_respondent_language(language)
    form = CodeEntryForm(request.POST or None)
    refusal = services.start_refusal(survey=survey, user=request.user) if survey.is_open else None
    if request.method == "POST" and form.is_valid():
        try:
            _response, raw = services.start_response(
                survey=survey, language=language, code=form.cleaned_data["code"], user=request.user
            )
        except ServiceError as error:
            form.add_error("code", str(error))
        else:
            return HttpResponseRedirect(_private_url("page", language, token=raw, page=0))
    return render(
        request,
        "surveys/respond_code.html",
        {
            **_respondent_texts(survey, language, request),
            "form": form,
            "problem": str(refusal) if refusal is not None else "",
        },
    )


def _switch_language(request: HttpRequest, response: Response) -> dict[str, Any]:
    """The language links of a private link's pages (as on the start page, links and
    no script): followed (a GET with ?lang= naming another of the survey's languages),
    the response is in that language from now on, its answers kept. Someone who picked
    the wrong language on the start page can still change it. Returns what the links
    need: the survey's languages, the response's, and the page's other parameters (a
    page reached from the check page stays so)."""
    wanted = request.GET.get("lang", "")
    survey = response.survey
    if request.method == "GET" and wanted != response.language:
        services.set_response_language(response=response, language=wanted)
    kept = {key: value for key, value in request.GET.items() if key in _KEPT_PARAMETERS}
    return {
        "language_options": _language_options(survey),
        "language": response.language,
        "keep_query": "&" + urlencode(kept) if kept else "",
    }


# What a page of a private link keeps when its language is changed: a page reached by
# "Change" on the check page goes back there (_FROM_CHECK), through the pages still to
# see (_STILL_TO_SEE).
_FROM_CHECK = "from"
_STILL_TO_SEE = "then"
_KEPT_PARAMETERS = (_FROM_CHECK, _STILL_TO_SEE)


def _link_ended(request: HttpRequest) -> HttpResponse:
    """What a private link shows once its answers are sent (or if it never existed:
    the two cannot be told apart, as nothing links a sent response to its link). In
    the language its address names (_lang_query), the one the person answered in."""
    use_respondent_language(request.GET.get("lang", ""))
    return render(request, "surveys/respond_ended.html", status=404)


def _not_taking_answers(request: HttpRequest, response: Response) -> HttpResponse | None:
    """What a private link shows once its survey is closed (or back to draft): said on
    the next page, not only when the person presses "Send my answers". None while the
    survey is open, and always for an organiser's preview."""
    survey = response.survey
    if survey.is_open or response.is_preview:
        return None
    return render(
        request,
        "surveys/respond_closed.html",
        {
            "closed": survey.status == Survey.Status.CLOSED,
            "title": logic.survey_text(survey, "title", response.language),
        },
        status=410,
    )


def _about_answer(sentence: str, question: logic.Shown, reason: str) -> SafeString:
    """`sentence` (with %(question)s and %(reason)s) with the question's text marked
    with the language it is in, when that is not the page's; the rest is Sayso's."""
    return mark_safe(  # noqa: S308 (every part is escaped here)
        conditional_escape(sentence)
        % {"question": question.html, "reason": conditional_escape(reason)}
    )


def _visible_sections(response: Response) -> list[tuple[Section, list[Question]]]:
    sections = response.survey.sections.prefetch_related("questions__choices")
    return [(s, list(s.questions.all())) for s in sections]


def _questions_by_name(response: Response, questions: list[Question]) -> dict[str, Question]:
    """The survey's questions by name, for the answers `questions`' texts show
    (${name}); only those of `questions` when none of them shows an answer."""
    if not any(logic.text_references(q) for q in questions):
        return {q.name: q for q in questions}
    return {q.name: q for _s, qs in _visible_sections(response) for q in qs}


def _first_box(question: Question) -> str:
    """The id of what a question is answered with first, for the links to it (the
    error summary, the new questions): the box itself, or a group's first option or
    select. A link to a group's fieldset moved the view but left focus on the page,
    so that Tab started again from its top (respond_page.html sets these ids)."""
    field = logic.field_name(question)
    choices = list(question.choices.all()) if question.has_choices else []
    if not choices:
        return field
    if question.type == Question.Type.RANKING:
        return f"{field}__{choices[0].name}"
    return f"{field}-1"


def _render_questions(
    questions: list[Question],
    answers: dict[str, Any],
    errors: dict[str, str],
    typed: dict[str, Any],
    language: str,
    new: frozenset[str] = frozenset(),
    *,
    default_language: str,
    applies: Collection[str],
    deciding: Collection[str],
    everyone: Mapping[str, Question] | None = None,
) -> list[dict[str, Any]]:
    # Each text is a logic.Shown: the page marks it with the language it is really in
    # (a missing translation shows the main language's text, and says so). A question
    # that does not apply (not in `applies`) is there too, hidden: with JavaScript it
    # appears as soon as an answer brings it up (_questions_shown): asked on each
    # change of a question `deciding` whether another of the page shows.
    # A label or hint may show an earlier answer ("Years at ${site}"): filled in from
    # `answers`, with `everyone` (the survey's questions by name) for choices' labels.
    named = everyone if everyone is not None else {q.name: q for q in questions}

    def fill(text: logic.Shown) -> logic.Shown:
        return logic.filled(text, answers, named, language, default_language)

    out = []
    for q in questions:
        shown = q.name in applies
        value = typed.get(q.name, answers.get(q.name))
        choices = [
            (c.name, logic.shown(c.label, language, default_language, c.name))
            for c in q.choices.all()
        ]
        rank_of: dict[str, int] = {}
        if q.type == Question.Type.RANKING and isinstance(value, list):
            rank_of = {name: i for i, name in enumerate(value, start=1)}
        elif q.type == Question.Type.RANKING and isinstance(value, dict):
            # As typed, when refused (two options given the same number, say).
            rank_of = {name: int(r) for name, r in value.items() if str(r).isdigit()}
        field = logic.field_name(q)
        # What the numbers of a ranking mean: without it, 1 could be the least.
        order = (
            _(
                "Number them in order: 1 for the most important to you, %(n)s for the"
                " least important."
            )
            % {"n": len(choices)}
            if q.type == Question.Type.RANKING
            else ""
        )
        hint = fill(logic.shown_own_or_main(q.hint, language, default_language))
        error = logic.message_shown(
            q, errors.get(q.name, "") if shown else "", language, default_language
        )
        # Read out with the question: the hint, what the numbers mean, the problem.
        described = [
            f"{field}-{part}"
            for part, text in (("hint", hint), ("order", order), ("error", error))
            if text
        ]
        out.append(
            {
                "q": q,
                "field": field,
                "first_box": _first_box(q),
                "label": fill(logic.shown(q.label, language, default_language, q.name)),
                "hint": hint,
                "order": order,
                "described_by": " ".join(described),
                "choices": choices,
                "value": logic.number_text(value) if value is not None else "",
                "selected": value if isinstance(value, list) else [value],
                "ranks": [(n, label, rank_of.get(n, "")) for n, label in choices],
                "positions": range(1, len(choices) + 1),
                "error": error,
                "new": q.name in new,
                "applies": shown,
                "decides": q.name in deciding,
                "maxlength": logic.text_limit(q) if q.is_text else None,
                # The dates a date question takes (logic.date_problem), for the picker.
                "date_range": (
                    (logic.EARLIEST_DATE.isoformat(), logic.LATEST_DATE.isoformat())
                    if q.type == Question.Type.DATE
                    else None
                ),
            }
        )
    return out


def _answer_lang_attr(response: Response) -> SafeString:
    """What the person types is taken to be in the language they chose."""
    return logic.Shown("", logic.html_lang(response.language)).lang_attr


def _questions_shown(
    request: HttpRequest, response: Response, questions: list[Question]
) -> HttpResponse:
    """With JavaScript, as the person answers (htmx, on each change): the page's
    questions whose showing the answers typed so far change, to be put in place of
    theirs (out of band): one brought up, shown with what was typed in it before it
    was hidden; one that no longer applies, hidden with what was typed in it. And a
    sentence for screen readers (the page's status line) saying so. Nothing is checked
    or kept: the server judges the answers again when the page is sent, and drops
    those of questions that do not apply."""
    applies, values, raw = logic.page_as_typed(questions, request.POST, response.draft)
    was_shown = set(request.POST.getlist(logic.SHOWN_FIELD))
    toggled = {q.name for q in questions if (q.name in applies) != (q.name in was_shown)}
    on_page = {q.name for q in questions}
    changed = [
        q
        for q in questions
        if q.name in toggled
        # its label or hint shows an answer on this page: say it as now typed
        or on_page.intersection(logic.text_references(q))
    ]
    if not changed:
        return HttpResponse(status=204)  # htmx leaves the page as it is
    survey = response.survey
    items = _render_questions(
        changed,
        values,
        {},
        raw,
        response.language,
        default_language=survey.default_language,
        applies=applies,
        deciding=logic.deciding(questions),
        everyone=_questions_by_name(response, changed),
    )
    # The status line speaks of questions shown or hidden, not of labels filled in.
    appeared = [item for item in items if item["applies"] and item["q"].name in toggled]
    hidden = sum(1 for item in items if not item["applies"] and item["q"].name in toggled)
    return render(
        request,
        "surveys/respond_page.html#changes",
        {
            "questions": items,
            "appeared": appeared,
            "hidden": hidden,
            "answer_lang_attr": _answer_lang_attr(response),
        },
    )


def _still_to_see(
    request: HttpRequest,
    pages: list[list[Question]],
    page: int,
    before: dict[str, Any],
    answers: dict[str, Any],
) -> set[int]:
    """On a page reached by "Change" on the check page, the later pages to go through
    before going back there: those with a question that this page's answers brought
    up (one the person has not seen), and those an earlier change on the way brought
    up (?then= in the address, or the form's "then" when the page was shown again)."""
    still = logic.pages_brought_up(pages, page, before, answers)
    for given in (request.GET.get(_STILL_TO_SEE, ""), request.POST.get(_STILL_TO_SEE, "")):
        for part in given.split(","):
            if part.isdigit() and page < int(part) < len(pages):
                still.add(int(part))
    return still


def _after_change(
    pages: list[list[Question]], still: set[int], answers: dict[str, Any]
) -> tuple[int, dict[str, str]]:
    """Where Continue goes from a page reached by "Change" on the check page: the
    first of the pages `still` to see, with the query that keeps the way back and
    the others; else the check page (len(pages)). A page whose questions no longer
    apply (a later change took them away) is left out."""
    still = {i for i in still if any(logic.is_relevant(q, answers) for q in pages[i])}
    if not still:
        return len(pages), {}
    target = min(still)
    rest = ",".join(str(i) for i in sorted(still - {target}))
    return target, {_FROM_CHECK: "check"} | ({_STILL_TO_SEE: rest} if rest else {})


@access_level("public")
@respondent_page
def page(request: HttpRequest, token: str, page: int) -> HttpResponse:
    response = services.find_response(token)
    if response is None:
        return _link_ended(request)
    language_links = _switch_language(request, response)
    use_respondent_language(response.language)
    if closed := _not_taking_answers(request, response):
        return closed  # nothing typed on this page is saved
    survey = response.survey
    sections = _visible_sections(response)
    if not 0 <= page < len(sections):
        return HttpResponseRedirect(_private_url("check", response.language, token=token))
    section, questions = sections[page]
    if request.method == "POST" and request.POST.get("live"):
        # Sent by htmx as the person answers (respond_page.html): which questions show.
        return _questions_shown(request, response, questions)
    answers = dict(response.draft)
    errors: dict[str, str] = {}
    typed: dict[str, Any] = {}
    new: list[Question] = []
    unsaved: list[dict[str, Any]] = []  # answers Back would lose, named on the page
    still: set[int] = set()  # reached from the check page: the later pages to see first
    if request.method == "POST":
        # The page was shown with the answers saved so far (the draft is saved each
        # time it is shown again), so what they made relevant is what was on it.
        before = response.draft
        errors, typed = logic.validate_page(
            questions, request.POST, answers, response.language, survey.default_language
        )
        # An answer on this page can end a question on a later one (pets: no ends "Is
        # it a dog?", which ends "Dog's breed"): its answer is dropped, never kept.
        answers = logic.still_applying([q for _s, qs in sections for q in qs], answers)
        from_check = request.GET.get(_FROM_CHECK) == "check"
        pages = [q for _section, q in sections]
        if from_check:
            still = _still_to_see(request, pages, page, before, answers)
        going_back = "back" in request.POST
        default = survey.default_language
        if switch := request.POST.get("lang", ""):
            # A language button (respond_page.html): what was typed is kept, as by "Save
            # and continue later", and the same page comes back in that language.
            services.save_page(response=response, answers=answers, page=page)
            services.set_response_language(response=response, language=switch)
            kept = {k: str(request.GET[k]) for k in _KEPT_PARAMETERS if k in request.GET}
            return HttpResponseRedirect(
                _private_url("page", response.language, kept, token=token, page=page)
            )
        if "later" in request.POST:
            # Keep every answer that can be read, rules or not (the check page names
            # what still needs an answer), and carry on from this same page. An answer
            # that cannot be read (a number that is not a number, a ranking with a
            # number twice) has no form the draft can hold: it is named, not kept.
            services.save_page(response=response, answers=answers, page=page)
            for q in questions:
                if q.name in typed:
                    messages.warning(
                        request,
                        _about_answer(
                            _(
                                "Your answer to “%(question)s” was not saved: %(reason)s "
                                "Answer it again when you come back."
                            ),
                            logic.shown(q.label, response.language, default, q.name),
                            errors[q.name],
                        ),
                    )
            return HttpResponseRedirect(_private_url("saved", response.language, token=token))
        if going_back and typed and request.POST.get("back") != "anyway":
            # Back would lose an answer that cannot be read (the draft cannot hold
            # "abc" for a number): keep the readable ones, stay, and let the person
            # correct it or choose to go back without it (saved below, on this page).
            errors = {name: errors[name] for name in typed}
            unsaved = [
                {
                    "first_box": _first_box(q),
                    "text": _about_answer(
                        _("Your answer to “%(question)s” could not be saved: %(reason)s"),
                        logic.shown(q.label, response.language, default, q.name),
                        errors[q.name],
                    ),
                }
                for q in questions
                if q.name in typed
            ]
            going_back = False
        elif not going_back:
            # A question that an answer on this page has just brought up was never
            # seen: show it, without a complaint that it was not answered.
            new = logic.newly_relevant(questions, before, answers, request.POST)
            for q in new:
                errors.pop(q.name, None)
        if (not errors and not new) or going_back:
            target = page - 1 if going_back else page + 1
            # Skip sections where no question applies.
            step = -1 if going_back else 1
            while 0 <= target < len(sections) and not any(
                logic.is_relevant(q, answers) for q in sections[target][1]
            ):
                target += step
            query: dict[str, str] = {}
            if from_check and not going_back:
                # Reached by "Change" on the check page: back there, unless this change
                # (or one before it on the way) brought up a question on a later page:
                # each such page first, then the check page.
                target, query = _after_change(pages, still, answers)
            elif from_check:
                # Back from a page reached by "Change": still on the way to the check page.
                query = {k: str(request.GET[k]) for k in _KEPT_PARAMETERS if k in request.GET}
            services.save_page(response=response, answers=answers, page=max(target, 0))
            if target < 0:
                target = 0
            if target >= len(sections):
                return HttpResponseRedirect(_private_url("check", response.language, token=token))
            return HttpResponseRedirect(
                _private_url("page", response.language, query, token=token, page=target)
            )
        services.save_page(response=response, answers=answers, page=page)
    place, pages_to_see = _progress([qs for _s, qs in sections], page, answers)
    return render(
        request,
        "surveys/respond_page.html",
        {
            "survey": survey,
            "response": response,
            "title": logic.survey_text(survey, "title", response.language),
            "token": token,
            "section_title": logic.shown_own_or_main(
                section.title, response.language, survey.default_language
            ),
            "answer_lang_attr": _answer_lang_attr(response),
            "questions": _render_questions(
                questions,
                answers,
                errors,
                typed,
                response.language,
                frozenset(q.name for q in new),
                default_language=survey.default_language,
                applies=logic.applying(questions, answers),
                deciding=logic.deciding(questions),
                everyone={q.name: q for _s, qs in sections for q in qs},
            ),
            "errors": errors,
            "unsaved": unsaved,
            "new_questions": len(new),
            # Someone who started with an invitation code cannot start again: until they
            # send their answers, this page's address is their only way back to them.
            # Said on the first page every time it is shown, not only until something is
            # saved: shown again with a problem, or in another language, the notice went
            # before the person had read it.
            "keep_link": (
                request.build_absolute_uri(
                    _private_url("page", response.language, token=token, page=0)
                )
                if page == 0
                and not response.is_preview
                and survey.distribution == Survey.Distribution.CODES
                else ""
            ),
            **language_links,
            # On a shared phone the next person could open these answers from the
            # browser's history: said once, on the first page, to those who came by
            # the link or a code (a member's answers need their sign-in). "Forget my
            # answers" is no way out for a code holder (their code stays used), so
            # they are told so rather than pointed to it.
            "shared_phone_warning": (
                ("code" if survey.distribution == Survey.Distribution.CODES else "link")
                if page == 0
                and not response.is_preview
                and survey.distribution != Survey.Distribution.MEMBERS
                else ""
            ),
            "forget_url": _private_url("forget", response.language, token=token),
            # Shown again (a problem, a new question): the pages its changes brought up.
            "still_to_see": ",".join(str(i) for i in sorted(still)),
            "page": page,
            "page_number": place,
            "pages": pages_to_see,
            "percent_done": int((place - 1) * 100 / pages_to_see),
        },
    )


def _progress(pages: list[list[Question]], page: int, answers: dict[str, Any]) -> tuple[int, int]:
    """Where `page` stands among the pages the person goes through given the answers
    so far (logic.pages_to_go_through), counted from 1, and how many they are."""
    counted = logic.pages_to_go_through(pages, page, answers)
    return counted.index(page) + 1, len(counted)


@access_level("public")
@respondent_page
def saved(request: HttpRequest, token: str) -> HttpResponse:
    response = services.find_response(token)
    if response is None:
        return _link_ended(request)
    language_links = _switch_language(request, response)
    use_respondent_language(response.language)
    if closed := _not_taking_answers(request, response):
        return closed
    link = request.build_absolute_uri(
        _private_url("page", response.language, token=token, page=response.page)
    )
    return render(
        request,
        "surveys/respond_saved.html",
        {
            "survey": response.survey,
            "title": logic.survey_text(response.survey, "title", response.language),
            "link": link,
            **language_links,
        },
    )


@access_level("public")
@respondent_page
def forget(request: HttpRequest, token: str) -> HttpResponse:
    """ "Forget my answers": asks first (a page, no script), then deletes the unsent
    response, so that the next person on a shared phone cannot open it. A code that
    started it stays used (services.forget_response), and the page says so."""
    response = services.find_response(token)
    if response is None:
        return _link_ended(request)
    use_respondent_language(response.language)
    survey = response.survey
    context = {
        "survey": survey,
        "title": logic.survey_text(survey, "title", response.language),
        "token": token,
        "with_code": survey.distribution == Survey.Distribution.CODES and not response.is_preview,
        "back": _private_url("page", response.language, token=token, page=response.page),
    }
    if request.method == "POST":
        services.forget_response(response=response)
        return render(request, "surveys/respond_forgotten.html", context)
    return render(request, "surveys/respond_forget.html", context)


@functools.lru_cache(maxsize=1024)
def _thanks_url(script_prefix: str, link: str) -> str:
    """The thank-you page of a survey, reversed once per survey and script prefix
    (reverse() was a twentieth of a submission's time)."""
    return reverse("surveys_public:thanks", kwargs={"link": link})


@access_level("public")
@respondent_page
def check(request: HttpRequest, token: str) -> HttpResponse:
    errors: dict[str, str] = {}  # by question name, from a refused submission
    if request.method == "POST":
        # Sending reads only what the submission needs; the full response is read
        # below only when the page is shown again.
        submitting = services.response_to_submit(token)
        if submitting is None:
            return _link_ended(request)
        use_respondent_language(submitting.language)
        try:
            errors = services.submit_response(response=submitting, user=request.user)
        except ServiceError as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(_private_url("check", submitting.language, token=token))
        if not errors:
            sent = submitting.survey
            thanks = _thanks_url(get_script_prefix(), sent.link_token)
            if submitting.language != sent.default_language:
                thanks += "?" + urlencode({"lang": submitting.language})
            # Not redirect(): given a URL, it first tries (and fails) to reverse it.
            return HttpResponseRedirect(thanks)
        messages.error(request, _("Some answers need your attention before you send them."))
    response = services.find_response(token)
    if response is None:
        return _link_ended(request)
    language_links = _switch_language(request, response)
    use_respondent_language(response.language)
    if closed := _not_taking_answers(request, response):
        return closed
    survey = response.survey
    language = response.language
    default = survey.default_language
    summary = []
    sections = _visible_sections(response)
    # Judged in the survey's order, as the draft is kept: exactly what will be sent.
    answers = logic.still_applying([q for _s, qs in sections for q in qs], response.draft)
    applies = logic.applying([q for _s, qs in sections for q in qs], answers)
    everyone = {q.name: q for _s, qs in sections for q in qs}
    for index, (section, questions) in enumerate(sections):
        for q in questions:
            if q.is_note or q.name not in applies:
                continue
            value = answers.get(q.name)
            # Each part in the language it is in: choices as the page showed them, what
            # the person wrote in the language they chose, the rest in Sayso's.
            names = {
                c.name: logic.shown(c.label, language, default, c.name) for c in q.choices.all()
            }
            shown: list[logic.Shown]
            if isinstance(value, list):
                shown = [names.get(v) or logic.Shown(str(v), "") for v in value]
            elif value is None and q.type != Question.Type.CONSENT:
                shown = [logic.Shown(_("Not answered"), logic.ui_lang())]
            elif q.has_choices:
                shown = [names.get(str(value)) or logic.Shown(str(value), "")]
            else:  # in words: "Agreed", "2 March 2019"
                shown = [logic.answer_shown(q, value, language)]
            # The submission's own reasons first: some (a choice withdrawn since the
            # answer was given) are known only to it.
            message = errors.get(q.name) or logic.check_answer(q, value, answers, language, default)
            summary.append(
                {
                    "label": logic.filled(
                        logic.shown(q.label, language, default, q.name),
                        answers,
                        everyone,
                        language,
                        default,
                    ),
                    "answer": shown,
                    "page": index,
                    "error": logic.message_shown(q, message or "", language, default),
                    "section": logic.shown_own_or_main(section.title, language, default),
                    # A ranking is shown as a numbered list, most important first.
                    "ranked": q.type == Question.Type.RANKING and isinstance(value, list),
                }
            )
    return render(
        request,
        "surveys/respond_check.html",
        {
            "survey": survey,
            "title": logic.survey_text(survey, "title", language),
            "token": token,
            "summary": summary,
            # The page's title starts "Error:" while an answer needs attention.
            "has_problem": any(item["error"] for item in summary),
            "preview": response.is_preview,
            # "Change" leads to the answer's page, whose Continue comes back here.
            "change_query": _lang_query(language, **{_FROM_CHECK: "check"}),
            # The last page before a shared phone is handed on: forgetting is offered
            # here too, as on every page of questions.
            "forget_url": _private_url("forget", language, token=token),
            **language_links,
        },
    )


@access_level("public")
@respondent_page
def privacy(request: HttpRequest) -> HttpResponse:
    """How Sayso protects people, the page every page's footer links to: from a
    respondent's page, in the language Sayso speaks to them there (?lang=)."""
    use_respondent_language(request.GET.get("lang", ""))
    return render(request, "surveys/respond_privacy.html")


@access_level("public")
@respondent_page
def thanks(request: HttpRequest, link: str) -> HttpResponse:
    survey = _open_survey(link)
    language = survey.choose_language(request.GET.get("lang"))
    use_respondent_language(language)
    return render(request, "surveys/respond_thanks.html", _respondent_texts(survey, language))
