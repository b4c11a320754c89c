"""Reading results: counts in the database, then intervals and disclosure control.

The database does the counting. Unfiltered results read the running counts kept on
submission (AnswerCount: a few hundred rows whatever the number of responses); a
filter counts the matching answers in one GROUP BY over every question (`tally`, read
from a covering index). One more query lists the text answers shown. Python only
shapes the per-question tables, so the page costs the same handful of queries whether
50 or 100,000 people answered.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol, TypeGuard, overload

import numpy as np
from django.db import connections
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber, TruncMonth
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from sayso.analysis import disclosure, odk_xpath, survey_stats

from . import follow_ups, logic
from .models import (
    Answer,
    AnswerCount,
    Choice,
    MemberParticipation,
    Question,
    Response,
    Survey,
)

TEXTS_SHOWN = 50


@dataclass
class Row:
    label: str
    name: str
    count: int | None
    share: float | None
    low: float | None = None
    high: float | None = None
    hidden: bool = False
    weighted: float | None = None
    weighted_low: float | None = None
    weighted_high: float | None = None

    @classmethod
    def of(cls, label: str, name: str, row: disclosure.FrequencyRow, out_of: int) -> Row:
        """A protected row with its share's 95% interval among `out_of` people (none
        when the row is hidden)."""
        item = cls(label, name, row.count, row.share, hidden=row.status.hidden)
        if row.share is not None:
            item.low, item.high = survey_stats.wilson_interval(row.share, out_of)
        return item

    @property
    def percent(self) -> str:
        return "" if self.share is None else f"{self.share * 100:.0f}%"

    @property
    def interval(self) -> str:
        if self.low is None or self.high is None:
            return ""
        return f"{self.low * 100:.0f} to {self.high * 100:.0f}%"

    @property
    def weighted_percent(self) -> str:
        return "" if self.weighted is None else f"{self.weighted * 100:.0f}%"

    @property
    def weighted_interval(self) -> str:
        if self.weighted_low is None or self.weighted_high is None:
            return ""
        return f"{self.weighted_low * 100:.0f} to {self.weighted_high * 100:.0f}%"


@dataclass
class CrossTab:
    groups: list[str]
    columns: list[str]
    cells: list[list[int | None]]  # with the row total last; last row is column totals
    refusal: str = ""


@dataclass
class QuestionResult:
    question: Question
    label: str
    respondents: int = 0
    rows: list[Row] = field(default_factory=list)
    refusal: str = ""
    mean: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    # A number question's average with its 95% interval (none when every answer is the
    # same: an interval of no width would say so), the middle value estimated from the
    # shown ranges when they give it (_median_from_rows), and, weighted, the weighted
    # average and its interval when every weighting cell's answers could be shown. Its
    # ranges of answers are its `rows`.
    mean_low: float | None = None
    mean_high: float | None = None
    median: float | None = None
    whole_numbers: bool = False  # a whole-number question: its middle value as one
    weighted_mean: float | None = None
    weighted_mean_low: float | None = None
    weighted_mean_high: float | None = None
    # Why a number question's average is not shown (_average_withheld): then neither
    # its average nor its weighted average is, in any view.
    mean_note: str = ""
    # Why no ranges of answers are shown beside a withheld average (_number_figures).
    ranges_note: str = ""
    texts: list[Answer] = field(default_factory=list)
    # People who wrote an answer to a text question (in the filter's group), and whether
    # their approved answers are held back because they are fewer than the threshold.
    text_answered: int = 0
    texts_withheld: bool = False
    # Fewer than the threshold (but some) of the respondents did not answer it: members
    # do not see the list, whose length would say how many (disclosure.check_unanswered).
    texts_few_skipped: bool = False
    # Filtered results list no written answers, for anyone (see results).
    texts_filtered: bool = False
    # Why members won't see a follow-up question's answers that an organiser reads
    # (follow_ups.py); the figures of other follow-ups are refused instead.
    follow_up_note: str = ""
    crosstab: CrossTab | None = None
    # With a breakdown chosen, why this question has no table split by it (a kind of
    # question only single-choice questions are split): "" when it is split, or has
    # no figures to split.
    not_split_note: str = ""
    # A date question whose months are all in "Other months" (none had enough people
    # to be shown on its own, _own_months): said, as no month is named.
    months_note: str = ""
    any_hidden: bool = False
    weighted: bool = False  # the weighting applies to this question (see _apply_weights)
    weighting_note: str = ""  # why some or all of its weighted figures are not shown
    # The filter's own question: the one line the page shows instead of its tables, whose
    # figures are all hidden (everyone in view gave the filter's answer; the rest would
    # be a breakdown by it). Its rows are still worked out, as follow_ups reads them.
    filter_note: str = ""
    # A required consent statement everyone agreed to: said in words, as its table
    # would only show "hidden" (nobody did not agree, a group of 0).
    consent_note: str = ""

    @property
    def number_citable(self) -> bool:
        """Whether a number question has a figure to cite as shown (views.cite_result):
        its average, or else its ranges when none of them is hidden."""
        return self.mean is not None or (bool(self.rows) and not self.any_hidden)

    @property
    def weighted_in_full(self) -> bool:
        """Whether every figure shown has its weighted share beside it: only then can
        the weighted figures be cited (views.cite_result) as they are shown."""
        if self.question.type == Question.Type.NUMBER:
            return self.weighted_mean is not None  # its ranges are never weighted
        shown = [row for row in self.rows if not row.hidden]
        return self.weighted and bool(shown) and all(row.weighted is not None for row in shown)

    def clear_figures(self) -> None:
        """Nothing shown but the reason (a refusal set beside it)."""
        self.rows = []
        self.mean = self.mean_low = self.mean_high = self.median = None
        self.weighted_mean = self.weighted_mean_low = self.weighted_mean_high = None
        self.mean_note = self.ranges_note = ""
        self.crosstab = None
        self.not_split_note = self.months_note = ""
        self.any_hidden = False


@dataclass
class Offer:
    """A question the reader's results may be broken down by, and the answers to it
    they may be narrowed to: those that would be shown, not refused (`_offers`)."""

    question: Question
    label: str
    filters: list[tuple[str, str]]  # (choice name, its words) under "Only people who answered"


@dataclass
class Results:
    survey: Survey
    respondents: int
    threshold: int
    questions: list[QuestionResult]
    refusal: str = ""
    # The filter the figures are narrowed by, only once it is applied: a refused
    # filter (filter_refused) leaves the results everyone's, shown as such.
    filter_label: str = ""
    filter_refused: bool = False
    breakdown: Question | None = None
    breakdown_refusal: str = ""
    weighting: survey_stats.Reweighting | None = None
    weighting_refusal: str = ""
    weighted_by: list[str] = field(default_factory=list)  # the weighting's questions' words
    # When the counts shown are an earlier snapshot (a newer one is being made by the
    # task worker): when that snapshot was made. None when they are up to date.
    figures_as_of: datetime | None = None
    # A big survey whose counts the task worker is still making: no figures yet.
    still_counting: bool = False
    # What the page's controls offer to break down or narrow the results by, and a
    # plain sentence for each breakdown question or answer left out, with why.
    offers: list[Offer] = field(default_factory=list)
    not_offered: list[str] = field(default_factory=list)


def citations(survey: Survey) -> QuerySet[Any]:
    """The survey's results cited as evidence (services.cite_result), newest first."""
    from django.contrib.contenttypes.models import ContentType

    from sayso.core.models import Citation

    return Citation.objects.filter(
        community_id=survey.community_id,
        source_type=ContentType.objects.get_for_model(Question),
        source_id__in=survey.questions.values("pk"),
        evidence_type="survey.result",  # services.EVIDENCE_RESULT
    ).select_related("cited_by")


def thresholds(survey: Survey) -> disclosure.Thresholds:
    members = survey.community.small_group_threshold
    return disclosure.Thresholds(members=members, published=max(members, 10))


@dataclass(frozen=True)
class Withheld:
    """Why a reader sees only how many people have answered, and no figures."""

    answered: int
    # "open": the survey is still taking answers. "few_since_shown": it closed only a few
    # responses from where members last read its figures, or from a citation.
    reason: str
    threshold: int = 0


def withheld_because(survey: Survey, *, can_organise: bool) -> Withheld | None:
    """Whether this reader sees only how many people have answered, no figures.

    While a survey is open its figures move with each response: anyone who knows who
    has just answered could compare them before and after ("average 39.9 from 7", then
    "44.5 from 8") and work out that person's answer, whatever the threshold. So until
    the survey closes only its organisers read the figures. The same comparison is open
    between two closings, and between a citation and a closing: closed a few responses
    from either (services.set_status, closing_would_withhold), the survey's new figures
    stay with its organisers until at least the members' threshold of responses
    separates them from the earlier ones."""
    if can_organise or survey.status == Survey.Status.DRAFT:
        return None
    if survey.status == Survey.Status.CLOSED and not survey.figures_withheld_since_shown:
        return None
    answered = complete_responses(survey).count()
    if survey.status == Survey.Status.OPEN:
        return Withheld(answered=answered, reason="open")
    return Withheld(
        answered=answered,
        reason="few_since_shown",
        threshold=thresholds(survey).members,
    )


def closing_would_withhold(survey: Survey, answered: int) -> bool:
    """Whether closing the survey with `answered` responses keeps its figures from
    members (withheld_because): fewer than the members' threshold of responses from
    where members last read figures (`figures_shown_for`) or from a citation, which is
    listed beside the figures whether made while the survey was open or before it was
    opened again."""
    earlier = [survey.figures_shown_for] if survey.figures_shown_for is not None else []
    earlier += [
        int(c.snapshot["responses"]) for c in citations(survey) if "responses" in c.snapshot
    ]
    step = thresholds(survey).members
    return any(0 < abs(answered - n) < step for n in earlier)


def complete_responses(survey: Survey) -> QuerySet[Response]:
    return Response.objects.filter(survey=survey, status=Response.Status.COMPLETE, is_preview=False)


def member_has_answered(survey: Survey, user: Any) -> bool:
    """Whether a signed-in member has sent their one response to a one-answer-each
    survey (the participation record names the member, never the response)."""
    return (
        survey.one_response_per_member
        and user.is_authenticated
        and MemberParticipation.objects.filter(survey=survey, user=user).exists()
    )


def responses_choosing(survey: Survey, question: Question, choice_name: str) -> QuerySet[Answer]:
    return Answer.objects.filter(survey=survey, question=question, choice__name=choice_name)


# --- the compiled definition a submission is checked against --------------------------
#
# Checking a submission needs the survey's questions (types, rules, order) and the ids
# of its choices. Reading them on every submission cost about as much as the rest of
# the submission's queries, so each process keeps them per survey, keyed by the survey's
# definition revision (models.DefinitionRevision, moved by database triggers on every
# change). The revision is read with the response; the submission's write succeeds only
# while the revision is unchanged (services.submit_response), so a copy can be reused
# for as long as it is right, and never after.

DEFINITIONS_KEPT = 256  # surveys per process; more are dropped and read again


@dataclass(frozen=True)
class Definition:
    survey_id: int
    revision: int
    questions: tuple[Question, ...]  # in the order of the form; choices not loaded
    # Each question's rules as a submission checks them (expressions parsed, choice
    # names mapped to ids), prepared once here rather than on every submission.
    rules: tuple[logic.Rule, ...]


class SurveyKey(Protocol):
    """What definition() needs of a survey: a Survey, or the survey read with a
    response being submitted (services.SurveyToSubmit)."""

    @property
    def pk(self) -> Any: ...

    @property
    def link_token(self) -> str: ...


_definitions: dict[str, Definition] = {}  # by the survey's link token


def definition(survey: SurveyKey, revision: int) -> Definition:
    """The questions and choice ids of the survey at `revision`, the number read with
    the response. Read afresh when this process has none at that revision.

    Kept by the survey's link token, which is random, rather than by its id: a test
    database that rolls back each test gives the next survey the same id (and the
    same first revisions), never the same token.

    The questions are shared between threads and must only be read. Read after the
    revision was, the copy may be newer than `revision` (a change committed in
    between); it is then labelled with the older number, which the database no longer
    has, so no submission is written with it."""
    survey_id = survey.pk
    found = _definitions.get(survey.link_token)
    if found is not None and found.revision == revision:
        return found
    questions = tuple(Question.objects.filter(survey_id=survey_id))
    choice_ids: dict[tuple[int, str], int] = {}
    alone: list[int] = []
    for pk, qid, name, stands_alone in Choice.objects.filter(
        question__survey_id=survey_id
    ).values_list("pk", "question_id", "name", "exclusive"):
        choice_ids[qid, name] = pk
        if stands_alone:
            alone.append(pk)
    # The labels only of the options ticked on their own, for the message that names
    # one: most surveys have none, and then this costs no query.
    exclusive = (
        {
            (qid, name): label
            for qid, name, label in Choice.objects.filter(pk__in=alone).values_list(
                "question_id", "name", "label"
            )
        }
        if alone
        else {}
    )
    loaded = Definition(
        survey_id, revision, questions, logic.prepare_rules(questions, choice_ids, exclusive)
    )
    if found is not None and found.revision > revision:
        return loaded  # a response read before the latest change: not worth keeping
    if len(_definitions) >= DEFINITIONS_KEPT:
        _definitions.clear()
    _definitions[survey.link_token] = loaded
    return loaded


