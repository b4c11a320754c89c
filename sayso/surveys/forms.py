from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.utils.text import Truncator, format_lazy
from django.utils.translation import gettext_lazy as _

from sayso.core.fields import CODE_EXAMPLE, GROUPED_NUMBER, NUMBER_SEPARATORS, code_count_field
from sayso.core.text import ascii_forms, has_nul, without_direction_controls

from . import logic, services
from .models import Answer, Question, Section, Survey, pick_label


def shown_text(text: str) -> str:
    """A text an organiser writes for people to read (a title, a question, a choice, a
    hint, a message, a translation) as Sayso keeps it: without direction controls
    (core.text), which could make it read one way where it is written and another where
    it is shown, as answers and imported forms are kept (xlsform); spaces at its ends
    trimmed."""
    return without_direction_controls(text).strip()


class ShownTextField(forms.CharField):
    """A CharField for a text people read: kept as `shown_text` keeps it, and its
    length counted once the direction controls are out (the null character is refused,
    as by any CharField)."""

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        return shown_text(text) if isinstance(text, str) and self.strip else text


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
        field_classes = {
            "title": ShownTextField,
            "welcome": ShownTextField,
            "privacy_notice": ShownTextField,
        }
        help_texts = {
            "one_response_per_member": _(
                "Each member can send one set of answers. Sayso records that they answered"
                " and the date, never which answers are theirs, and tells them so before"
                " they start. On a survey anyone with the link can answer, this counts"
                " only people signed in to Sayso once; people who are not signed in are"
                " not limited."
            ),
            "is_convenience_sample": _(
                "Tick this unless you picked the people to ask at random. People who chose"
                " to answer are not a random sample, so the results will be marked as"
                " approximate."
            ),
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
    title = ShownTextField(label=_("Page title"), max_length=200, required=False)


class QuestionForm(forms.Form):
    label = ShownTextField(
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
    hint = ShownTextField(label=_("Hint"), max_length=300, required=False)
    choices = ShownTextField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "For choice, rating and ranking questions: one per line. Write 'name = label',"
            " like 'night = Night shift', to use the name in logic, like ${shift} = 'night'."
            " A choice without a name is named by its place: 1, 2, 3."
        ),
    )
    exclusive = ShownTextField(
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
    required_message = ShownTextField(
        label=_("Message when it is missing"),
        required=False,
        max_length=300,
        help_text=_("Optional. Without one, people are told: Answer this question."),
    )
    # "Show only if" made by choosing, not typing (see the "Show only if, by choosing"
    # part below): the choices are the earlier questions', set in __init__.
    condition_answer = forms.ChoiceField(
        label=_("Answer to an earlier question"),
        required=False,
        help_text=_(
            "Choose an answer to ask this question only of the people who gave it. On a"
            " question where several answers can be ticked, giving it means ticking it,"
            " whatever else they ticked."
        ),
        error_messages={
            "invalid_choice": _(
                "Choose an answer from the list: only answers to questions that come before"
                " this one can be used."
            )
        },
    )
    condition_match = forms.ChoiceField(
        label=_("Ask this question of the people who"),
        required=False,
        initial="is",
        choices=[("is", _("gave that answer")), ("is_not", _("did not give that answer"))],
        widget=forms.RadioSelect,
        help_text=_("“Did not give that answer” includes people who skipped that question."),
        error_messages={"invalid_choice": _("Choose “gave that answer” or “did not give it”.")},
    )
    condition_number_question = forms.ChoiceField(
        label=_("Earlier number question"),
        required=False,
        error_messages={
            "invalid_choice": _(
                "Choose a question from the list: only number questions that come before"
                " this one can be used."
            )
        },
    )
    condition_comparison = forms.ChoiceField(
        label=_("Ask only people whose number is"),
        required=False,
        initial=">=",
        choices=[
            (">=", _("at least")),
            ("<=", _("at most")),
            (">", _("more than")),
            ("<", _("less than")),
            ("=", _("exactly")),
            ("!=", _("anything but")),
        ],
        error_messages={"invalid_choice": _("Choose how the answer compares, like “at least”.")},
    )
    condition_number = forms.CharField(
        label=_("Number to compare with"),
        required=False,
        max_length=30,
        help_text=_("Like 50 or 2.5."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"max_length": _("Give a number of at most 30 digits, like 50.")},
    )
    relevant = forms.CharField(
        label=_("Show only if"),
        required=False,
        max_length=500,
        help_text=_(
            "For a rule the choices above cannot make, like two conditions joined with and."
            " Leave it empty to use the choices above, or to ask everyone. Refer to an"
            " earlier question by its short name in ${ }, and to a choice by its short name"
            " in quotes. For example: ${shift} = 'night' asks only people who chose the night"
            " shift; selected(${worries}, 'cameras') asks only people who ticked 'cameras';"
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
    constraint_message = ShownTextField(
        label=_("Message when it does not"),
        required=False,
        max_length=300,
        # Quotes what the respondent page shows for a rule without a message, so the
        # two never disagree.
        help_text=format_lazy(
            _(
                "What people read when their answer does not follow the rule, like 'Give"
                " an age from 16 to 80.' Left blank, they read the general message:"
                " “{default}”"
            ),
            default=logic.RULE_NOT_FOLLOWED,
        ),
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

    # The fields of "Show only if, by choosing", drawn together by _condition.html.
    condition_fields = (
        "condition_answer",
        "condition_match",
        "condition_number_question",
        "condition_comparison",
        "condition_number",
    )

    def __init__(
        self,
        *args: Any,
        question: Question,
        language: str,
        survey: Survey | None = None,
        section: Section | None = None,
        **kwargs: Any,
    ) -> None:
        """Edits `question`'s texts in `language` (the survey's main one): the other
        languages' texts are kept, and translated on the translations page.

        `survey` and `section` (the page the question is or goes on) give the earlier
        questions a "Show only if" can be chosen from; without them none is offered."""
        if question.pk and "initial" not in kwargs:
            kwargs["initial"] = question_initial(question, language)
        super().__init__(*args, **kwargs)
        self.question = question
        self.language = language
        self.conditions = ConditionOptions(
            earlier_questions(survey, question, section) if survey is not None else [],
            language,
        )
        cast(forms.ChoiceField, self.fields["condition_answer"]).choices = [
            ("", _("No condition on an answer")),
            *self.conditions.answer_groups,
        ]
        cast(forms.ChoiceField, self.fields["condition_number_question"]).choices = [
            ("", _("No condition on a number")),
            *self.conditions.number_questions,
        ]
        # The field whose choice made the rule (None: typed, or none): a refusal of the
        # rule by services.save_question is shown next to it (see add_error).
        self.condition_field: str | None = None
        if not self.is_bound:
            # A stored rule the choices can make opens with them chosen and the box
            # for a written rule empty; any other rule stays written in the box.
            chosen = self.conditions.initial(read_condition(question.relevant))
            if chosen:
                self.initial = {**self.initial, **chosen, "relevant": ""}
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
        if field == "relevant" and self.condition_field is not None:
            # The rule was made by choosing: its refusal goes where it was chosen.
            field = self.condition_field
        super().add_error(field, error)

    @property
    def written_rule_open(self) -> bool:
        """Whether "Write the rule yourself" starts open: it holds a rule or a message,
        or there are earlier questions but none a condition can be chosen on (only
        texts or dates, say), so writing is the only way."""
        return bool(
            (self["relevant"].value() or "").strip()
            or self.errors.get("relevant")
            or (
                self.conditions.any_earlier
                and not (self.conditions.answer_groups or self.conditions.number_questions)
            )
        )

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
        self._clean_condition(data)
        return data

    def _clean_condition(self, data: dict[str, Any]) -> None:
        """Put the chosen condition's rule in `data["relevant"]`; one written in the
        box as well must be the same rule, or the form is refused."""
        chosen = self._chosen_condition(data)
        if chosen is None:
            return
        condition, field = chosen
        typed = (data.get("relevant") or "").strip()
        if typed and typed != condition.expression and read_condition(typed) != condition:
            none = (
                _("No condition on an answer")
                if field == "condition_answer"
                else _("No condition on a number")
            )
            self.add_error(
                field,
                _(
                    "This asks different people from the rule written under “Write the rule"
                    " yourself”: here %(chosen)s, there %(typed)s. Keep one of them: empty"
                    " the written rule, or choose “%(none)s” here."
                )
                % {"chosen": condition.expression, "typed": typed, "none": none},
            )
            return
        data["relevant"] = condition.expression
        self.condition_field = field

    def _chosen_condition(self, data: dict[str, Any]) -> tuple[Condition, str] | None:
        """The condition chosen, with the field it was chosen in; None when none was
        (or what was chosen is refused, with a message next to its field)."""
        by_answer = by_number = None
        answer = data.get("condition_answer") or ""
        if answer:
            name, _sep, choice = answer.partition(":")
            negate = data.get("condition_match") == "is_not"
            if self.conditions.types[name] == Question.Type.MULTIPLE:
                op = "not selected" if negate else "selected"
            else:
                op = "!=" if negate else "="
            by_answer = Condition(name, op, choice)
        number_question = data.get("condition_number_question") or ""
        number = (data.get("condition_number") or "").strip()
        if number_question and not number and "condition_number" not in self.errors:
            self.add_error(
                "condition_number", _("Give the number to compare the answer with, like 50.")
            )
        elif number and not number_question and "condition_number_question" not in self.errors:
            self.add_error(
                "condition_number_question",
                _("Choose the question the number is about, or empty the number."),
            )
        elif number_question and number:
            literal = number_literal(number)
            if literal is None:
                self.add_error(
                    "condition_number",
                    _(
                        "'%(typed)s' is not a number. Give it in digits, like 50 or 2.5, with"
                        " a point before any decimals."
                    )
                    % {"typed": number},
                )
            else:
                comparison = data.get("condition_comparison") or ">="
                by_number = Condition(number_question, comparison, literal, number=True)
        if by_answer is not None and by_number is not None:
            self.add_error(
                "condition_number_question",
                _(
                    "Choose one condition, an answer or a number, not both. To ask only the"
                    " people who meet both, choose “No condition on an answer” and “No"
                    " condition on a number”, and write the rule yourself: %(both)s"
                )
                % {"both": f"{by_answer.expression} and {by_number.expression}"},
            )
            return None
        if by_answer is not None:
            return by_answer, "condition_answer"
        if by_number is not None:
            return by_number, "condition_number_question"
        return None

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
        "hint": pick_label(question.hint, language, main=language),
        "choices": "\n".join(f"{c.name} = {c.text(language)}" for c in question.choices.all()),
        "exclusive": "\n".join(c.name for c in question.choices.all() if c.exclusive),
        "required": question.required,
        "required_message": pick_label(question.required_message, language, main=language),
        "relevant": question.relevant,
        "constraint": question.constraint,
        "constraint_message": pick_label(question.constraint_message, language, main=language),
        "is_breakdown": question.is_breakdown,
    }


# --- "Show only if", by choosing ---------------------------------------------------------

# The types of earlier question a condition can be chosen on, by answer or by number.
ANSWER_CONDITION_TYPES = frozenset(
    {Question.Type.SINGLE, Question.Type.RATING, Question.Type.MULTIPLE}
)
NUMBER_COMPARISONS = frozenset({">=", "<=", ">", "<", "=", "!="})
_REF = r"\$\{(?P<question>[A-Za-z_][A-Za-z0-9_]*)\}"
_TEXT = r"(?:'(?P<single>[^']*)'|\"(?P<double>[^\"]*)\")"
# The rules the question form can make, as anyone might type them (spaces aside).
_RULES = (
    ("answer", re.compile(rf"^\s*{_REF}\s*(?P<op>!=|=)\s*{_TEXT}\s*$")),
    ("selected", re.compile(rf"^\s*selected\(\s*{_REF}\s*,\s*{_TEXT}\s*\)\s*$")),
    (
        "not selected",
        re.compile(rf"^\s*not\(\s*selected\(\s*{_REF}\s*,\s*{_TEXT}\s*\)\s*\)\s*$"),
    ),
    (
        "number",
        re.compile(rf"^\s*{_REF}\s*(?P<op>>=|<=|!=|=|>|<)\s*(?P<number>-?\d+(?:\.\d+)?)\s*$"),
    ),
)
_PLAIN_NUMBER = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?$")


@dataclass(frozen=True, slots=True)
class Condition:
    """A "Show only if" rule of the kind the question form offers to choose: one
    earlier question's answer against one value. `op` is "=" or "!=" (a choice of a
    single choice or rating question), "selected" or "not selected" (an option of a
    multiple choice question), or, with `number`, a comparison of numbers ("=", ">=",
    ...); `value` is a choice's short name, or a number as written."""

    question: str
    op: str
    value: str
    number: bool = False

    @property
    def expression(self) -> str:
        """The rule as it is stored, written exactly as the help text teaches it."""
        ref = f"${{{self.question}}}"
        if self.number:
            return f"{ref} {self.op} {self.value}"
        text = _quoted(self.value)
        if self.op == "selected":
            return f"selected({ref}, {text})"
        if self.op == "not selected":
            return f"not(selected({ref}, {text}))"
        return f"{ref} {self.op} {text}"


def _quoted(text: str) -> str:
    return f'"{text}"' if "'" in text else f"'{text}'"


def read_condition(expression: str) -> Condition | None:
    """The condition `expression` is, when it is one the question form can make (which
    question it names and whether that fits is for ConditionOptions to say)."""
    for kind, pattern in _RULES:
        match = pattern.match(expression or "")
        if match is None:
            continue
        question = match.group("question")
        if kind == "number":
            return Condition(question, match.group("op"), match.group("number"), number=True)
        value = (
            match.group("single") if match.group("single") is not None else match.group("double")
        )
        op = match.group("op") if kind == "answer" else kind
        return Condition(question, op, value)
    return None


def number_literal(text: str) -> str | None:
    """A number as typed ("50", "2.5", "-3", "1,000") as a rule writes it ("1000"), or
    None when it is not one (a word, "1,5", "1e3")."""
    text = text.strip().replace("\u2212", "-")
    sign = "-" if text.startswith("-") else ""
    whole, point, decimals = text.removeprefix("-").strip().partition(".")
    if GROUPED_NUMBER.match(whole):
        whole = NUMBER_SEPARATORS.sub("", whole)
    literal = f"{sign}{whole}{point}{decimals}"
    return literal if _PLAIN_NUMBER.match(literal) and literal.isascii() else None


def earlier_questions(
    survey: Survey, question: Question, section: Section | None
) -> list[Question]:
    """The questions before `question` in the survey's order (as services.save_question
    checks a rule against them), with their choices."""
    names = services.earlier_names(survey, question, section)
    found = {
        q.name: q
        for q in survey.questions.filter(name__in=names)
        .exclude(pk=question.pk)
        .prefetch_related("choices")
    }
    return [found[name] for name in names if name in found]


class ConditionOptions:
    """What the question form offers to choose a condition from: every option of the
    earlier choice questions, grouped by question, and the earlier number questions,
    each named by its words (the short name added only where two read the same)."""

    def __init__(self, earlier: Sequence[Question], language: str) -> None:
        words = [Truncator(q.text(language)).chars(90) for q in earlier]
        named = {
            q.name: (f"{text} ({q.name})" if words.count(text) > 1 else text)
            for q, text in zip(earlier, words, strict=True)
        }
        self.types = {q.name: q.type for q in earlier}
        self.any_earlier = bool(earlier)
        self.answer_groups: list[tuple[str, list[tuple[str, str]]]] = []
        self.answers: set[tuple[str, str]] = set()
        self.number_questions: list[tuple[str, str]] = []
        for q in earlier:
            if q.type == Question.Type.NUMBER:
                self.number_questions.append((q.name, named[q.name]))
            if q.type not in ANSWER_CONDITION_TYPES:
                continue
            # A name with both quotes, or spaces (which separate the options ticked in
            # a multiple choice answer), cannot be compared in a rule.
            usable = [
                c
                for c in q.choices.all()
                if c.name
                and not ("'" in c.name and '"' in c.name)
                and not any(ch.isspace() for ch in c.name)
            ]
            if usable:
                self.answer_groups.append(
                    (named[q.name], [(f"{q.name}:{c.name}", c.text(language)) for c in usable])
                )
                self.answers.update((q.name, c.name) for c in usable)

    def initial(self, condition: Condition | None) -> dict[str, str]:
        """The form's fields with `condition` chosen, or {} when it cannot be chosen
        here (a question not offered, or not of the kind the rule needs)."""
        if condition is None:
            return {}
        kind = self.types.get(condition.question)
        if (
            condition.op in ("selected", "not selected", "=", "!=")
            and (
                condition.question,
                condition.value,
            )
            in self.answers
        ):
            multiple = kind == Question.Type.MULTIPLE
            if multiple == (condition.op in ("selected", "not selected")) and not condition.number:
                return {
                    "condition_answer": f"{condition.question}:{condition.value}",
                    "condition_match": "is" if condition.op in ("=", "selected") else "is_not",
                }
        if kind == Question.Type.NUMBER and condition.number:
            return {
                "condition_number_question": condition.question,
                "condition_comparison": condition.op,
                "condition_number": condition.value,
            }
        return {}


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
    fractions, and sizes beyond any population. Zero is a figure (nobody in the
    population would give that answer): whether it can be used depends on the answers
    (services.set_weighting_targets)."""

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
        if number > MOST_PEOPLE:
            raise forms.ValidationError(
                _("%(typed)s is more people than live on Earth. Check the number.")
                % {"typed": text},
                code="too_big",
            )
        return number


class WeightingForm(forms.Form):
    """Population counts for each option of one single choice (or rating) question.

    The count fields are made from the chosen question's options (`pop_<choice name>`),
    filled with the figures in force for it. `wanted` names the question (from the
    page's question picker or a "Change" link); without one, the first question the
    results are weighted by, else the first that could be."""

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
        in_force = [q for q in candidates if q.name in current]
        self.chosen = next(
            (q for q in candidates if q.name == wanted),
            in_force[0] if in_force else candidates[0] if candidates else None,
        )
        self.in_force = self.chosen is not None and self.chosen.name in current
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


class WeightLimitForm(forms.Form):
    """Weight trimming in plain words: at most N times the average person."""

    limit = forms.IntegerField(
        label=_("At most this many times the average person"),
        required=False,
        min_value=2,
        max_value=20,
        help_text=_("A whole number from 2 to 20; 5 is usual. Leave it empty for no limit."),
        error_messages={
            "invalid": _("Give a whole number from 2 to 20, or leave the box empty."),
            "min_value": _("Give a whole number from 2 to 20, or leave the box empty."),
            "max_value": _("Give a whole number from 2 to 20, or leave the box empty."),
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class CodesForm(forms.Form):
    size = code_count_field()


class CodeEntryForm(forms.Form):
    # Required, said with aria-required rather than the HTML attribute, as on the
    # survey's own pages: an empty `required` box is read out as "invalid entry"
    # before anything is typed, and the server's message is the one to hear.
    use_required_attribute = False

    code = forms.CharField(
        label=_("Your invitation code"),
        # Room for a code typed with a space between every letter (the form takes
        # spaces out): a shorter box would cut it off on the phone without a word.
        max_length=40,
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
            # Django's own "Null characters are not allowed." (a "%00" sent as part of a
            # code) would speak of something the person never typed.
            "null_characters_not_allowed": _(
                "That code is not valid or has already been used. Check it and try"
                " again. If you used it already, go back to your answers with the"
                " private link shown on your first page: a code works only once."
            ),
            "max_length": format_lazy(
                _(
                    "This is longer than an invitation code. Enter the code from your card or"
                    " letter, like {example}."
                ),
                example=CODE_EXAMPLE,
            ),
        },
    )

    def clean_code(self) -> str:
        # A code typed with a full-width keyboard (Japanese, Chinese) is the same code:
        # its letters and digits in their ASCII forms, which InvitationCode reads (it
        # takes out anything else, such as spaces, itself).
        return ascii_forms(self.cleaned_data["code"])


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
        if has_nul(text):
            errors[key] = str(
                _(
                    "This holds a character that cannot be kept, shown as �. Delete it and try again."
                )
            )
            continue
        limit = translation_limit(key)
        length = len(shown_text(text))
        if limit is not None and length > limit:
            errors[key] = _(
                "Use at most %(max)s characters, as for the original (this has %(count)s)."
            ) % {"max": limit, "count": length}
    return errors
