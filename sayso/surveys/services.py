"""State changes for surveys: building, distributing, responding, approving, citing.

Every function is keyword-only and opens its own transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from sayso.core.models import AuditEvent, Community, InvitationCodeBatch
from sayso.core.services import ServiceError, cite, create_code_batch, record, redeem_code

from . import logic
from .models import (
    Answer,
    AnswerCount,
    Choice,
    MemberParticipation,
    Question,
    Response,
    Section,
    Survey,
    digest,
    new_token,
)

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
    survey.full_clean()
    survey.save()
    if creating:
        Section.objects.create(survey=survey, order=1, title={survey.default_language: ""})
    return survey


@transaction.atomic
def save_section(*, section: Section, survey: Survey) -> Section:
    section.survey = survey
    if section.pk is None:
        top = survey.sections.aggregate(m=Max("order"))["m"] or 0
        section.order = top + 1
    section.save()
    return section


@transaction.atomic
def delete_section(*, section: Section) -> None:
    """Delete a page with its questions: only while nobody has answered (an answer
    would lose its question), and not the last page."""
    survey = section.survey
    if survey.responses.filter(is_preview=False).exists():
        raise ServiceError(
            _(
                "People have started answering this survey, so its pages cannot be deleted:"
                " their answers would be lost. Close the survey and make a new one instead."
            )
        )
    if survey.sections.count() <= 1:
        raise ServiceError(_("A survey needs at least one page; this is the last one."))
    names = set(section.questions.values_list("name", flat=True))
    used_by = [
        q.name
        for q in survey.questions.exclude(section=section)
        if any(f"${{{name}}}" in q.relevant + q.constraint for name in names)
    ]
    if used_by:
        raise ServiceError(
            _("Questions on other pages use this page's answers in their logic: %(used)s.")
            % {"used": ", ".join(used_by)}
        )
    section.delete()  # its questions (and their choices) go with it


def _refers_to(question: Question, name: str) -> bool:
    return f"${{{name}}}" in question.relevant + question.constraint


@transaction.atomic
def move_question(*, question: Question, up: bool) -> Question:
    """Swap the question with its neighbour on the same page; logic must still refer
    only to earlier questions afterwards."""
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


@transaction.atomic
def add_language(*, survey: Survey, language: str) -> Survey:
    code = language.strip().lower()
    if not code or len(code) > 10 or not code.replace("-", "").isalpha():
        raise ServiceError(_("Give a language code like 'pl' or 'pt-br'."))
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
        for field in ("label", "hint", "constraint_message"):
            key = f"question.{q.pk}.{field}"
            if key in texts:
                setattr(q, field, put(getattr(q, field), texts[key]))
                changed += 1
        for c in q.choices.all():
            if f"choice.{c.pk}" in texts:
                c.label = put(c.label, texts[f"choice.{c.pk}"])
                choices.append(c)
    Question.objects.bulk_update(questions, ["label", "hint", "constraint_message"])
    Choice.objects.bulk_update(choices, ["label"])
    return changed + len(choices) + len(survey_texts)


def parse_choices(text: str) -> list[tuple[str, str]]:
    """`name = label` per line (or just a label; its name is made from its position)."""
    out: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if "=" in line:
            name, label = (part.strip() for part in line.split("=", 1))
        else:
            name, label = str(len(out) + 1), line
        if not logic.valid_name(name) and not name.isdigit():
            raise ServiceError(
                _("Choice line %(n)s: '%(name)s' is not a short name. Use letters, numbers and _.")
                % {"n": number, "name": name}
            )
        if any(name == seen for seen, _label in out):
            raise ServiceError(
                _("Choice line %(n)s: the name '%(name)s' is used twice.")
                % {"n": number, "name": name}
            )
        out.append((name, label))
    return out


def earlier_names(survey: Survey, question: Question | None) -> list[str]:
    """Names of the questions before `question` (all of them for a new one)."""
    names: list[str] = []
    for q in survey.questions.select_related("section").order_by("section__order", "order", "pk"):
        if question is not None and q.pk == question.pk:
            break
        names.append(q.name)
    return names


@transaction.atomic
def save_question(
    *,
    question: Question,
    survey: Survey,
    section: Section,
    choices: list[tuple[str, str]] | None,
    language: str,
) -> Question:
    """Create or update a question; its logic is checked against earlier questions."""
    if not logic.valid_name(question.name):
        raise ServiceError(
            _("The short name must start with a letter and use only letters, numbers and _.")
        )
    clash = survey.questions.filter(name=question.name).exclude(pk=question.pk)
    if clash.exists():
        raise ServiceError(
            _("Another question already has the short name '%(name)s'.") % {"name": question.name}
        )
    known = [n for n in earlier_names(survey, question) if n != question.name]
    for expression, what, allow_current in (
        (question.relevant, _("Show only if"), False),
        (question.constraint, _("Answer must satisfy"), True),
    ):
        problem = logic.check_expression(
            expression,
            known=[*known, question.name] if allow_current else known,
            allow_current=allow_current,
            what=what,
        )
        if problem:
            raise ServiceError(problem)
    if question.has_choices and not choices:
        raise ServiceError(_("Give at least two choices, one per line."))
    if question.has_choices and choices is not None and len(choices) < 2:
        raise ServiceError(_("Give at least two choices, one per line."))
    if question.is_note:  # nothing to answer, so nothing to require or check
        question.required = False
        question.constraint = ""
    question.survey = survey
    question.section = section
    if question.pk is None:
        top = section.questions.aggregate(m=Max("order"))["m"] or 0
        question.order = top + 1
    question.save()
    if question.has_choices and choices is not None:
        existing = {c.name: c for c in question.choices.all()}
        keep = []
        for order, (name, label) in enumerate(choices, start=1):
            choice = existing.get(name) or Choice(question=question, name=name)
            choice.order = order
            labels = dict(choice.label or {})
            labels[language] = label
            choice.label = labels
            choice.save()
            keep.append(choice.pk)
        dropped = question.choices.exclude(pk__in=keep)
    elif not question.has_choices:
        dropped = question.choices.all()
    else:
        dropped = question.choices.none()
    if dropped.exists():
        dropped.delete()  # with their answers: the counts follow
        recount(survey=survey)
    return question


@transaction.atomic
def delete_question(*, question: Question) -> None:
    used_by = [
        q.name
        for q in question.survey.questions.exclude(pk=question.pk)
        if f"${{{question.name}}}" in q.relevant + q.constraint
    ]
    if used_by:
        raise ServiceError(
            _("Other questions' logic refers to ${%(name)s}: %(used)s. Change them first.")
            % {"name": question.name, "used": ", ".join(used_by)}
        )
    question.delete()


@transaction.atomic
def set_status(*, survey: Survey, status: str, actor: Any) -> Survey:
    if status not in Survey.Status.values:
        raise ServiceError(_("Choose draft, open or closed."))
    if status == Survey.Status.OPEN:
        if not survey.questions.exists():
            raise ServiceError(_("Add at least one question before opening the survey."))
        if survey.distribution == Survey.Distribution.CODES and survey.code_batch_id is None:
            raise ServiceError(
                _("Create invitation codes before opening a survey that needs them.")
            )
    survey.status = status
    survey.save(update_fields=["status"])
    return survey


@transaction.atomic
def create_codes(*, survey: Survey, actor: Any, size: int) -> tuple[InvitationCodeBatch, list[str]]:
    """A new batch of single-use codes for the survey; the readable codes are returned once."""
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
    if not survey.is_open:
        raise ServiceError(_("This survey is not taking answers at the moment."))
    if survey.distribution == Survey.Distribution.MEMBERS and not getattr(
        user, "is_authenticated", False
    ):
        raise ServiceError(_("Sign in as a member to answer this survey."))
    if (
        survey.one_response_per_member
        and getattr(user, "is_authenticated", False)
        and MemberParticipation.objects.filter(survey=survey, user=user).exists()
    ):
        raise ServiceError(_("You have already answered this survey. Thank you."))
    with transaction.atomic():
        if survey.distribution == Survey.Distribution.CODES and (
            survey.code_batch is None or not redeem_code(batch=survey.code_batch, raw_code=code)
        ):
            raise ServiceError(
                _("That code is not valid or has already been used. Check it and try again.")
            )
        return _new_response(survey, language, preview=False)


def find_response(raw_token: str) -> Response | None:
    return (
        Response.objects.select_related("survey", "survey__community")
        .filter(resume_digest=digest(raw_token), status=Response.Status.PARTIAL)
        .first()
    )


@transaction.atomic
def save_page(*, response: Response, answers: dict[str, Any], page: int) -> Response:
    response.draft = answers
    response.page = page
    response.save(update_fields=["draft", "page"])
    return response


AnswerRow = tuple[int, int | None, int | None, float | None, str | None, str]
# question id, choice id, position, number, ISO date, text: one row of surveys_answer.


def _answer_rows(
    questions: list[Question], choice_ids: dict[tuple[int, str], int], answers: dict[str, Any]
) -> list[AnswerRow]:
    rows: list[AnswerRow] = []
    for question in questions:
        value = answers.get(question.name)
        if value is None or question.is_note:
            continue
        qid = question.pk
        if question.type in (Question.Type.SINGLE, Question.Type.RATING):
            rows.append((qid, choice_ids[qid, value], None, None, None, ""))
        elif question.type in (Question.Type.MULTIPLE, Question.Type.RANKING):
            # The position: the rank given, for a ranking; the form's order, for multiple
            # choice. Position 1 marks the respondent.
            rows += [
                (qid, choice_ids[qid, name], position, None, None, "")
                for position, name in enumerate(value, start=1)
            ]
        elif question.type == Question.Type.NUMBER:
            rows.append((qid, None, None, float(value), None, ""))
        elif question.type == Question.Type.DATE:
            rows.append((qid, None, None, None, str(value), ""))
        else:
            rows.append((qid, None, None, None, None, str(value)))
    return rows


def _insert_answers(survey_id: int, response_id: int, rows: list[AnswerRow]) -> None:
    """All of a response's answers in one INSERT (model instances cost more than the
    database does, at this size)."""
    if not rows:
        return
    table = connection.ops.quote_name(Answer._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
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
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (survey_id, response_id, question_id, choice_id, rank,"  # noqa: S608
            f" number, date, text, approved) VALUES {values}",
            params,
        )


def submit_response(*, response: Response, user: Any = None) -> dict[str, str]:
    """Check every answer and submit. Returns errors by question name (nothing saved)
    or {} on success. A preview is checked the same way, then thrown away.

    The response is claimed with one conditional UPDATE (partial -> complete), which
    locks its row: of two browsers sending the same private link at once, one writes
    the answers and the other finds nothing left to claim."""
    survey = response.survey
    questions = list(survey.questions.all())
    answers = dict(response.draft)
    errors = logic.check_all(questions, answers, response.language)
    if errors:
        return errors
    # Built before the transaction, which (on SQLite) holds the write lock throughout.
    choice_ids = {
        (qid, name): pk
        for pk, qid, name in Choice.objects.filter(question__survey=survey).values_list(
            "pk", "question_id", "name"
        )
    }
    rows = _answer_rows(questions, choice_ids, answers)
    groups = _groups(rows)
    today = timezone.localdate()
    with transaction.atomic():
        if response.is_preview:
            response.delete()
            return {}
        claimed = Response.objects.filter(pk=response.pk, status=Response.Status.PARTIAL).update(
            status=Response.Status.COMPLETE, draft=answers, resume_digest=None, submitted_on=today
        )
        if not claimed:
            return {}
        if survey.one_response_per_member and getattr(user, "is_authenticated", False):
            try:
                with transaction.atomic():
                    MemberParticipation.objects.create(survey=survey, user=user, answered_on=today)
            except IntegrityError:
                raise ServiceError(_("You have already answered this survey. Thank you.")) from None
        _insert_answers(survey.pk, response.pk, rows)
        # Last, so that the shared count rows stay locked as briefly as possible.
        _add_counts(survey.pk, groups)
    response.status = Response.Status.COMPLETE
    response.draft = answers
    response.resume_digest = None
    response.submitted_on = today
    return {}


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


def _add_counts(survey_id: int, groups: dict[Group, list[float]]) -> None:
    """Add to the running counts with one upsert (the same SQL on SQLite and PostgreSQL).

    Keys go in sorted order so that concurrent submissions lock the rows they share in
    the same order and cannot deadlock."""
    if not groups:
        return
    table = connection.ops.quote_name(AnswerCount._meta.db_table)
    keys = sorted(groups)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(keys))
    params: list[Any] = []
    for key in keys:
        n, numbers, total = groups[key]
        params += [survey_id, *key, int(n), int(numbers), total]
    # Only the table name (from the model) and placeholders are formatted in.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (survey_id, question_id, choice_key, rank_key, n, numbers,"  # noqa: S608
            f" number_sum) VALUES {values} ON CONFLICT (survey_id, question_id, choice_key,"
            f" rank_key) DO UPDATE SET n = {table}.n + excluded.n,"
            f" numbers = {table}.numbers + excluded.numbers,"
            f" number_sum = {table}.number_sum + excluded.number_sum",
            params,
        )


@transaction.atomic
def recount(*, survey: Survey) -> None:
    """Rebuild the survey's running counts from its answers (after choices are deleted,
    or to repair). Locks the survey row so no submission counts in between."""
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


@transaction.atomic
def set_weighting_targets(
    *, survey: Survey, question: Question, population: dict[str, float]
) -> Survey:
    names = {c.name for c in question.choices.all()}
    if set(population) != names or any(v <= 0 for v in population.values()):
        raise ServiceError(
            _("Give a population count above zero for every option of the question.")
        )
    survey.weighting_targets = {question.name: population}
    survey.save(update_fields=["weighting_targets"])
    return survey


def cite_result(
    *, survey: Survey, question: Question, snapshot: dict[str, Any], actor: Any, note: str = ""
) -> Any:
    return cite(
        community=survey.community,
        source=question,
        evidence_type=EVIDENCE_RESULT,
        snapshot=snapshot,
        actor=actor,
        note=note,
    )


def audit_export(*, survey: Survey, actor: Any, fmt: str, rows: int) -> None:
    record(
        community=survey.community,
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        summary=_("%(actor)s exported %(n)s responses to '%(title)s' as %(fmt)s.")
        % {"actor": actor, "n": rows, "title": survey.title, "fmt": fmt.upper()},
        survey=survey.pk,
        format=fmt,
    )