def results(
    survey: Survey,
    *,
    audience: str = "members",
    can_see_all_text: bool = False,
    only: tuple[Question, str] | None = None,
    breakdown: Question | None = None,
    weighted: bool = False,
    question: Question | None = None,
) -> Results:
    """The survey's results, or only `question`'s (with its choices prefetched)."""
    threshold = disclosure.threshold_for(
        "published" if audience == "published" else "members", thresholds(survey)
    )
    language = survey.default_language
    if question is None:
        questions = list(
            survey.questions.exclude(type=Question.Type.NOTE).prefetch_related("choices")
        )
        answers = Answer.objects.filter(survey=survey)
    else:
        questions = [question]
        answers = Answer.objects.filter(survey=survey, question=question)
    # Every view a user can ask for (no filter, each filter, each breakdown, a filter
    # with a breakdown) shows slices of one jointly protected table per question, all
    # cut from one snapshot of the counts (_JointData, kept between requests): the
    # totals, a filter's counts and the partition checks are read from it too, never
    # counted afresh beside it, so no figure of one view is from another moment than
    # the figures of another view it could be subtracted from.
    try:
        joint = _joint_counts(survey, questions, question, threshold)
    except StillCounting as counting:
        return Results(
            survey=survey,
            respondents=counting.responses,
            threshold=threshold,
            questions=[],
            still_counting=True,
        )
    total = joint.total if joint is not None else complete_responses(survey).count()
    out = Results(survey=survey, respondents=total, threshold=threshold, questions=[])
    if joint is not None:
        out.figures_as_of = joint.as_of
    if total < threshold:
        # Filtered or not: no group can be bigger than everyone.
        out.refusal = _(
            "Fewer than %(threshold)s people have answered so far, so no results are shown: "
            "with so few, someone's answers could be picked out."
        ) % {"threshold": threshold}
        return out
    hidden_follow_ups = _FollowUps(survey, questions, joint, audience)
    if question is None:
        out.offers, out.not_offered = _offers(
            questions, joint, total, threshold, language, hidden_follow_ups
        )
    if only is not None:
        by, choice_name = only
        selected = (
            joint.selected(by, choice_name)
            if joint is not None and joint.has(by)
            else responses_choosing(survey, by, choice_name).count()
        )
        # The question's own checks come first, so that every answer of a question that
        # may not filter gets the same refusal: "narrows the results to fewer than 5"
        # for one answer and the question's reason for another would say which of two
        # hidden cells is the small one.
        refusal = None
        withheld = hidden_follow_ups.reason(by)
        if withheld:
            # Its groups' sizes (the filter's count, those who did not answer) would
            # give back what its own figures are withheld for.
            refusal = disclosure.Refusal(disclosure.RefusalCode.CANNOT_PROTECT, withheld)
        if refusal is None:
            # Filtering by a question is allowed exactly when breaking down by it is.
            refusal = _partition_refusal(survey, [by], threshold, language, joint=joint)
        if refusal is None:
            refusal = disclosure.check_filter(selected=selected, parent=total, threshold=threshold)
        if refusal is not None:
            # out.respondents stays everyone's: the refused group's size is not given.
            out.refusal = refusal.reason
            out.filter_refused = True
            return out
        label = next(
            (c.text(language) for c in by.choices.all() if c.name == choice_name), choice_name
        )
        out.filter_label = f"{by.text(language)}: {label}"
        answers = answers.filter(
            response__in=responses_choosing(survey, by, choice_name).values("response")
        )
        total = selected
        out.respondents = selected
    if total < threshold:
        out.refusal = disclosure.check_filters([total], threshold=threshold).reason  # type: ignore[union-attr]
        return out

    # Unfiltered results read the running counts (or, when the survey has questions to
    # split by, the joint counts summed, the filter's groups only when filtered); a
    # filter by anything else needs a real GROUP BY.
    if joint is not None and (only is None or joint.has(only[0])):
        counted = joint.tally(only)
    elif only is not None:
        counted = tally(answers)
    else:
        counted = counts(survey, question)
    cross: dict[int, dict[tuple[int, int], int]] = defaultdict(dict)
    groups: list[tuple[int, str]] = []
    if breakdown is not None:
        out.breakdown = breakdown
        withheld = hidden_follow_ups.reason(breakdown)
        if withheld:
            out.breakdown_refusal = withheld
            breakdown = None
    if breakdown is not None:
        refusal = _partition_refusal(
            survey, _splits(only, breakdown), threshold, language, combined=True, joint=joint
        )
        if refusal is not None:
            out.breakdown_refusal = refusal.reason
            breakdown = None
    # Each question's table is checked by the same rule over the people who answered it.
    splits = _splits(only, breakdown)
    per_question = (
        _partitions_per_question(survey, questions, splits, language, joint=joint) if splits else {}
    )
    if breakdown is not None and joint is None:
        groups = [(c.pk, c.text(language)) for c in breakdown.choices.all()]
        for question_id, group_id, choice_id, n in (
            answers.filter(
                choice__isnull=False,
                rank__isnull=True,
                response__answers__question=breakdown,
            )
            .values_list("question_id", "response__answers__choice_id", "choice_id")
            .annotate(n=Count("id"))
            .order_by()
        ):
            cross[question_id][(group_id, choice_id)] = n

    # Each group of the splits, everyone in it: beside the people who answered a question
    # in each (per_question), those who did not (disclosure.check_unanswered).
    people = _people(survey, splits, language, joint=joint) if splits else {}
    # Written answers are listed only for everyone (QuestionResult.texts_filtered).
    texts, text_answered = (
        _texts(answers, [q.pk for q in questions if q.is_text], approved_only=not can_see_all_text)
        if only is None
        else ({}, {})
    )
    weights = None
    if weighted:
        try:
            weights = _weights(survey, questions, threshold, only, joint)
        except CannotWeight as refused:
            out.weighting_refusal = str(refused)  # the unweighted results are shown
    if weights is not None:
        out.weighting = weights.reweighting
        out.weighted_by = [q.text(language) for q in weights.by]
    date_ids = [q.pk for q in questions if q.type == Question.Type.DATE]
    # With a joint table the months come from its snapshot, never counted beside it.
    months = _months(answers, date_ids) if date_ids and joint is None else {}
    # Without one, the months listed are still chosen over everyone, at the published
    # threshold (_own_months), whatever the filter and the audience.
    own_months: dict[int, list[date]] = {}
    if months:
        everyone = (
            months if only is None else _months(Answer.objects.filter(survey=survey), date_ids)
        )
        own_months = {
            pk: _own_months(found, thresholds(survey).published) for pk, found in everyone.items()
        }
    # The number questions' answers, likewise (_NumberView).
    limits = thresholds(survey)
    numbers = _number_view(answers, questions, joint, only, limits.published, limits.members)

    for question in questions:
        result = QuestionResult(question=question, label=question.text(language))
        if only is not None and question.is_text:
            # Not listed, for anyone: the list for one filter and the list for another
            # share the answers of the people in both groups, so two lists could pin an
            # answer to a group of one (the comment in both "weekend" and "department
            # B"), however big each group is. Figures are protected across views; a
            # written answer is the same words in every view, so it is listed only in
            # the results for everyone.
            result.texts_filtered = True
            out.questions.append(result)
            continue
        choices = list(question.choices.all())
        cells = per_question.get(question.pk, {})
        if question.type == Question.Type.CONSENT and joint is not None and splits:
            # Everyone who completed the survey is in a consent statement's table.
            cells = joint.partition(splits, language)
        try:
            if only is not None:
                position = next(i for i, q in enumerate(splits) if q.pk == only[0].pk)
                margin = _margin(cells, position)
                if sum(margin.values()) < threshold:
                    # Fewer than the threshold answered it at all: said as in the
                    # results for everyone, not as a refused group ("The group has ...").
                    raise disclosure.DisclosureRefused(_too_few(threshold))
                split = disclosure.check_partition(
                    margin, threshold=threshold, question=only[0].text(language)
                )
                if split is not None:
                    raise disclosure.DisclosureRefused(_named(split))
                if question.type != Question.Type.CONSENT:
                    # "8 responses", "5 people answered": 3 of the group skipped it. Every
                    # group of the filter's question is checked, so that the unfiltered
                    # count less the other groups' gives no small number either.
                    skipped = disclosure.check_unanswered(
                        _margin(people, position), margin, threshold=threshold
                    )
                    if skipped is not None:
                        raise disclosure.DisclosureRefused(
                            _unanswered_in_groups([only[0]], threshold, language, question)
                        )
            if question.type in (
                Question.Type.SINGLE,
                Question.Type.RATING,
                Question.Type.MULTIPLE,
                Question.Type.RANKING,
            ):
                found = counted.get(question.pk, Tally())
                source = found.firsts if question.type == Question.Type.RANKING else found.chosen
                by_choice = {c.pk: source.get(c.pk, 0) for c in choices}
                multiple = question.type == Question.Type.MULTIPLE
                respondents = found.firsts_total if multiple else sum(by_choice.values())
                result.respondents = respondents
                table = disclosure.frequency_table_from_counts(
                    by_choice, threshold=threshold, respondents=respondents, multiple=multiple
                )
                if joint is not None:
                    table = joint.frequency_table(question, choices, table, only)
                result.any_hidden = table.any_hidden
                for choice, row in zip(choices, table.rows, strict=True):
                    result.rows.append(Row.of(choice.text(language), choice.name, row, respondents))
                if weights is not None:
                    _apply_weights(result, question, choices, weights, threshold)
                if (
                    out.breakdown is not None
                    and question.pk != out.breakdown.pk
                    and not multiple
                    and question.type != Question.Type.RANKING
                ):
                    by_groups = _named(
                        disclosure.check_combined_partition(
                            cells, threshold=threshold, questions=[q.text(language) for q in splits]
                        )
                    )
                    if by_groups is None and disclosure.check_unanswered(
                        people, cells, threshold=threshold
                    ):
                        # A row's total beside its group's size says how many of the
                        # group skipped the question.
                        by_groups = _unanswered_in_groups(splits, threshold, language, question)
                    result.crosstab = (
                        CrossTab([], [], [], refusal=out.breakdown_refusal)
                        if out.breakdown_refusal
                        else joint.crosstab(
                            question,
                            choices,
                            out.breakdown,
                            only,
                            language,
                            by_groups,
                        )
                        if joint is not None
                        else _crosstab(
                            cross[question.pk],
                            groups,
                            choices,
                            by_choice,
                            threshold,
                            language,
                            by_groups,
                            out.breakdown.type in (Question.Type.SINGLE, Question.Type.RATING),
                        )
                    )
            elif question.type == Question.Type.NUMBER:
                # No minimum or maximum: an extreme singles out the one person who gave it.
                _number_figures(
                    result,
                    question,
                    numbers.counted.get(question.pk),
                    numbers,
                    only,
                    threshold,
                    weights,
                )
            elif question.type == Question.Type.DATE and joint is not None:
                _joint_date_rows(result, joint, question, only, threshold)
            elif question.type == Question.Type.DATE:
                _date_rows(
                    result, months.get(question.pk, {}), own_months.get(question.pk, []), threshold
                )
            elif question.type == Question.Type.CONSENT:
                # Everyone who completed the survey either agreed or did not: the number
                # who agreed is a figure of the table, hidden when it must be.
                agreed = counted.get(question.pk, Tally()).values
                result.respondents = total
                table = disclosure.frequency_table_from_counts(
                    {"yes": agreed, "no": total - agreed}, threshold=threshold
                )
                if joint is not None:
                    table = joint.frequency_table(question, [], table, only)
                result.any_hidden = table.any_hidden
                if question.required and total and agreed == total:
                    result.consent_note = _(
                        "Everyone who answered agreed: agreeing was required to take part."
                    )
                labels = {"yes": _("Agreed"), "no": _("Did not agree")}
                for r in table.rows:
                    result.rows.append(
                        Row(
                            labels[str(r.option)],
                            str(r.option),
                            r.count,
                            r.share,
                            hidden=r.status.hidden,
                        )
                    )
            else:
                result.respondents = counted.get(question.pk, Tally()).values
                if question.is_text:
                    result.text_answered = text_answered.get(question.pk, 0)
                    # The list's length says how many people answered. A question shown
                    # only to some (skip logic) would give away the size of a group the
                    # tables hide (2 night workers), so below the threshold nobody but an
                    # organiser reading every answer sees them, approved or not. Beside
                    # the number of responses it says how many did not answer, a group
                    # too (disclosure.check_unanswered).
                    result.texts_few_skipped = (
                        disclosure.check_unanswered(
                            {None: total}, {None: result.text_answered}, threshold=threshold
                        )
                        is not None
                    )
                    result.texts_withheld = not can_see_all_text and (
                        result.text_answered < threshold or result.texts_few_skipped
                    )
                    result.texts = [] if result.texts_withheld else texts.get(question.pk, [])
            if only is None and question.type in SKIPPABLE:
                # Everyone's count beside the number of responses: those who did not
                # answer must be 0 or at least the threshold, as in every group of a
                # filter (above). Their figures are refused in every view then, since
                # some group of any filter has that few too.
                skipped = disclosure.check_unanswered(
                    {None: total}, {None: result.respondents}, threshold=threshold
                )
                if skipped is not None:
                    raise disclosure.DisclosureRefused(
                        _not_asked_everyone(threshold) if question.relevant else skipped
                    )
        except disclosure.DisclosureRefused as refused:
            result.refusal = refused.refusal.reason
            result.clear_figures()
            result.weighting_note = ""
        if only is not None and question.pk == only[0].pk:
            result.filter_note = _filter_note(question, only[1], language)
        if (
            weights is not None
            and result.rows
            and not result.weighted
            and question.type != Question.Type.NUMBER  # says its own (_number_figures)
        ):
            result.weighting_note = _(
                "This question is not weighted: only answers chosen from a list are. "
                "The figures are the unweighted counts."
            )
        out.questions.append(result)
    hidden_follow_ups.apply(out, can_see_all_text)
    if breakdown is not None:
        # The breakdown in force: a question it does not split says so, once its
        # figures are shown (a refused one says why it is not shown instead).
        for result in out.questions:
            if (
                not result.refusal
                and not result.filter_note
                and not result.consent_note
                and (result.rows or result.mean is not None)
            ):
                result.not_split_note = _not_split_note(result.question, breakdown, language)
    return out


def _offers(
    questions: list[Question],
    joint: _JointCounts | None,
    total: int,
    threshold: int,
    language: str,
    follow_ups: _FollowUps,
) -> tuple[list[Offer], list[str]]:
    """The breakdowns and filters to offer this reader, and why the others are not.

    The same rules as refuse them in `results` when asked for, with the reader's
    threshold: a question withheld as a follow-up, or whose partition of the
    respondents fails (disclosure.check_partition), is offered neither as a breakdown
    nor as a filter; an answer is offered as a filter when the question is and the
    answer's group passes disclosure.check_filter (itself, and everyone outside it, 0 or
    at least the threshold). Read from the snapshot's groups (`joint`), which the page
    loads anyway: no query per question or answer.

    The notes say only what the page already says: "fewer than" the threshold, never a
    group's size, and never which of a question's groups is the small one. Naming it
    could give its size: with 6 people hidden between two answers, one named small and
    the other not, the small one is 1."""
    offers: list[Offer] = []
    notes: list[str] = []
    splits = {q.pk for q in joint.splits} if joint is not None else set()
    for question in questions:
        if not question.is_breakdown:
            continue
        label = question.text(language)
        if joint is None or question.pk not in splits:
            if question.type in SPLITTABLE:
                notes.append(
                    _("“%(question)s” is not offered: it has more than %(n)s answers.")
                    % {"question": label, "n": MASK_BITS}
                )
            else:
                notes.append(
                    _(
                        "“%(question)s” is not offered: results can be split only by a "
                        "question answered by choosing from a list or by a rating."
                    )
                    % {"question": label}
                )
            continue
        if follow_ups.reason(question):
            notes.append(
                _(
                    "“%(question)s” is not offered: it was asked only of some people, and "
                    "splitting the results by it could give away figures hidden to protect "
                    "them."
                )
                % {"question": label}
            )
            continue
        groups = _margin(joint.partition([question], language), 0)
        if disclosure.check_partition(groups, threshold=threshold) is not None:
            # Fails when a group (an answer, a set of ticked boxes, or not answering) has
            # 1 to threshold - 1 people, or everyone: one sentence for both, so that the
            # note says neither which nor that everyone answered alike (a table hides that).
            template = (
                _(
                    "“%(question)s” is not offered: fewer than %(threshold)s people, or "
                    "everyone, ticked one particular set of its boxes (or did not answer it), "
                    "so results split by it could give people's answers away."
                )
                if question.type == Question.Type.MULTIPLE
                else _(
                    "“%(question)s” is not offered: fewer than %(threshold)s people, or "
                    "everyone, gave one of its answers (or did not answer it), so results "
                    "split by it could give people's answers away."
                )
            )
            notes.append(template % {"question": label, "threshold": threshold})
            continue
        filters = []
        for choice in list(question.choices.all())[:MASK_BITS]:
            words = choice.text(language)
            refused = disclosure.check_filter(
                selected=joint.selected(question, choice.name), parent=total, threshold=threshold
            )
            if refused is None:
                filters.append((choice.name, words))
            elif refused.code == disclosure.RefusalCode.TOO_FEW:
                notes.append(
                    _(
                        "“%(question)s: %(answer)s” is not offered: fewer than %(threshold)s "
                        "people chose it."
                    )
                    % {"question": label, "answer": words, "threshold": threshold}
                )
            else:  # everyone chose it, or all but fewer than the threshold
                notes.append(
                    _(
                        "“%(question)s: %(answer)s” is not offered: fewer than %(threshold)s "
                        "people did not choose it."
                    )
                    % {"question": label, "answer": words, "threshold": threshold}
                )
        offers.append(Offer(question, label, filters))
    return offers, notes


def _filter_note(question: Question, choice_name: str, language: str) -> str:
    """The line shown for the filter's own question instead of its table."""
    answer = next(
        (c.text(language) for c in question.choices.all() if c.name == choice_name), choice_name
    )
    if question.type == Question.Type.MULTIPLE:
        return _("Everyone here ticked “%(answer)s”: this is the filter.") % {"answer": answer}
    return _("Everyone here answered “%(answer)s”: this is the filter.") % {"answer": answer}


def _unanswered_in_groups(
    splits: list[Question], threshold: int, language: str, question: Question
) -> disclosure.Refusal:
    """Why `question`'s figures are not shown filtered or broken down by `splits` (the
    filter's question, the breakdown, or both): in one of their groups, fewer than the
    threshold did not answer it (or, with a skip rule, were not asked it). Never which
    group, as the other refusals."""
    names = [s.text(language) for s in splits]
    by = (
        _("“%(question)s”") % {"question": names[0]}
        if len(names) == 1
        else _("“%(first)s” and “%(second)s”") % {"first": names[0], "second": names[-1]}
    )
    reason = (
        _(
            "In one of the groups of %(questions)s, fewer than %(threshold)s people did "
            "not answer this question or were not asked it, so its results are not shown "
            "narrowed or split this way: the number who answered would tell how many did "
            "not, and with so few they could be picked out."
        )
        if question.relevant
        else _(
            "In one of the groups of %(questions)s, fewer than %(threshold)s people did "
            "not answer this question, so its results are not shown narrowed or split "
            "this way: the number who answered would tell how many did not, and with so "
            "few they could be picked out."
        )
    )
    return disclosure.Refusal(
        disclosure.RefusalCode.TOO_FEW, reason % {"questions": by, "threshold": threshold}
    )


def _not_asked_everyone(threshold: int) -> disclosure.Refusal:
    """disclosure.check_unanswered's refusal, for a question with a skip rule: some of
    the people who did not answer it were never asked it."""
    return disclosure.Refusal(
        disclosure.RefusalCode.TOO_FEW,
        _(
            "Fewer than %(threshold)s people did not answer this question or were not "
            "asked it, so its results are not shown: the number who answered would tell "
            "how many did not, and with so few they could be picked out."
        )
        % {"threshold": threshold},
    )


def _not_split_note(question: Question, breakdown: Question, language: str) -> str:
    """Why a question with figures has no table split by the breakdown: only single
    choice and rating questions are split (selectors.results)."""
    why = {
        Question.Type.MULTIPLE: _(
            "Not split by “%(question)s”: only questions where people choose one answer "
            "from a list are split, and here people could choose several."
        ),
        Question.Type.RANKING: _(
            "Not split by “%(question)s”: only questions where people choose one answer "
            "from a list are split, and here people put the answers in order."
        ),
        Question.Type.NUMBER: _(
            "Not split by “%(question)s”: only questions where people choose one answer "
            "from a list are split, and here people gave a number."
        ),
        Question.Type.DATE: _(
            "Not split by “%(question)s”: only questions where people choose one answer "
            "from a list are split, and here people gave a date."
        ),
        Question.Type.CONSENT: _(
            "Not split by “%(question)s”: only questions where people choose one answer "
            "from a list are split, and this is a statement people agreed to or not."
        ),
    }.get(question.type)  # type: ignore[call-overload]
    return why % {"question": breakdown.text(language)} if why else ""


# The questions whose number of answers is shown ("n people answered", "from n
# answers") beside the number of responses. A consent statement counts everyone; a text
# question's list is checked where it is made.
SKIPPABLE = (
    Question.Type.SINGLE,
    Question.Type.RATING,
    Question.Type.MULTIPLE,
    Question.Type.RANKING,
    Question.Type.NUMBER,
    Question.Type.DATE,
)


class _FollowUps:
    """Which questions shown only to some people are withheld, and why: where their
    figures could give back figures hidden in the tables of a question their condition
    names (follow_ups.py). An organiser still reads a withheld text question's answers."""

    def __init__(
        self,
        survey: Survey,
        questions: list[Question],
        joint: _JointCounts | None,
        audience: str,
    ) -> None:
        self.survey = survey
        self.joint = joint
        self.audience = audience
        self.language = survey.default_language
        self.known: dict[str, Question | None] = {q.name: q for q in questions}
        self.place = {q.name: i for i, q in enumerate(questions)}  # the survey's order
        self.computed: dict[str, QuestionResult] = {}  # this page's results, once made
        self.verdicts: dict[str, str] = {}  # question name: why withheld, "" if not

    def _lookup(self, name: str) -> Question | None:
        if name not in self.known:  # only when one question's results are asked for
            self.known[name] = (
                self.survey.questions.filter(name=name).prefetch_related("choices").first()
            )
        return self.known[name]

    def _hides(self, earlier: Question, expression: odk_xpath.Expression) -> bool:
        if earlier.type == Question.Type.NUMBER:
            return self._number_hides(earlier)
        if earlier.type not in follow_ups.COUNTED:
            return False
        choices = list(earlier.choices.all())
        if self.joint is not None:
            # Every view's table at once: a follow-up shown in one view and hidden in
            # another could be subtracted across them.
            try:
                lines = follow_ups.hidden_lines(self.joint.tables(earlier, choices))
            except disclosure.DisclosureRefused:
                return True
        else:
            # No question to filter or break down by: the unfiltered view is the only one.
            found = self.computed.get(earlier.name)
            if found is None:
                found = results(self.survey, audience=self.audience, question=earlier).questions[0]
            if found.refusal:
                return True
            lines = [frozenset(i for i, row in enumerate(found.rows) if row.hidden)]
        return follow_ups.splits_hidden(follow_ups.shown_for(expression, earlier, choices), lines)

    def _number_hides(self, earlier: Question) -> bool:
        """A question shown by a number's answer ("${age} >= 50"): how many answered it
        is how many gave such a number, which, with the condition on a range's edge,
        is a range's count. Which ranges a condition covers is not worked out, so it is
        withheld whenever a range of that number is hidden in any view."""
        if self.joint is not None:
            if self.joint.number_bins(earlier) is None:
                return False  # no ranges are shown
            try:
                return any(t.any_hidden for t in self.joint.tables(earlier, []))
            except disclosure.DisclosureRefused:
                return True
        found = self.computed.get(earlier.name)
        if found is None:
            found = results(self.survey, audience=self.audience, question=earlier).questions[0]
        return bool(found.refusal) or found.any_hidden

    def reason(self, question: Question) -> str:
        """Why the question's figures are withheld; "" when they are not."""
        if question.name in self.verdicts:
            return self.verdicts[question.name]
        self.verdicts[question.name] = ""  # a cycle of conditions ends here
        expression = follow_ups.condition(question)
        if expression is None:
            return ""
        reason = ""
        named = [
            earlier
            for name in sorted(expression.references)
            if (earlier := self._lookup(name)) is not None and earlier.pk != question.pk
        ]
        for earlier in named:
            if self.reason(earlier) or self._hides(earlier, expression):
                # Every question the rule depends on, not only the one found first.
                named.sort(key=lambda q: (self.place.get(q.name, len(self.place)), q.name))
                reason = follow_ups.refusal_reason(named, self.language)
                break
        self.verdicts[question.name] = reason
        return reason

    def apply(self, out: Results, can_see_all_text: bool) -> None:
        if not any(r.question.relevant for r in out.questions):
            return
        self.computed = {r.question.name: r for r in out.questions}
        for result in out.questions:
            reason = self.reason(result.question)
            if not reason:
                continue
            if result.question.is_text and can_see_all_text:
                result.follow_up_note = reason
                continue
            result.refusal = reason
            result.clear_figures()
            result.weighting_note = ""
            result.texts = []
            result.respondents = 0
            result.text_answered = 0


@dataclass
class Tally:
    """What the database counted for one question."""

    chosen: dict[int, int] = field(default_factory=dict)  # choice id: rows choosing it
    firsts: dict[int, int] = field(default_factory=dict)  # choice id: rows at position 1
    firsts_total: int = 0  # rows at position 1: one per respondent to a multiple choice
    values: int = 0  # rows without a choice (number, date, text, consent)
    numbers: int = 0
    number_sum: float = 0.0


