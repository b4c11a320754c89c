"""State changes for surveys: building, distributing, responding, approving, citing.

Every function is keyword-only and opens its own transaction.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Sum
from django.db.models.functions import Floor
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sayso.core.models import AuditEvent, Community, InvitationCodeBatch
from sayso.core.selectors import batches_for
from sayso.core.services import (
    ServiceError,
    cite,
    create_code_batch,
    find_citation,
    record,
    redeem_code_in,
)

from . import logic, selectors, xlsform
from .models import (
    Answer,
    AnswerCount,
    Choice,
    DefinitionRevision,
    MemberParticipation,
    Question,
    Response,
    Section,
    Survey,
    SurveyExport,
    digest,
    new_token,
)

logger = logging.getLogger(__name__)

EVIDENCE_RESULT = "survey.result"


# --------------------------------------------------------------------------- building


@transaction.atomic
def save_survey(*, survey: Survey, community: Community, actor: Any) -> Survey:
    creating = survey.pk is None
    survey.community = community
    if creating:
        survey.created_by = actor
    if not survey.languages:
        survey.languages = ["en"]
    before = (
        []
        if creating
        else Survey.objects.filter(pk=survey.pk).values_list("languages", flat=True).first()
    )
    survey.full_clean()
    survey.save()
    if creating:
        Section.objects.create(survey=survey, order=1, title={survey.default_language: ""})
    else:
        _rename_languages(survey, list(before or []))
    return survey


@transaction.atomic
def save_section(*, section: Section, survey: Survey, title: str | None = None) -> Section:
    """Save the page (a new one goes last). `title`, when given, is its new title in
    the survey's main language; its translations are kept, unless it is left empty:
    a page left untitled keeps no translations of its old title, which would
    otherwise show in some languages as the title of a page that has none."""
    if title is not None:
        main = survey.default_language
        title = title.strip()
        section.title = {**(section.title or {}), main: title} if title else {main: ""}
    section.survey = survey
    _recount_results_when_committed(survey)
    if section.pk is None:
        top = survey.sections.aggregate(m=Max("order"))["m"] or 0
        section.order = top + 1
    section.save()
    return section


def _recount_results_when_committed(survey: Survey) -> None:
    """This transaction changes the survey's questions, which a kept snapshot of its
    results counted (selectors.joint_data): once it commits, have the task worker count
    them again, so that the next reader of a big survey's results need not wait. A
    refused change rolls back and queues nothing."""
    transaction.on_commit(functools.partial(selectors.recount_after_change, survey))


def _lock_definition(survey_id: int) -> None:
    """Make submissions to the survey wait until this transaction ends (on PostgreSQL;
    on SQLite the transaction already holds the only write lock), so that what the
    builder checks ("nobody has answered this yet") still holds when it changes the
    question. A submission's claim takes this row FOR KEY SHARE (_REVISION_LOCK):
    FOR UPDATE, not the default NO KEY UPDATE, is what conflicts with it."""
    DefinitionRevision.objects.select_for_update().filter(survey_id=survey_id).order_by().first()


def section_delete_refusal(section: Section) -> ServiceError | None:
    """Why the page cannot be deleted now (None: it can): asked by delete_section, and
    by the confirmation page, which then says so instead of offering the button."""
    survey = section.survey
    if survey.responses.filter(is_preview=False).exists():
        return ServiceError(
            _(
                "People have started answering this survey, so its pages cannot be deleted:"
                " their answers would be lost. Close the survey and make a new one instead."
            )
        )
    if survey.sections.count() <= 1:
        return ServiceError(_("A survey needs at least one page; this is the last one."))
    names = set(section.questions.values_list("name", flat=True))
    used_by = [
        q.name
        for q in survey.questions.exclude(section=section)
        if any(_refers_to(q, name) for name in names)
    ]
    if used_by:
        return ServiceError(
            _("Questions on other pages use this page's answers in their logic: %(used)s.")
            % {"used": ", ".join(used_by)}
        )
    return None


@transaction.atomic
def delete_section(*, section: Section) -> None:
    """Delete a page with its questions: only while nobody has answered (an answer
    would lose its question), and not the last page."""
    survey = section.survey
    _lock_definition(survey.pk)
    _recount_results_when_committed(survey)
    if refusal := section_delete_refusal(section):
        raise refusal
    section.delete()  # its questions (and their choices) go with it


def _refers_to(question: Question, name: str) -> bool:
    """Whether the question's logic, or its label or hint (showing the answer), uses
    the answer to the question `name`."""
    return f"${{{name}}}" in question.relevant + question.constraint or (
        name in logic.text_references(question)
    )


@transaction.atomic
def move_question(*, question: Question, up: bool) -> Question:
    """Swap the question with its neighbour on the same page; logic must still refer
    only to earlier questions afterwards."""
    _recount_results_when_committed(question.survey)
    siblings = list(question.section.questions.order_by("order", "pk"))
    at = next(i for i, q in enumerate(siblings) if q.pk == question.pk)
    other_at = at - 1 if up else at + 1
    if not 0 <= other_at < len(siblings):
        return question
    other = siblings[other_at]
    first, second = (other, question) if up else (question, other)
    # After the swap `second` comes before `first`: `second` must not depend on `first`.
    if _refers_to(second, first.name):
        raise ServiceError(
            _("'%(later)s' uses the answer to '%(earlier)s', so it must stay after it.")
            % {"later": second.name, "earlier": first.name}
        )
    siblings[at], siblings[other_at] = siblings[other_at], siblings[at]
    for order, q in enumerate(siblings, start=1):
        q.order = order
    Question.objects.bulk_update(siblings, ["order"])
    return question


SURVEY_TEXTS = ("title", "welcome", "privacy_notice")


def language_code_problem(code: str, *, one: bool = False) -> str:
    """What to tell someone who typed `code` where a language code goes (`one`: a box
    for one code, as "Add a language" is); names the code to use when they typed a
    language's name that Django knows ("english": en)."""
    message = (
        _("Give one language code, like cy for Welsh or pt-br for Brazilian Portuguese.")
        if one
        else _("Give language codes like en, cy or pl, separated by spaces.")
    )
    from django.utils.translation import get_language_info

    meant = logic.html_lang(code).lower()
    try:
        name = get_language_info(meant)["name_translated"] if meant != code else ""
    except KeyError:  # well formed ("zz_yy" gives "zz-yy") but not a language Django knows
        name = ""
    if name and logic.is_language_code(meant):
        return (
            message
            + " "
            + _("“%(typed)s” is not a code: for %(name)s, give %(code)s.")
            % {"typed": code, "name": name, "code": meant}
        )
    return message + " " + _("“%(typed)s” is not a language code.") % {"typed": code}


def _renamed(labels: Any, renames: dict[str, str]) -> Any:
    """`labels` ({language: text}) with each renamed language's text under its code,
    in the same place; a text already under the code is kept."""
    if not isinstance(labels, dict) or not renames.keys() & labels.keys():
        return labels
    out: dict[str, Any] = {}
    for key, text in labels.items():
        language = str(key)
        if language in renames and renames[language] in labels:
            continue
        out[renames.get(language, language)] = text
    return out


def _rename_languages(survey: Survey, before: list[str]) -> None:
    """Move every text kept under a language's name ("english", as an XLSForm column
    "label::English" gives it) to the code that replaced it in the survey's languages
    ("en"): without this, the texts stay under the name, the survey no longer has that
    language, and its pages show whatever text comes first, in any language."""
    renames: dict[str, str] = {}
    for old in before:
        new = logic.html_lang(old).lower()
        # Only a name replaced by its own code, which the survey did not have before.
        if old not in survey.languages and new in survey.languages and new not in before:
            renames[old] = new
    if not renames:
        return
    _lock_definition(survey.pk)
    survey.texts = _renamed(survey.texts, renames)
    survey.save(update_fields=["texts"])
    sections = list(Section.objects.filter(survey=survey))
    for section in sections:
        section.title = _renamed(section.title, renames)
    Section.objects.bulk_update(sections, ["title"])
    text_fields = ["label", "hint", "required_message", "constraint_message"]
    questions = list(Question.objects.filter(survey=survey))
    for question in questions:
        for name in text_fields:
            setattr(question, name, _renamed(getattr(question, name), renames))
    Question.objects.bulk_update(questions, text_fields)
    choices = list(Choice.objects.filter(question__survey=survey))
    for choice in choices:
        choice.label = _renamed(choice.label, renames)
    Choice.objects.bulk_update(choices, ["label"])
    # Answers given in the language keep saying which one, under its new code.
    for old, new in renames.items():
        Response.objects.filter(survey=survey, language=old).update(language=new)


@transaction.atomic
def add_language(*, survey: Survey, language: str) -> Survey:
    code = language.strip().lower()
    if not logic.is_language_code(code):
        raise ServiceError(
            language_code_problem(code, one=True)
            if code
            else _("Give a language code, like pl or pt-br.")
        )
    if code in survey.languages:
        raise ServiceError(_("The survey already has this language."))
    survey.languages = [*survey.languages, code]
    survey.save(update_fields=["languages"])
    return survey


