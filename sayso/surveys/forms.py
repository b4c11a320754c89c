from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from sayso.core.fields import CODE_EXAMPLE, GROUPED_NUMBER, NUMBER_SEPARATORS, code_count_field

from . import logic, services
from .models import Answer, Question, Survey, pick_label


class SurveyForm(forms.ModelForm[Survey]):
    languages_text = forms.CharField(
        label=_("Languages"),
        initial="en",
        error_messages={"required": _("Give at least one language, like en for English.")},
        help_text=_(
            "The languages people can answer in, the main one first, each as its short"
            " code: en for English, pl for Polish, cy for Welsh. Put a space between them,"
            " like: en pl"
        ),
    )

    class Meta:
        model = Survey
        fields = [
            "title",
            "welcome",
            "privacy_notice",
            "distribution",
            "one_response_per_member",
            "is_convenience_sample",
        ]
        # Plain words for what the model calls a "convenience sample".
        labels = {"is_convenience_sample": _("Anyone could choose to answer")}
        help_texts = {
            "is_convenience_sample": _(
                "Tick this unless you picked the people to ask at random. People who chose"
                " to answer are not a random sample, so the results will be marked as"
                " approximate."
            )
        }
        error_messages = {
            "title": {"required": _("Give the survey a title people will recognise.")}
        }
        widgets = {
            "welcome": forms.Textarea(attrs={"rows": 3}),
            "privacy_notice": forms.Textarea(attrs={"rows": 3}),
            "distribution": forms.RadioSelect,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.languages:
            self.fields["languages_text"].initial = " ".join(self.instance.languages)

    def clean_languages_text(self) -> list[str]:
        # Commas are what people put between items of a list: read them as spaces.
        text = self.cleaned_data["languages_text"].replace(",", " ")
        codes = [c.lower() for c in text.split()]
        # A name ("english") stored as a code keys every text under it: refuse it,
        # naming the code to give instead. A name the survey already has (from an
        # XLSForm column like "label::English") may stay, so that its other settings
        # can still be saved; replaced by its code, its texts move (services.save_survey).
        kept = set(self.instance.languages or []) if self.instance.pk else set()
        bad = next((c for c in codes if not logic.is_language_code(c) and c not in kept), None)
        if bad is not None:
            raise forms.ValidationError(services.language_code_problem(bad), code="not_a_code")
        return list(dict.fromkeys(codes))

    def save(self, commit: bool = True) -> Survey:
        self.instance.languages = self.cleaned_data["languages_text"]
        return super().save(commit=False)


# The types of answer as the question form offers them: the model's names, with
# plain words where the model's are a researcher's ("Likert").
QUESTION_TYPE_CHOICES = [
    (
        value,
        _("Rating scale (for example, from “strongly disagree” to “strongly agree”)")
        if value == Question.Type.RATING
        else label,
    )
    for value, label in Question.Type.choices
]


class SectionForm(forms.Form):
    # Respondents see pages, so organisers read "page" too (the model says section).
    title = forms.CharField(label=_("Page title"), max_length=200, required=False)


class QuestionForm(forms.Form):
    label = forms.CharField(
        label=_("Question"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Write the question people will answer.")},
    )
    name = forms.CharField(
        label=_("Short name"),
        max_length=60,
        help_text=_(
            "Used in logic like ${shift} and in exports. Letters, numbers and _, like 'shift'."
        ),
        error_messages={"required": _("Give the question a short name, like shift.")},
    )
    type = forms.ChoiceField(label=_("Type of answer"), choices=QUESTION_TYPE_CHOICES)
    whole_number = forms.BooleanField(
        label=_("Whole numbers only"),
        required=False,
        help_text=_("For a number question: answers like 2.5 are refused."),
    )
    hint = forms.CharField(label=_("Hint"), max_length=300, required=False)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "For choice, rating and ranking questions: one per line. Write 'name = label',"
            " like 'night = Night shift', to use the name in logic, like ${shift} = 'night'."
            " A choice without a name is named by its place: 1, 2, 3."
        ),
    )
    exclusive = forms.CharField(
        label=_("Can't be ticked with other options (for example “None of these”)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "For multiple choice questions, optional: the choices that must be ticked on their"
            " own, one per line, by short name or by their words, like 'none'. Someone who"
            " ticks one of them with another choice is asked to untick one."
        ),
    )
    required = forms.BooleanField(label=_("An answer is required"), required=False)
    required_message = forms.CharField(
        label=_("Message when it is missing"),
        required=False,
        max_length=300,
        help_text=_("Optional. Without one, people are told: Answer this question."),
    )
    relevant = forms.CharField(
        label=_("Show only if"),
        required=False,
        max_length=500,
        help_text=_(
            "Optional: leave it empty to ask everyone. Refer to an earlier question by its"
            " short name in ${ }, and to a choice by its short name in quotes. For example:"
            " ${shift} = 'night' asks only people who chose the night shift;"
            " selected(${worries}, 'scanner') asks only people who ticked 'scanner';"
            " ${age} >= 50 asks only people aged 50 or over."
        ),
    )
    constraint = forms.CharField(
        label=_("Answer must satisfy"),
        required=False,
        max_length=500,
        help_text=_(
            "Optional: a rule the answer must follow, with a dot (.) standing for this"
            " answer. For example: . >= 16 accepts 16 or more; . >= 16 and . <= 80 accepts"
            " 16 to 80; string-length(.) <= 200 accepts up to 200 characters."
        ),
    )
    constraint_message = forms.CharField(
        label=_("Message when it does not"), required=False, max_length=300
    )
    is_breakdown = forms.BooleanField(
        label=_("Use to break down results"),
        required=False,
        help_text=_(
            "For a choice question like 'Which shift do you work?': the results page can"
            " then show every other question's results for each answer (day shift, night"
            " shift), when each group is big enough to keep people unidentifiable."
        ),
    )

    def __init__(self, *args: Any, question: Question, language: str, **kwargs: Any) -> None:
        """Edits `question`'s texts in `language` (the survey's main one): the other
        languages' texts are kept, and translated on the translations page."""
        if question.pk and "initial" not in kwargs:
            kwargs["initial"] = question_initial(question, language)
        super().__init__(*args, **kwargs)
        self.question = question
        self.language = language
        # People who have submitted an answer to it: their answers must survive an edit
        # (services.save_question refuses what would lose them), and the page says so.
        self.answered = (
            Answer.objects.filter(question_id=question.pk).values("response_id").distinct().count()
            if question.pk
            else 0
        )
        if self.answered:
            self.fields["choices"].help_text = _(
                "One per line, as 'name = label'. People have answered, so keep each name"
                " as it is: change the label after the '='. You may add choices, and remove"
                " those nobody chose."
            )

    def add_error(self, field: str | None, error: Any) -> None:
        """services.save_question starts a refusal of the logic with the field's label
        ("Show only if: ...") so that it reads on its own. Beside the field, which is
        labelled already, it is given without it; the error summary puts the label back."""
        if field in ("relevant", "constraint") and isinstance(error, str):
            error = error.removeprefix(f"{self.fields[field].label}: ")
        super().add_error(field, error)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("type")
        data["parsed_choices"] = None
        if kind in Question.CHOICE_TYPES and "choices" in data:
            try:
                data["parsed_choices"] = parse_choices(data["choices"])
            except forms.ValidationError as error:
                self.add_error("choices", error)
        data["exclusive_names"] = []
        lines = [line.strip() for line in data.get("exclusive", "").splitlines() if line.strip()]
        if lines and kind == Question.Type.MULTIPLE and data["parsed_choices"] is not None:
            try:
                data["exclusive_names"] = exclusive_names(lines, data["parsed_choices"])
            except forms.ValidationError as error:
                self.add_error("exclusive", error)
        else:
            # Another type: services.save_question says why options cannot be marked.
            data["exclusive_names"] = lines
        return data

    def updated_question(self) -> Question:
        """The question with the form's answers applied (not saved: the service checks
        the whole of it, then saves)."""
        data = self.cleaned_data
        question, language = self.question, self.language
        question.name = data["name"].strip()
        question.type = data["type"]
        question.whole_number = data["whole_number"] and data["type"] == Question.Type.NUMBER
        question.label = {**(question.label or {}), language: data["label"].strip()}
        if data["hint"]:
            question.hint = {**(question.hint or {}), language: data["hint"].strip()}
        question.required = data["required"]
        question.required_message = _with_text(
            question.required_message, language, data["required_message"]
        )
        question.relevant = data["relevant"].strip()
        question.constraint = data["constraint"].strip()
        question.constraint_message = _with_text(
            question.constraint_message, language, data["constraint_message"]
        )
        question.is_breakdown = data["is_breakdown"]
        return question

    @property
    def choices_given(self) -> list[tuple[str, str]] | None:
        """(name, label) per line for a choice question; None for the other types."""
        parsed: list[tuple[str, str]] | None = self.cleaned_data.get("parsed_choices")
        return parsed

    @property
    def exclusive_given(self) -> list[str]:
        """The short names of the choices marked as ticked on their own."""
        names: list[str] = self.cleaned_data.get("exclusive_names") or []
        return names