def tally(answers: QuerySet[Answer]) -> dict[int, Tally]:
    """Count every question's answers in one GROUP BY (for filtered results; the
    unfiltered ones read the same figures from AnswerCount, kept up to date).

    Grouped by (question, choice, position), which is the order of the `answer_tally`
    index, and reading only its columns, so the database walks that index once without
    sorting and without touching the table. The groups are few (questions x choices x
    positions) and are folded per question here.
    """
    out: dict[int, Tally] = defaultdict(Tally)
    for question_id, choice_id, rank, n, numbers, number_sum in (
        answers.values_list("question_id", "choice_id", "rank")
        .annotate(n=Count("*"), numbers=Count("number"), number_sum=Sum("number"))
        .order_by()
    ):
        _fold(out[question_id], choice_id, rank, n, numbers, number_sum)
    return out


def counts(survey: Survey, question: Question | None = None) -> dict[int, Tally]:
    """The same figures as `tally` over all the survey's answers, from AnswerCount."""
    found = AnswerCount.objects.filter(survey=survey)
    if question is not None:
        found = found.filter(question=question)
    out: dict[int, Tally] = defaultdict(Tally)
    # Each group's shards are summed by the database: a few thousand rows at most.
    for question_id, choice_key, rank_key, n, numbers, number_sum in (
        found.values_list("question_id", "choice_key", "rank_key")
        .annotate(n=Sum("n"), numbers=Sum("numbers"), number_sum=Sum("number_sum"))
        .order_by()
    ):
        _fold(out[question_id], choice_key or None, rank_key or None, n, numbers, number_sum)
    return out


def _fold(
    counts: Tally,
    choice_id: int | None,
    rank: int | None,
    n: int,
    numbers: int,
    number_sum: float | None,
) -> None:
    if choice_id is None:
        counts.values += n
        counts.numbers += numbers
        counts.number_sum += number_sum or 0.0
        return
    counts.chosen[choice_id] = counts.chosen.get(choice_id, 0) + n
    if rank == 1:
        counts.firsts[choice_id] = n
        counts.firsts_total += n


def _texts(
    answers: QuerySet[Answer], question_ids: list[int], *, approved_only: bool
) -> tuple[dict[int, list[Answer]], dict[int, int]]:
    """The first 50 text answers of each text question (approved ones only, unless
    `approved_only` is False), and how many people answered each, approved or not.

    One query: each row carries its question's total (a window count over every
    answer), and with `approved_only` the unapproved answers are numbered apart and
    only their first comes back, for the total, so no unapproved text is shown."""
    if not question_ids:
        return {}, {}
    partition = [F("question_id"), F("approved")] if approved_only else [F("question_id")]
    found = (
        answers.filter(question_id__in=question_ids)
        .exclude(text="")
        .annotate(
            answered=Window(Count("id"), partition_by=F("question_id")),
            # Names the answer in the approve link instead of its id, which counts up
            # in the order people answered.
            response_key=F("response__export_key"),
            # In the responses' random export order, not the order people answered in.
            position=Window(
                RowNumber(), partition_by=partition, order_by=F("response__export_key").asc()
            ),
        )
    )
    if approved_only:
        found = found.filter(Q(approved=True, position__lte=TEXTS_SHOWN) | Q(position=1))
    else:
        found = found.filter(position__lte=TEXTS_SHOWN)
    out: dict[int, list[Answer]] = defaultdict(list)
    answered: dict[int, int] = {}
    for answer in found.order_by("question_id", "response__export_key"):
        answered[answer.question_id] = answer.answered
        if answer.approved or not approved_only:
            out[answer.question_id].append(answer)
    return out, answered


def _splits(only: tuple[Question, str] | None, breakdown: Question | None) -> list[Question]:
    """The questions that split the results: the filter's, then the breakdown."""
    out = [only[0]] if only is not None else []
    if breakdown is not None and all(q.pk != breakdown.pk for q in out):
        out.append(breakdown)
    return out


MASK_BITS = 62  # choices a question may have to be used as a filter or breakdown

# --- joint protection ----------------------------------------------------------------
#
# Each question's figures are cut from one table: its answers by every question the
# results can be filtered or broken down by (an axis per single-choice split, with a
# "did not answer" group; an axis per option of a multiple-choice split: ticked, not
# ticked, did not answer), released as the question by each axis and, for questions
# shown in a breakdown, by each pair of axes. disclosure.protect_joint suppresses the
# whole family at once, so the unfiltered counts, every filter's counts and every
# breakdown agree on what is hidden, and no shown figure gives a hidden one back by
# subtraction. The counts come from one GROUP BY over the answers joined to each
# response's groups (the same per-response masks as the partition rule's).

SPLITTABLE = (Question.Type.SINGLE, Question.Type.RATING, Question.Type.MULTIPLE)
ANSWERED = (Question.Type.SINGLE, Question.Type.RATING, Question.Type.RANKING)


@dataclass(frozen=True)
class _Axis:
    question: Question
    option: int | None  # a multiple-choice split's option (its bit); None: single choice
    size: int

    def group(self, mask: int | None) -> int:
        """The group of a response with this split's `mask` (see _masks)."""
        if self.option is not None:
            return 2 if not mask else 0 if mask >> self.option & 1 else 1
        return self.size - 1 if not mask else int(mask).bit_length() - 1


@dataclass
class _JointCounts:
    """The survey's answers counted by every split's groups, and each question's
    jointly protected tables (made when first asked for)."""

    splits: list[Question]
    axes: list[_Axis]
    rows: dict[int, list[tuple[Any, ...]]]  # question: (choice, rank, masks, n, numbers, sum)
    threshold: int
    total: int = 0  # completed responses
    # Completed responses by their masks (those who answered none of the splits left out).
    groups: dict[tuple[int | None, ...], int] = field(default_factory=dict)
    as_of: datetime | None = None  # when counted, if an earlier snapshot is shown
    protected: dict[int, list[disclosure.JointTable] | disclosure.Refusal] = field(
        default_factory=dict
    )
    # Per date question: (month, masks, n), and the months given rows of their own
    # (chosen at bins_threshold, as number ranges are: see own_months).
    months: dict[int, list[tuple[date, tuple[int | None, ...], int]]] = field(default_factory=dict)
    month_rows: dict[int, list[date]] = field(default_factory=dict)
    weight_rows: list[WeightRow] | None = None  # see _count_weight_rows
    # The number questions' counts by group, the threshold their ranges (and the date
    # questions' months) are chosen at (the published one, for every audience: see
    # _Bins) and the ranges once chosen, and their answers by weighting cell (see
    # _count_weight_rows).
    numbers: dict[int, NumberCounts] = field(default_factory=dict)
    bins_threshold: int = disclosure.PUBLISHED_THRESHOLD
    number_bins_chosen: dict[int, _Bins | None] = field(default_factory=dict)
    number_weight_rows: list[NumberWeightRow] | None = None
    # The same counts at the members' threshold, when this is the published one:
    # members read both, so every cell hidden there is hidden here too (see
    # disclosure.protect_family's floor).
    floor: _JointCounts | None = None

    def has(self, *questions: Question) -> bool:
        """Whether the counts are split by each of `questions`."""
        ids = [q.pk for q in self.splits]
        return all(q.pk in ids for q in questions)

    def _bit(self, split: Question, choice_name: str) -> tuple[int, int | None]:
        """The split's position among the masks, and the bit of `choice_name`."""
        k = next(i for i, q in enumerate(self.splits) if q.pk == split.pk)
        names = [c.name for c in list(self.splits[k].choices.all())[:MASK_BITS]]
        return k, names.index(choice_name) if choice_name in names else None

    def selected(self, split: Question, choice_name: str) -> int:
        """How many completed responses chose `choice_name` at `split`."""
        k, bit = self._bit(split, choice_name)
        if bit is None:
            return 0
        return sum(n for masks, n in self.groups.items() if (masks[k] or 0) >> bit & 1)

    def partition(self, splits: list[Question], language: str) -> dict[tuple[Any, ...], int]:
        """Completed responses by their groups of `splits` (as _partition_refusal
        counts them), those who answered none of them under (None, ...)."""
        positions = [next(i for i, q in enumerate(self.splits) if q.pk == s.pk) for s in splits]
        splits = [self.splits[k] for k in positions]  # theirs have their choices read
        cells: dict[tuple[Any, ...], int] = defaultdict(int)
        for masks, n in self.groups.items():
            key = tuple(
                _group_label(q, masks[k], language) for q, k in zip(splits, positions, strict=True)
            )
            cells[key] += n
        nobody = (None,) * len(splits)
        cells[nobody] += self.total - sum(self.groups.values())
        return dict(cells)

    def per_question(
        self, splits: list[Question], language: str
    ) -> dict[int, dict[tuple[Any, ...], int]]:
        """For each question, the people who answered it by their groups of `splits`
        (as _partitions_per_question counts them: one answer row per respondent)."""
        positions = [next(i for i, q in enumerate(self.splits) if q.pk == s.pk) for s in splits]
        splits = [self.splits[k] for k in positions]  # theirs have their choices read
        out: dict[int, dict[tuple[Any, ...], int]] = {}
        for question_id, found in self.rows.items():
            by_masks: dict[tuple[Any, ...], int] = defaultdict(int)
            for _choice, rank, masks, n, _numbers, _sum in found:
                if rank is None or rank == 1:
                    by_masks[tuple(masks[k] for k in positions)] += n
            cells: dict[tuple[Any, ...], int] = defaultdict(int)
            for masks, n in by_masks.items():
                key = tuple(
                    _group_label(q, m, language) for q, m in zip(splits, masks, strict=True)
                )
                cells[key] += n
            out[question_id] = dict(cells)
        return out

    def tally(self, only: tuple[Question, str] | None = None) -> dict[int, Tally]:
        """The same figures as `counts` (or, filtered, as `tally` of the filter's
        answers), summed over the groups."""
        k, bit = self._bit(*only) if only is not None else (0, None)
        out: dict[int, Tally] = defaultdict(Tally)
        for question_id, found in self.rows.items():
            summed: dict[tuple[Any, Any], list[float]] = {}
            for choice_id, rank, masks, n, numbers, number_sum in found:
                if only is not None and (bit is None or not (masks[k] or 0) >> bit & 1):
                    continue  # not in the filter's group
                entry = summed.setdefault((choice_id, rank), [0, 0, 0.0])
                entry[0] += n
                entry[1] += numbers
                entry[2] += number_sum or 0.0
            for (choice_id, rank), (n, numbers, number_sum) in summed.items():
                _fold(out[question_id], choice_id, rank, int(n), int(numbers), number_sum)
        return out

    def keeps(self, only: tuple[Question, str] | None) -> Any:
        """Whether people with given masks are in the view: everyone, or the filter's
        group."""
        if only is None:
            return _everyone
        k, bit = self._bit(*only)
        if bit is None:
            return lambda masks: False
        return lambda masks: bool((masks[k] or 0) >> bit & 1)

    def number_bins(self, question: Question) -> _Bins | None:
        """A number question's ranges, chosen once over everyone (see _Bins)."""
        if question.pk not in self.number_bins_chosen:
            counted = self.numbers.get(question.pk)
            self.number_bins_chosen[question.pk] = (
                None
                if counted is None
                else _number_bins(counted, self.bins_threshold, question.whole_number)
            )
        return self.number_bins_chosen[question.pk]

    def _protect_numbers(
        self, question: Question, floor: disclosure.JointTable | None
    ) -> disclosure.JointTable:
        """A number question as a question whose answers are its ranges, protected
        across every view like a single choice."""
        bins = self.number_bins(question)
        counted = self.numbers.get(question.pk)
        if bins is None or counted is None:  # pragma: no cover - no ranges are shown
            raise disclosure.DisclosureRefused(_cannot_show())
        cells: dict[tuple[int, ...], int] = defaultdict(int)
        by_masks: dict[tuple[Any, ...], int] = defaultdict(int)
        for j, masks, n in counted.bins:
            cells[(bins.row_of(j), *self._coords(masks))] += n
            by_masks[masks] += n
        sizes = tuple(a.size for a in self.axes)
        return disclosure.protect_family(
            cells,
            (len(bins.rows), *sizes),
            threshold=self.threshold,
            tables=self._released(question, by_masks),
            floor=floor,
        )

    def _coords(self, masks: tuple[Any, ...]) -> tuple[int, ...]:
        by_question = {q.pk: m for q, m in zip(self.splits, masks, strict=True)}
        return tuple(a.group(by_question[a.question.pk]) for a in self.axes)

    def tables(self, question: Question, choices: list[Any]) -> list[disclosure.JointTable]:
        """The question's protected tables: one for a single choice, rating or ranking
        question (its answers, or first places); one per option for multiple choice
        (ticked or not). Raises DisclosureRefused when they cannot be protected."""
        found = self.protected.get(question.pk)
        if found is None:
            try:
                found = self._protect(question, choices)
            except disclosure.DisclosureRefused as refused:
                found = refused.refusal
            self.protected[question.pk] = found
        if isinstance(found, disclosure.Refusal):
            raise disclosure.DisclosureRefused(found)
        return found

    def _floor(self, question: Question, choices: list[Any]) -> list[Any]:
        """The question's tables at the members' threshold, one per table of this
        protection (None each when there is no floor, or members are refused the
        question: then they read nothing of it but these figures)."""
        if self.floor is not None:
            try:
                return list(self.floor.tables(question, choices))
            except disclosure.DisclosureRefused:
                pass
        return [None] * max(1, len(choices))

    def _protect(self, question: Question, choices: list[Any]) -> list[disclosure.JointTable]:
        floors = self._floor(question, choices)
        if question.type == Question.Type.CONSENT:
            return [self._protect_consent(question, floors[0])]
        if question.type == Question.Type.DATE:
            return [self._protect_months(question, floors[0])]
        if question.type == Question.Type.NUMBER:
            return [self._protect_numbers(question, floors[0])]
        position = {c.pk: i for i, c in enumerate(choices)}
        multiple = question.type == Question.Type.MULTIPLE
        ranking = question.type == Question.Type.RANKING
        answered: dict[tuple[int, ...], int] = defaultdict(int)  # group: respondents
        chosen: dict[tuple[int, ...], int] = defaultdict(int)  # (choice, *group): count
        by_masks: dict[tuple[Any, ...], int] = defaultdict(int)
        for choice_id, rank, masks, n, _numbers, _sum in self.rows.get(question.pk, []):
            if choice_id not in position:
                continue
            group = self._coords(masks)
            if rank is None or rank == 1:
                answered[group] += n
                by_masks[masks] += n
            if not ranking or rank == 1:
                chosen[(position[choice_id], *group)] += n
        released = self._released(question, by_masks)
        sizes = tuple(a.size for a in self.axes)
        shown = self._shown_elsewhere(question, choices)
        if not multiple:
            return [
                disclosure.protect_family(
                    chosen,
                    (len(choices), *sizes),
                    threshold=self.threshold,
                    tables=released,
                    shown=[(i, *sizes) for i in shown],
                    floor=floors[0],
                )
            ]
        out = []
        for i in range(len(choices)):
            cells: dict[tuple[int, ...], int] = {}
            for group, n in answered.items():
                ticked = chosen.get((i, *group), 0)
                cells[(0, *group)] = ticked
                cells[(1, *group)] = n - ticked
            out.append(
                disclosure.protect_family(
                    cells,
                    (2, *sizes),
                    threshold=self.threshold,
                    tables=released,
                    # Those who did not tick it: the people who answered (shown) less those
                    # who did.
                    shown=[(0, *sizes), (1, *sizes)] if i in shown else [],
                    floor=floors[i],
                )
            )
        return out

    def _shown_elsewhere(self, question: Question, choices: list[Any]) -> set[int]:
        """The answers of a question results can be split by whose counts the page
        shows as the sizes of its groups: "6 responses · only Shift: Weekend", and the
        row totals of a breakdown by it. Those are the answers of an offered filter
        (the question passes the partition rule, and the answer disclosure.check_filter;
        see _offers). Hiding such a count in the question's own table hid nothing (a
        plain "Shift?" table with its weekend row hidden, 6 shown beside it in every
        breakdown by shift), and counting it as unknown let that table's protection
        lean on a figure anyone can read."""
        k = next((i for i, q in enumerate(self.splits) if q.pk == question.pk), None)
        if k is None:
            return set()
        groups: dict[Any, int] = defaultdict(int)
        ticked: dict[int, int] = defaultdict(int)
        for masks, n in self.groups.items():
            groups[masks[k] or None] += n
            for bit in range(min(len(choices), MASK_BITS)):
                if (masks[k] or 0) >> bit & 1:
                    ticked[bit] += n
        groups[None] += self.total - sum(self.groups.values())
        if disclosure.check_partition(groups, threshold=self.threshold) is not None:
            return set()
        return {
            i
            for i in range(min(len(choices), MASK_BITS))
            if ticked[i] == 0
            or disclosure.check_filter(
                selected=ticked[i], parent=self.total, threshold=self.threshold
            )
            is None
        }

    def own_months(self, question: Question) -> list[date]:
        """The months of a date question that get a row of their own, in every view
        and for every audience: those at least the published threshold of people gave,
        counted over everyone (_own_months). Chosen once, so which months are listed
        never differs between views (a month listed under one filter and not under
        another would say how many gave it in the other group) nor between the members'
        figures and the published ones (a month listed for members but folded into
        "other months" when published would let one table be subtracted from the
        other, giving back a count either hides)."""
        found = self.month_rows.get(question.pk)
        if found is None:
            everyone: dict[date, int] = defaultdict(int)
            for month, _masks, n in self.months.get(question.pk, []):
                everyone[month] += n
            found = _own_months(everyone, self.bins_threshold)
            self.month_rows[question.pk] = found
        return found

    def month_counts(self, question: Question, only: tuple[Question, str] | None) -> list[int]:
        """The people in the view (everyone, or the filter's group) who gave a date in
        each of `own_months`, then in any other month."""
        own = {m: i for i, m in enumerate(self.own_months(question))}
        k, bit = self._bit(*only) if only is not None else (0, None)
        out = [0] * (len(own) + 1)
        for month, masks, n in self.months.get(question.pk, []):
            if only is not None and (bit is None or not (masks[k] or 0) >> bit & 1):
                continue  # not in the filter's group
            out[own.get(month, len(own))] += n
        return out

    def _protect_months(
        self, question: Question, floor: disclosure.JointTable | None
    ) -> disclosure.JointTable:
        """A date question as a question whose answers are its own months and "other
        months", protected across every view like a single choice."""
        own = {m: i for i, m in enumerate(self.own_months(question))}
        cells: dict[tuple[int, ...], int] = defaultdict(int)
        by_masks: dict[tuple[Any, ...], int] = defaultdict(int)
        for month, masks, n in self.months.get(question.pk, []):
            cells[(own.get(month, len(own)), *self._coords(masks))] += n
            by_masks[masks] += n
        sizes = tuple(a.size for a in self.axes)
        return disclosure.protect_family(
            cells,
            (len(own) + 1, *sizes),
            threshold=self.threshold,
            tables=self._released(question, by_masks),
            floor=floor,
        )

    def _protect_consent(
        self, question: Question, floor: disclosure.JointTable | None
    ) -> disclosure.JointTable:
        """A consent statement as a question of two answers, agreed (its answers) and
        did not (every other completed response), so that its "no" is protected too
        and no view's figures give away another's."""
        everyone: dict[tuple[Any, ...], int] = defaultdict(int)  # completed, by masks
        for masks, n in self.groups.items():
            everyone[masks] += n
        # Those who answered none of the splits are not in `groups`.
        everyone[(None,) * len(self.splits)] += self.total - sum(self.groups.values())
        agreed: dict[tuple[int, ...], int] = defaultdict(int)
        for _choice, _rank, masks, n, _numbers, _sum in self.rows.get(question.pk, []):
            agreed[self._coords(masks)] += n
        people: dict[tuple[int, ...], int] = defaultdict(int)
        for masks, n in everyone.items():
            people[self._coords(masks)] += n
        cells: dict[tuple[int, ...], int] = {}
        for group, n in people.items():
            cells[(0, *group)] = agreed.get(group, 0)
            cells[(1, *group)] = n - agreed.get(group, 0)
        sizes = tuple(a.size for a in self.axes)
        released = self._released(question, everyone)
        return disclosure.protect_family(
            cells, (2, *sizes), threshold=self.threshold, tables=released, floor=floor
        )

    def _released(
        self, question: Question, by_masks: dict[tuple[Any, ...], int]
    ) -> list[tuple[int, ...]]:
        """The tables of this question a user can be shown: by each split (axis) whose
        groups among the people who answered the question pass the partition rule, and
        for questions shown in a breakdown by each pair of such splits whose combined
        groups pass too. Refused ones are left out (they are never shown); taking in a
        table that is never shown would only hide more."""
        passing: set[int] = set()
        for k, split in enumerate(self.splits):
            if split.pk == question.pk:
                continue  # results filtered by their own question hide every answer
            margin: dict[Any, int] = defaultdict(int)
            for masks, n in by_masks.items():
                margin[masks[k] or None] += n
            if disclosure.check_partition(margin, threshold=self.threshold) is None:
                passing.add(split.pk)
        axes = [i for i, a in enumerate(self.axes, 1) if a.question.pk in passing]
        released: list[tuple[int, ...]] = [(i,) for i in axes]
        if question.type not in (Question.Type.SINGLE, Question.Type.RATING):
            return released  # no breakdown is shown for these
        index = {q.pk: k for k, q in enumerate(self.splits)}
        for i, j in itertools.combinations(axes, 2):
            first, second = self.axes[i - 1].question, self.axes[j - 1].question
            if first.pk != second.pk:
                pair: dict[tuple[Any, ...], int] = defaultdict(int)
                for masks, n in by_masks.items():
                    pair[(masks[index[first.pk]] or None, masks[index[second.pk]] or None)] += n
                if disclosure.check_combined_partition(pair, threshold=self.threshold):
                    continue
            released.append((i, j))
        return released

    def _axis(self, split: Question, choice_name: str) -> tuple[int, int] | None:
        """The axis (1-based, as protect_joint counts them) and group of a filter."""
        names = [c.name for c in list(split.choices.all())[:MASK_BITS]]
        if choice_name not in names:
            return None
        bit = names.index(choice_name)
        for i, a in enumerate(self.axes, 1):
            if a.question.pk == split.pk and a.option in (None, bit):
                return (i, bit) if a.option is None else (i, 0)
        return None

    def frequency_table(
        self,
        question: Question,
        choices: list[Any],
        table: disclosure.FrequencyTable,
        only: tuple[Question, str] | None,
    ) -> disclosure.FrequencyTable:
        """`table` (the question's counts as shown) with what is hidden taken from the
        joint tables: the unfiltered slice, or the filter's."""
        tables = self.tables(question, choices)
        fixed: dict[int, int] = {}
        if only is not None:
            if only[0].pk == question.pk:
                return _all_hidden(table, disclosure.CellStatus.EVERYONE_SAME)
            found = self._axis(*only)
            if found is None:
                return _all_hidden(table, disclosure.CellStatus.COMPLEMENTARY)
            fixed[found[0]] = found[1]
        rows = []
        multiple = question.type == Question.Type.MULTIPLE
        for i, row in enumerate(table.rows):
            joint = tables[i] if multiple else tables[0]
            key = joint.cell(0 if multiple else i, fixed)
            if key not in joint.status:
                return _all_hidden(table, disclosure.CellStatus.COMPLEMENTARY)
            count = joint.visible(key)
            rows.append(
                disclosure.FrequencyRow(
                    option=row.option,
                    count=count,
                    share=None if count is None else count / table.total,
                    status=joint.status[key],
                )
            )
        return disclosure.FrequencyTable(
            rows=tuple(rows), total=table.total, threshold=table.threshold, multiple=multiple
        )

    def crosstab(
        self,
        question: Question,
        choices: list[Any],
        breakdown: Question,
        only: tuple[Question, str] | None,
        language: str,
        refusal: disclosure.Refusal | None,
    ) -> CrossTab:
        """The question's answers by the breakdown's groups, cut from its joint table.
        A single-choice breakdown has a "did not answer" row when anyone is in it, so the
        column totals are the question's own (filtered) counts."""
        tab = CrossTab(groups=[], columns=[c.text(language) for c in choices], cells=[])
        if refusal is not None:
            tab.refusal = refusal.reason
            return tab
        try:
            joint = self.tables(question, choices)[0]
        except disclosure.DisclosureRefused as refused:
            tab.refusal = refused.refusal.reason
            return tab
        fixed: dict[int, int] = {}
        if only is not None:
            found = self._axis(*only)
            if found is None:
                tab.refusal = _cannot_show().reason
                return tab
            fixed[found[0]] = found[1]
        groups = list(breakdown.choices.all())[:MASK_BITS]
        rows: list[tuple[str, dict[int, int]]] = []
        for group in groups:
            located = self._axis(breakdown, group.name)
            if located is None:
                tab.refusal = _cannot_show().reason
                return tab
            rows.append((group.text(language), {located[0]: located[1]}))
        exclusive = breakdown.type != Question.Type.MULTIPLE
        if exclusive and rows:
            axis = next(iter(rows[0][1]))
            rows.append((disclosure.NO_ANSWER.capitalize(), {axis: self.axes[axis - 1].size - 1}))
        body: list[list[int | None]] = []
        labels = []
        for label, where in rows:
            axis, group_index = next(iter(where.items()))
            if axis in fixed and fixed[axis] != group_index:
                line: list[int | None] = [0] * (len(choices) + 1)  # nobody: filtered out
            else:
                keys = [joint.cell(i, {**fixed, **where}) for i in range(len(choices) + 1)]
                if any(k not in joint.status for k in keys):
                    tab.refusal = _cannot_show().reason
                    return tab
                line = [joint.visible(k) for k in keys]
            if exclusive and label == disclosure.NO_ANSWER.capitalize() and not line[-1]:
                continue  # nobody skipped the breakdown: no row for them
            body.append(line)
            labels.append(label)
        if exclusive:
            totals = [joint.visible(joint.cell(i, fixed)) for i in range(len(choices) + 1)]
        else:
            # A person can be in several groups: the totals are the rows' sums, hidden
            # wherever one of the cells added is.
            totals = [
                None if any(r[j] is None for r in body) else sum(r[j] or 0 for r in body)
                for j in range(len(choices) + 1)
            ]
        tab.groups = labels
        tab.cells = [*body, totals]
        return tab