@transaction.atomic
def save_translations(*, survey: Survey, language: str, texts: dict[str, str]) -> int:
    """Store the texts of one language, keyed as in `selectors.translation_entries`
    ("survey.title", "section.<pk>", "question.<pk>.label", "choice.<pk>", ...).
    An empty text removes the translation (the default language shows instead).
    Returns how many objects changed."""
    if language not in survey.languages:
        raise ServiceError(_("The survey does not have this language."))
    _recount_results_when_committed(survey)

    def put(labels: Any, text: str) -> dict[str, str]:
        out: dict[str, str] = dict(labels or {})
        if text.strip():
            out[language] = text.strip()
        else:
            out.pop(language, None)
        return out

    survey_texts = {
        field: texts[f"survey.{field}"] for field in SURVEY_TEXTS if f"survey.{field}" in texts
    }
    if survey_texts:
        all_texts = dict(survey.texts or {})
        current = dict(all_texts.get(language) or {})
        for field, text in survey_texts.items():
            if text.strip():
                current[field] = text.strip()
            else:
                current.pop(field, None)
        all_texts[language] = current
        survey.texts = all_texts
        survey.save(update_fields=["texts"])
    changed = 0
    sections = list(survey.sections.all())
    for section in sections:
        if f"section.{section.pk}" in texts:
            section.title = put(section.title, texts[f"section.{section.pk}"])
            changed += 1
    Section.objects.bulk_update(sections, ["title"])
    questions = list(survey.questions.prefetch_related("choices"))
    choices = []
    for q in questions:
        for field in ("label", "hint", "required_message", "constraint_message"):
            key = f"question.{q.pk}.{field}"
            if key in texts:
                setattr(q, field, put(getattr(q, field), texts[key]))
                changed += 1
        for c in q.choices.all():
            if f"choice.{c.pk}" in texts:
                c.label = put(c.label, texts[f"choice.{c.pk}"])
                choices.append(c)
    Question.objects.bulk_update(
        questions, ["label", "hint", "required_message", "constraint_message"]
    )
    Choice.objects.bulk_update(choices, ["label"])
    return changed + len(choices) + len(survey_texts)


def earlier_names(
    survey: Survey, question: Question | None, section: Section | None = None
) -> list[str]:
    """Names of the questions before `question`. A new question goes last on
    `section`: the questions of the earlier pages and of that page come before it (all
    of the survey's when no page is given)."""
    names: list[str] = []
    new_on = section if question is not None and question.pk is None else None
    for q in survey.questions.select_related("section").order_by("section__order", "order", "pk"):
        if question is not None and question.pk is not None and q.pk == question.pk:
            break
        if new_on is not None and q.section_id != new_on.pk and q.section.order >= new_on.order:
            continue  # on a later page than the new question's
        names.append(q.name)
    return names


def _rename_weighting_target(survey: Survey, old: str, new: str) -> None:
    """Weighting targets name their question: they follow it when it is renamed."""
    targets = Survey.objects.filter(pk=survey.pk).values_list("weighting_targets", flat=True)
    current = targets.first() or {}
    if old in current:
        survey.weighting_targets = {new if k == old else k: v for k, v in current.items()}
        Survey.objects.filter(pk=survey.pk).update(weighting_targets=survey.weighting_targets)


def _forget_weighting_target(survey: Survey, name: str) -> None:
    """A deleted question's population figures go with it (nobody had answered it, so
    the results could never be weighted by it); the other questions' stay."""
    targets = Survey.objects.filter(pk=survey.pk).values_list("weighting_targets", flat=True)
    current = targets.first() or {}
    if name in current:
        survey.weighting_targets = {k: v for k, v in current.items() if k != name}
        Survey.objects.filter(pk=survey.pk).update(weighting_targets=survey.weighting_targets)