def _with_text(texts: dict[str, str] | None, language: str, text: str) -> dict[str, str]:
    """`texts` ({language: text}) with `language`'s text set, or removed when emptied;
    the other languages' texts are kept."""
    kept = {code: value for code, value in (texts or {}).items() if code != language}
    return {**kept, language: text.strip()} if text.strip() else kept


def question_initial(question: Question, language: str) -> dict[str, Any]:
    return {
        "label": pick_label(question.label, language),
        "name": question.name,
        "type": question.type,
        "whole_number": question.whole_number,
        "hint": pick_label(question.hint, language),
        "choices": "\n".join(f"{c.name} = {c.text(language)}" for c in question.choices.all()),
        "exclusive": "\n".join(c.name for c in question.choices.all() if c.exclusive),
        "required": question.required,
        "required_message": pick_label(question.required_message, language),
        "relevant": question.relevant,
        "constraint": question.constraint,
        "constraint_message": pick_label(question.constraint_message, language),
        "is_breakdown": question.is_breakdown,
    }


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
            raise forms.ValidationError(
                _("Choice line %(n)s: '%(name)s' is not a short name. Use letters, numbers and _.")
                % {"n": number, "name": name}
            )
        if any(name == seen for seen, _label in out):
            raise forms.ValidationError(
                _("Choice line %(n)s: the name '%(name)s' is used twice.")
                % {"n": number, "name": name}
            )
        # Two choices that read the same cannot be told apart by the people answering,
        # nor in the results.
        if label and any(_same_label(label, seen) for _name, seen in out):
            raise forms.ValidationError(
                _(
                    "Choice line %(n)s: '%(label)s' is already a choice. Give each choice a"
                    " different label."
                )
                % {"n": number, "label": label}
            )
        out.append((name, label))
    return out