def _all_hidden(
    table: disclosure.FrequencyTable, status: disclosure.CellStatus
) -> disclosure.FrequencyTable:
    rows = tuple(
        disclosure.FrequencyRow(option=r.option, count=None, share=None, status=status)
        for r in table.rows
    )
    return disclosure.FrequencyTable(
        rows=rows, total=table.total, threshold=table.threshold, multiple=table.multiple
    )


def _cannot_show() -> disclosure.Refusal:
    return disclosure.Refusal(
        disclosure.RefusalCode.CANNOT_PROTECT,
        "This table cannot be shown without some hidden numbers being worked out from "
        "other results; try a broader breakdown.",
    )


def _joint_counts(
    survey: Survey, questions: list[Question], question: Question | None, threshold: int
) -> _JointCounts | None:
    """Every answer counted by every split's groups, from the survey's snapshot of
    its counts (`joint_data`). None when the survey has no question to filter or
    break down by."""
    if question is None:
        candidates = questions
    else:
        candidates = list(
            survey.questions.filter(is_breakdown=True, type__in=SPLITTABLE).prefetch_related(
                "choices"
            )
        )
    splits = [
        q
        for q in candidates
        if q.is_breakdown and q.type in SPLITTABLE and not _too_many_choices(q)
    ]
    if not splits:
        return None
    axes = []
    for split in splits:
        n = len(split.choices.all())
        if split.type == Question.Type.MULTIPLE:
            axes += [_Axis(split, b, 3) for b in range(n)]
        else:
            axes.append(_Axis(split, None, n + 1))
    data, fresh = joint_data(survey, splits)
    limits = thresholds(survey)

    def counts(at: int) -> _JointCounts:
        return _JointCounts(
            splits=splits,
            axes=axes,
            rows=data.rows,
            threshold=at,
            total=data.total,
            groups=data.groups,
            as_of=None if fresh else data.made_at,
            months=data.months,
            weight_rows=data.weight_rows,
            numbers=data.numbers,
            bins_threshold=limits.published,
            number_weight_rows=data.number_weight_rows,
        )

    joint = counts(threshold)
    if threshold > limits.members:
        # Members read the published figures too: they start from the members' hidden
        # cells (see _JointCounts.floor).
        joint.floor = counts(limits.members)
    return joint


# --- the snapshot of counts that every view of a survey's results reads ---------------
#
# The joint counts take one pass over every answer (about 2 s at 20,000 responses in
# SQLite), so they are kept in Django's cache (the database, or Redis when configured),
# whole for the survey and before any suppression, labelled with the survey's data
# version (`data_version`: it moves with every submission, every change to the answers
# and every change to the questions). A request whose version matches reads them; one
# that finds an older version either counts again (when the last count was quick) or
# shows the older snapshot whole, saying when it was made, while the task worker makes
# the new one (tasks.recount_results). A page never mixes two snapshots: every figure
# on it, and every figure of every other view at the same version, comes from one.

JOINT_CACHE_SECONDS = 7 * 24 * 3600  # a survey nobody looks at drops out of the cache


@dataclass(frozen=True)
class _JointData:
    """What the database counted for joint protection, before any suppression."""

    version: tuple[int, ...]
    shape: tuple[tuple[int, tuple[int, ...]], ...]  # each split and its choices, in order
    rows: dict[int, list[tuple[Any, ...]]]  # question: (choice, rank, masks, n, numbers, sum)
    groups: dict[tuple[int | None, ...], int]  # completed responses by their masks
    total: int  # completed responses
    made_at: datetime
    seconds: float  # how long the count took
    # Per date question: (month, masks, n), the answers by month and group.
    months: dict[int, list[tuple[date, tuple[int | None, ...], int]]] = field(default_factory=dict)
    # The weighting's questions (by name, in order) when counted, and the choice answers
    # by the respondent's answers to them and groups (see _count_weight_rows).
    weighting: tuple[str, ...] = ()
    weight_rows: list[WeightRow] | None = None
    # The number questions' counts by group (NumberCounts) and by weighting cell.
    numbers: dict[int, NumberCounts] = field(default_factory=dict)
    number_weight_rows: list[NumberWeightRow] | None = None


def _joint_key(survey: Survey) -> str:
    # The link token too: a test database that rolls back gives the next survey the
    # same id, never the same token (the cache may not roll back with it).
    # "v4": snapshots whose weighting rows count the people in no weighting cell (v3:
    # with number ranges); one kept by an older release is not read.
    return f"sayso:survey-results:v4:{survey.pk}:{survey.link_token}"


def _shape(splits: list[Question]) -> tuple[tuple[int, tuple[int, ...]], ...]:
    return tuple((q.pk, tuple(c.pk for c in list(q.choices.all())[:MASK_BITS])) for q in splits)


def data_version(survey: Survey, using: str | None = None) -> tuple[int, ...]:
    """A number set that changes whenever the counts could: the definition revision
    (questions, choices, breakdown flags: database triggers move it), the count and
    the last id of completed responses (a submission, a deletion, both), and sums over
    the running counts (AnswerCount, changed in the same transaction as the answers:
    answers dropped with a choice, a recount). Last, the number of date questions,
    which moves with the revision and tells the count whether to count months. One
    query."""
    from .models import DefinitionRevision

    db = using or Answer.objects.db
    quote = connections[db].ops.quote_name
    revisions = quote(DefinitionRevision._meta.db_table)
    responses = quote(Response._meta.db_table)
    counted = quote(AnswerCount._meta.db_table)
    questions = quote(Question._meta.db_table)
    sql = (
        "SELECT"  # noqa: S608 - table names from the models; values are parameters
        f" (SELECT MAX(n) FROM {revisions} WHERE survey_id = %s),"
        f" r.done, r.last, c.n, c.by_choice, c.by_rank, c.numbers,"
        f" (SELECT COUNT(*) FROM {questions} WHERE survey_id = %s AND type = %s)"
        f" FROM (SELECT COUNT(*) AS done, MAX(id) AS last FROM {responses}"
        " WHERE survey_id = %s AND status = %s AND is_preview = %s) r,"
        " (SELECT SUM(n) AS n, SUM(CAST(n AS BIGINT) * choice_key) AS by_choice,"
        " SUM(CAST(n AS BIGINT) * rank_key) AS by_rank, SUM(numbers) AS numbers"
        f" FROM {counted} WHERE survey_id = %s) c"
    )
    with connections[db].cursor() as cursor:
        cursor.execute(
            sql,
            [
                survey.pk,
                survey.pk,
                Question.Type.DATE,
                survey.pk,
                Response.Status.COMPLETE,
                False,
                survey.pk,
            ],
        )
        row = cursor.fetchone()
    return tuple(int(x or 0) for x in row)


def joint_data(survey: Survey, splits: list[Question]) -> tuple[_JointData, bool]:
    """The survey's snapshot of counts for `splits`, and whether it is up to date.

    A survey with fewer completed responses than SURVEY_RESULTS_CACHE_FROM is counted
    on every request (a few milliseconds) and nothing is kept. An older snapshot is
    returned (not up to date) only when the questions are the same and counting took
    SURVEY_RESULTS_FRESH_SECONDS or more last time; the task worker is then asked to
    count again (at most once a minute per survey). With no usable snapshot, a survey
    of SURVEY_RESULTS_COUNT_IN_REQUEST_UP_TO completed responses or more is counted by
    the worker too, and StillCounting is raised until it is done."""
    from django.core.cache import cache

    shape = _shape(splits)
    key = _joint_key(survey)
    older = None
    with _one_snapshot():
        version = data_version(survey)
        if version[1] < _option("SURVEY_RESULTS_CACHE_FROM", 1000):
            return _count_joint(survey, splits, version, shape), True
        kept = cache.get(key)
        if _fits(kept, survey, shape):
            if kept.version == version:
                return kept, True
            if kept.version[0] == version[0] and kept.seconds >= _option(
                "SURVEY_RESULTS_FRESH_SECONDS", 0.5
            ):
                older = kept
        counting = older is None and version[1] >= _option(
            "SURVEY_RESULTS_COUNT_IN_REQUEST_UP_TO", 10_000
        )
        if older is None and not counting:
            data = _count_joint(survey, splits, version, shape)
    # Written after the read transaction: a write inside it could find, on SQLite,
    # that its snapshot is no longer the latest and fail.
    if older is not None or counting:
        if cache.add(f"{key}:queued", True, timeout=60):
            _queue_recount(survey.pk)
        if older is not None:
            return older, False
        # A task backend that runs tasks at once (development, tests) has counted.
        kept = cache.get(key)
        if _fits(kept, survey, shape) and kept.version == version:
            return kept, True
        raise StillCounting(version[1])
    cache.set(key, data, timeout=JOINT_CACHE_SECONDS)
    return data, True


def _fits(kept: Any, survey: Survey, shape: Any) -> TypeGuard[_JointData]:
    """Whether `kept` is a snapshot of the survey's splits as they are, counted for the
    weighting it has now (setting it up changes no question, so no version)."""
    return (
        isinstance(kept, _JointData)
        and kept.shape == shape
        and kept.weighting == _weighting_names(survey)
    )


def _weighting_names(survey: Survey) -> tuple[str, ...]:
    return tuple(survey.weighting_targets or {})


class StillCounting(Exception):  # noqa: N818 - a state shown to people, not a bug
    """A big survey has no snapshot of its counts for its current questions yet: the
    task worker is making one. Counting in the request would take seconds (8 to 14 s at
    100,000 responses), so the page says so instead of making people wait."""

    def __init__(self, responses: int) -> None:
        super().__init__(responses)
        self.responses = responses


def _option(name: str, default: float) -> float:
    from django.conf import settings

    return float(getattr(settings, "SAYSO", {}).get(name, default))


def recount_results(survey: Survey) -> _JointData | None:
    """Count the survey's snapshot afresh and keep it (the task worker's job); None
    when it has no question to split by."""
    from django.core.cache import cache

    splits = [
        q
        for q in survey.questions.filter(is_breakdown=True, type__in=SPLITTABLE).prefetch_related(
            "choices"
        )
        if not _too_many_choices(q)
    ]
    if not splits:
        return None
    shape = _shape(splits)
    with _one_snapshot():
        version = data_version(survey)
        # Several recounts queued during a burst of edits: the first to run after the
        # last edit counts, the rest find its snapshot up to date.
        kept = cache.get(_joint_key(survey))
        if _fits(kept, survey, shape) and kept.version == version:
            return kept
        data = _count_joint(survey, splits, version, shape)
    cache.set(_joint_key(survey), data, timeout=JOINT_CACHE_SECONDS)
    return data


def recount_after_change(survey: Survey) -> None:
    """After the survey's questions change: if a snapshot of its counts is kept (it is
    big enough, and someone has read its results), have the task worker count it again
    for the new questions, so the next reader need not wait for it. Not held back by
    the once-a-minute guard: a recount queued by a reader just before may already
    have counted the questions as they were."""
    from django.core.cache import cache

    if cache.has_key(_joint_key(survey)):
        _queue_recount(survey.pk)


def _queue_recount(survey_id: int) -> None:
    from .tasks import recount_results as task

    task.enqueue(survey_id=survey_id)


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """One read transaction, so the version and the counts are of the same moment,
    whatever is submitted meanwhile: a repeatable read on PostgreSQL (when not already
    inside a transaction); SQLite's read transaction is one already."""
    from django.db import transaction

    db = Answer.objects.db
    # No savepoint inside another transaction: it would only add two queries to a read.
    with transaction.atomic(using=db, savepoint=False):
        connection = connections[db]
        if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def _count_joint(
    survey: Survey,
    splits: list[Question],
    version: tuple[int, ...],
    shape: tuple[tuple[int, tuple[int, ...]], ...],
) -> _JointData:
    """Every answer counted by question, choice, position and each split's group: one
    GROUP BY joining the answers to each response's masks. The completed responses
    by their masks are read off the splits' own rows (each response counted once, at
    the first split it answered), and their number is the version's."""
    import time

    from django.utils import timezone

    started = time.perf_counter()
    masks = _masks(survey, splits)
    number = connections[masks.db].ops.quote_name("number")
    found = _count_by_groups(
        Answer.objects.filter(survey=survey)
        .order_by()
        .values("response_id", "question_id", "choice_id", "rank", "number"),
        ("question_id", "choice_id", "rank"),
        masks,
        len(splits),
        # The sum of squares too, for the number questions' intervals (NumberCounts).
        f"COUNT(*), COUNT(a.{number}), SUM(a.{number}), SUM(a.{number} * a.{number})",
    )
    rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    moments: dict[int, list[tuple[Masks, int, float, float]]] = defaultdict(list)
    width = len(splits)
    for question_id, choice_id, rank, *rest in found:
        masks_found = tuple(int(m) if m else None for m in rest[:width])
        n, numbers, number_sum, squares = rest[width:]
        rows[question_id].append((choice_id, rank, masks_found, n, numbers, number_sum))
        if choice_id is None and numbers:
            moments[question_id].append(
                (masks_found, int(numbers), float(number_sum or 0), float(squares or 0))
            )
    weight_rows, number_weight_rows = _count_weight_rows(survey, masks, width)
    numbers = _count_numbers(survey, masks, width, moments)
    groups: dict[tuple[int | None, ...], int] = defaultdict(int)
    for k, split in enumerate(splits):
        for _choice, rank, masks_found, n, _numbers, _sum in rows.get(split.pk, []):
            # One row per respondent (a multiple choice's first ticked option); a
            # response with no mask here did not complete the survey or did not answer
            # the split; one with a mask at an earlier split was counted there.
            if rank in (None, 1) and masks_found[k] and not any(masks_found[:k]):
                groups[masks_found] += n
    return _JointData(
        version=version,
        shape=shape,
        rows=dict(rows),
        groups=dict(groups),
        total=version[1],
        made_at=timezone.now(),
        seconds=time.perf_counter() - started,
        months=_count_months(survey, masks, width) if version[-1] else {},
        weighting=_weighting_names(survey),
        weight_rows=weight_rows,
        numbers=numbers,
        number_weight_rows=number_weight_rows,
    )