class BuilderError(ServiceError):
    """A builder change refused; `field` names the form field it is about (None: the
    whole form), so the message can sit next to that field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# Types whose answers are stored alike: a question may change between them after
# people have answered (any other change would lose or garble their answers).
_ALIKE = (
    frozenset({Question.Type.SINGLE.value, Question.Type.RATING.value}),
    frozenset({Question.Type.SHORT_TEXT.value, Question.Type.LONG_TEXT.value}),
)


def _answers_fit(old: str, new: str) -> bool:
    return old == new or any(old in alike and new in alike for alike in _ALIKE)


def _people_who_answered(question_id: int) -> int:
    """Submitted responses with an answer to the question (previews store none)."""
    return Answer.objects.filter(question_id=question_id).values("response_id").distinct().count()


def _type_name(kind: str) -> str:
    return str(Question.Type(kind).label) if kind in Question.Type.values else kind


def _keep_answers(
    *,
    question: Question,
    stored: Question,
    choices: list[tuple[str, str]] | None,
    language: str,
) -> None:
    """Refuse (BuilderError) an edit of a question people have answered that would
    delete or garble their answers: a change of type that cannot carry them, or a
    choice someone chose left out or given another name. Texts stay editable."""
    if not _answers_fit(stored.type, question.type):
        people = _people_who_answered(question.pk)
        if people:
            raise BuilderError(
                ngettext(
                    "%(count)s person has answered this question as '%(old)s'. That answer"
                    " cannot be kept as '%(new)s', so the type cannot change now. To ask it"
                    " another way, add a new question and set this one's 'Show only if' to"
                    " false() to stop showing it.",
                    "%(count)s people have answered this question as '%(old)s'. Their answers"
                    " cannot be kept as '%(new)s', so the type cannot change now. To ask it"
                    " another way, add a new question and set this one's 'Show only if' to"
                    " false() to stop showing it.",
                    people,
                )
                % {
                    "count": people,
                    "old": _type_name(stored.type),
                    "new": _type_name(question.type),
                },
                field="type",
            )
    if question.whole_number and not stored.whole_number:
        fractions = (
            Answer.objects.filter(question_id=question.pk, number__isnull=False)
            .annotate(whole=Floor("number"))
            .exclude(number=F("whole"))
            .count()
        )
        if fractions:
            raise BuilderError(
                ngettext(
                    "%(count)s answer already given is not a whole number, so this question"
                    " cannot be limited to whole numbers now.",
                    "%(count)s answers already given are not whole numbers, so this question"
                    " cannot be limited to whole numbers now.",
                    fractions,
                )
                % {"count": fractions},
                field="whole_number",
            )
    listed = dict(choices or []) if question.has_choices else {}
    left_out = [c for c in stored.choices.all() if c.name not in listed]
    if not left_out:
        return
    chosen = dict(
        Answer.objects.filter(choice__in=left_out)
        .values_list("choice_id")
        .annotate(n=Count("id"))
        .values_list("choice_id", "n")
    )
    had = {c.name for c in stored.choices.all()}
    new_names = {name: label for name, label in listed.items() if name not in had}
    problems = []
    for choice in left_out:
        times = chosen.get(choice.pk, 0)
        if not times:
            continue  # nobody chose it: it may go
        label = choice.text(language)
        renamed = next((name for name, text in new_names.items() if text == label), None)
        if renamed is not None:
            problems.append(
                ngettext(
                    "'%(label)s' was chosen %(count)s time under the name '%(old)s', so it"
                    " must keep that name (not '%(new)s'): change the label after the '=',"
                    " not the name.",
                    "'%(label)s' was chosen %(count)s times under the name '%(old)s', so it"
                    " must keep that name (not '%(new)s'): change the label after the '=',"
                    " not the name.",
                    times,
                )
                % {"label": label, "count": times, "old": choice.name, "new": renamed}
            )
        else:
            problems.append(
                ngettext(
                    "'%(old)s = %(label)s' was chosen %(count)s time, so it cannot be"
                    " removed: that answer would be deleted. Keep its line (you may change"
                    " the label after the '=').",
                    "'%(old)s = %(label)s' was chosen %(count)s times, so it cannot be"
                    " removed: those answers would be deleted. Keep its line (you may change"
                    " the label after the '=').",
                    times,
                )
                % {"label": label, "count": times, "old": choice.name}
            )
    if problems:
        raise BuilderError(" ".join(problems), field="choices")


@transaction.atomic
def save_question(
    *,
    question: Question,
    survey: Survey,
    section: Section,
    choices: list[tuple[str, str]] | None,
    language: str,
    exclusive: Sequence[str] | None = None,
) -> Question:
    """Create or update a question; its logic is checked against earlier questions.
    A rule the answer must follow may have no message: respondents then read
    logic.RULE_NOT_FOLLOWED (an imported XLSForm's rule often has none).

    `exclusive` names the options that are ticked on their own ("None of these"),
    for a multiple choice question; None keeps the options' marks as they are.

    Refused (BuilderError, nothing saved) when the change would break other questions'
    logic or lose answers people have given (see `_keep_answers`), or marks options
    that cannot stand alone (see `_check_exclusive`)."""
    if not logic.valid_name(question.name):
        raise BuilderError(
            _("The short name must start with a letter and use only letters, numbers and _."),
            field="name",
        )
    clash = survey.questions.filter(name=question.name).exclude(pk=question.pk)
    if clash.exists():
        raise BuilderError(
            _("Another question already has the short name '%(name)s'.") % {"name": question.name},
            field="name",
        )
    # Submissions to the survey wait for this edit (on PostgreSQL; on SQLite the
    # transaction holds the write lock): the answers counted below are all there are
    # until it commits, and an answer checked against the question as it was is
    # checked again (services.submit_response) instead of written as the old type.
    if question.pk is not None:
        _lock_definition(survey.pk)
    _recount_results_when_committed(survey)
    # The question as stored, locked: an answer being written to it waits for this
    # edit (on PostgreSQL), so the answers counted below are all there are.
    stored = (
        Question.objects.select_for_update()
        .filter(pk=question.pk, survey=survey)
        .order_by()
        .first()
        if question.pk is not None
        else None
    )
    if stored is not None and stored.name != question.name:
        used_by = [
            q.name for q in survey.questions.exclude(pk=question.pk) if _refers_to(q, stored.name)
        ]
        if used_by:
            raise BuilderError(
                _(
                    "Other questions' logic refers to ${%(name)s}: %(used)s. Keep the short"
                    " name '%(name)s', or change their logic first."
                )
                % {"name": stored.name, "used": ", ".join(used_by)},
                field="name",
            )
    known = [n for n in earlier_names(survey, question, section) if n != question.name]
    for expression, what, allow_current, about in (
        (question.relevant, _("Show only if"), False, "relevant"),
        (question.constraint, _("Answer must satisfy"), True, "constraint"),
    ):
        problem = logic.check_expression(
            expression,
            known=[*known, question.name] if allow_current else known,
            allow_current=allow_current,
            what=what,
        )
        if problem:
            raise BuilderError(problem, field=about)
    for texts, about in ((question.label, "label"), (question.hint, "hint")):
        problem = logic.reference_problem(logic.references_in(texts), known)
        if problem:
            raise BuilderError(problem, field=about)
    choice_names = _choice_names(survey, question, choices, known)
    for expression, what, about in (
        (question.relevant, _("Show only if"), "relevant"),
        (question.constraint, _("Answer must satisfy"), "constraint"),
    ):
        problem = logic.check_choice_texts(expression, choices=choice_names, what=what)
        if problem:
            raise BuilderError(problem, field=about)
    if question.has_choices and not choices:
        raise BuilderError(_("Give at least two choices, one per line."), field="choices")
    if question.has_choices and choices is not None and len(choices) < 2:
        raise BuilderError(_("Give at least two choices, one per line."), field="choices")
    if stored is not None:
        _keep_answers(question=question, stored=stored, choices=choices, language=language)
    alone = _check_exclusive(question, choices, exclusive)
    if stored is not None and alone:
        _keep_marks_true_to_answers(question, choices, alone, language)
    if question.is_note:  # nothing to answer, so nothing to require or check
        question.required = False
        question.constraint = ""
    question.survey = survey
    question.section = section
    if question.pk is None:
        top = section.questions.aggregate(m=Max("order"))["m"] or 0
        question.order = top + 1
    question.save()
    if stored is not None and stored.name != question.name:
        _rename_weighting_target(survey, stored.name, question.name)
    if question.has_choices and choices is not None:
        existing = {c.name: c for c in question.choices.all()}
        keep = []
        for order, (name, label) in enumerate(choices, start=1):
            choice = existing.get(name) or Choice(question=question, name=name)
            choice.order = order
            labels = dict(choice.label or {})
            labels[language] = label
            choice.label = labels
            choice.exclusive = name in alone if alone is not None else choice.exclusive
            choice.save()
            keep.append(choice.pk)
        dropped = question.choices.exclude(pk__in=keep)
    elif not question.has_choices:
        dropped = question.choices.all()
    else:
        dropped = question.choices.none()
    if alone is not None and question.has_choices and choices is None:
        # Choices kept as they are: their marks follow `alone`. Only
        # the rows that change are written, so the revision moves only if one does.
        question.choices.exclude(name__in=alone).filter(exclusive=True).update(exclusive=False)
        question.choices.filter(name__in=alone, exclusive=False).update(exclusive=True)
    gone = list(dropped.values_list("pk", flat=True))
    if gone:
        # Their answers go with them (cascade). The running counts of the other
        # choices are untouched by that (answers keep their positions), so removing
        # the dropped choices' count rows leaves exactly what `recount` would rebuild,
        # without reading every answer of the survey in this request.
        dropped.delete()
        AnswerCount.objects.filter(survey=survey, question=question, choice_key__in=gone).delete()
    return question


def _check_exclusive(
    question: Question, choices: list[tuple[str, str]] | None, exclusive: Sequence[str] | None
) -> set[str] | None:
    """The names of the options to mark as ticked on their own (None: keep the marks as
    they are; an empty set: unmark all). Refused (BuilderError) for a question that is
    not multiple choice, a name that is not one of its options, and marking every
    option, which would leave only one option to tick: a single choice question."""
    if exclusive is None:
        # A question that is no longer multiple choice keeps no marks.
        return None if question.type == Question.Type.MULTIPLE else set()
    wanted = set(exclusive)
    if not wanted:
        return wanted
    if question.type != Question.Type.MULTIPLE:
        raise BuilderError(
            _(
                "Only options of a multiple choice question can be marked this way: with"
                " other types of answer, people cannot tick several options. Leave this empty."
            ),
            field="exclusive",
        )
    if choices is not None:
        names = [name for name, _label in choices]
    else:
        names = list(question.choices.values_list("name", flat=True)) if question.pk else []
    unknown = [name for name in exclusive if name not in names]
    if unknown:
        raise BuilderError(
            _(
                "'%(name)s' is not one of the choices. Give the short name written before"
                " the '=', like 'none', or the option's words."
            )
            % {"name": unknown[0]},
            field="exclusive",
        )
    if wanted >= set(names):
        raise BuilderError(
            _(
                "Every option is marked, so people could tick only one of them. Leave at"
                " least one option unmarked, or make this a single choice question."
            ),
            field="exclusive",
        )
    return wanted


def _keep_marks_true_to_answers(
    question: Question, choices: list[tuple[str, str]] | None, alone: set[str], language: str
) -> None:
    """Refuse (BuilderError) marking an option as ticked on its own when submitted
    responses already tick it with other options: the survey's results and exports
    would then hold answers that break its own rule. Options marked already are not
    checked again: answers sent before a mark made some other way (in the admin, say)
    must not block every later edit of the question's words."""
    marked = set(question.choices.filter(exclusive=True).values_list("name", flat=True))
    labels = dict(choices) if choices is not None else {}
    for choice in question.choices.filter(name__in=alone - marked).order_by("order"):
        others = Answer.objects.filter(question_id=question.pk).exclude(choice=choice)
        combined = (
            Answer.objects.filter(question_id=question.pk, choice=choice)
            .filter(response_id__in=others.values("response_id"))
            .values("response_id")
            .distinct()
            .count()
        )
        if combined:
            raise BuilderError(
                ngettext(
                    "%(count)s response already ticks “%(option)s” together with other"
                    " options, so it can't be marked as ticked on its own: that answer"
                    " would break the rule in the results and exports. Leave it unmarked.",
                    "%(count)s responses already tick “%(option)s” together with other"
                    " options, so it can't be marked as ticked on its own: those answers"
                    " would break the rule in the results and exports. Leave it unmarked.",
                    combined,
                )
                % {"count": combined, "option": labels.get(choice.name) or choice.text(language)},
                field="exclusive",
            )


def _choice_names(
    survey: Survey,
    question: Question,
    choices: list[tuple[str, str]] | None,
    known: list[str],
) -> dict[str, list[str]]:
    """The short names of the choices the question's logic may compare answers with:
    the earlier choice questions' (by name) and its own ("", for '.')."""
    found: dict[str, list[str]] = {}
    referenced = {
        name
        for expression in (question.relevant, question.constraint)
        if expression.strip()
        for name in logic.parsed(expression).references
    }
    rows = (
        Choice.objects.filter(question__survey=survey, question__name__in=referenced & set(known))
        .exclude(question__pk=question.pk)
        .order_by("question__name", "order")
        .values_list("question__name", "name")
    )
    for name, choice in rows:
        found.setdefault(name, []).append(choice)
    if question.has_choices:
        if choices is not None:
            found[""] = [name for name, _label in choices]
        elif question.pk is not None:
            found[""] = list(question.choices.order_by("order").values_list("name", flat=True))
    return found


MAX_XLSFORM_BYTES = 5 * 1024 * 1024


def import_survey(*, upload: Any, community: Community, actor: Any) -> xlsform.Imported:
    """A draft survey from an uploaded XLSForm, with notes on what it left out.

    Refused (xlsform.XLSFormError, nothing created) when the form has problems or the
    file is bigger than any questionnaire needs to be."""
    if upload.size > MAX_XLSFORM_BYTES:
        raise xlsform.XLSFormError(
            [
                _("The file is %(mb).1f MB; an XLSForm of questions is under %(max)s MB.")
                % {"mb": upload.size / 1e6, "max": MAX_XLSFORM_BYTES // (1024 * 1024)}
            ]
        )
    return xlsform.import_form(
        data=upload.read(),
        community=community,
        actor=actor,
        file_name=str(getattr(upload, "name", "") or ""),
    )


def question_delete_refusal(question: Question) -> ServiceError | None:
    """Why the question cannot be deleted now (None: it can): asked by delete_question,
    and by the confirmation page, which then says so instead of offering the button."""
    people = _people_who_answered(question.pk)
    if people:
        return BuilderError(
            ngettext(
                "%(count)s person has answered '%(name)s', and deleting the question would"
                " delete that answer. To stop asking it and keep the answer, edit it and, under"
                " “Write the rule yourself”, write false() as the rule: then nobody is asked"
                " it. To start again without it, close the survey,"
                " download it as XLSForm and import that file as a new survey.",
                "%(count)s people have answered '%(name)s', and deleting the question would"
                " delete their answers. To stop asking it and keep the answers, edit it and,"
                " under “Write the rule yourself”, write false() as the rule: then nobody is"
                " asked it. To start again without it, close the"
                " survey, download it as XLSForm and import that file as a new survey.",
                people,
            )
            % {"count": people, "name": question.name}
        )
    used_by = [
        q.name
        for q in question.survey.questions.exclude(pk=question.pk)
        if _refers_to(q, question.name)
    ]
    if used_by:
        return ServiceError(
            _("Other questions' logic refers to ${%(name)s}: %(used)s. Change them first.")
            % {"name": question.name, "used": ", ".join(used_by)}
        )
    return None


@transaction.atomic
def delete_question(*, question: Question) -> None:
    """Delete a question nobody has answered yet (its answers would go with it) and
    that no other question's logic refers to."""
    # Locked first: an answer being written to it waits for this (on PostgreSQL).
    _lock_definition(question.survey_id)
    _recount_results_when_committed(question.survey)
    Question.objects.select_for_update().filter(pk=question.pk).order_by().first()
    if refusal := question_delete_refusal(question):
        raise refusal
    question.delete()
    _forget_weighting_target(question.survey, question.name)


@transaction.atomic
def set_status(*, survey: Survey, status: str, actor: Any) -> Survey:
    if status not in Survey.Status.values:
        raise ServiceError(_("Choose draft, open or closed."))
    if status == Survey.Status.OPEN:
        if not survey.questions.exists():
            raise ServiceError(_("Add at least one question before opening the survey."))
        if survey.distribution == Survey.Distribution.CODES and not survey_code_batch_ids(survey):
            raise ServiceError(
                _("Create invitation codes before opening a survey that needs them.")
            )
    previous = (
        Survey.objects.select_for_update().filter(pk=survey.pk).values_list("status", flat=True)
    ).first()
    survey.status = status
    fields = ["status"]
    if (
        status == Survey.Status.OPEN
        and previous == Survey.Status.CLOSED
        and not survey.figures_withheld_since_shown
    ):
        # Members have been reading the figures for the answers there are now: a
        # survey made closed (the demo's) or closed before figures_shown_for existed
        # has no count yet, and the next closing compares with this one.
        survey.figures_shown_for = selectors.complete_responses(survey).count()
        fields.append("figures_shown_for")
    if status == Survey.Status.CLOSED and previous != Survey.Status.CLOSED:
        survey.closed_on = timezone.localdate()
        fields.append("closed_on")
        transaction.on_commit(_schedule_forgetting_unsent)
    elif status != Survey.Status.CLOSED and survey.closed_on is not None:
        survey.closed_on = None
        fields.append("closed_on")
    if status == Survey.Status.CLOSED:
        # Members read the figures from now on, unless they last read them only a few
        # responses ago (selectors.withheld_because): then the earlier count stays, and
        # the figures with it, until enough more responses separate the two.
        answered = selectors.complete_responses(survey).count()
        survey.figures_withheld_since_shown = selectors.closing_would_withhold(survey, answered)
        if not survey.figures_withheld_since_shown:
            survey.figures_shown_for = answered
        fields += ["figures_shown_for", "figures_withheld_since_shown"]
    survey.save(update_fields=fields)
    return survey


# Unsent answers (a response started and never sent, kept under its private link)
# are deleted this many days after their survey closed: long enough for an organiser
# who closed it by mistake to open it again with people's answers in progress intact;
# not for ever, as a shared phone's next user could otherwise open them. The task
# worker does it (tasks.forget_unsent_responses, queued when a survey closes).
UNSENT_KEPT_DAYS = 30


def _schedule_forgetting_unsent() -> None:
    """Ask the worker to delete unsent answers once UNSENT_KEPT_DAYS have passed since
    this closing, where the task backend can run a task later (the database backend
    can). Each run deletes those of every survey closed long enough ago."""
    from .tasks import forget_unsent_responses

    task = forget_unsent_responses
    if task.get_backend().supports_defer:
        run_after = timezone.now() + dt.timedelta(days=UNSENT_KEPT_DAYS, minutes=1)
        task.using(run_after=run_after).enqueue()


def forget_unsent_responses(*, today: dt.date | None = None) -> int:
    """Delete the unsent responses (and previews) of every survey that has been closed
    for UNSENT_KEPT_DAYS days or more; returns how many. A survey opened again since
    keeps them (its closed_on is cleared)."""
    today = today or timezone.localdate()
    cutoff = today - dt.timedelta(days=UNSENT_KEPT_DAYS)
    deleted, _by_model = Response.objects.filter(
        status=Response.Status.PARTIAL,
        survey__status=Survey.Status.CLOSED,
        survey__closed_on__lte=cutoff,
    ).delete()
    return deleted


def forget_response(*, response: Response) -> None:
    """Delete an unsent response at its respondent's request ("Forget my answers"):
    its private link ends at once. An invitation code that started it stays used
    (nothing records which code started which response, so it cannot be given back)."""
    Response.objects.filter(pk=response.pk, status=Response.Status.PARTIAL).delete()


@transaction.atomic
def create_codes(*, survey: Survey, actor: Any, size: int) -> tuple[InvitationCodeBatch, list[str]]:
    """More single-use codes for the survey; the readable codes are returned once.

    The survey then takes answers only from people with a code. The codes of its earlier
    batches stay valid (each still works once): a batch for latecomers adds codes, and
    takes nothing from the people already holding one. `code_batch` is the newest."""
    batch, codes = create_code_batch(
        community=survey.community,
        actor=actor,
        label=_("Survey: %(title)s") % {"title": survey.title},
        size=size,
        purpose=survey,
    )
    survey.code_batch = batch
    survey.distribution = Survey.Distribution.CODES
    survey.save(update_fields=["code_batch", "distribution"])
    return batch, codes


def survey_code_batch_ids(survey: Survey) -> list[int]:
    """The batches whose codes open the survey: every one made for it."""
    ids = set(batches_for(survey).values_list("pk", flat=True))
    if survey.code_batch_id is not None:
        ids.add(survey.code_batch_id)
    return sorted(ids)


# --------------------------------------------------------------------------- responding


def _new_response(survey: Survey, language: str, *, preview: bool) -> tuple[Response, str]:
    raw = new_token()
    response = Response.objects.create(
        survey=survey,
        resume_digest=digest(raw),
        language=language if language in survey.languages else survey.default_language,
        is_preview=preview,
        started_on=timezone.localdate(),
    )
    return response, raw


def start_refusal(*, survey: Survey, user: Any = None) -> ServiceError | None:
    """Why `user` (signed in or not) cannot start answering `survey`, said on the start
    page before any question (and checked again by start_response); None if they can.
    A signed-in person who has sent their one answer to a survey taking one from each
    is refused here, not after typing every answer again."""
    if not survey.is_open:
        return ServiceError(_("This survey is not taking answers at the moment."))
    signed_in = getattr(user, "is_authenticated", False)
    if survey.distribution == Survey.Distribution.MEMBERS and not signed_in:
        return ServiceError(_("Sign in as a member to answer this survey."))
    if (
        survey.one_response_per_member
        and signed_in
        and MemberParticipation.objects.filter(survey=survey, user=user).exists()
    ):
        return ServiceError(_("You have already answered this survey. Thank you."))
    return None


def start_response(
    *, survey: Survey, language: str, user: Any = None, code: str = "", preview: bool = False
) -> tuple[Response, str]:
    """Begin a response; returns it and the raw token of its private link.

    With invitation codes the code is spent here, atomically, in the same transaction:
    two browsers sending the same code get exactly one response. Nothing records which
    code started which response.
    """
    if preview:
        with transaction.atomic():
            return _new_response(survey, language, preview=True)
    if refusal := start_refusal(survey=survey, user=user):
        raise refusal
    with transaction.atomic():
        if survey.distribution == Survey.Distribution.CODES and not redeem_code_in(
            batch_ids=survey_code_batch_ids(survey), raw_code=code, activity=survey
        ):
            # One message for a code that does not exist and one used already, so that
            # a guesser learns nothing; it helps the honest case, someone who started
            # already: their way back is the private link on their first page (keep_link).
            raise ServiceError(
                _(
                    "That code is not valid or has already been used. Check it and try"
                    " again. If you used it already, go back to your answers with the"
                    " private link shown on your first page: a code works only once."
                )
            )
        return _new_response(survey, language, preview=False)


def find_response(raw_token: str) -> Response | None:
    """The partial response behind a private link, with its survey and the survey's
    definition revision (what submit_response checks the answers at)."""
    return (
        Response.objects.select_related("survey", "survey__community")
        .annotate(definition_revision=F("survey__definition_revision__n"))
        .filter(resume_digest=digest(raw_token), status=Response.Status.PARTIAL)
        .first()
    )


def _lookup_sql() -> str:
    quote = connection.ops.quote_name
    response = quote(Response._meta.db_table)
    survey = quote(Survey._meta.db_table)
    revision = quote(DefinitionRevision._meta.db_table)
    # The draft as text on both databases: decoded here, and written back as it was
    # read when the submission drops no answer.
    draft = "r.draft::text" if connection.vendor == "postgresql" else "r.draft"
    return (
        f"SELECT r.id, r.language, {draft}, r.is_preview, s.id, s.status, s.link_token,"  # noqa: S608
        f" s.languages, s.one_response_per_member, s.community_id, v.n FROM {response} r"
        f" INNER JOIN {survey} s ON s.id = r.survey_id"
        f" LEFT JOIN {revision} v ON v.survey_id = s.id"
        " WHERE r.resume_digest = %s AND r.status = %s"
    )


_LOOKUP = _lookup_sql()


@dataclass(slots=True)
class SurveyToSubmit:
    """What a submission needs of its survey (read by response_to_submit)."""

    pk: int
    status: str
    link_token: str
    languages: list[str]
    one_response_per_member: bool
    community_id: int

    @property
    def default_language(self) -> str:
        return self.languages[0] if self.languages else "en"


@dataclass(slots=True)
class Submission:
    """What a submission needs of its response: the fields read by response_to_submit,
    and those submit_response sets once it is written. Plain attributes, not model
    instances: building two model instances was a twentieth of a submission's time."""

    pk: int
    survey: SurveyToSubmit
    language: str
    draft: dict[str, Any]
    is_preview: bool
    definition_revision: int | None
    status: str = Response.Status.PARTIAL
    resume_digest: str | None = None
    submitted_on: dt.date | None = None
    draft_text: str | None = None  # the draft as stored, to write back if nothing is dropped


def response_to_submit(raw_token: str) -> Submission | None:
    """Like find_response, reading only what a submission needs, in one plain query
    (building the ORM query cost more than running it). Use find_response for anything
    to show."""
    with connection.cursor() as cursor:
        cursor.execute(_LOOKUP, [digest(raw_token), Response.Status.PARTIAL])
        row = cursor.fetchone()
    if row is None:
        return None
    pk, language, draft, is_preview, survey_id, status, link, languages, once, community, n = row
    return Submission(
        pk,
        SurveyToSubmit(survey_id, status, link, _json(languages), bool(once), community),
        language,
        json.loads(draft),
        bool(is_preview),
        n,
        draft_text=draft,
    )


def _json(value: Any) -> Any:
    """A JSON column as read by a plain cursor: text on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


@transaction.atomic
def save_page(*, response: Response, answers: dict[str, Any], page: int) -> Response:
    response.draft = answers
    response.page = page
    response.save(update_fields=["draft", "page"])
    return response


AnswerRow = tuple[int, int | None, int | None, float | None, str | None, str]
# question id, choice id, position, number, ISO date, text: one row of surveys_answer.

_ONE_CHOICE = frozenset({Question.Type.SINGLE.value, Question.Type.RATING.value})
_CHOICES_IN_ORDER = frozenset({Question.Type.MULTIPLE.value, Question.Type.RANKING.value})
_CHOICES = _ONE_CHOICE | _CHOICES_IN_ORDER


def _answer_rows(
    rules: Sequence[logic.Rule], answers: dict[str, Any], errors: dict[str, str]
) -> tuple[list[AnswerRow], dict[str, str]]:
    """The rows of surveys_answer for `answers` (checked by logic.check_all, with
    `errors`), and, by question name, the answers naming a choice the organiser has
    since removed from the question (the rows are then not to be written)."""
    rows: list[AnswerRow] = []
    withdrawn: dict[str, str] = {}
    for rule in rules:
        value = answers.get(rule.name)
        if value is None:
            continue
        kind = rule.type
        qid = rule.question_id
        if kind in _CHOICES:
            names = value if kind in _CHOICES_IN_ORDER and isinstance(value, list) else [value]
            ids = [rule.choice_ids.get(name) for name in names]
            if None in ids:
                if rule.name not in errors:
                    withdrawn[rule.name] = _(
                        "The options of this question have changed. Choose again."
                    )
                continue
            if kind in _ONE_CHOICE:
                rows.append((qid, ids[0], None, None, None, ""))
            else:
                # The position: the rank given, for a ranking; the form's order, for
                # multiple choice. Position 1 marks the respondent.
                rows += [
                    (qid, choice_id, position, None, None, "")
                    for position, choice_id in enumerate(ids, start=1)
                ]
        elif kind == Question.Type.NUMBER:
            rows.append((qid, None, None, float(value), None, ""))
        elif kind == Question.Type.DATE:
            rows.append((qid, None, None, None, str(value), ""))
        elif kind != Question.Type.NOTE:
            rows.append((qid, None, None, None, None, str(value)))
    return rows, withdrawn


def _answer_params(survey_id: int, response_id: int, rows: list[AnswerRow]) -> list[Any]:
    params: list[Any] = []
    for qid, choice_id, rank, number, date, text in rows:
        params += [
            survey_id,
            response_id,
            qid,
            choice_id,
            rank,
            number,
            dt.date.fromisoformat(date) if date else None,
            text,
            False,
        ]
    return params


_ANSWER_COLUMNS = (
    "survey_id, response_id, question_id, choice_id, rank, number, date, text, approved"
)


def _insert_answers(survey_id: int, response_id: int, rows: list[AnswerRow]) -> None:
    """All of a response's answers in one INSERT (model instances cost more than the
    database does, at this size)."""
    if not rows:
        return
    table = connection.ops.quote_name(Answer._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({_ANSWER_COLUMNS}) VALUES {values}",  # noqa: S608
            _answer_params(survey_id, response_id, rows),
        )


def set_response_language(*, response: Response, language: str) -> Response:
    """The respondent's own partial response in another of the survey's languages, its
    answers kept; a language the survey does not have, or a response already sent,
    changes nothing."""
    if language in (response.survey.languages or []):
        changed = Response.objects.filter(pk=response.pk, status=Response.Status.PARTIAL).update(
            language=language
        )
        if changed:
            response.language = language
    return response


def submit_response(*, response: Response | Submission, user: Any = None) -> dict[str, str]:
    """Check every answer and submit. Returns errors by question name (nothing saved)
    or {} on success. A preview is checked the same way, then thrown away.

    The answers are checked against this process's compiled copy of the survey's
    questions (selectors.definition) at the definition revision read with the
    response. The write is one checked claim (partial -> complete) that succeeds only
    while the survey is open and its revision unchanged, followed by the answers and
    the running counts in the same transaction. Of two browsers sending the same
    private link at once, one claims the response and the other finds nothing left to
    claim; a survey changed in between is read again and the answers checked again."""
    survey = response.survey
    revision = getattr(response, "definition_revision", None)
    today = timezone.localdate()
    for _attempt in range(5):
        if revision is None:
            revision = _current_revision(survey.pk)
        compiled = selectors.definition(survey, revision)
        answers = dict(response.draft)
        errors = logic.check_all(
            compiled.rules, answers, response.language, survey.default_language
        )
        errors |= _not_whole(compiled.questions, answers, errors)
        rows, withdrawn = _answer_rows(compiled.rules, answers, errors)
        errors |= withdrawn
        if errors:
            return errors
        if response.is_preview:
            with transaction.atomic():
                Response.objects.filter(pk=response.pk).delete()
            return {}
        try:
            claimed = _write_submission(response, survey, revision, answers, rows, today, user=user)
        except IntegrityError:
            # A choice or question deleted between the claim and the commit (only
            # possible on PostgreSQL, where the claim does not lock the survey):
            # nothing was written; check again against the survey as it is now.
            claimed = False
        if claimed:
            break
        state = (
            Response.objects.filter(pk=response.pk)
            .values_list("status", "survey__status", "survey__definition_revision__n")
            .first()
        )
        if state is None or state[0] != Response.Status.PARTIAL:
            return {}  # already submitted (a second send) or gone: nothing to add
        if state[1] != Survey.Status.OPEN:
            raise ServiceError(_("This survey is not taking answers at the moment."))
        revision = state[2]  # the survey changed since the response was read
    else:
        raise ServiceError(_("The survey is being edited. Try sending your answers again."))
    response.status = Response.Status.COMPLETE
    response.draft = answers
    response.resume_digest = None
    response.submitted_on = today
    return {}


def _not_whole(
    questions: Sequence[Question], answers: dict[str, Any], errors: dict[str, str]
) -> dict[str, str]:
    """A message for each answer to a whole-number question that is not a whole number
    (one typed before the question was made whole-number only, or sent by hand)."""
    out: dict[str, str] = {}
    for q in questions:
        value = answers.get(q.name)
        if (
            q.whole_number
            and q.name not in errors
            and isinstance(value, float)
            and not value.is_integer()
        ):
            out[q.name] = _("Enter a whole number, like 12.")
    return out


def _current_revision(survey_id: int) -> int:
    found = DefinitionRevision.objects.filter(survey_id=survey_id).values_list("n", flat=True)
    return found.first() or 0


# On PostgreSQL a claim takes the lightest lock on the survey's revision row (FOR KEY
# SHARE: claims do not wait for one another, as an answer's foreign key check on its
# question does not). The builder locks that row FOR UPDATE before it counts answers
# (_lock_definition), so a claim and a builder change of the same survey take turns:
# a claim that waited reads the row again once the change is committed, finds the
# revision moved on and claims nothing (the answers are then checked again against
# the survey as it is now), and a change that waited counts the answers just written.
# Checking the revision without the lock let an answer read before a change of type
# be written after it, as the old type. SQLite's one writer already takes turns.
_REVISION_LOCK = " FOR KEY SHARE OF r" if connection.vendor == "postgresql" else ""


def _claim_sql() -> str:
    """Claim a partial response, only while its survey is open at the definition
    revision its answers were checked against (table names from the models)."""
    quote = connection.ops.quote_name
    response = quote(Response._meta.db_table)
    survey = quote(Survey._meta.db_table)
    revision = quote(DefinitionRevision._meta.db_table)
    return (
        f"UPDATE {response} SET status = %s, draft = %s, resume_digest = NULL,"  # noqa: S608
        " submitted_on = %s WHERE id = %s AND status = %s AND EXISTS (SELECT 1 FROM"
        f" {survey} s INNER JOIN {revision} r ON r.survey_id = s.id"
        f" WHERE s.id = %s AND s.status = %s AND r.n = %s{_REVISION_LOCK})"
    )


def _claim_params(
    response_id: int, survey_id: int, revision: int, draft: Any, today: dt.date
) -> list[Any]:
    return [
        Response.Status.COMPLETE,
        draft,
        today,
        response_id,
        Response.Status.PARTIAL,
        survey_id,
        Survey.Status.OPEN,
        revision,
    ]


_CLAIM = _claim_sql()
_sqlite_writer = threading.Lock()
_writer_files: dict[tuple[int, str], int] = {}  # (process, database file): lock file


def _on_sqlite_in_autocommit() -> bool:
    return connection.vendor == "sqlite" and connection.get_autocommit()


def _write_turn() -> AbstractContextManager[object]:
    """On SQLite, one write at a time, across threads and processes.

    SQLite has one writer at a time, and a connection that finds the database locked
    sleeps in its busy handler (1 ms, then 2, 5, 10 ...) however soon the lock is
    freed. Measured with py-spy under the ingestion bench, those sleeps were most of a
    submission's time. A thread lock, then an flock on a lock file named after the database,
    wake the next writer the moment the last one is done. Not inside an outer
    transaction: a thread that already holds SQLite's lock must not wait for one that
    waits for it."""
    if _on_sqlite_in_autocommit():
        return _sqlite_turn()
    return nullcontext()


@contextmanager
def _sqlite_turn() -> Iterator[None]:
    with _sqlite_writer, _process_turn():
        yield


@contextmanager
def _process_turn() -> Iterator[None]:
    """The flock that makes this process's writer wait for another process's."""
    database = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or database == ":memory:" or "mode=memory" in database:
        yield
        return
    # Per process: a lock file opened before a fork would be shared, and flock would
    # let both processes in at once.
    key = (os.getpid(), database)
    fd = _writer_files.get(key)
    if fd is None:
        fd = _writer_files[key] = _open_writer_file(database)
    if fd < 0:  # no lock file: SQLite's own locking still keeps writes apart, slower
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _open_writer_file(database: str) -> int:
    """The lock file for a database, in the temporary directory rather than beside it
    (test databases come and go; their lock files would stay), named after the
    database's absolute path. Not the database file itself: closing any descriptor of
    it would release SQLite's own locks."""
    name = hashlib.sha256(os.path.abspath(database).encode()).hexdigest()[:24]
    try:
        return os.open(
            os.path.join(tempfile.gettempdir(), f"sayso-writer-{name}.lock"),
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW,  # never through a planted symlink
            0o600,
        )
    except OSError:
        return -1


def _write_submission(
    response: Response | Submission,
    survey: Survey | SurveyToSubmit,
    revision: int,
    answers: dict[str, Any],
    rows: list[AnswerRow],
    today: dt.date,
    *,
    user: Any,
) -> bool:
    """Claim the response and write its answers and counts; False when the claim
    finds the response already submitted, the survey closed or changed."""
    stored = getattr(response, "draft_text", None)
    if stored is not None and len(answers) == len(response.draft):
        draft: Any = stored  # check_all dropped no answer: the text as read, not encoded again
    else:
        draft = Response._meta.get_field("draft").get_db_prep_save(answers, connection)
    member = survey.one_response_per_member and getattr(user, "is_authenticated", False)
    if not member and connection.get_autocommit():
        if connection.vendor == "postgresql":
            return _submit_in_one_statement(
                response.pk, survey.pk, revision, draft, today, rows, _groups(rows)
            )
        if connection.vendor == "sqlite":
            return _write_in_turn(_Pending(response.pk, survey.pk, revision, draft, today, rows))
    with _write_turn(), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM, _claim_params(response.pk, survey.pk, revision, draft, today))
            if cursor.rowcount < 1:
                return False
        if member:
            try:
                with transaction.atomic():
                    MemberParticipation.objects.create(survey_id=survey.pk, user=user)
            except IntegrityError:
                raise ServiceError(_("You have already answered this survey. Thank you.")) from None
        _insert_answers(survey.pk, response.pk, rows)
        # Last, so that the count rows stay locked as briefly as possible.
        _add_counts(survey.pk, _groups(rows), shard=response.pk % AnswerCount.SHARDS)
    return True