def exclusive_names(lines: list[str], choices: list[tuple[str, str]]) -> list[str]:
    """The short names of the choices that `lines` name, each by its short name, its
    label, or its whole 'name = label' line as copied from the choices box."""
    out: list[str] = []
    for line in lines:
        name = next((n for n, _label in choices if n == line), None)
        if name is None:
            name = next((n for n, label in choices if _same_label(label, line)), None)
        if name is None and "=" in line:
            given = line.split("=", 1)[0].strip()
            name = next((n for n, _label in choices if n == given), None)
        if name is None:
            raise forms.ValidationError(
                _(
                    "'%(line)s' is not one of the choices. Give the short name written before"
                    " the '=', like 'none', or the option's words."
                )
                % {"line": line}
            )
        if name not in out:
            out.append(name)
    return out


def _same_label(one: str, other: str) -> bool:
    """Whether two choice labels read the same: capitals and spacing aside."""
    return " ".join(one.split()).casefold() == " ".join(other.split()).casefold()


# More people than live on Earth: a count this big is a typing mistake.
MOST_PEOPLE = 10_000_000_000
_POINT_GROUPED = re.compile(r"^[0-9]{1,3}(?:[.][0-9]{3})+$")


class PopulationField(forms.Field):
    """A number of people, typed as organisers type it ("3,000", "12 500"), as an int.

    Refused, each with its own message: scientific notation (1e9), negative numbers,
    fractions, zero, and sizes beyond any population."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("required", _("Give the number of people, like 3,000."))
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        text = "" if value in self.empty_values else str(value).strip()
        if not text:
            return None
        if re.search(r"\d[eE][+-]?\d", text):
            raise forms.ValidationError(
                _("Write the number out in full, like 3,000, not as %(typed)s.") % {"typed": text},
                code="scientific",
            )
        if text.startswith(("-", "\u2212")):
            raise forms.ValidationError(
                _("A number of people cannot be below zero."), code="negative"
            )
        if _POINT_GROUPED.match(text):  # "3.000": a point between thousands
            digits = text.replace(".", "")
        elif "." in text:
            raise forms.ValidationError(
                _("Give a whole number of people, like 3,000, without a decimal point."),
                code="fraction",
            )
        elif len(text) < 40 and ((text.isdigit() and text.isascii()) or GROUPED_NUMBER.match(text)):
            digits = NUMBER_SEPARATORS.sub("", text)
        else:
            raise forms.ValidationError(
                _("Give the number of people in digits, like 3,000 or 3000."), code="invalid"
            )
        number = int(digits)
        if number == 0:
            raise forms.ValidationError(
                _(
                    "Give a number above zero: weighting by this question needs at least"
                    " one person in the population for each answer."
                ),
                code="zero",
            )
        if number > MOST_PEOPLE:
            raise forms.ValidationError(
                _("%(typed)s is more people than live on Earth. Check the number.")
                % {"typed": text},
                code="too_big",
            )
        return number


class WeightingForm(forms.Form):
    """Population counts for each option of one single choice (or rating) question.

    The count fields are made from the chosen question's options (`pop_<choice name>`);
    `wanted` names the question (from the page's question picker), else the first."""

    question = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        candidates: list[Question],
        wanted: str,
        current: dict[str, Any],
        language: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = candidates
        self.chosen = next(
            (q for q in candidates if q.name == wanted), candidates[0] if candidates else None
        )
        if self.chosen is None:
            return
        self.fields["question"].initial = self.chosen.name
        targets = current.get(self.chosen.name, {})
        for choice in self.chosen.choices.all():
            saved = targets.get(choice.name)
            self.fields[f"pop_{choice.name}"] = PopulationField(
                label=_("People in the population who would answer '%(label)s'")
                % {"label": choice.text(language)},
                initial=f"{saved:,.0f}" if isinstance(saved, int | float) else "",
                widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
            )

    def population(self) -> dict[str, float]:
        """The counts given, one for every option (each field is required)."""
        assert self.chosen is not None
        return {
            c.name: float(self.cleaned_data[f"pop_{c.name}"]) for c in self.chosen.choices.all()
        }


class CodesForm(forms.Form):
    size = code_count_field()


class CodeEntryForm(forms.Form):
    # Required, said with aria-required rather than the HTML attribute, as on the
    # survey's own pages: an empty `required` box is read out as "invalid entry"
    # before anything is typed, and the server's message is the one to hear.
    use_required_attribute = False

    code = forms.CharField(
        label=_("Your invitation code"),
        max_length=20,
        widget=forms.TextInput(attrs={"aria-required": "true"}),
        help_text=format_lazy(
            _(
                "The code on your card or letter, like {example}. Capitals or not, it does not"
                " matter."
            ),
            example=CODE_EXAMPLE,
        ),
        error_messages={
            "required": _("Enter the code from your card or letter."),
            "max_length": format_lazy(
                _(
                    "This is longer than an invitation code. Enter the code from your card or"
                    " letter, like {example}."
                ),
                example=CODE_EXAMPLE,
            ),
        },
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("XLSForm file (.xlsx)"),
        help_text=_("A form made in KoboToolbox, ODK or a spreadsheet."),
    )


def translation_limit(key: str) -> int | None:
    """The most characters a translation keyed as in `selectors.translation_entries`
    may have: the limit of the text it translates (None where that has none)."""
    kind, _sep, rest = key.partition(".")
    field: forms.Field | None = None
    if key == "survey.title":
        return Survey._meta.get_field("title").max_length
    if kind == "section":
        field = SectionForm.base_fields["title"]
    elif kind == "question":
        field = QuestionForm.base_fields.get(rest.rpartition(".")[2])
    return getattr(field, "max_length", None)


def translation_errors(texts: dict[str, str]) -> dict[str, str]:
    """By key, what is wrong with each posted translation: one longer than its
    original may be is refused, as the original would be."""
    errors = {}
    for key, text in texts.items():
        limit = translation_limit(key)
        length = len(text.strip())
        if limit is not None and length > limit:
            errors[key] = _(
                "Use at most %(max)s characters, as for the original (this has %(count)s)."
            ) % {"max": limit, "count": length}
    return errors