# (question, choice, the respondent's choice at each weighting question (None: did not
# answer it), masks, n, firsts)
WeightRow = tuple[int, int, tuple[int | None, ...], tuple[int | None, ...], int, int]


def _count_weight_rows(
    survey: Survey, masks: QuerySet[Answer, Any], width: int
) -> tuple[list[WeightRow] | None, list[NumberWeightRow] | None]:
    """For the survey's weighting, if it has one: every choice answer counted by the
    respondent's answers to the weighting's questions and by each split's group, and
    the number answers' count, sum and sum of squares by the same (one GROUP BY, as
    _weight_counts_sql), so that weighted results, filtered or not, are read from the
    snapshot too. None without a weighting or when one of its questions is gone."""
    targets = _weighting_target_ids(survey)
    if targets is None:
        return None, None
    answers = Answer.objects.filter(survey=survey).filter(
        Q(choice__isnull=False) | Q(number__isnull=False)
    )
    sql, params = _weight_counts_sql(answers, targets, masks, width, numbers=True)
    with connections[answers.db].cursor() as cursor:
        cursor.execute(sql, params)
        counted = cursor.fetchall()
    out: list[WeightRow] = []
    numbers: list[NumberWeightRow] = []
    for question_id, choice_id, *rest in counted:
        cell = _cell_ids(rest[: len(targets)])
        groups = tuple(int(m) if m else None for m in rest[len(targets) : len(targets) + width])
        n, firsts, total, squares = rest[-4:]
        if choice_id is None:
            numbers.append(
                (question_id, cell, groups, int(n), float(total or 0), float(squares or 0))
            )
        else:
            out.append((question_id, choice_id, cell, groups, int(n), int(firsts)))
    return out, numbers


# (question, the respondent's choice at each weighting question (None: did not answer
# it), masks, n, sum, squares)
NumberWeightRow = tuple[int, tuple[int | None, ...], tuple[int | None, ...], int, float, float]


def _count_numbers(
    survey: Survey,
    masks: QuerySet[Answer, Any],
    width: int,
    moments: dict[int, list[tuple[Masks, int, float, float]]],
) -> dict[int, NumberCounts]:
    """The number questions' counts (see NumberCounts) by each split's group: their
    count, sum and sum of squares (`moments`, from the snapshot's GROUP BY), then, at
    widths chosen from those, their fine ranges: one more GROUP BY, inside the
    snapshot's read transaction, when the survey has number answers."""

    def count_bins(exponents: dict[int, int]) -> Iterator[tuple[int, int, Masks, int]]:
        numbers = Answer.objects.filter(
            survey=survey, question_id__in=list(exponents), number__isnull=False
        ).order_by()
        for question_id, j, *rest in _count_by_groups(
            numbers.annotate(fine=_fine_bin(exponents)).values(
                "response_id", "question_id", "fine"
            ),
            ("question_id", "fine"),
            masks,
            width,
            "COUNT(*)",
        ):
            yield question_id, int(j), tuple(int(m) if m else None for m in rest[:width]), rest[-1]

    return _number_counts(moments, count_bins)


def _weighting_target_ids(survey: Survey) -> list[int] | None:
    """The weighting's questions' ids, in order; None without a weighting or when one
    of them is gone or no longer a single choice."""
    names = _weighting_names(survey)
    if not names:
        return None
    found = dict(
        survey.questions.filter(
            name__in=names, type__in=[Question.Type.SINGLE, Question.Type.RATING]
        ).values_list("name", "pk")
    )
    if len(found) != len(names):
        return None
    return [found[name] for name in names]


def _count_by_groups(
    answers: QuerySet[Answer, Any],
    keys: tuple[str, ...],
    masks: QuerySet[Answer, Any],
    width: int,
    aggregates: str,
) -> list[tuple[Any, ...]]:
    """`answers` (values with response_id and `keys`) joined to each response's groups
    of `width` splits (_masks), counted by `keys` and the groups: one GROUP BY. Rows
    are the keys, the masks, then `aggregates` (SQL over the answers, as `a`)."""
    db = masks.db
    quote = connections[db].ops.quote_name
    inner, inner_params = masks.query.sql_with_params()
    outer, outer_params = answers.query.sql_with_params()
    columns = ", ".join(f"m.{quote(f'mask{i}')}" for i in range(width))
    grouped = ", ".join(f"a.{quote(k)}" for k in keys)
    sql = (
        f"SELECT {grouped}, {columns}, {aggregates}"  # noqa: S608 - names, not values
        f" FROM ({outer}) a LEFT JOIN ({inner}) m"
        f" ON m.{quote('response_id')} = a.{quote('response_id')}"
        f" GROUP BY {grouped}, {columns}"
    )
    with connections[db].cursor() as cursor:
        cursor.execute(sql, [*outer_params, *inner_params])
        found: list[tuple[Any, ...]] = cursor.fetchall()
    return found


def _count_months(
    survey: Survey, masks: QuerySet[Answer, Any], width: int
) -> dict[int, list[tuple[date, tuple[int | None, ...], int]]]:
    """The date questions' answers counted by question, month and each split's group:
    one GROUP BY over the dates."""
    found = _count_by_groups(
        Answer.objects.filter(survey=survey, question__type=Question.Type.DATE, date__isnull=False)
        .annotate(month=TruncMonth("date"))
        .order_by()
        .values("response_id", "question_id", "month"),
        ("question_id", "month"),
        masks,
        width,
        "COUNT(*)",
    )
    out: dict[int, list[tuple[date, tuple[int | None, ...], int]]] = defaultdict(list)
    for question_id, month, *rest in found:
        # SQLite gives the month as text, PostgreSQL as a date.
        first = date.fromisoformat(str(month)[:10])
        out[question_id].append(
            (first, tuple(int(m) if m else None for m in rest[:width]), int(rest[width]))
        )
    return dict(out)


def _masks(survey: Survey, splits: list[Question]) -> QuerySet[Answer, Any]:
    """Per completed response that answered any of `splits`, which group of each
    split's partition it is in, as a number (`mask0`, `mask1`, ...): one bit per choice
    chosen (for multiple choice, a combination of ticked options); NULL when it did
    not answer that question. One pass over the splits' answers, grouped by response."""
    masks = {}
    for i, question in enumerate(splits):
        choices = list(question.choices.all())[:MASK_BITS]
        masks[f"mask{i}"] = Sum(
            Case(
                *[When(choice_id=c.pk, then=Value(1 << b)) for b, c in enumerate(choices)],
                default=None,
                output_field=BigIntegerField(),
            )
        )
    return (
        Answer.objects.filter(
            survey=survey,
            question__in=[q.pk for q in splits],
            choice__isnull=False,
            response__status=Response.Status.COMPLETE,
            response__is_preview=False,
        )
        .order_by()
        .values("response_id")
        .annotate(**masks)
    )


def _group_label(question: Question, mask: int | None, language: str) -> str | None:
    if not mask:
        return None  # disclosure's "did not answer"
    choices = list(question.choices.all())[:MASK_BITS]
    texts = [c.text(language) for c in choices]
    # Two choices with the same words must stay two groups.
    labels = [
        t if texts.count(t) == 1 else f"{t} ({c.name})" for t, c in zip(texts, choices, strict=True)
    ]
    return " and ".join(label for i, label in enumerate(labels) if mask >> i & 1)


def _too_many_choices(question: Question) -> bool:
    return len(question.choices.all()) > MASK_BITS


def _grouped_sql(
    survey: Survey, splits: list[Question], rows: QuerySet[Any] | None
) -> tuple[str, list[Any], str]:
    """SQL counting `rows` (or the completed responses) by their groups of `splits`:
    the per-response groups (_masks) are computed once and joined on the response, a
    hash join rather than a lookup per row."""
    masks = _masks(survey, splits)
    db = masks.db
    quote = connections[db].ops.quote_name
    inner, inner_params = masks.query.sql_with_params()
    columns = ", ".join(f"m.{quote(f'mask{i}')}" for i in range(len(splits)))
    if rows is None:
        sql = f"SELECT {columns}, COUNT(*) FROM ({inner}) m GROUP BY {columns}"  # noqa: S608
        return sql, list(inner_params), db
    outer, outer_params = rows.query.sql_with_params()
    sql = (
        f"SELECT a.{quote('question_id')}, {columns}, COUNT(*)"  # noqa: S608 - names, not values
        f" FROM ({outer}) a LEFT JOIN ({inner}) m"
        f" ON m.{quote('response_id')} = a.{quote('response_id')}"
        f" GROUP BY a.{quote('question_id')}, {columns}"
    )
    return sql, [*outer_params, *inner_params], db


def _partition_refusal(
    survey: Survey,
    splits: list[Question],
    threshold: int,
    language: str,
    *,
    combined: bool = False,
    joint: _JointCounts | None = None,
) -> disclosure.Refusal | None:
    """The partition rule (disclosure.check_partition) for filtering or breaking down
    by `splits`, over everyone who completed the survey: read from `joint`'s snapshot
    when it is split by them, else one GROUP BY."""
    if any(_too_many_choices(q) for q in splits):
        return disclosure.Refusal(
            disclosure.RefusalCode.CANNOT_PROTECT,
            f"Results cannot be split by a question with more than {MASK_BITS} answers.",
        )
    names = [q.text(language) for q in splits]
    if joint is not None and joint.has(*splits):
        cells = joint.partition(splits, language)
    else:
        cells = _partition_cells(survey, splits, language)
    if combined or len(splits) > 1:
        return disclosure.check_combined_partition(cells, threshold=threshold, questions=names)
    return disclosure.check_partition(_margin(cells, 0), threshold=threshold, question=names[0])


def _people(
    survey: Survey, splits: list[Question], language: str, *, joint: _JointCounts | None
) -> dict[tuple[Any, ...], int]:
    """Completed responses by their groups of `splits`, keyed as _partitions_per_question
    keys the people who answered each question: from `joint`'s snapshot when it is split
    by them, else one GROUP BY."""
    if any(_too_many_choices(q) for q in splits):
        return {}  # refused as a whole by _partition_refusal
    if joint is not None and joint.has(*splits):
        return joint.partition(splits, language)
    return _partition_cells(survey, splits, language)


def _partition_cells(
    survey: Survey, splits: list[Question], language: str
) -> dict[tuple[Any, ...], int]:
    """Completed responses by their groups of `splits`: one GROUP BY."""
    sql, params, db = _grouped_sql(survey, splits, None)
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    cells: dict[tuple[Any, ...], int] = {}
    for *masks, n in found:
        key = tuple(_group_label(q, m, language) for q, m in zip(splits, masks, strict=True))
        cells[key] = cells.get(key, 0) + n
    # Those who answered none of the splits.
    nobody = (None,) * len(splits)
    cells[nobody] = (
        cells.get(nobody, 0) + complete_responses(survey).count() - sum(n for *_masks, n in found)
    )
    return cells


def _partitions_per_question(
    survey: Survey,
    questions: list[Question],
    splits: list[Question],
    language: str,
    *,
    joint: _JointCounts | None = None,
) -> dict[int, dict[tuple[Any, ...], int]]:
    """For each question, how many of the people who answered it are in each group of
    `splits`: read from `joint`'s snapshot when it is split by them, else one GROUP BY
    over one answer row per respondent and question (a multiple choice or ranking
    answer's first row), joined to each response's groups."""
    if any(_too_many_choices(q) for q in splits):
        return {}  # refused as a whole by _partition_refusal
    if joint is not None and joint.has(*splits):
        return joint.per_question(splits, language)
    rows = (
        Answer.objects.filter(survey=survey, question__in=[q.pk for q in questions])
        .filter(Q(rank__isnull=True) | Q(rank=1))
        .order_by()
        .values("response_id", "question_id")
    )
    sql, params, db = _grouped_sql(survey, splits, rows)
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    out: dict[int, dict[tuple[Any, ...], int]] = defaultdict(dict)
    for question_id, *masks, n in found:
        key = tuple(_group_label(q, m, language) for q, m in zip(splits, masks, strict=True))
        out[question_id][key] = out[question_id].get(key, 0) + n
    return dict(out)


def _margin(cells: dict[tuple[Any, ...], int], position: int) -> dict[Any, int]:
    margin: dict[Any, int] = defaultdict(int)
    for key, n in cells.items():
        margin[key[position]] += n
    return dict(margin)


@overload
def _named(refusal: disclosure.Refusal) -> disclosure.Refusal: ...
@overload
def _named(refusal: None) -> None: ...
def _named(refusal: disclosure.Refusal | None) -> disclosure.Refusal | None:
    """The partition rule's refusal for one question's table, said as such."""
    if refusal is None:
        return None
    return disclosure.Refusal(
        refusal.code, f"Among the people who answered this question: {refusal.reason}"
    )


def _months(answers: QuerySet[Answer], question_ids: list[int]) -> dict[int, dict[date, int]]:
    """How many answered each date question with a date in each month: one GROUP BY."""
    out: dict[int, dict[date, int]] = defaultdict(dict)
    for question_id, month, n in (
        answers.filter(question_id__in=question_ids, date__isnull=False)
        .annotate(month=TruncMonth("date"))
        .values_list("question_id", "month")
        .annotate(n=Count("pk"))
        .order_by("question_id", "month")
    ):
        out[question_id][month] = n
    return dict(out)


def _own_months(everyone: dict[date, int], published: int) -> list[date]:
    """The months of a date question given a row of their own: those at least the
    `published` threshold of people gave, counted over everyone. The same for every
    audience and every view, as number ranges are (_Bins): members' months chosen at
    their lower threshold would split what the published figures fold into "other
    months", and the two tables subtracted would give back counts both hide."""
    return sorted(m for m, n in everyone.items() if n >= published)


def _date_rows(
    result: QuestionResult,
    months: dict[date, int],
    own: list[date],
    threshold: int,
) -> None:
    """A date question's results: how many answered, and a count per month.

    Only the months in `own` (_own_months) get a row of their own; the rest share one
    "other months" row, always there, so that a row's being listed never tells that one
    or two people gave a date in that month (a first or last month would otherwise
    show someone's date, as an extreme would). The counts are then protected like any
    single-choice question's at the audience's `threshold` (small counts hidden, and
    one more so that the total does not give them away). Never an exact date."""
    result.respondents = sum(months.values())
    if result.respondents < threshold:
        raise disclosure.DisclosureRefused(_too_few(threshold))
    rows: dict[Any, int] = {m: months.get(m, 0) for m in own}
    rows[OTHER_MONTHS] = result.respondents - sum(rows.values())
    _add_month_rows(result, disclosure.frequency_table_from_counts(rows, threshold=threshold))
    _note_no_own_month(result, own)


def _add_month_rows(result: QuestionResult, table: disclosure.FrequencyTable) -> None:
    result.any_hidden = table.any_hidden
    for row in table.rows:
        month = row.option
        if isinstance(month, date):
            label, key = date_format(month, "YEAR_MONTH_FORMAT"), f"{month:%Y-%m}"
        else:
            label, key = _("Other months"), "other"
        result.rows.append(Row.of(str(label), key, row, result.respondents))


def _joint_date_rows(
    result: QuestionResult,
    joint: _JointCounts,
    question: Question,
    only: tuple[Question, str] | None,
    threshold: int,
) -> None:
    """As _date_rows, cut from the joint table: the months with rows of their own
    are chosen over everyone, and every count is hidden as in every other view."""
    counts = joint.month_counts(question, only)
    own = joint.own_months(question)
    result.respondents = sum(counts)
    if result.respondents < threshold:
        raise disclosure.DisclosureRefused(_too_few(threshold))
    rows: dict[Any, int] = dict(zip([*own, OTHER_MONTHS], counts, strict=True))
    table = joint.frequency_table(
        question, [], disclosure.frequency_table_from_counts(rows, threshold=threshold), only
    )
    _add_month_rows(result, table)
    _note_no_own_month(result, own)


def _note_no_own_month(result: QuestionResult, own: list[date]) -> None:
    """Every answer in "Other months": say why no month is named. The months are chosen
    over everyone (_own_months), so this tells nothing the lone row does not."""
    if not own:
        result.months_note = _(
            "No single month has enough answers to be shown on its own, to protect "
            "people, so all the answers are counted together."
        )


OTHER_MONTHS = object()


def _too_few(threshold: int) -> disclosure.Refusal:
    # Never the number who answered: it is below the threshold, a hidden count. The
    # same words as a table's refusal for the same reason.
    return disclosure.too_few_refusal(threshold)


# --- number questions: the average with its interval, and ranges of answers -----------
#
# A number question shows how many answered, their average with a 95% interval, and
# how the answers spread, as counts in ranges of one rounded width ("25 to 29"). The
# database sums what the average and interval need (count, sum, sum of squares) and
# counts the answers in fine ranges of a width 10 ** exponent chosen from everyone's
# spread; the page's ranges are whole numbers of those (_Bins), chosen over everyone at
# the published threshold, so that they are the same in every view and for every
# audience (ranges that moved with a filter would say how many gave the answers they
# moved past). Edges are multiples of the width, never an answer: no minimum or
# maximum, and a first or last range of fewer than the threshold is merged into an
# open-ended one ("Under 25", "65 or more") until it is not, so an outlier's value is
# never shown. The counts are then protected like a single-choice question's, across
# every view (_JointCounts._protect_numbers), and the middle value is worked out from
# the counts shown only (_median_from_rows).

Masks = tuple[int | None, ...]


@dataclass(frozen=True)
class NumberCounts:
    """One number question's answers as the database counted them, by each split's
    groups (`masks`; () when the results are not split): how many, their sum and sum
    of squares, and how many in each fine range [j, j + 1) * 10 ** exponent."""

    exponent: int
    moments: tuple[tuple[Masks, int, float, float], ...]  # (masks, n, sum, sum of squares)
    bins: tuple[tuple[int, Masks, int], ...]  # (j, masks, n)


def _everyone(_masks: Masks) -> bool:
    return True


def _moments(counted: NumberCounts | None, keeps: Any = _everyone) -> tuple[int, float, float]:
    n, total, squares = 0, 0.0, 0.0
    for masks, m, s1, s2 in counted.moments if counted is not None else ():
        if keeps(masks):
            n, total, squares = n + m, total + s1, squares + s2
    return n, total, squares


def _fine_exponent(n: int, total: float, squares: float) -> int:
    """The fine ranges' width, a power of ten about a fifth of the answers' spread (or
    of their size, when every answer is the same): fine enough to make the page's
    ranges from, whatever the threshold."""
    if n <= 0:
        return 0
    mean = total / n
    spread = math.sqrt(max(0.0, squares / n - mean * mean))
    base = spread / 5 if spread > 1e-12 * max(1.0, abs(mean)) else abs(mean) / 10
    exponent = math.floor(math.log10(base)) if base > 0 else 0
    return min(max(exponent, -6), 15)