# --- SQLite: group commit ---------------------------------------------------------------
#
# Under load most of a submission's time on SQLite went to waiting for the one writer:
# each write is BEGIN, three statements and COMMIT, and between them the writing thread
# gives up the GIL and waits to get it back from the threads parsing other requests.
# So the thread whose turn it is writes every submission its process has queued by
# then, in one transaction: one claim of them all, one INSERT of all their answers, one
# upsert of all their counts and one COMMIT. A submission is acknowledged only after
# the transaction holding it has committed; if a batch fails, or its claim finds one of
# its responses already submitted or its survey changed, nothing of it was written,
# and each of its submissions is written again on its own, which either succeeds,
# finds nothing to claim, or raises its own error.
#
# Everything a batch needs of a submission (its parameters and count groups) is worked
# out before the turn is taken: the turn holds the one writer of every process, so
# what runs inside it is paid once per submission by all of them.
#
# On SQLite the batch's statements say OR FAIL, and use SQLite's own "?" placeholders:
# - A statement that writes several rows and may abort on a constraint makes SQLite
#   keep a statement journal, to undo that statement alone; past 64 KiB it is a
#   temporary file, created, written page by page and deleted in every batch (7% of a
#   submission's CPU under perf). Any error here rolls the whole transaction back, so
#   nothing needs undoing statement by statement: FAIL stops at the failing row and
#   leaves the rest to the rollback.
# - Django's SQLite cursor rewrites every "%s" with a regular expression that scans the
#   whole statement, thousands of characters for a batch (4% of a submission's CPU);
#   a statement without "%s" is scanned but left as it is. Not while queries are
#   logged (DEBUG, tests counting queries): the log formats the statement with "%".

