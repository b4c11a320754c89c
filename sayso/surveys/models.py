"""Surveys, their questions, and people's responses.

Privacy by construction: a Response has no link to a person, no IP address and only
dates. Which members answered (for "one response per member") and which invitation
codes were used are recorded in separate tables that name no response.

Answers of a submitted response are stored one row per (question, choice) for choice
questions and one row with a value for the others, so that results are counted by the
database (GROUP BY), never by looping over responses in Python. A partial response
keeps its answers in `draft` until it is submitted, so half-finished responses never
reach the results.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, router, transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_link_token() -> str:
    """A survey's link: 18 characters of the invitation codes' alphabet (capitals and
    digits, no 0/O or 1/I), 90 bits, so that it can be typed off a code sheet or a
    poster, in small letters too (views._open_survey). Links made before (new_token)
    keep working."""
    from sayso.core.models import CODE_ALPHABET

    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(18))


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def pick_label(
    labels: dict[str, str] | Any, language: str, default: str = "", main: str | None = None
) -> str:
    """The label in `language`, else in `main` (the survey's main language), else
    `default`. A text in a third language is a translation of a text left empty in the
    main language, so it is never shown in its place. Without `main` (where the main
    language is not known), the first label given stands in for it."""
    if not isinstance(labels, dict) or not labels:
        return default
    if main is not None:
        return str(labels.get(language) or labels.get(main) or default)
    return str(labels.get(language) or next(iter(labels.values()), default))


def own_or_main(labels: dict[str, str] | Any, language: str, main: str) -> dict[str, str]:
    """Only the texts of `labels` in `language` and in the survey's main language: those
    a page title or a hint may be shown in (see pick_label)."""
    if not isinstance(labels, dict):
        return {}
    return {code: text for code, text in labels.items() if code in (language, main)}


def language_name(code: str) -> str:
    """A language's own name ("polski") for a code, or the code when Django has none."""
    from django.utils.translation import get_language_info

    try:
        return str(get_language_info(code)["name_local"])
    except KeyError:
        return code


class SurveyQuerySet(models.QuerySet["Survey"]):
    def open(self) -> SurveyQuerySet:
        return self.filter(status=Survey.Status.OPEN)


class Survey(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open for answers")
        CLOSED = "closed", _("Closed")

    class Distribution(models.TextChoices):
        LINK = "link", _("Anyone with the link")
        MEMBERS = "members", _("Members of the community, signed in")
        CODES = "codes", _("People with an invitation code")

    community = models.ForeignKey(
        "core.Community", on_delete=models.CASCADE, related_name="surveys"
    )
    title = models.CharField(_("title"), max_length=200)
    welcome = models.TextField(
        _("welcome text"),
        blank=True,
        help_text=_("Shown first: why you ask and how long it takes."),
    )
    privacy_notice = models.TextField(
        _("privacy notice"),
        blank=True,
        help_text=_("Who sees the answers, how they are protected and how long they are kept."),
    )
    languages = models.JSONField(
        _("languages"), default=list, help_text=_("Language codes, the first is the default.")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    distribution = models.CharField(
        _("who can answer"), max_length=10, choices=Distribution.choices, default=Distribution.LINK
    )
    link_token = models.CharField(
        max_length=64, unique=True, default=new_link_token, editable=False
    )
    code_batch = models.ForeignKey(
        "core.InvitationCodeBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    one_response_per_member = models.BooleanField(
        _("one response per signed-in member"),
        default=False,
        help_text=_("Members answer once. We record that they answered, apart from their answers."),
    )
    is_convenience_sample = models.BooleanField(
        _("convenience sample"),
        default=True,
        help_text=_(
            "Whoever chose to answer, rather than a random sample: results are approximate."
        ),
    )
    # Translations of the survey's own texts into its other languages:
    # {language: {"title": ..., "welcome": ..., "privacy_notice": ...}}. The fields
    # above hold the default language's texts.
    texts = models.JSONField(default=dict, blank=True)
    # {question name: {choice name: population count}}, used for weighting: one
    # question is post-stratification, several are raked (selectors._weights).
    weighting_targets = models.JSONField(default=dict, blank=True)
    # Weight trimming: nobody counts for more than this many times the average
    # respondent (survey_stats.trim_weights). None: no limit.
    weight_limit = models.PositiveSmallIntegerField(
        _("limit on one person's weight"),
        null=True,
        blank=True,
        default=5,
        validators=[MinValueValidator(2), MaxValueValidator(20)],
        help_text=_("At most this many times the average. Empty: no limit."),
    )
    # How many complete responses members last read the figures for (set when the survey
    # closes). If it is closed again only a few responses later, members would compare
    # the two sets of figures and learn what those few said, so they read none until the
    # difference reaches the threshold (services.set_status, selectors.withheld_because).
    figures_shown_for = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Decided when the survey closes, not when the page is read: a response sent just as
    # the survey closed must not hide figures that were safe to show.
    figures_withheld_since_shown = models.BooleanField(default=False, editable=False)
    # The day the survey was last closed (None while open or never closed): unsent
    # answers are deleted UNSENT_KEPT_DAYS after it (services.forget_unsent_responses).
    closed_on = models.DateField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("surveys:detail", kwargs={"slug": self.community.slug, "pk": self.pk})

    @property
    def default_language(self) -> str:
        return self.languages[0] if self.languages else "en"

    def text_in(self, field: str, language: str) -> str:
        """`field` ("title", "welcome" or "privacy_notice") in `language`, else the default."""
        translated = (self.texts or {}).get(language, {})
        if (
            language != self.default_language
            and isinstance(translated, dict)
            and translated.get(field)
        ):
            return str(translated[field])
        return str(getattr(self, field))

    def choose_language(self, wanted: str | None) -> str:
        """`wanted` if the survey has it, else its default language."""
        return wanted if wanted and wanted in (self.languages or []) else self.default_language

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    def public_url(self) -> str:
        return reverse("surveys_public:start", kwargs={"link": self.link_token})


class Section(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="sections")
    order = models.PositiveIntegerField(default=0)
    title = models.JSONField(default=dict)  # {language: text}

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return pick_label(self.title, "", str(_("Section")))

    def label(self, language: str) -> str:
        """The title in `language`, else in the survey's main language, else none."""
        return pick_label(self.title, language, main=self.survey.default_language)


class Question(models.Model):
    class Type(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        RATING = "rating", _("Likert or rating scale")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        SHORT_TEXT = "short_text", _("Short text")
        LONG_TEXT = "long_text", _("Long text")
        RANKING = "ranking", _("Ranking")
        CONSENT = "consent", _("Consent statement")
        NOTE = "note", _("Note (text to read, no answer)")

    CHOICE_TYPES = frozenset({Type.SINGLE, Type.MULTIPLE, Type.RATING, Type.RANKING})
    TEXT_TYPES = frozenset({Type.SHORT_TEXT, Type.LONG_TEXT})

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveIntegerField(default=0)
    name = models.CharField(
        _("short name"),
        max_length=60,
        help_text=_("Used in logic like ${shift} and in exports. Letters, numbers and _."),
    )
    type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    label = models.JSONField(default=dict)  # {language: text}
    hint = models.JSONField(default=dict, blank=True)
    required = models.BooleanField(_("an answer is required"), default=False)
    # {language: text} shown when a required answer is missing (XLSForm's required_message).
    required_message = models.JSONField(default=dict, blank=True)
    relevant = models.CharField(_("show only if"), max_length=500, blank=True)
    constraint = models.CharField(_("answer must satisfy"), max_length=500, blank=True)
    constraint_message = models.JSONField(default=dict, blank=True)
    # For a number question: only whole numbers are accepted (XLSForm's `integer`, as
    # against `decimal`). A flag rather than a type of its own, so that everything that
    # counts, charts and exports numbers treats both alike.
    whole_number = models.BooleanField(_("whole numbers only"), default=False)
    is_breakdown = models.BooleanField(
        _("use to break down results"),
        default=False,
        help_text=_(
            "Results may be shown per answer to this question, when groups are big enough."
        ),
    )

    class Meta:
        ordering = ["section__order", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "name"], name="question_name_unique_in_survey"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def community_id(self) -> int:
        """The community it belongs to, so a result can be cited as evidence (core.cite)."""
        return self.survey.community_id

    @property
    def is_note(self) -> bool:
        return self.type == self.Type.NOTE

    @property
    def has_choices(self) -> bool:
        return self.type in self.CHOICE_TYPES

    @property
    def is_text(self) -> bool:
        return self.type in self.TEXT_TYPES

    def text(self, language: str) -> str:
        return pick_label(self.label, language, self.name)


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    order = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=60)
    label = models.JSONField(default=dict)
    # An option of a multiple choice question that is ticked on its own ("None of
    # these", "Prefer not to say"): ticked with any other, the answer contradicts
    # itself, so it is refused (logic.exclusive_problem).
    exclusive = models.BooleanField(_("can't be ticked with other options"), default=False)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "name"], name="choice_name_unique_in_question"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def text(self, language: str) -> str:
        return pick_label(self.label, language, self.name)


EXPORT_KEY_LOW = 10**14


def new_export_key() -> int:
    """A random 15-digit number: a response's id in exports (Response.export_key).

    Fifteen digits, because that is as many as a spreadsheet keeps exactly (Excel
    rounds longer numbers) and SPSS, which stores every number as a double, holds any
    integer below 2**53 exactly: the same response has the same id in every format."""
    return EXPORT_KEY_LOW + secrets.randbelow(9 * EXPORT_KEY_LOW)


# New keys drawn for one response before giving up; a second is needed about once in
# 900 million responses started while a million are kept.
EXPORT_KEY_DRAWS = 5


class Response(models.Model):
    """One person's answers. No user, no IP address, no time of day: dates only."""

    class Status(models.TextChoices):
        PARTIAL = "partial", _("Started")
        COMPLETE = "complete", _("Submitted")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PARTIAL)
    # Digest of the private save-and-continue link; cleared when submitted.
    resume_digest = models.CharField(max_length=64, unique=True, null=True, blank=True)
    language = models.CharField(max_length=20, default="en")
    draft = models.JSONField(default=dict, blank=True)  # answers before submission
    page = models.PositiveIntegerField(default=0)
    is_preview = models.BooleanField(default=False)
    started_on = models.DateField()
    submitted_on = models.DateField(null=True, blank=True)
    # The response's id in exports, and their order. Random, not the primary key: ids
    # count up in the order people started the survey, so whoever knows who started
    # first (who was handed the first invitation code) could pick out their row.
    export_key = models.BigIntegerField(unique=True, default=new_export_key, editable=False)

    class Meta:
        indexes = [
            # Covers the count of submitted responses (no table lookups at 100,000
            # rows) and gives the exports their order: each chunk is a range of it.
            models.Index(
                fields=["survey", "status", "is_preview", "export_key"], name="response_export"
            )
        ]

    def __str__(self) -> str:
        return f"response {self.pk} to {self.survey_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saved as usual; a new response whose random export_key another response
        already has draws a new one and is saved again (a savepoint keeps the
        surrounding transaction usable after the refused insert)."""
        if not self._state.adding:
            super().save(*args, **kwargs)
            return
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        for draw in range(1, EXPORT_KEY_DRAWS + 1):
            try:
                with transaction.atomic(using=using):
                    super().save(*args, **kwargs)
                return
            except IntegrityError:
                taken = (
                    type(self)
                    ._default_manager.using(using)
                    .filter(export_key=self.export_key)
                    .exists()
                )
                if not taken or draw == EXPORT_KEY_DRAWS:
                    raise
                self.export_key = new_export_key()


class Answer(models.Model):
    """One answer of a submitted response: a chosen choice, or a value."""

    # No single-column indexes on survey and question: the composite ones below lead
    # with them, and every extra index slows each submission down.
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+", db_index=False)
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="answers", db_index=False
    )
    choice = models.ForeignKey(Choice, on_delete=models.CASCADE, null=True, blank=True)
    # Position of the choice within the answer: the rank given, for a ranking; the order
    # on the form, for multiple choice. The row at position 1 stands for the respondent,
    # so "how many answered" is a count like any other, not a COUNT(DISTINCT response).
    rank = models.PositiveSmallIntegerField(null=True, blank=True)
    number = models.FloatField(null=True, blank=True)
    date = models.DateField(null=True, blank=True)
    text = models.TextField(blank=True)
    approved = models.BooleanField(default=False)  # text shown beyond organisers

    class Meta:
        indexes = [
            # Covering index for the results page: one GROUP BY over a survey's answers
            # reads only this index, already in group order (see selectors.tally).
            models.Index(
                fields=["survey", "question", "choice", "rank", "number"],
                name="answer_tally",
            ),
            models.Index(fields=["question", "response"], name="answer_by_question"),
        ]

    def __str__(self) -> str:
        return f"answer to {self.question_id}"


def random_participation_id() -> int:
    """A random key, so participations cannot be lined up with answers by insertion order."""
    return secrets.randbits(62)


class MemberParticipation(models.Model):
    """That a member answered a survey; deliberately says nothing about which response,
    nor when: a response keeps the day it was sent, so on a day when one member
    answered, the date here would pick out their answers."""

    # Not auto-increment: sequential ids would put participations and answers, created
    # in the same transaction, in the same order, linking members to what they said. A
    # BigAutoField with a random default, so that SQLite takes the id as the row's own key
    # (INTEGER PRIMARY KEY) rather than keeping a hidden row number that counts up.
    id = models.BigAutoField(primary_key=True, default=random_participation_id, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "user"], name="one_participation_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} answered {self.survey_id}"


class AnswerCount(models.Model):
    """Running counts of a survey's answers, kept in step with `Answer` on submission.

    Rows per (question, choice, position), exactly the groups of
    `selectors.tally`'s GROUP BY (split into shards, below), so the unfiltered results
    page sums a few thousand rows instead of counting millions: measured, even an index-only GROUP BY over
    3.3 million answers (100,000 responses to 30 questions) takes about a second in
    SQLite. The counts change in the same transaction as the answers they count
    (services.submit_response), so they can never disagree; `services.recount`
    rebuilds them from the answers. 0 stands for "no choice" and "no position" so
    that the unique key has no NULLs and submissions can upsert it.
    """

    SHARDS = 16

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+", db_index=False)
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    choice_key = models.PositiveIntegerField(default=0)  # a Choice's pk, or 0
    rank_key = models.PositiveSmallIntegerField(default=0)  # Answer.rank, or 0
    # Each group is counted in up to SHARDS rows (a submission adds to the shard of its
    # response id), summed when read. With one row per group every submission updated
    # the same rows, and on PostgreSQL each waited for the row locks of the one before
    # to be released at its commit: submissions queued one behind another.
    shard = models.PositiveSmallIntegerField(default=0)
    n = models.PositiveIntegerField(default=0)
    numbers = models.PositiveIntegerField(default=0)
    number_sum = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "question", "choice_key", "rank_key", "shard"],
                name="one_count_per_group_shard",
            )
        ]

    def __str__(self) -> str:
        return f"{self.n} answers to {self.question_id}"


class DefinitionRevision(models.Model):
    """A number that changes whenever a survey's sections, questions or choices change.

    Submissions check answers against a compiled copy of the survey's questions that
    each process keeps (selectors.definition), keyed by this number, and the write
    succeeds only while the number is still the one the copy was made at: an answer
    is never accepted under rules that have since changed. The number is kept by
    database triggers (migration 0004), so every way of changing a survey (the
    builder, an XLSForm import, bulk updates, the admin) moves it, and no code path
    can forget to. It lives apart from `Survey` so that saving a Survey instance read
    earlier cannot write an old number back.
    """

    survey = models.OneToOneField(
        Survey,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="definition_revision",
    )
    n = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"revision {self.n} of {self.survey_id}"


def export_storage() -> Any:
    """Where prepared export files are kept: private, never under STATIC or MEDIA.

    STORAGES["survey_exports"] when the deployment names one (a volume or bucket that
    the task workers and web servers share, when they run on different machines);
    otherwise var/exports beside the SQLite database, readable by its owner only."""
    from pathlib import Path

    from django.core.files.storage import FileSystemStorage, InvalidStorageError, storages

    try:
        return storages["survey_exports"]
    except InvalidStorageError:
        return FileSystemStorage(
            location=Path(settings.BASE_DIR) / "var" / "exports",
            base_url="/no-public-url/",
            file_permissions_mode=0o600,
            directory_permissions_mode=0o700,
        )


class SurveyExport(models.Model):
    """An export prepared as a file by the task worker, and kept for a day.

    XLSX, SPSS and data package files of many responses take longer to write than a
    web request may last, so a request records who asked for what (and the audit log
    says so), the worker writes the file to export_storage(), and the organiser
    downloads it from a permission-checked view. The file holds every answer: it is
    deleted a day after it is ready (export_jobs.purge_exports), when the job is
    deleted (with its survey or community), and never served publicly."""

    class Format(models.TextChoices):
        XLSX = "xlsx", _("Excel (XLSX)")
        SAV = "sav", _("SPSS (.sav)")
        DATAPACKAGE = "datapackage", _("Frictionless data package")

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to be prepared")
        RUNNING = "running", _("Being prepared")
        DONE = "done", _("Ready to download")
        FAILED = "failed", _("Not prepared")
        DELETED = "deleted", _("Deleted after 24 hours")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="exports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    format = models.CharField(max_length=12, choices=Format.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # The file's name in export_storage(): recorded before the file is stored, so that a
    # failed, expired or deleted job can always delete it; complete once the job is done.
    file_name = models.CharField(max_length=200, blank=True, editable=False)
    rows = models.PositiveIntegerField(null=True, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "finished_at"], name="survey_export_state")]

    def __str__(self) -> str:
        return f"{self.format} export {self.pk} of survey {self.survey_id}"

    @property
    def is_pending(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)


def _delete_export_file(sender: Any, instance: SurveyExport, using: str, **kwargs: Any) -> None:
    """A deleted job takes its file with it (also when its survey or community goes),
    once the deletion is committed."""
    from django.db import transaction

    if instance.file_name:
        name = instance.file_name
        transaction.on_commit(lambda: export_storage().delete(name), using=using)


models.signals.post_delete.connect(
    _delete_export_file, sender=SurveyExport, dispatch_uid="surveys_export_file"
)