# Whole numbers of fine ranges the page's ranges may be: 1, 2, 2.5, 5 times a power of
# ten (2.5 only as a whole number of fine ranges).
RANGE_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000)
RANGES_AT_MOST = 8  # ranges across the middle of the answers (about four spreads)
RANGES_LISTED = 12  # closed ranges listed at most, while a wider width is left


@dataclass(frozen=True)
class _Bins:
    """The ranges a number question's answers are counted in on the page: fine ranges
    `step` at a time, those below `low` in "Under" and those from `high` on in "or
    more" (each only when anyone is in it)."""

    exponent: int
    step: int
    low: int  # the first closed range, in ranges of step * 10 ** exponent
    high: int  # one past the last
    below: bool
    above: bool

    @property
    def rows(self) -> list[tuple[Any, Any]]:
        """Each range's edges (Decimal, or None where it is open), in order."""
        from decimal import Decimal

        width = Decimal(self.step).scaleb(self.exponent)
        out: list[tuple[Any, Any]] = [(None, self.low * width)] if self.below else []
        out += [(i * width, (i + 1) * width) for i in range(self.low, self.high)]
        if self.above:
            out.append((self.high * width, None))
        return out

    def row_of(self, fine: int) -> int:
        coarse = fine // self.step
        first = 1 if self.below else 0
        if coarse < self.low:
            return 0
        if coarse >= self.high:
            return first + self.high - self.low
        return first + coarse - self.low