BATCH_MOST = 32  # submissions per transaction (well under SQLite's parameter limit)


def _in_batch(sql: str) -> str:
    """An INSERT or UPDATE `sql` as a batch runs it (on SQLite: OR FAIL, and "?")."""
    if connection.vendor != "sqlite":
        return sql
    return _sqlite_batch_sql(sql, not connection.queries_logged)


@functools.lru_cache(maxsize=16 * BATCH_MOST)
def _sqlite_batch_sql(sql: str, qmark: bool) -> str:
    verb, rest = sql.split(" ", 1)
    fail = f"{verb} OR FAIL {rest}"
    return fail.replace("%s", "?") if qmark else fail


@dataclass(eq=False)
class _Pending:
    response_id: int
    survey_id: int
    revision: int
    draft: Any  # the checked answers, as the database takes them
    today: dt.date
    rows: list[AnswerRow]
    claimed: bool | None = None  # set once written by whichever thread wrote it
    failed: bool = False
    answer_params: list[Any] = field(init=False)
    groups: dict[Group, list[float]] = field(init=False)

    def __post_init__(self) -> None:
        self.answer_params = _answer_params(self.survey_id, self.response_id, self.rows)
        self.groups = _groups(self.rows)


class _NotAllClaimedError(Exception):
    """A batch's claim found a response already submitted or a survey closed or
    changed: the batch is rolled back and each of its submissions written alone."""


_pending: list[_Pending] = []
_pending_lock = threading.Lock()


def _write_in_turn(write: _Pending) -> bool:
    with _pending_lock:
        _pending.append(write)
    with _sqlite_writer:
        if write.claimed is None and not write.failed:  # still queued: lead a batch
            with _pending_lock:
                _pending.remove(write)
                batch = [write, *_pending[: BATCH_MOST - 1]]
                del _pending[: BATCH_MOST - 1]
            _write_batch(batch, alone=False)
        if write.failed:
            write.failed = False
            _write_batch([write], alone=True)
    return bool(write.claimed)


@functools.lru_cache(maxsize=BATCH_MOST)
def _claim_many_sql(size: int) -> str:
    """_CLAIM for `size` responses at once (SQLite's UPDATE ... FROM): the status
    parameters first, then each response's id, draft, date, survey and revision."""
    quote = connection.ops.quote_name
    response = quote(Response._meta.db_table)
    survey = quote(Survey._meta.db_table)
    revision = quote(DefinitionRevision._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * size)
    return (
        f"UPDATE {response} SET status = %s, draft = v.column2, resume_digest = NULL,"  # noqa: S608
        f" submitted_on = v.column3 FROM (VALUES {values}) AS v"
        f" WHERE {response}.id = v.column1 AND {response}.status = %s AND EXISTS (SELECT 1"
        f" FROM {survey} s INNER JOIN {revision} r ON r.survey_id = s.id"
        " WHERE s.id = v.column4 AND s.status = %s AND r.n = v.column5)"
    )


@functools.lru_cache(maxsize=2 * BATCH_MOST)
def _insert_many_sql(table: str, columns: str, width: int, size: int, suffix: str = "") -> str:
    """A multi-row INSERT of `size` rows of `width` values (built once per size)."""
    row = "(" + ", ".join(["%s"] * width) + ")"
    return f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * size)}{suffix}"  # noqa: S608


def _write_batch(batch: list[_Pending], *, alone: bool) -> None:
    claimed: list[_Pending] = []
    try:
        with _process_turn(), transaction.atomic(), connection.cursor() as cursor:
            if len(batch) == 1:
                write = batch[0]
                cursor.execute(
                    _in_batch(_CLAIM),
                    _claim_params(
                        write.response_id, write.survey_id, write.revision, write.draft, write.today
                    ),
                )
                if cursor.rowcount > 0:
                    claimed.append(write)
            else:
                params: list[Any] = [Response.Status.COMPLETE]
                for w in batch:
                    params += [w.response_id, w.draft, w.today, w.survey_id, w.revision]
                params += [Response.Status.PARTIAL, Survey.Status.OPEN]
                cursor.execute(_in_batch(_claim_many_sql(len(batch))), params)
                if cursor.rowcount != len(batch):
                    raise _NotAllClaimedError
                claimed = batch
            size = sum(len(w.rows) for w in claimed)
            if size:
                params = []
                for write in claimed:
                    params += write.answer_params
                cursor.execute(
                    _in_batch(
                        _insert_many_sql(
                            connection.ops.quote_name(Answer._meta.db_table),
                            _ANSWER_COLUMNS,
                            9,
                            size,
                        ),
                    ),
                    params,
                )
            # One set of count rows for the batch, in the shard of its first response.
            totals: dict[tuple[int, int, int, int], list[float]] = {}
            for write in claimed:
                for (qid, choice, rank), (n, numbers, total) in write.groups.items():
                    into = totals.setdefault((write.survey_id, qid, choice, rank), [0, 0, 0.0])
                    into[0] += n
                    into[1] += numbers
                    into[2] += total
            if totals:
                shard = claimed[0].response_id % AnswerCount.SHARDS
                table = connection.ops.quote_name(AnswerCount._meta.db_table)
                params = []
                for (survey_id, qid, choice, rank), (n, numbers, total) in sorted(totals.items()):
                    params += [survey_id, qid, choice, rank, shard, int(n), int(numbers), total]
                cursor.execute(
                    _in_batch(
                        _insert_many_sql(
                            table, _COUNT_COLUMNS, 8, len(totals), f" {_count_conflict(table)}"
                        ),
                    ),
                    params,
                )
    except BaseException as error:
        for write in batch:
            write.failed = True
        if alone or not isinstance(error, Exception):
            raise
        if not isinstance(error, _NotAllClaimedError):  # that one is routine: a resubmit
            # Each submission is retried alone; a batch failing every time would halve
            # throughput without this trace.
            logger.warning(
                "A batch of %d survey submissions failed; retrying each alone",
                len(batch),
                exc_info=True,
            )
        return
    for write in batch:
        write.claimed = write in claimed