def _number_bins(counted: NumberCounts, threshold: int, whole: bool) -> _Bins | None:
    """The ranges for a number question, chosen over everyone's answers (see above);
    None when they would be one range."""
    n, total, squares = _moments(counted)
    mean = total / n if n else 0.0
    spread = math.sqrt(max(0.0, squares / n - mean * mean)) if n else 0.0
    fine = 10.0**counted.exponent
    # About four spreads across at most RANGES_AT_MOST ranges, fewer when few answered.
    wanted = 4 * spread / max(3, min(RANGES_AT_MOST, n // max(threshold, 1)))
    # Whole numbers in whole-number ranges: 2.5 fine ranges of 1 would be "0 to 1",
    # "2.5 to 4"; ten of 0.1 are one.
    steps = [s for s in RANGE_STEPS if not whole or _whole_width(s, counted.exponent)] or [
        10 ** max(0, -counted.exponent)
    ]
    first = next((i for i, s in enumerate(steps) if s * fine >= wanted * (1 - 1e-9)), -1)
    if not counted.bins:
        return None
    for step in steps[first:] if first >= 0 else steps[-1:]:
        coarse: dict[int, int] = defaultdict(int)
        for j, _masks, m in counted.bins:
            coarse[j // step] += m
        low, high = min(coarse), max(coarse) + 1
        below = above = 0
        # A first range of fewer than the threshold goes into "Under ...", and the next
        # with it until that has at least the threshold; the same at the top.
        while low < high and (below or coarse.get(low, 0) < threshold) and below < threshold:
            below += coarse.get(low, 0)
            low += 1
        while high > low and (above or coarse.get(high - 1, 0) < threshold) and above < threshold:
            above += coarse.get(high - 1, 0)
            high -= 1
        # Answers far apart (two groups at each end, at least the threshold each) would
        # leave many empty ranges between them: wider ranges then.
        if high - low <= RANGES_LISTED:
            break
    bins = _Bins(counted.exponent, step, low, high, below > 0, above > 0)
    # One range holding everyone (every answer alike, or too few to make two ranges
    # of the threshold) would only say that they all gave an answer in it.
    return bins if len(bins.rows) >= 2 else None


def _whole_width(step: int, exponent: int) -> bool:
    from decimal import Decimal

    width = Decimal(step).scaleb(exponent)
    return width >= 1 and width == width.to_integral_value()


def _number_text(value: Any) -> str:
    """An edge as people write it: 1,000, 2.5, -10 (never 1E+3 or 2.50)."""
    text = format(value.normalize(), ",f")
    return text.replace("-", "\u2212")


def _range_label(low: Any, high: Any, whole: bool) -> str:
    if low is None:
        return _("Under %(number)s") % {"number": _number_text(high)}
    if high is None:
        return _("%(number)s or more") % {"number": _number_text(low)}
    if whole:
        last = high - 1
        if last == low:
            return _number_text(low)
        return _("%(low)s to %(high)s") % {"low": _number_text(low), "high": _number_text(last)}
    return _("%(low)s to under %(high)s") % {
        "low": _number_text(low),
        "high": _number_text(high),
    }


def _median_from_rows(
    rows: list[Row], edges: list[tuple[Any, Any]], total: int, whole: bool
) -> float | None:
    """The middle value estimated from the ranges' counts (the usual interpolation
    within the range holding it), or None. Only from figures the page shows: the
    range holding the middle must be shown and closed, and every range below it, or
    every range above it, shown too; the estimate then follows from shown figures
    alone and gives nothing away that they do not."""
    half = total / 2
    counts = [None if r.hidden else r.count for r in rows]

    def estimate(i: int, before: int) -> float | None:
        low, high = edges[i]
        count = counts[i]
        if low is None or high is None or not count:
            return None
        start, width = float(low), float(high - low)
        if whole:
            start -= 0.5  # the range 25 to 29 holds whole numbers from 24.5 to 29.5
        return start + (half - before) / count * width

    before = 0
    for i, count in enumerate(counts):
        if count is None:
            break
        if before < half <= before + count:
            return estimate(i, before)
        before += count
    after = 0
    for i in range(len(counts) - 1, -1, -1):
        count = counts[i]
        if count is None:
            return None
        before = total - count - after
        if before < half <= before + count:
            return estimate(i, before)
        after += count
    return None


def _mean_estimate(
    cells: list[tuple[float, int, float, float]],
) -> tuple[float | None, float | None, float | None]:
    """The mean, weighted (each cell's people sharing one weight), and its 95%
    interval (Student's t on n - 1), from each cell's count, sum and sum of squares.

    survey_stats.mean takes answers, each standing for `counts` people: a cell is
    given as two rows that have its count, mean and sum of squared deviations (n - 1
    people at one value, one at another), which every estimate it makes depends on
    alone, so no answer need leave the database. The interval is left out when it
    would have no width: every answer the same."""
    values: list[float] = []
    weights: list[float] = []
    counts: list[int] = []
    people = 0
    for weight, n, total, squares in cells:
        if n <= 0 or weight <= 0:
            continue
        people += n
        mean = total / n
        deviations = squares - total * total / n
        if n == 1 or deviations <= 1e-12 * max(squares, 1e-300):
            values.append(mean)
            weights.append(weight)
            counts.append(n)
            continue
        d = math.sqrt(deviations * (n - 1) / n)
        values += [mean - d / (n - 1), mean + d]
        weights += [weight, weight]
        counts += [n - 1, 1]
    if not people:
        return None, None, None
    found = survey_stats.mean(values, weights=weights, counts=counts)
    if people < 2 or not found.se > 1e-12 * max(1.0, abs(found.value)):
        return found.value, None, None
    from scipy.special import stdtrit

    margin = float(stdtrit(people - 1, 0.975)) * found.se
    return found.value, found.value - margin, found.value + margin


@dataclass
class _NumberView:
    """What one view of the results reads for its number questions: each question's
    counts, which of them are in the view, and how its ranges are protected (across
    every view with the snapshot's joint tables; counted now, only everyone's)."""

    counted: dict[int, NumberCounts]
    keeps: Any  # masks -> whether those people are in the view
    joint: _JointCounts | None
    only: tuple[Question, str] | None
    bins_threshold: int
    ranges: bool
    members: int  # the members' threshold, at which averages are withheld for everyone

    def bins(self, question: Question) -> _Bins | None:
        if self.joint is not None:
            return self.joint.number_bins(question)
        return _number_bins(self.counted[question.pk], self.bins_threshold, question.whole_number)


def _number_view(
    answers: QuerySet[Answer],
    questions: list[Question],
    joint: _JointCounts | None,
    only: tuple[Question, str] | None,
    bins_threshold: int,
    members: int,
) -> _NumberView:
    if joint is not None and (only is None or joint.has(only[0])):
        return _NumberView(
            joint.numbers, joint.keeps(only), joint, only, bins_threshold, True, members
        )
    ids = [q.pk for q in questions if q.type == Question.Type.NUMBER]
    # Ranges are chosen over everyone: a filter counted now shows only the average.
    counted = _count_numbers_now(answers, ids) if ids else {}
    return _NumberView(counted, _everyone, None, only, bins_threshold, only is None, members)


def _number_figures(
    result: QuestionResult,
    question: Question,
    counted: NumberCounts | None,
    view: _NumberView,
    only: tuple[Question, str] | None,
    threshold: int,
    weights: Weighting | None,
) -> None:
    result.whole_numbers = question.whole_number
    n, total, squares = _moments(counted, view.keeps)
    result.respondents = n
    if n < threshold:
        raise disclosure.DisclosureRefused(_too_few(threshold))
    bins = view.bins(question) if counted is not None and view.ranges else None
    splits = len(view.joint.splits) if view.joint is not None else 0
    if counted is not None and _average_withheld(counted, bins, splits, view.members):
        # Neither average, weighted or not, in any view (see _average_withheld); the
        # ranges are still shown as protected.
        result.mean_note = _average_note()
    else:
        result.mean, result.mean_low, result.mean_high = _mean_estimate([(1.0, n, total, squares)])
        if weights is not None:
            _weighted_mean(result, question, weights, threshold)
    if counted is None or bins is None:
        if result.mean_note:
            result.ranges_note = _ranges_note(view)
        return
    by_row = [0] * len(bins.rows)
    for j, masks, m in counted.bins:
        if view.keeps(masks):
            by_row[bins.row_of(j)] += m
    if sum(by_row) != n:  # pragma: no cover - counted in one snapshot
        return
    table = disclosure.frequency_table_from_counts(dict(enumerate(by_row)), threshold=threshold)
    if view.joint is not None:
        table = view.joint.frequency_table(question, [], table, only)
    result.any_hidden = table.any_hidden
    edges = bins.rows
    for i, ((low, high), row) in enumerate(zip(edges, table.rows, strict=True)):
        label = _range_label(low, high, question.whole_number)
        result.rows.append(Row.of(label, f"range{i}", row, n))
    result.median = _median_from_rows(result.rows, edges, n, question.whole_number)


def _average_note() -> str:
    # Says why without saying where: the group is not named (_average_withheld).
    return _(
        "The average is not shown: in at least one group these results can be split by, "
        "everyone gave the same or nearly the same answer, so an average would give their "
        "answers away."
    )


def _ranges_note(view: _NumberView) -> str:
    """Why a number question shows no ranges of answers (beside a withheld average)."""
    if not view.ranges:
        # A filter counted now: ranges are chosen over everyone (_number_view).
        return _(
            "Ranges of answers are not shown either: they are shown only in the results "
            "for everyone, not in results narrowed to one group."
        )
    # _number_bins: one range would hold everyone (answers alike, or too few for two).
    return _(
        "Ranges of answers are not shown either: the answers cannot be split into ranges "
        "of at least %(threshold)s people each."
    ) % {"threshold": view.bins_threshold}


def _same_answers(n: int, total: float, squares: float) -> bool:
    """Whether `n` answers with this sum and sum of squares are all alike."""
    if n <= 1:
        return n == 1
    deviations = squares - total * total / n
    return deviations <= 1e-9 * max(abs(squares), 1e-300)


def _average_withheld(counted: NumberCounts, bins: _Bins | None, splits: int, members: int) -> bool:
    """Whether a number question's average is withheld, in every view and for every
    audience: when everyone's answers, or those of a group the results can be narrowed
    to, all fall in one of its ranges (without ranges: are all alike).

    An average of answers all alike is each person's answer, and one of answers all in
    one range says which range holds the whole group, a count the ranges hide (a night
    shift of 12 all aged 45: "Average 45.0, from 12 answers", then the day shift's
    hidden "40 to under 60" was 15 - 12). Withholding it in that view alone would not
    do: averages add up like counts (everyone's sum less the day shift's is the night
    shift's), and "withheld for nights, shown for days" would point at the group. So
    the rule is the question's, decided from the snapshot's counts by each split's
    groups, never from one view. The groups are those of each split whose partition of
    the people who answered the question passes the partition rule at the members'
    threshold (disclosure.check_partition: otherwise no view narrowed by that split
    shows the question, for anyone), so that members and the published view decide
    alike."""
    everyone: tuple[int, Any] = (-1, None)
    moments: dict[tuple[int, Any], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for masks, n, s1, s2 in counted.moments:
        for key in [everyone, *((k, masks[k] or None) for k in range(splits))]:
            entry = moments[key]
            entry[0] += n
            entry[1] += s1
            entry[2] += s2
    rows: dict[tuple[int, Any], set[int]] = defaultdict(set)
    if bins is not None:
        for j, masks, n in counted.bins:
            if n:
                for key in [everyone, *((k, masks[k] or None) for k in range(splits))]:
                    rows[key].add(bins.row_of(j))
    narrowed = [everyone]
    for k in range(splits):
        margin = {key[1]: int(entry[0]) for key, entry in moments.items() if key[0] == k}
        if disclosure.check_partition(margin, threshold=members) is None:
            narrowed += [key for key in moments if key[0] == k]
    for key in narrowed:
        found, total, squares = moments[key]
        if not found:
            continue
        if bins is not None and len(rows[key]) == 1:
            return True
        if _same_answers(int(found), total, squares):
            return True
    return False


def _weighted_mean(
    result: QuestionResult, question: Question, weights: Weighting, threshold: int
) -> None:
    """The question's weighted average, when the answers in every weighting cell (in
    every group of the filter's question) number 0 or at least the threshold: beside
    the unweighted average, a weighted one is a sum over the cells' averages, which a
    small cell's would be read from."""
    if not weights.numbers_safe.get(question.pk, True):
        result.weighting_note = _(
            "The weighted average is not shown: in a group the weighting uses, fewer than "
            "%(threshold)s people answered this question (or they all gave the same "
            "answer), and a weighted average could reveal their answers. The figures are "
            "unweighted."
        ) % {"threshold": threshold}
        return
    cells = weights.numbers.get(question.pk, [])
    mean, low, high = _mean_estimate(cells)
    if mean is None:
        return
    result.weighted_mean, result.weighted_mean_low, result.weighted_mean_high = mean, low, high
    result.weighting_note = _(
        "Only the average is weighted: the ranges and the middle value are unweighted counts."
    )


def _fine_bin(exponents: dict[int, int]) -> Any:
    """SQL for each answer's fine range, j with j * 10 ** exponent <= number <
    (j + 1) * 10 ** exponent, per question. Below 1 the width is not exact in binary,
    so the number is multiplied by its inverse (exact) and nudged past the rounding of
    a number on an edge (0.29 * 100 = 28.999999999999996)."""
    from django.db.models import FloatField
    from django.db.models.functions import Floor

    cases = []
    for question_id, exponent in exponents.items():
        if exponent >= 0:
            fine = Floor(F("number") / Value(float(10**exponent)))
        else:
            fine = Floor(F("number") * Value(float(10 ** (-exponent))) + Value(1e-7))
        cases.append(When(question_id=question_id, then=fine))
    return Case(*cases, default=None, output_field=FloatField())


def _number_counts(
    moments: dict[int, list[tuple[Masks, int, float, float]]],
    count_bins: Any,
) -> dict[int, NumberCounts]:
    """NumberCounts from each question's moments by group and `count_bins`, which
    counts the answers in fine ranges of the widths given (question: exponent)."""
    exponents = {}
    for question_id, found in moments.items():
        n = sum(m for _masks, m, _s1, _s2 in found)
        total = sum(s1 for _masks, _m, s1, _s2 in found)
        squares = sum(s2 for _masks, _m, _s1, s2 in found)
        exponents[question_id] = _fine_exponent(n, total, squares)
    bins: dict[int, list[tuple[int, Masks, int]]] = defaultdict(list)
    if exponents:
        for question_id, j, masks, n in count_bins(exponents):
            bins[question_id].append((int(j), masks, int(n)))
    return {
        question_id: NumberCounts(exponent, tuple(moments[question_id]), tuple(bins[question_id]))
        for question_id, exponent in exponents.items()
    }


def _count_numbers_now(answers: QuerySet[Answer], ids: list[int]) -> dict[int, NumberCounts]:
    """The number questions' counts (see NumberCounts) among `answers`, not split: two
    GROUP BYs over the covering index, in one read transaction so that both are of the
    same moment."""
    from django.db.models import ExpressionWrapper, FloatField

    numbers = answers.filter(question_id__in=ids, number__isnull=False).order_by()
    square = ExpressionWrapper(F("number") * F("number"), output_field=FloatField())
    with _one_snapshot():
        moments: dict[int, list[tuple[Masks, int, float, float]]] = defaultdict(list)
        for question_id, n, total, squares in numbers.values_list("question_id").annotate(
            n=Count("number"), total=Sum("number"), squares=Sum(square)
        ):
            moments[question_id].append(((), int(n), float(total or 0), float(squares or 0)))

        def count_bins(exponents: dict[int, int]) -> Iterator[tuple[int, int, Masks, int]]:
            for question_id, j, n in (
                numbers.filter(question_id__in=list(exponents))
                .annotate(fine=_fine_bin(exponents))
                .values_list("question_id", "fine")
                .annotate(n=Count("*"))
            ):
                yield question_id, int(j), (), n

        return _number_counts(moments, count_bins)


def _crosstab(
    cells: dict[tuple[int, int], int],
    groups: list[tuple[int, str]],
    choices: list[Any],
    by_choice: dict[int, int],
    threshold: int,
    language: str,
    refusal: disclosure.Refusal | None,
    exclusive: bool,
) -> CrossTab:
    """The question's answers by the breakdown's groups. `refusal` is the partition
    rule's verdict over the people who answered the question (see
    disclosure.check_combined_partition). With a single-choice breakdown the people
    who did not answer it get their own row, so the column totals are the question's
    own counts: the table and the question's results cannot be told apart by
    subtraction outside the protected table."""
    body = [[cells.get((g, c.pk), 0) for c in choices] for g, _label in groups]
    labels = [label for _g, label in groups]
    if exclusive:
        rest = [by_choice.get(c.pk, 0) - sum(row[j] for row in body) for j, c in enumerate(choices)]
        if any(rest):
            body.append(rest)
            labels.append(disclosure.NO_ANSWER.capitalize())
    tab = CrossTab(groups=labels, columns=[c.text(language) for c in choices], cells=[])
    if refusal is not None:
        tab.refusal = refusal.reason
        return tab
    try:
        protected = disclosure.protect_table(body, threshold=threshold)
    except disclosure.DisclosureRefused as refused:
        tab.refusal = refused.refusal.reason
        return tab
    tab.cells = [list(row) for row in protected.visible_counts()]
    return tab


WEIGHTED_BY = (Question.Type.SINGLE, Question.Type.RATING)


def weighting_questions(survey: Survey) -> list[Question]:
    """The questions results can be weighted by: single choice and rating."""
    return list(
        survey.questions.filter(type__in=WEIGHTED_BY)
        .prefetch_related("choices")
        .order_by("section__order", "order", "pk")
    )


WEIGHABLE = (
    Question.Type.SINGLE,
    Question.Type.RATING,
    Question.Type.MULTIPLE,
    Question.Type.RANKING,
)


@dataclass(frozen=True)
class WeightCell:
    """One question's answers from one cell of the targets (same answers to them)."""

    choice: str  # the choice's name
    weight: float  # each respondent's weight in this cell
    n: int  # rows choosing it: respondents, for every type but ranking
    firsts: int  # of them, rows at position 1 (ranking: ranked it first)


@dataclass(frozen=True)
class Weighting:
    reweighting: survey_stats.Reweighting
    cells: dict[int, list[WeightCell]]  # per question, over the selection
    # Per question, per choice (in the question's order): whether its weighted share
    # may be shown (disclosure.weighted_columns_safe); a question absent is safe.
    safe: dict[int, tuple[bool, ...]]
    by: list[Question] = field(default_factory=list)  # the questions weighted by, in order
    # Per number question, over the selection: (weight, count, sum, sum of squares) per
    # cell; and whether its weighted average may be shown (see _weighted_mean).
    numbers: dict[int, list[tuple[float, int, float, float]]] = field(default_factory=dict)
    numbers_safe: dict[int, bool] = field(default_factory=dict)


# The cell of the people who did not answer one of the weighting's questions: in no
# weighting cell, left out of the weighted figures (see _weights).
NO_CELL: tuple[str, ...] = ()


def _cell_ids(values: Sequence[Any]) -> tuple[int | None, ...]:
    """A weighting cell as _weight_counts_sql gives it: a choice id per weighting
    question, None where the respondent did not answer it."""
    return tuple(None if c is None else int(c) for c in values)


def _cell_named(cell_ids: Sequence[int | None], names: dict[int, str]) -> tuple[str, ...]:
    """The cell by its choices' names; NO_CELL for the people who did not answer one of
    the weighting's questions."""
    if any(c is None for c in cell_ids):
        return NO_CELL
    return tuple(names.get(c, "") for c in cell_ids)  # type: ignore[arg-type]


def _weight_counts_sql(
    answers: QuerySet[Answer],
    targets: list[int],
    masks: QuerySet[Any] | None = None,
    width: int = 1,
    *,
    numbers: bool = False,
) -> tuple[str, list[Any]]:
    """One GROUP BY: the answers counted by question, choice and the respondent's
    choice at each target question (and, with `masks`, the respondent's group of the
    filter question, as _masks gives it: `width` splits' groups), with how many of them
    are at position 1.

    Answers of people who did not answer a target question are counted too, with NULL
    for that target's choice: they are in no weighting cell, so weighted figures leave
    them out while unweighted ones count them, and their answers are checked as a cell
    of their own (see _weights).

    Written in SQL because the ORM reaches another answer of the same response only
    through the response table (one primary-key lookup per answer, 2.4 million at
    100,000 responses). Here each target's answer is found by `answer_by_question`
    (question, response) from each answer counted, a LEFT JOIN so that the people who
    skipped it stay in (measured in SQLite at 4,000 responses: 31 ms, against 24 ms for
    the inner join from the first target's answers that left them out). `answers` (the
    survey's, perhaps narrowed by a filter) comes in as a subquery, which both
    databases flatten into the join.

    With `numbers`, `answers` may hold number answers too (no choice: one row per
    question, cells and groups), and each row ends with the sum and sum of squares of
    their numbers: (question, choice, cells, groups, count, firsts, sum, squares).
    """
    db = connections[answers.db]
    table = db.ops.quote_name(Answer._meta.db_table)
    read = ("choice_id", "rank", "number") if numbers else ("choice_id", "rank")
    inner, inner_params = (
        answers.values_list("response_id", "question_id", *read).order_by().query
    ).sql_with_params()
    joins = "".join(
        f" LEFT JOIN {table} t{i} ON t{i}.question_id = %s"
        f" AND t{i}.response_id = a.response_id AND t{i}.choice_id IS NOT NULL"
        for i in range(len(targets))
    )
    cells = ", ".join(f"t{i}.choice_id" for i in range(len(targets)))
    group, mask_join, mask_params = "", "", ()
    if masks is not None:
        quote = db.ops.quote_name
        mask_sql, mask_params = masks.query.sql_with_params()
        group = "".join(f", m.{quote(f'mask{i}')}" for i in range(width))
        mask_join = f" LEFT JOIN ({mask_sql}) m ON m.{quote('response_id')} = a.response_id"
    columns = len(targets) + 2 + (width if masks is not None else 0)
    groups = ", ".join(str(i) for i in range(1, columns + 1))
    rank = db.ops.quote_name("rank")
    counted = f"COUNT(*), SUM(CASE WHEN a.{rank} = 1 THEN 1 ELSE 0 END)"
    if numbers:
        number = f"a.{db.ops.quote_name('number')}"
        counted += f", SUM({number}), SUM({number} * {number})"
    sql = (
        f"SELECT a.question_id, a.choice_id, {cells}{group}, {counted}"  # noqa: S608 - names, not values
        f" FROM ({inner}) a{joins}{mask_join}"
        f" GROUP BY {groups}"
    )
    return sql, [*inner_params, *targets, *mask_params]  # in the order of their placeholders


def _weights(
    survey: Survey,
    questions: list[Question],
    threshold: int,
    only: tuple[Question, str] | None = None,
    joint: _JointCounts | None = None,
) -> Weighting | None:
    """Post-stratify (one target question) or rake (several) to the survey's targets.

    Everyone in the same cell of the target questions (same answers to them) gets the
    same weight, so the weighting needs only counts: one GROUP BY, with a join per
    target question, counts every choice answer by the respondent's target answers
    (`_weight_counts_sql`). The targets' own rows give the cell sizes to weight; the
    others, each question's weighted shares. One query, whatever the number of
    questions, and no per-response rows leave the database. The cells are weighted as
    a frequency table (`counts=`), so the Python work is per cell, not per respondent:
    the reweighting's `weights` are one per cell of the first target's rows.

    Disclosure (see disclosure.weighted_columns_safe): a small cell given a large
    weight makes the weighted figures that cell's own, and a weighted share beside the
    unweighted one gives the cells' answers. So results are weighted only when every
    cell has 0 or at least `threshold` people (else CannotWeight), and a question's
    weighted shares only when its answers within each cell would all be shown. With a
    filter this holds in every group of the filter question (counted in the same query,
    by each response's group), since the filter's weighted figures can be set against
    the unfiltered ones and the other filters'.
    """
    targets = survey.weighting_targets or {}
    if not targets:
        return None
    by_name = {q.name: q for q in questions}
    if any(name not in by_name for name in targets):
        # One question's results (its chart): the weighting's questions are read too,
        # for their cells.
        by_name |= {
            q.name: q
            for q in survey.questions.filter(name__in=list(targets)).prefetch_related("choices")
        }
    target_questions = [by_name.get(name) for name in targets]
    if any(t is None or t.type not in WEIGHTED_BY for t in target_questions):
        # Deleted, or changed into another kind of question after the figures were set:
        # saying so beats results that quietly stop being weighted.
        raise CannotWeight(_refusal(_NO_LONGER_SINGLE_CHOICE))
    weighable = [q for q in questions if q.type in WEIGHABLE]
    weighable += [t for t in target_questions if t is not None and t not in weighable]
    names = {c.pk: c.name for q in weighable for c in q.choices.all()}
    bit = 0
    if only is not None:
        choice_names = [c.name for c in list(only[0].choices.all())[:MASK_BITS]]
        bit = choice_names.index(only[1]) if only[1] in choice_names else MASK_BITS
    if joint is not None and joint.weight_rows is not None and (only is None or joint.has(only[0])):
        # Read from the snapshot: the filter question's group is one of its splits'.
        k = next(i for i, q in enumerate(joint.splits) if q.pk == only[0].pk) if only else None
        counted = [
            (question_id, choice_id, cell, None if k is None else masks[k], n, firsts)
            for question_id, choice_id, cell, masks, n, firsts in joint.weight_rows
        ]
        people = _joint_people(joint, k)
    else:
        counted = _count_weights_now(survey, weighable, target_questions, only)  # type: ignore[arg-type]
        people = _people_now(survey, only)
    # (question, choice name, cell (NO_CELL: in none), group of the filter question or
    # None, n, firsts)
    rows: list[tuple[int, str, tuple[str, ...], int | None, int, int]] = []
    for question_id, choice_id, cell_ids, mask, n, firsts in counted:
        if choice_id not in names:
            continue
        cell = _cell_named(cell_ids, names)
        rows.append((question_id, names[choice_id], cell, mask, n, firsts))

    def selected(mask: int | None) -> bool:
        return only is None or (mask is not None and bool(mask >> bit & 1))

    first = target_questions[0].pk  # type: ignore[union-attr]
    in_groups: dict[tuple[int | None, tuple[str, ...]], int] = defaultdict(int)
    for question_id, _choice, cell, mask, n, _firsts in rows:
        if question_id == first and cell != NO_CELL:
            in_groups[(mask, cell)] += n
    # The people in no cell (they did not answer one of the weighting's questions) are
    # left out of the weighted figures and counted in the unweighted ones: set side by
    # side, the two give their number (respondents less the effective sample size) and
    # their answers. So they are a cell of their own, in the selection and in each
    # group of the filter's question: 1 to the threshold less one refuses the
    # weighting, and each question's weighted figures are checked with their answers
    # as one more row (_weighted_safe, _weighted_numbers). At the threshold or more
    # they are safe on the same footing as any cell: what the two sets of figures tell
    # apart is a group of at least the threshold, whose answers to each question are
    # shown weighted only when a breakdown would show them (none under the threshold,
    # not all one answer); the effective sample size beside the respondents then says
    # only that at least the threshold are left out.
    left_out: dict[int | None, int] = dict(people)
    for (mask, _cell), n in in_groups.items():
        left_out[mask] = left_out.get(mask, 0) - n
    # Which problem it is, in words that give no count: a few who skipped a weighting
    # question (their own question's figures already say fewer than the threshold did
    # not answer it), else a small group of the weighting's answers.
    if not disclosure.weighting_cells_safe(
        [max(0, n) for n in left_out.values()], threshold=threshold
    ):
        raise CannotWeight(
            _refusal(_FEW_SKIPPED, threshold=threshold, way_out=_FEW_SKIPPED_WAY_OUT.of(survey))
        )
    if not disclosure.weighting_cells_safe(list(in_groups.values()), threshold=threshold):
        raise CannotWeight(
            _refusal(_SMALL_GROUP, threshold=threshold, way_out=_SMALL_GROUP_WAY_OUT.of(survey))
        )
    sized: dict[tuple[str, ...], int] = defaultdict(int)
    for (mask, cell), n in in_groups.items():
        if selected(mask):
            sized[cell] += n
    cells = [(cell, n) for cell, n in sized.items() if n > 0]
    sizes = [n for _cell, n in cells]
    groups = [[cell[i] for cell, _n in cells] for i in range(len(target_questions))]
    margins = common_total(list(targets.values()))
    for target, group, margin in zip(target_questions, groups, margins, strict=True):
        missing = [name for name, size in margin.items() if size > 0 and name not in set(group)]
        if missing:
            raise CannotWeight(
                _about_answers(
                    _NOBODY_IN,
                    target,  # type: ignore[arg-type]
                    missing,
                    survey.default_language,
                )
            )
        # An answer nobody in the population gives (a figure of 0) that people here
        # gave: they cannot be weighted to nothing (services.set_weighting_targets
        # refuses it; people may have given it since).
        counted_as_nobody = [name for name, size in margin.items() if size <= 0 and name in group]
        if counted_as_nobody:
            raise CannotWeight(
                _about_answers(
                    _ANSWERED_BUT_NONE,
                    target,  # type: ignore[arg-type]
                    counted_as_nobody,
                    survey.default_language,
                )
            )
    ones = np.ones(len(cells))
    # Trimming (survey_stats.trim_weights, inside post_stratify and rake): nobody counts
    # for more than `weight_limit` average respondents.
    limit = float(survey.weight_limit) if survey.weight_limit else None
    try:
        if len(margins) == 1:
            reweighting = survey_stats.post_stratify(
                ones, groups[0], margins[0], counts=sizes, trim_upper=limit
            )
        else:
            reweighting = survey_stats.rake(
                ones, list(zip(groups, margins, strict=True)), counts=sizes, trim_upper=limit
            )
    except ValueError as problem:  # e.g. an answer the targets have no figure for
        raise CannotWeight(_refusal(_DOES_NOT_FIT)) from problem
    weight_of = {
        cell: float(weight) for (cell, _n), weight in zip(cells, reweighting.weights, strict=True)
    }
    out: dict[int, list[WeightCell]] = defaultdict(list)
    summed: dict[tuple[int, str, tuple[str, ...]], list[int]] = {}
    for question_id, choice, cell, mask, n, firsts in rows:
        if selected(mask) and cell in weight_of:
            entry = summed.setdefault((question_id, choice, cell), [0, 0])
            entry[0] += n
            entry[1] += firsts
    for (question_id, choice, cell), (n, firsts) in summed.items():
        out[question_id].append(WeightCell(choice, weight_of[cell], n, firsts))
    targeted = {t.pk for t in target_questions}  # type: ignore[union-attr]
    safe = {
        q.pk: _weighted_safe(q, [r for r in rows if r[0] == q.pk], threshold)
        for q in weighable
        if q.pk not in targeted  # its weighted shares are the population figures
    }
    numbers, numbers_safe = _weighted_numbers(
        survey, questions, target_questions, only, joint, names, weight_of, selected, threshold
    )
    return Weighting(
        reweighting,
        dict(out),
        safe,
        [t for t in target_questions if t is not None],
        numbers,
        numbers_safe,
    )


def _joint_people(joint: _JointCounts, k: int | None) -> dict[int | None, int]:
    """Completed responses in the snapshot by their group of split `k` (its mask, None:
    did not answer it), or all of them under None when `k` is None."""
    if k is None:
        return {None: joint.total}
    out: dict[int | None, int] = defaultdict(int)
    for masks, n in joint.groups.items():
        out[masks[k] or None] += n
    out[None] += joint.total - sum(joint.groups.values())  # those who answered no split
    return dict(out)


def _people_now(survey: Survey, only: tuple[Question, str] | None) -> dict[int | None, int]:
    """Completed responses counted now, as _joint_people gives them from a snapshot."""
    everyone = complete_responses(survey).count()
    if only is None:
        return {None: everyone}
    sql, params, db = _grouped_sql(survey, [only[0]], None)
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    out: dict[int | None, int] = defaultdict(int)
    for mask, n in found:
        out[int(mask) if mask else None] += int(n)
    out[None] += everyone - sum(int(n) for _mask, n in found)
    return dict(out)


def _weighted_numbers(
    survey: Survey,
    questions: list[Question],
    target_questions: list[Question | None],
    only: tuple[Question, str] | None,
    joint: _JointCounts | None,
    names: dict[int, str],
    weight_of: dict[tuple[str, ...], float],
    selected: Any,
    threshold: int,
) -> tuple[dict[int, list[tuple[float, int, float, float]]], dict[int, bool]]:
    """The number questions' answers per weighting cell (weight, count, sum, sum of
    squares) over the selection, and whether each one's weighted average may be shown:
    when in every cell (the people in none too), in every group of the filter's
    question, 0 or at least the threshold answered it, not all alike (as a breakdown
    of its average by the cells would show it)."""
    number_ids = [q.pk for q in questions if q.type == Question.Type.NUMBER]
    if not number_ids:
        return {}, {}
    counted: list[tuple[int, tuple[int | None, ...], int | None, int, float, float]]
    if (
        joint is not None
        and joint.number_weight_rows is not None
        and (only is None or joint.has(only[0]))
    ):
        k = next(i for i, q in enumerate(joint.splits) if q.pk == only[0].pk) if only else None
        counted = [
            (question_id, cell, None if k is None else masks[k], n, total, squares)
            for question_id, cell, masks, n, total, squares in joint.number_weight_rows
        ]
    else:
        answers = Answer.objects.filter(
            survey=survey, question_id__in=number_ids, number__isnull=False
        )
        masks = _masks(survey, [only[0]]) if only is not None else None
        targets = [t.pk for t in target_questions if t is not None]
        sql, params = _weight_counts_sql(answers, targets, masks, numbers=True)
        with connections[answers.db].cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        counted = []
        for question_id, _choice, *rest in found:
            mask = int(rest[len(targets)]) if masks is not None and rest[len(targets)] else None
            cell = _cell_ids(rest[: len(targets)])
            n, _firsts, total, squares = rest[-4:]
            counted.append(
                (question_id, cell, mask, int(n), float(total or 0), float(squares or 0))
            )
    by_group: dict[int, dict[tuple[int | None, tuple[str, ...]], list[float]]] = defaultdict(dict)
    summed: dict[int, dict[tuple[str, ...], list[float]]] = defaultdict(dict)
    for question_id, cell_ids, mask, n, total, squares in counted:
        if question_id not in number_ids:
            continue
        named = _cell_named(cell_ids, names)
        group = by_group[question_id].setdefault((mask, named), [0, 0.0, 0.0])
        group[0] += n
        group[1] += total
        group[2] += squares
        if selected(mask) and named in weight_of:
            entry = summed[question_id].setdefault(named, [0, 0.0, 0.0])
            entry[0] += n
            entry[1] += total
            entry[2] += squares
    numbers = {
        question_id: [
            (weight_of[cell], int(n), total, squares) for cell, (n, total, squares) in cells.items()
        ]
        for question_id, cells in summed.items()
    }
    # A cell whose answers are all alike has its average for each of them; the weighted
    # average and interval beside the unweighted ones give the cells' (as a breakdown
    # by them would), so such a cell withholds the weighted average too.
    safe = {
        question_id: disclosure.weighting_cells_safe(
            [int(n) for n, _total, _squares in by_group.get(question_id, {}).values()],
            threshold=threshold,
        )
        and not any(
            _same_answers(int(n), total, squares)
            for n, total, squares in by_group.get(question_id, {}).values()
        )
        for question_id in number_ids
    }
    return numbers, safe


def common_total(margins: list[dict[str, float]]) -> list[dict[str, float]]:
    """Each question's population figures scaled to the first question's total.

    Raking matches every question's figures at once, so their totals must agree; figures
    from different sources rarely do to the person (400 staff by shift, 398 by contract),
    and percentages total 100 whatever the size. The weighted shares are the same either
    way: each question's figures are read as shares of its own total."""
    if not margins:
        return []
    first = sum(margins[0].values())
    out = []
    for margin in margins:
        total = sum(margin.values())
        scale = first / total if total > 0 else 1.0
        out.append({name: float(size) * scale for name, size in margin.items()})
    return out


@dataclass(frozen=True)
class PopulationFigure:
    """One answer's population figure, as the weighting page lists it."""

    label: str  # the answer's words
    people: float | None  # None: the figures have none for this answer
    share: float | None  # of the question's total


@dataclass(frozen=True)
class FiguresInForce:
    """The population figures set for one question of the survey's weighting."""

    name: str  # the question's short name (what forms send), never shown
    label: str  # the question's words
    figures: list[PopulationFigure]
    total: float
    # Why these figures no longer fit the question (changed or deleted since they were
    # set), in plain words; "" when they fit.
    problem: str = ""


def weighting_in_force(survey: Survey) -> list[FiguresInForce]:
    """The survey's weighting as the organiser reads it: per question (in the order the
    weighting uses them), each answer's population figure and its share."""
    targets = survey.weighting_targets or {}
    if not targets:
        return []
    language = survey.default_language
    found = {
        q.name: q
        for q in survey.questions.filter(name__in=list(targets)).prefetch_related("choices")
    }
    out = []
    for name, population in targets.items():
        total = float(sum(population.values()))
        question = found.get(name)
        if question is None or question.type not in WEIGHTED_BY:
            figures = [
                PopulationFigure(answer, float(n), n / total if total else None)
                for answer, n in population.items()
            ]
            out.append(
                FiguresInForce(
                    name,
                    question.text(language) if question is not None else name,
                    figures,
                    total,
                    _(
                        "This question is no longer a single-choice question of this survey, "
                        "so the results cannot be weighted by it. Remove it from the weighting."
                    ),
                )
            )
            continue
        choices = list(question.choices.all())
        figures = [
            PopulationFigure(
                c.text(language),
                float(population[c.name]) if c.name in population else None,
                population[c.name] / total if c.name in population and total else None,
            )
            for c in choices
        ]
        fits = set(population) == {c.name for c in choices}
        problem = (
            ""
            if fits
            else _(
                "The question's answers were changed after these figures were set, so they "
                "no longer fit it. Give the figures again for its answers as they are now."
            )
        )
        out.append(FiguresInForce(name, question.text(language), figures, total, problem))
    return out


def weighting_cell_sizes(survey: Survey, questions: list[Question]) -> list[int]:
    """How many people gave each combination of answers to `questions` (of those who
    answered them all): the groups a weighting by these questions gives one weight
    each. One GROUP BY (as _weights counts them); no answer leaves the database.
    Those who did not answer one of them are in none (weighting_left_out)."""
    answers = Answer.objects.filter(survey=survey, question=questions[0], choice__isnull=False)
    sql, params = _weight_counts_sql(answers, [q.pk for q in questions])
    with connections[answers.db].cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    width = len(questions)
    return [int(row[-2]) for row in found if all(c is not None for c in row[2 : 2 + width])]


def weighting_left_out(survey: Survey, questions: list[Question]) -> int:
    """How many completed responses a weighting by `questions` leaves out: those who did
    not answer one of them, in no weighting cell (see _weights)."""
    return complete_responses(survey).count() - sum(weighting_cell_sizes(survey, questions))


def weighting_key(survey: Survey) -> str:
    """A short fingerprint of the weighting in force (its figures and limit): a citation
    of weighted figures is refused if the weighting changed after the page was shown."""
    text = json.dumps([survey.weighting_targets or {}, survey.weight_limit], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def citation_snapshot(survey: Survey, data: Results, result: QuestionResult) -> dict[str, Any]:
    """What a citation of `result` freezes: the figures as the results table shows them
    (people, share, interval) and, when the results are weighted, the weighted shares
    and intervals beside them, the questions weighted by, the effective sample size
    and the limit on one person's weight, marked `weighted`."""
    snapshot: dict[str, Any] = {
        "title": f"{survey.title}: {result.label}",
        "question": result.question.name,
        "n": result.respondents,
        # Everyone who had answered the survey: closing it near this number would let
        # members set this citation against their figures (services.set_status).
        "responses": data.respondents,
        "date": str(
            complete_responses(survey)
            .order_by("-submitted_on")
            .values_list("submitted_on", flat=True)
            .first()
        ),
        "figures": [
            {
                "option": r.label,
                "count": r.count,
                "percent": r.share,
                "ci_low": r.low,
                "ci_high": r.high,
            }
            for r in result.rows
            if not r.hidden
        ],
        "threshold": data.threshold,
    }
    if result.mean is not None:
        # A number question: its average, with the interval and the middle value as
        # shown, and its ranges only when none of them is hidden (a citation of some
        # of them would not show how the answers spread).
        snapshot["average"] = {
            "value": result.mean,
            "ci_low": result.mean_low,
            "ci_high": result.mean_high,
            "median": result.median,
            "whole_numbers": result.whole_numbers,
        }
        if result.any_hidden:
            snapshot["figures"] = []
        if data.weighting is not None and result.weighted_in_full:
            snapshot["average"] |= {
                "weighted": result.weighted_mean,
                "weighted_low": result.weighted_mean_low,
                "weighted_high": result.weighted_mean_high,
            }
            snapshot["weighted"] = True
            snapshot["weighted_by"] = list(data.weighted_by)
            snapshot["effective_n"] = round(data.weighting.n_eff)
            snapshot["weight_limit"] = survey.weight_limit
        return snapshot
    if data.weighting is not None and result.weighted_in_full:
        # Keys only for weighted citations: an unweighted one reads as it always did.
        snapshot["weighted"] = True
        snapshot["weighted_by"] = list(data.weighted_by)
        snapshot["effective_n"] = round(data.weighting.n_eff)
        snapshot["weight_limit"] = survey.weight_limit
        shown = [r for r in result.rows if not r.hidden]
        for figure, r in zip(snapshot["figures"], shown, strict=True):
            figure["weighted"] = r.weighted
            figure["weighted_low"] = r.weighted_low
            figure["weighted_high"] = r.weighted_high
    return snapshot


def _count_weights_now(
    survey: Survey,
    weighable: list[Question],
    target_questions: list[Question],
    only: tuple[Question, str] | None,
) -> list[tuple[int, int, tuple[int | None, ...], int | None, int, int]]:
    """The rows _weights reads, counted now (a survey without a snapshot): each choice
    answer by the respondent's target answers and, filtered, by its filter group."""
    found = Answer.objects.filter(
        survey=survey, question__in=[q.pk for q in weighable], choice__isnull=False
    )
    masks = _masks(survey, [only[0]]) if only is not None else None
    width = len(target_questions)
    sql, params = _weight_counts_sql(found, [t.pk for t in target_questions], masks)
    with connections[found.db].cursor() as cursor:
        cursor.execute(sql, params)
        counted = cursor.fetchall()
    out = []
    for question_id, choice_id, *rest in counted:
        mask = int(rest[width]) if masks is not None and rest[width] else None
        cell = _cell_ids(rest[:width])
        out.append((question_id, choice_id, cell, mask, int(rest[-2]), int(rest[-1])))
    return out


def _weighted_safe(
    question: Question,
    rows: list[tuple[int, str, tuple[str, ...], int | None, int, int]],
    threshold: int,
) -> tuple[bool, ...]:
    """Whether each choice's weighted share may be shown: its counts by cell, in every
    group of the filter's question, as a breakdown by the cells would show them."""
    choices = [c.name for c in question.choices.all()]
    position = {name: i for i, name in enumerate(choices)}
    body: dict[tuple[int | None, tuple[str, ...]], list[int]] = {}
    answered: dict[tuple[int | None, tuple[str, ...]], int] = defaultdict(int)
    ranking = question.type == Question.Type.RANKING
    for _question, choice, cell, mask, n, firsts in rows:
        line = body.setdefault((mask, cell), [0] * len(choices))
        line[position[choice]] += firsts if ranking else n
        answered[(mask, cell)] += firsts
    keys = list(body)
    multiple = question.type == Question.Type.MULTIPLE
    return disclosure.weighted_columns_safe(
        [body[k] for k in keys],
        threshold=threshold,
        respondents=[answered[k] for k in keys] if multiple else None,
    )


class CannotWeight(Exception):  # noqa: N818 - a refusal shown to people, not a bug
    """The selection cannot be weighted; the message says why, in plain words, for where
    it is read. `why(on_weighting_page)` gives the reason and what to do: the results
    page sends the organiser to the weighting page, the weighting page itself does not.
    str() is the results page's message (its "figures below" are unweighted);
    `on_weighting_page`, the weighting page's (weighting_refusals)."""

    def __init__(self, why: Callable[[bool], str]) -> None:
        self.on_results_page = why(False) + " " + _("The figures below are not weighted.")
        self.on_weighting_page = why(True) + " " + _("Meanwhile the results are shown unweighted.")
        super().__init__(self.on_results_page)


@dataclass(frozen=True, slots=True)
class _TwoWays:
    """Words about weighting as each page says them: the results page, which sends
    the organiser on to the weighting page, and the weighting page itself. Each is a
    whole sentence (or a whole part of one), so that it is translated whole."""

    results_page: StrOrPromise
    weighting_page: StrOrPromise

    def on(self, weighting_page: bool) -> str:
        return str(self.weighting_page if weighting_page else self.results_page)


class _WayOut(NamedTuple):
    """What the organiser can do about a small group: waiting for more answers helps
    only while the survey is open."""

    closed: _TwoWays
    still_open: _TwoWays

    def of(self, survey: Survey) -> _TwoWays:
        return self.closed if survey.status == Survey.Status.CLOSED else self.still_open


def _refusal(words: _TwoWays, **values: str | int | _TwoWays) -> Callable[[bool], str]:
    """A CannotWeight's reason: `words` on the page it is read on, filled in with
    `values` (words of their own are read on the same page)."""

    def why(on_weighting_page: bool) -> str:
        text = words.on(on_weighting_page)
        if not values:
            return text
        return text % {
            name: value.on(on_weighting_page) if isinstance(value, _TwoWays) else value
            for name, value in values.items()
        }

    return why


def _about_answers(
    words: _TwoWays, question: Question, names: list[str], language: str
) -> Callable[[bool], str]:
    """A refusal about some answers to `question`, named by their labels as a sentence
    lists them ("Days", "Days, Nights or Other") in %(answers)s, and the question's
    label in %(question)s."""
    labels = {c.name: c.text(language) for c in question.choices.all()}
    named = [labels.get(name, name) for name in names]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + _(" or ") + named[-1]
    return _refusal(words, answers=listed, question=question.text(language))


# Why the results are not weighted, on each page (_TwoWays).
_NO_LONGER_SINGLE_CHOICE = _TwoWays(
    results_page=gettext_lazy(
        "These results cannot be weighted: a question the weighting uses is no longer a "
        "single-choice question of this survey. An organiser can remove it on the "
        "weighting page."
    ),
    weighting_page=gettext_lazy(
        "The results cannot be weighted: a question the weighting uses is no longer a "
        "single-choice question of this survey. Stop weighting by it below."
    ),
)
_FEW_SKIPPED = _TwoWays(
    results_page=gettext_lazy(
        "These results are not weighted: a few people (fewer than %(threshold)s) skipped a "
        "question the weighting uses. Weighted figures leave out people who did not answer "
        "those questions, so setting them beside the unweighted figures could reveal their "
        "answers. To weight the results, %(way_out)s"
    ),
    weighting_page=gettext_lazy(
        "The results are not weighted: a few people (fewer than %(threshold)s) skipped "
        "a question the weighting uses. Weighted figures leave out people who did not "
        "answer those questions, so setting them beside the unweighted figures could "
        "reveal their answers. To weight the results, %(way_out)s"
    ),
)
_FEW_SKIPPED_WAY_OUT = _WayOut(
    closed=_TwoWays(
        results_page=gettext_lazy(
            "stop weighting by the question they skipped, on the weighting page."
        ),
        weighting_page=gettext_lazy("stop weighting by the question they skipped."),
    ),
    still_open=_TwoWays(
        results_page=gettext_lazy(
            "wait until more people have answered, or stop weighting by the question they "
            "skipped, on the weighting page."
        ),
        weighting_page=gettext_lazy(
            "wait until more people have answered, or stop weighting by the question they skipped."
        ),
    ),
)
_SMALL_GROUP = _TwoWays(
    results_page=gettext_lazy(
        "These results are not weighted: weighting gives each group of people (by their "
        "answers to the questions the weighting uses) a share of the results, and here "
        "fewer than %(threshold)s people gave one of the answers (or one combination of "
        "answers) those groups are made of, so weighted figures could reveal their "
        "answers. To weight the results, %(way_out)s"
    ),
    weighting_page=gettext_lazy(
        "The results are not weighted: weighting gives each group of people (by their "
        "answers to the questions the weighting uses) a share of the results, and here "
        "fewer than %(threshold)s people gave one of the answers (or one combination of "
        "answers) those groups are made of, so weighted figures could reveal their "
        "answers. To weight the results, %(way_out)s"
    ),
)
_SMALL_GROUP_WAY_OUT = _WayOut(
    closed=_TwoWays(
        results_page=gettext_lazy(
            "stop weighting by one of those questions on the weighting page."
        ),
        weighting_page=gettext_lazy("stop weighting by one of those questions."),
    ),
    still_open=_TwoWays(
        results_page=gettext_lazy(
            "wait until more people have answered, or stop weighting by one of those "
            "questions on the weighting page."
        ),
        weighting_page=gettext_lazy(
            "wait until more people have answered, or stop weighting by one of those questions."
        ),
    ),
)
_NOBODY_IN = _TwoWays(
    results_page=gettext_lazy(
        "These results cannot be weighted: nobody in this selection answered %(answers)s "
        "to '%(question)s', which the weighting needs."
    ),
    weighting_page=gettext_lazy(
        "The results cannot be weighted: nobody answered %(answers)s to "
        "'%(question)s', which the weighting needs."
    ),
)
_ANSWERED_BUT_NONE = _TwoWays(
    results_page=gettext_lazy(
        "These results cannot be weighted: people here answered %(answers)s to "
        "'%(question)s', but the population figures say nobody in the population would, "
        "and weighting cannot count them as nobody. Change the figures on the weighting "
        "page."
    ),
    weighting_page=gettext_lazy(
        "The results cannot be weighted: people answered %(answers)s to "
        "'%(question)s', but the population figures say nobody in the population "
        "would, and weighting cannot count them as nobody. Change the figures below."
    ),
)
_DOES_NOT_FIT = _TwoWays(
    results_page=gettext_lazy(
        "These results cannot be weighted: the answers in this selection do not fit the "
        "population figures set for weighting."
    ),
    weighting_page=gettext_lazy(
        "The results cannot be weighted: the answers do not fit the population figures "
        "set for weighting."
    ),
)


def weighting_refusals(survey: Survey) -> tuple[str, str]:
    """Why the results for everyone are not weighted now, as members read them and as
    published (each "" when they are, or while the answers are being counted): the
    refusal the results page gives (CannotWeight), worked out the same way (_weights
    from the same snapshot of the counts)."""
    if not survey.weighting_targets:
        return "", ""
    questions = list(survey.questions.exclude(type=Question.Type.NOTE).prefetch_related("choices"))
    limits = thresholds(survey)
    found = []
    for threshold in (limits.members, limits.published):
        try:
            joint = _joint_counts(survey, questions, None, threshold)
            _weights(survey, questions, threshold, None, joint)
        except StillCounting:
            found.append("")
        except CannotWeight as refused:
            found.append(refused.on_weighting_page)  # said as this page says it
        else:
            found.append("")
    return found[0], found[1]


def _apply_weights(
    result: QuestionResult,
    question: Question,
    choices: list[Any],
    weights: Weighting,
    threshold: int,
) -> None:
    """The question's weighted shares, from its counts per cell of the targets: each
    cell stands for that many respondents with the same answer and the same weight.
    A ranking question's shares are of first places; a multiple-choice option's, of
    the people who answered the question (ticked it or not), as its unweighted share."""
    result.weighted = True
    found = weights.cells.get(question.pk)
    if not found:
        return
    names = [c.name for c in choices]
    estimates: list[survey_stats.ProportionEstimate | None]
    if question.type == Question.Type.MULTIPLE:
        # Each option a yes/no question over the people in each cell who answered.
        # Cells are told apart by their weight: two cells with the same weight count
        # the same in every estimate, so adding them together changes nothing.
        answered: dict[float, int] = defaultdict(int)
        for c in found:
            answered[c.weight] += c.firsts
        estimates = []
        for name in names:
            ticked = {c.weight: c.n for c in found if c.choice == name}
            labels, weight_list, counts = [], [], []
            for weight, total in answered.items():
                for label, n in (
                    (True, ticked.get(weight, 0)),
                    (False, total - ticked.get(weight, 0)),
                ):
                    if n:
                        labels.append(label)
                        weight_list.append(weight)
                        counts.append(n)
            estimates.append(
                survey_stats.proportions(
                    labels, weights=weight_list, counts=counts, categories=[True, False]
                )[0]
                if counts
                else None
            )
    else:
        ranking = question.type == Question.Type.RANKING
        kept = [c for c in found if (c.firsts if ranking else c.n)]
        if not kept:
            return
        # A frequency table: each (choice, cell) row stands for its n respondents.
        estimates = list(
            survey_stats.proportions(
                [c.choice for c in kept],
                weights=[c.weight for c in kept],
                counts=[c.firsts if ranking else c.n for c in kept],
                categories=names,
            )
        )
    safe = weights.safe.get(question.pk, (True,) * len(choices))
    withheld = False
    for row, estimate, shown in zip(result.rows, estimates, safe, strict=True):
        if row.hidden or estimate is None:
            continue  # suppression follows the unweighted counts
        if not shown:
            withheld = True
            continue
        row.weighted, row.weighted_low, row.weighted_high = (
            estimate.value,
            estimate.ci_low,
            estimate.ci_high,
        )
    if withheld:
        result.weighting_note = _(
            "Some weighted figures are not shown: in a group the weighting uses, fewer "
            "than %(threshold)s people gave an answer (or everyone gave the same one), "
            "and weighted figures could reveal what they answered."
        ) % {"threshold": threshold}


@dataclass(frozen=True)
class TranslationEntry:
    key: str  # as services.save_translations reads it
    where: str  # which text this is, for the organiser
    original: str  # in the survey's default language
    translation: str
    long: bool = False


def translation_entries(survey: Survey, language: str) -> list[TranslationEntry]:
    """Every text of the survey, in its order, with its translation into `language`."""
    from django.utils.translation import gettext as _

    default = survey.default_language
    own = (survey.texts or {}).get(language) or {}

    def label(labels: Any, code: str) -> str:
        return str(labels.get(code, "")) if isinstance(labels, dict) else ""

    entries = [
        TranslationEntry("survey.title", _("Title"), survey.title, own.get("title", "")),
        TranslationEntry(
            "survey.welcome", _("Welcome text"), survey.welcome, own.get("welcome", ""), True
        ),
        TranslationEntry(
            "survey.privacy_notice",
            _("Privacy notice"),
            survey.privacy_notice,
            own.get("privacy_notice", ""),
            True,
        ),
    ]
    for number, section in enumerate(survey.sections.prefetch_related("questions__choices"), 1):
        entries.append(
            TranslationEntry(
                f"section.{section.pk}",
                _("Page %(n)s: title") % {"n": number},
                label(section.title, default),
                label(section.title, language),
            )
        )
        for q in section.questions.all():
            entries.append(
                TranslationEntry(
                    f"question.{q.pk}.label",
                    q.name,
                    label(q.label, default),
                    label(q.label, language),
                    q.is_note,
                )
            )
            for attribute, what in (
                ("hint", _("hint")),
                ("required_message", _("message when the answer is missing")),
                ("constraint_message", _("message when the answer is refused")),
            ):
                texts = getattr(q, attribute)
                if label(texts, default) or label(texts, language):
                    entries.append(
                        TranslationEntry(
                            f"question.{q.pk}.{attribute}",
                            f"{q.name}: {what}",
                            label(texts, default),
                            label(texts, language),
                        )
                    )
            for c in q.choices.all():
                entries.append(
                    TranslationEntry(
                        f"choice.{c.pk}",
                        f"{q.name}: {c.name}",
                        label(c.label, default),
                        label(c.label, language),
                    )
                )
    return entries


def translation_gaps(survey: Survey) -> list[tuple[str, str, int]]:
    """(code, name, how many texts) for each other language with texts not translated
    yet: respondents who choose it read those in the main language."""
    from .models import language_name

    gaps = []
    for code in survey.languages[1:]:
        missing = sum(
            1
            for e in translation_entries(survey, code)
            if e.original.strip() and not e.translation.strip()
        )
        if missing:
            gaps.append((code, language_name(code), missing))
    return gaps


def has_namesake(survey: Survey) -> bool:
    """Whether another survey of the community has the same title (say, the same
    XLSForm imported twice): organisers are asked to tell them apart."""
    return (
        Survey.objects.filter(community_id=survey.community_id, title=survey.title)
        .exclude(pk=survey.pk)
        .exists()
    )