Group = tuple[int, int, int]  # question id, choice id or 0, position or 0


def _groups(rows: list[AnswerRow]) -> dict[Group, list[float]]:
    """The answers' contribution to AnswerCount: n, numbers given, and their sum."""
    groups: dict[Group, list[float]] = {}
    for qid, choice_id, rank, number, _date, _text in rows:
        counts = groups.setdefault((qid, choice_id or 0, rank or 0), [0, 0, 0.0])
        counts[0] += 1
        if number is not None:
            counts[1] += 1
            counts[2] += number
    return groups


_COUNT_COLUMNS = "survey_id, question_id, choice_key, rank_key, shard, n, numbers, number_sum"


def _count_params(survey_id: int, groups: dict[Group, list[float]], shard: int) -> list[Any]:
    """Parameters of the count rows, keys in sorted order so that concurrent
    submissions lock the rows they share in the same order and cannot deadlock."""
    params: list[Any] = []
    for key in sorted(groups):
        n, numbers, total = groups[key]
        params += [survey_id, *key, shard, int(n), int(numbers), total]
    return params


def _count_conflict(table: str) -> str:
    return (
        "ON CONFLICT (survey_id, question_id, choice_key, rank_key, shard) DO UPDATE SET"
        f" n = {table}.n + excluded.n, numbers = {table}.numbers + excluded.numbers,"
        f" number_sum = {table}.number_sum + excluded.number_sum"
    )


def _add_counts(survey_id: int, groups: dict[Group, list[float]], *, shard: int) -> None:
    """Add to the running counts in `shard` with one upsert (the same SQL on SQLite and
    PostgreSQL)."""
    if not groups:
        return
    table = connection.ops.quote_name(AnswerCount._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(groups))
    # Only the table name (from the model) and placeholders are formatted in.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({_COUNT_COLUMNS}) VALUES {values} {_count_conflict(table)}",  # noqa: S608
            _count_params(survey_id, groups, shard),
        )


# PostgreSQL: the claim, the answers and the counts as one statement in autocommit (one
# round trip instead of six with BEGIN and COMMIT; the count rows stay locked only for
# that statement's commit). The answer rows and the count rows go in as one JSON text
# each, so the statement's text and its number of parameters stay the same whatever is
# answered: psycopg then converts it once (parsing one with a parameter per value again
# on every submission was measured at a fifth of the submission's CPU). JSON rather
# than one array per column: Django's psycopg cursor binds on the client, quoting each
# array element in Python (a quarter of a submission's CPU under perf), while
# json.dumps is C and the text is quoted once.
def _one_statement_sql() -> str:
    quote = connection.ops.quote_name
    response = quote(Response._meta.db_table)
    survey = quote(Survey._meta.db_table)
    revision = quote(DefinitionRevision._meta.db_table)
    answers = quote(Answer._meta.db_table)
    counts = quote(AnswerCount._meta.db_table)
    # Fewer parameters, each converted by psycopg in Python: the statuses are constants
    # of the code, written in; the response and survey ids come from the claimed row.
    complete, partial, open_ = (
        f"'{v}'" for v in (Response.Status.COMPLETE, Response.Status.PARTIAL, Survey.Status.OPEN)
    )
    return (
        f"WITH claimed AS (UPDATE {response} SET status = {complete}, draft = %s,"  # noqa: S608 (names and constants from the models)
        f" resume_digest = NULL, submitted_on = %s WHERE id = %s AND status = {partial}"
        f" AND EXISTS (SELECT 1 FROM {survey} s INNER JOIN {revision} r ON r.survey_id = s.id"
        f" WHERE s.id = %s AND s.status = {open_} AND r.n = %s{_REVISION_LOCK})"
        " RETURNING id, survey_id),"
        f" answers AS (INSERT INTO {answers} ({_ANSWER_COLUMNS})"
        " SELECT c.survey_id, c.id, v.q, v.c, v.r, v.n, v.d, v.t, false"
        " FROM claimed c, json_to_recordset(%s::json)"
        " AS v(q bigint, c bigint, r smallint, n double precision, d date, t text)),"
        f" counts AS (INSERT INTO {counts} ({_COUNT_COLUMNS})"
        f" SELECT c.survey_id, v.q, v.c, v.r, mod(c.id, {AnswerCount.SHARDS}), v.n, v.numbers,"
        " v.total FROM claimed c, json_to_recordset(%s::json) AS v(q bigint, c integer,"
        " r smallint, n integer, numbers integer, total double precision)"
        f" {_count_conflict(counts)})"
        " SELECT count(*) FROM claimed"
    )


_ONE_STATEMENT = _one_statement_sql()
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _submit_in_one_statement(
    response_id: int,
    survey_id: int,
    revision: int,
    draft: Any,
    today: dt.date,
    rows: list[AnswerRow],
    groups: dict[Group, list[float]],
) -> bool:
    answers = _dumps(
        [
            {"q": qid, "c": choice_id, "r": rank, "n": number, "d": date, "t": text}
            for qid, choice_id, rank, number, date, text in rows
        ]
    )
    # Sorted, so that concurrent submissions lock the rows they share in the same order.
    counts = _dumps(
        [
            {"q": q, "c": c, "r": r, "n": int(n), "numbers": int(numbers), "total": total}
            for (q, c, r), (n, numbers, total) in sorted(groups.items())
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _ONE_STATEMENT, [draft, today, response_id, survey_id, revision, answers, counts]
        )
        (claimed,) = cursor.fetchone()
    return bool(claimed)


@transaction.atomic
def recount(*, survey: Survey) -> None:
    """Rebuild the survey's running counts from its answers (after choices are deleted,
    or to repair). No submission may count in between: on SQLite the transaction holds
    the only write lock; on PostgreSQL submissions do not lock the survey row, so the
    counts table is locked against writers (readers go on) until the rebuild commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(AnswerCount._meta.db_table)
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    Survey.objects.select_for_update().filter(pk=survey.pk).first()
    AnswerCount.objects.filter(survey=survey).delete()
    AnswerCount.objects.bulk_create(
        AnswerCount(
            survey=survey,
            question_id=question_id,
            choice_key=choice_id or 0,
            rank_key=rank or 0,
            n=n,
            numbers=numbers,
            number_sum=number_sum or 0.0,
        )
        for question_id, choice_id, rank, n, numbers, number_sum in (
            Answer.objects.filter(survey=survey)
            .values_list("question_id", "choice_id", "rank")
            .annotate(n=Count("*"), numbers=Count("number"), number_sum=Sum("number"))
            .order_by()
        )
    )


# --------------------------------------------------------------------------- results


@transaction.atomic
def approve_answer(*, answer: Answer, approved: bool = True) -> Answer:
    answer.approved = approved
    answer.save(update_fields=["approved"])
    return answer


class FiguresRefused(ServiceError):  # noqa: N818 - a refusal shown to people, not a bug
    """Population figures that cannot be used, named by their answers (`choices`, the
    choices' names), so that the form can say so next to each."""

    def __init__(self, message: str, *, choices: list[str]) -> None:
        super().__init__(message)
        self.choices = choices


@transaction.atomic
def set_weighting_targets(
    *, survey: Survey, question: Question, population: dict[str, float]
) -> Survey:
    """Set (or change) the population figures for one question, keeping the figures
    set for the survey's other questions: with one question the results are
    post-stratified, with several raked (selectors._weights).

    Refused, with nothing saved, when the results could never be weighted this way:
    a figure missing or below zero, or every figure zero; one of the question's
    answers given by fewer than the members' threshold of people; an answer people
    gave with a figure of zero (nobody in the population: they cannot be weighted to
    nothing; FiguresRefused names it); with other questions, a combination of
    answers to all of them given by fewer than the threshold; or fewer than the
    threshold (but some) who did not answer one of them, left out of the weighted
    figures. The refusals for small groups name no answer (which group is small is
    hidden on the results too)."""
    names = {c.name for c in question.choices.all()}
    if set(population) != names or any(v < 0 for v in population.values()):
        raise ServiceError(_("Give a population count for every option of the question."))
    if not any(v > 0 for v in population.values()):
        raise ServiceError(
            _(
                "Give a number above zero for at least one answer: weighting needs people "
                "in the population to weight to."
            )
        )
    # The results weight only when every group of the question (each answer) is empty or
    # at least the threshold (selectors._weights): weighting a handful up to a large
    # share would make the figures theirs. Saying so now beats saving a weighting the
    # results page would then refuse. The reason names no answer (which one is small
    # is hidden on the results too).
    threshold = selectors.thresholds(survey).members
    sizes = dict(
        Answer.objects.filter(
            question=question, choice__isnull=False, response__status=Response.Status.COMPLETE
        )
        .values("choice_id")
        .annotate(n=Count("response_id", distinct=True))
        .values_list("choice_id", "n")
    )
    way_out = (
        _("Choose another question.")
        if survey.status == Survey.Status.CLOSED
        else _("Choose another question, or wait until more people have answered.")
    )
    if any(0 < n < threshold for n in sizes.values()):
        refusal = _(
            "Results can't be weighted by this question: fewer than %(n)s people gave one"
            " of its answers, and weighting them up would make the results theirs."
        ) % {"n": threshold}
        raise ServiceError(refusal + " " + way_out)
    # Only now may an answer be named: every answer given has at least the threshold.
    given_but_none = [
        c.name for c in question.choices.all() if sizes.get(c.pk) and population[c.name] <= 0
    ]
    if given_but_none:
        raise FiguresRefused(
            _(
                "People who answered the survey gave this answer, so its figure cannot be 0:"
                " weighting cannot count them as nobody. Give the number of people in the"
                " population who would give it."
            ),
            choices=given_but_none,
        )
    # Locked, so two organisers adding a question each keep both.
    current = _locked_weighting_targets(survey)
    targets = {**current, question.name: population}  # a question set before keeps its place
    used = [question]
    if len(targets) > 1:
        # Raking gives one weight to each combination of answers to the questions (day
        # shift and disciplined, ...): each must be empty or at least the threshold too.
        by_name = {
            q.name: q
            for q in survey.questions.filter(name__in=list(targets), type__in=selectors.WEIGHTED_BY)
        }
        used = others = [by_name[name] for name in targets if name in by_name]
        if any(0 < n < threshold for n in selectors.weighting_cell_sizes(survey, others)):
            refusal = _(
                "Results can't be weighted by this question together with the others the"
                " weighting uses: fewer than %(n)s people gave one of the combinations of"
                " answers to these questions, and weighting them up would make the results"
                " theirs."
            ) % {"n": threshold}
            raise ServiceError(
                refusal + " " + way_out + " " + _("Or remove another question from the weighting.")
            )
    # Those who did not answer a question the weighting uses are in no weighting group:
    # weighted figures leave them out, unweighted ones count them, and the two side by
    # side give their answers. Like a group, they must be none or at least the
    # threshold (selectors._weights refuses the weighting otherwise).
    if 0 < selectors.weighting_left_out(survey, used) < threshold:
        # "A few": between 1 and the threshold less one, never the count itself.
        refusal = _(
            "Results can't be weighted by this question: a few people (fewer than %(n)s)"
            " skipped it, or another question the weighting uses. Weighted figures leave"
            " them out, so setting them beside the unweighted figures would reveal their"
            " answers."
        ) % {"n": threshold}
        raise ServiceError(refusal + " " + way_out)
    survey.weighting_targets = targets
    survey.save(update_fields=["weighting_targets"])
    # The results snapshot counts the answers by the weighting's questions too.
    _recount_results_when_committed(survey)
    return survey


def _locked_weighting_targets(survey: Survey) -> dict[str, Any]:
    """The weighting targets as stored, the survey's row locked until the transaction
    ends: changes to them are made one at a time, each from the one before."""
    found = (
        Survey.objects.select_for_update()
        .filter(pk=survey.pk)
        .values_list("weighting_targets", flat=True)
        .first()
    )
    return dict(found or {})


@transaction.atomic
def remove_weighting_target(*, survey: Survey, name: str) -> Survey:
    """Forget one question's population figures (by its short name), keeping the
    others'; with none left the results are no longer weighted. Removing a question
    only merges the groups the weighting uses, so it needs no check."""
    current = _locked_weighting_targets(survey)
    if name not in current:
        raise ServiceError(_("The results are not weighted by that question."))
    survey.weighting_targets = {k: v for k, v in current.items() if k != name}
    survey.save(update_fields=["weighting_targets"])
    _recount_results_when_committed(survey)
    return survey


@transaction.atomic
def stop_weighting(*, survey: Survey) -> Survey:
    """Results unweighted again: the population figures are forgotten."""
    survey.weighting_targets = {}
    survey.save(update_fields=["weighting_targets"])
    _recount_results_when_committed(survey)
    return survey


@transaction.atomic
def set_weight_limit(*, survey: Survey, limit: int | None) -> Survey:
    """At most `limit` times the average respondent's weight for anyone (None: no
    limit). Read when the results are weighted; the counts are unchanged, so nothing
    is counted again."""
    field = Survey._meta.get_field("weight_limit")
    try:
        field.run_validators(limit)
    except ValidationError as refused:
        raise ServiceError(
            _("Give a whole number from 2 to 20, or leave the box empty for no limit.")
        ) from refused
    survey.weight_limit = limit
    survey.save(update_fields=["weight_limit"])
    return survey


@transaction.atomic
def cite_result(
    *, survey: Survey, question: Question, snapshot: dict[str, Any], actor: Any, note: str = ""
) -> Any:
    """Cite one question's result (`snapshot`, with `n` the people who answered it).

    While the survey is open, a result cited twice only a few answers apart would show
    what those few people said (compare "3 of 20" with "4 of 21"), so a new citation of
    the same question needs at least the published threshold of people more (or fewer)
    than every earlier one. Once closed the figures stop moving, but a survey can be
    opened again: a citation then needs the same distance from every earlier one with
    other figures (the same count cites the same figures, and is free). Members' own
    reading counts as well: once they have read the figures for some number of
    responses (`Survey.figures_shown_for`), no result is cited within the published
    threshold of that number but at it."""
    # One citation at a time per survey, so two organisers can't both pass the check;
    # the status read under the same lock.
    status, shown_for = (
        Survey.objects.select_for_update()
        .filter(pk=survey.pk)
        .values_list("status", "figures_shown_for")
        .first()
    ) or (None, None)
    step = selectors.thresholds(survey).published
    if shown_for is not None:
        # Members read figures for `shown_for` responses: a citation a few responses
        # from those would show what the newest few said, whatever was cited before.
        answered = selectors.complete_responses(survey).count()
        if 0 < abs(answered - shown_for) < step:
            raise ServiceError(
                ngettext(
                    "This survey's results can't be cited yet. Members were shown its "
                    "figures when %(before)s person had answered, and %(now)s have now: "
                    "figures only a few answers apart from those would show what the "
                    "newest few said. Cite them once at least %(step)s more people have "
                    "answered (open the survey again to collect their answers).",
                    "This survey's results can't be cited yet. Members were shown its "
                    "figures when %(before)s people had answered, and %(now)s have now: "
                    "figures only a few answers apart from those would show what the "
                    "newest few said. Cite them once at least %(step)s more people have "
                    "answered (open the survey again to collect their answers).",
                    shown_for,
                )
                % {"before": shown_for, "now": answered, "step": step}
            )
    for earlier in selectors.citations(survey).filter(source_id=question.pk):
        before = int(earlier.snapshot.get("n", 0))
        apart = abs(int(snapshot["n"]) - before)
        if apart == 0 and _same_counts(earlier.snapshot, snapshot):
            continue  # the same answers, cited weighted and not, or with other weights
        if apart < step and (status == Survey.Status.OPEN or apart > 0):
            raise ServiceError(
                ngettext(
                    "This result can't be cited again yet. It was cited when %(before)s "
                    "person had answered it, and %(now)s have now. Cite it again once at "
                    "least %(step)s more people have answered it: two citations only a "
                    "few answers apart would show what those few people said.",
                    "This result can't be cited again yet. It was cited when %(before)s "
                    "people had answered it, and %(now)s have now. Cite it again once at "
                    "least %(step)s more people have answered it: two citations only a "
                    "few answers apart would show what those few people said.",
                    before,
                )
                % {"before": before, "now": snapshot["n"], "step": step}
            )
    return cite(
        community=survey.community,
        source=question,
        evidence_type=EVIDENCE_RESULT,
        snapshot=snapshot,
        actor=actor,
        note=note,
    )


def _same_counts(earlier: dict[str, Any], now: dict[str, Any]) -> bool:
    """Whether two citations of a question count the same people giving each answer."""

    def counts(snapshot: dict[str, Any]) -> list[tuple[Any, Any]]:
        return [(f.get("option"), f.get("count")) for f in snapshot.get("figures", [])]

    return counts(earlier) == counts(now)


def already_cited(*, survey: Survey, question: Question, snapshot: dict[str, Any]) -> bool:
    """Whether this result is cited already with the same figures (on any day)."""
    earlier = find_citation(
        community=survey.community,
        source=question,
        evidence_type=EVIDENCE_RESULT,
        snapshot=snapshot,
        ignoring={"date"},
    )
    return earlier is not None


def _format_name(fmt: str) -> str:
    """The format as people call it in the audit log: "CSV", "SPSS (.sav)", not "SAV"."""
    if fmt == "csv":
        return "CSV"
    try:
        return str(SurveyExport.Format(fmt).label)
    except ValueError:
        return fmt.upper()


def record_unapproved_read(*, survey: Survey, actor: Any) -> None:
    """DESIGN §6: reading raw, unapproved answers is recorded in the audit log: once a
    day per organiser and survey (who read them, and on which day), not on every page
    view, which buried the exports in the log."""
    already = AuditEvent.objects.filter(
        community=survey.community,
        actor=actor,
        action=AuditEvent.Action.ANSWERS_READ,
        detail__survey=survey.pk,
        created_at__date=timezone.localdate(),
    )
    if already.exists():
        return
    record(
        community=survey.community,
        actor=actor,
        action=AuditEvent.Action.ANSWERS_READ,
        summary=_("%(actor)s read the unapproved text answers of survey '%(title)s'.")
        % {"actor": actor, "title": survey.title},
        survey=survey.pk,
    )


def audit_export(*, survey: Survey, actor: Any, fmt: str, rows: int) -> None:
    record(
        community=survey.community,
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        summary=ngettext(
            "%(actor)s exported %(n)s response to '%(title)s' as %(fmt)s.",
            "%(actor)s exported %(n)s responses to '%(title)s' as %(fmt)s.",
            rows,
        )
        % {"actor": actor, "n": rows, "title": survey.title, "fmt": _format_name(fmt)},
        survey=survey.pk,
        format=fmt,
    )
