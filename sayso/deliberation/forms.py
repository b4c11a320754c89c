from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from sayso.core.models import Community, InvitationCodeBatch
from sayso.core.text import ascii_forms, without_direction_controls
from sayso.organisations.models import DataPractice

from .models import CODES_ARE_ANONYMOUS, STATEMENT_MAX_LENGTH, Conversation, normalise_text
from .statement_text import MIN_WORD_CHARACTERS, has_words, visible_text

MAX_UPLOAD_BYTES = 200 * 1024 * 1024

# Next to each setting that can no longer change (services.PROMISE_FIXED says why).
FIXED_ONCE_JOINED = _("Fixed: people have already joined.")


def batch_choice_label(batch: InvitationCodeBatch) -> str:
    """A batch of codes as the conversation form offers it: "Survey: Living with the
    smart meters — 8 codes, 1 Dec 2026, 3 already used here". A code works once in each
    survey and conversation, so codes used for a survey still let people in here; only
    the codes already used for this conversation count (`used`, annotated when an
    existing conversation is edited)."""
    label = gettext("%(label)s — %(codes)s, %(made)s") % {
        "label": batch.label,
        "codes": ngettext("%(n)s code", "%(n)s codes", batch.size)
        % {"n": number_format(batch.size, force_grouping=True)},
        "made": date_format(batch.created_on, "j M Y"),
    }
    used = getattr(batch, "used", 0)
    if used:
        label += ngettext(", %(n)s already used here", ", %(n)s already used here", used) % {
            "n": number_format(used, force_grouping=True)
        }
    return label


class ConversationForm(forms.ModelForm[Conversation]):
    seed_statements = forms.CharField(
        label=_("Seed statements"),
        required=False,
        # Kept as typed: stripping leading blank lines would shift every line number.
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "One statement per line. Short, clear statements people can agree or disagree "
            "with, like 'Scanner data should never be used in disciplinary meetings.'"
        ),
    )

    class Meta:
        model = Conversation
        fields = [
            "topic",
            "description",
            "data_practice",
            "moderation",
            "participants_can_add",
            "anonymous",
            "access",
            "code_batch",
            "results_hidden_until_closed",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "moderation": forms.RadioSelect,
            "access": forms.RadioSelect,
        }
        help_texts = {
            "data_practice": _("Optional. Links the results to what the organisation does."),
            # Figures published while people vote change in steps of at least the
            # small-group threshold of people, which a few people voting together around
            # someone's vote can still defeat (docs/architecture.md); hidden until
            # closing, there is one version to compare with nothing.
            "results_hidden_until_closed": _(
                "Participants and members see no results until you close the "
                "conversation. Results that change while people vote can sometimes give "
                "away how someone voted, so this is the safer choice for sensitive "
                "questions."
            ),
        }
        error_messages = {
            "topic": {
                "required": _("Write the question people will respond to."),
                "max_length": _(
                    "Keep the question to %(limit_value)d characters; it has %(show_value)d."
                ),
            }
        }

    def __init__(
        self,
        *args: Any,
        community: Community,
        creating: bool = True,
        joined: bool = False,
        voters: int = 0,
        **kwargs: Any,
    ):
        """`joined`: people have joined, so who can take part and anonymity are shown
        fixed (services.update_conversation refuses a change to them anyway). `voters`:
        how many have voted, for the warning next to the question."""
        super().__init__(*args, **kwargs)
        self.community = community
        self.fixed = joined
        practices = self.fields["data_practice"]
        practices.queryset = DataPractice.objects.filter(community=community).select_related(  # type: ignore[attr-defined]
            "organisation"
        )
        practices.empty_label = _("Not about one data practice")  # type: ignore[attr-defined]
        batches = self.fields["code_batch"]
        offered = InvitationCodeBatch.objects.filter(community=community)
        if self.instance.pk is not None:  # a new conversation has used no code yet
            offered = offered.with_used_counts(activity=self.instance)
        batches.queryset = offered  # type: ignore[attr-defined]
        batches.empty_label = _("No invitation codes")  # type: ignore[attr-defined]
        # Batches made for one survey share its name: their size and date tell them apart.
        batches.label_from_instance = batch_choice_label  # type: ignore[attr-defined]
        batches.help_text = format_html(
            gettext(
                "Only needed when people take part with an invitation code. Make the codes "
                "first on the {link} page. Each code works once in each survey and each "
                "conversation: someone who used their code for a survey can still use it "
                "here, once."
            ),
            link=format_html(
                '<a href="{}">{}</a>',
                reverse("core:codes", kwargs={"slug": community.slug}),
                gettext("Invitation codes"),
            ),
        )
        if not creating:
            del self.fields["seed_statements"]
        if joined:
            for name in ("anonymous", "access", "code_batch"):
                # Disabled: shown as they are, and a posted value is ignored.
                self.fields[name].disabled = True
                self.fields[name].help_text = FIXED_ONCE_JOINED
        if voters:
            self.fields["topic"].help_text = ngettext(
                "%(n)s person has already voted on this question. Correct its wording if"
                " you need to, but don't change its meaning: start a new conversation to"
                " ask something else.",
                "%(n)s people have already voted on this question. Correct its wording if"
                " you need to, but don't change its meaning: start a new conversation to"
                " ask something else.",
                voters,
            ) % {"n": number_format(voters, force_grouping=True)}

    def clean_topic(self) -> str:
        topic = " ".join(self.cleaned_data["topic"].split())
        if len(topic) < 5:
            raise forms.ValidationError(_("Write a question of at least 5 characters."))
        return topic

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("access") == Conversation.Access.CODES and not cleaned.get("code_batch"):
            self.add_error(
                "code_batch",
                _(
                    "Choose the invitation codes that let people take part, or choose another way in."
                ),
            )
        if cleaned.get("access") == Conversation.Access.CODES and not cleaned.get("anonymous"):
            self.add_error("anonymous", CODES_ARE_ANONYMOUS)
        if cleaned.get("access") != Conversation.Access.CODES and not self.fixed:
            # Codes chosen, then another way in: the codes would only be shown beside it.
            # Not kept, and the organiser is told (codes_not_used), not left to wonder.
            self.codes_not_used = cleaned.get("code_batch") is not None
            cleaned["code_batch"] = None
        return cleaned

    codes_not_used = False
    CODES_NOT_USED = _(
        "The invitation codes you chose are not used: people take part by the link or by "
        "signing in, as you chose under 'Who can take part'. To use codes, choose 'People "
        "with an invitation code' there."
    )

    def clean_seed_statements(self) -> list[str]:
        """The non-blank lines, single-spaced. Messages name the line as the textarea
        counts it (blank lines included), so the organiser can find it."""
        errors: list[str] = []
        lines: list[str] = []
        first_line_with: dict[str, int] = {}
        typed = self.cleaned_data["seed_statements"].splitlines()
        for number, raw in enumerate(typed, start=1):
            # As services._clean_statement_text reads it: a line of nothing visible
            # (zero-width spaces) is blank, and a statement needs words.
            line = visible_text(raw)
            if not line:
                continue
            if len(line) > STATEMENT_MAX_LENGTH:
                errors.append(
                    _(
                        "Line %(n)s is longer than %(max)s characters. Shorten it or split it in two."
                    )
                    % {"n": number, "max": STATEMENT_MAX_LENGTH}
                )
            elif not has_words(line):
                errors.append(
                    _("Line %(n)s needs words to vote on: at least %(min)s letters or numbers.")
                    % {"n": number, "min": MIN_WORD_CHARACTERS}
                )
            # The participants' duplicate rule (services.same_words): two statements
            # with the same words would split the votes between them.
            earlier = first_line_with.setdefault(normalise_text(line), number)
            if earlier != number:
                errors.append(
                    _("Lines %(first)s and %(second)s say the same thing: keep one.")
                    % {"first": earlier, "second": number}
                )
            lines.append(line)
        if errors:
            raise forms.ValidationError(errors)
        return lines


class StatementForm(forms.Form):
    # No max_length: it would put maxlength="280" on the box, and a browser then cuts a
    # longer statement pasted in at 280 characters, mid-word and without a word, and
    # stops typing there. The length is checked when sent (clean_text), and the page
    # comes back with the whole text and a message saying how long it is.
    text = forms.CharField(
        label=_("Your statement"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One idea others can agree or disagree with. Up to 280 characters. Do not name"
            " or describe anyone, yourself included (a name, a team, a shift pattern): every"
            " participant reads it."
        ),
        error_messages={"required": _("Write your statement first.")},
    )

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"]
        # Counted as services._clean_statement_text counts it (what is kept: characters
        # that show nothing taken out, spaces and new lines single), so the form and the
        # service agree on what is too long.
        length = len(visible_text(without_direction_controls(text)))
        if length > STATEMENT_MAX_LENGTH:
            raise forms.ValidationError(
                _("Keep it to %(max)s characters so it reads well on a phone. It has %(n)s.")
                % {"max": STATEMENT_MAX_LENGTH, "n": number_format(length, force_grouping=True)}
            )
        return text


class SeedStatementForm(StatementForm):
    is_meta = forms.BooleanField(
        label=_("This is about the conversation itself (shown, but not used for the map)"),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].label = _("Statement")
        self.fields["text"].help_text = _(
            "One idea others can agree or disagree with. Up to 280 characters."
        )


class VoteForm(forms.Form):
    CHOICES = {"agree": 1, "disagree": -1, "pass": 0}

    statement = forms.IntegerField(widget=forms.HiddenInput)
    vote = forms.ChoiceField(
        choices=[(k, k) for k in CHOICES],
        error_messages={"invalid_choice": _("Choose agree, disagree or pass.")},
    )

    @property
    def value(self) -> int:
        return self.CHOICES[self.cleaned_data["vote"]]


def parse_vote(data: Mapping[str, Any]) -> tuple[int, int] | None:
    """(statement id, value) from a vote post, or None. VoteForm's rules without building
    a form: a vote is the hottest request there is, and has only these two fields."""
    raw = data.get("statement", "")
    value = VoteForm.CHOICES.get(data.get("vote", ""))
    # ASCII digits, at most 18 of them: always a valid positive 64-bit primary key.
    if value is None or not isinstance(raw, str) or not (raw.isascii() and raw.isdigit()):
        return None
    if len(raw) > 18 or int(raw) == 0:
        return None
    return int(raw), value


class CodeForm(forms.Form):
    # One message for a code that does not exist and one used already, so that a guesser
    # learns nothing; it helps the honest case, someone who used it on another device.
    REFUSED = _(
        "This code is not valid or has already been used. Check it against your card."
        " If you used it already on another phone or computer, carry on there: each code"
        " works in one browser only."
    )
    code = forms.CharField(
        label=_("Your invitation code"),
        max_length=40,  # room for spaces between the letters, taken out when checked
        # A phone's keyboard would otherwise start it with a capital only, "correct" it
        # into a word, underline it as misspelt or offer a code typed elsewhere; capitals
        # are what the card shows (WCAG 3.3.8: less to get wrong when copying it).
        widget=forms.TextInput(
            attrs={
                "autocapitalize": "characters",
                "autocorrect": "off",
                "spellcheck": "false",
                "autocomplete": "off",
            }
        ),
        help_text=_(
            "The code on your card, like ABCDE-FGH23. Capitals, spaces and dashes don't"
            " matter. It works once, in one browser: to come back, use the same phone or"
            " computer and the same browser."
        ),
        error_messages={
            "required": _("Type the code from your card."),
            # Django's own "Null characters are not allowed." (a "%00" sent with a code)
            # would speak of something the person never typed.
            "null_characters_not_allowed": REFUSED,
        },
    )

    def clean_code(self) -> str:
        # A code typed on a full-width keyboard (Japanese, Chinese) is the same code: its
        # letters and digits in ASCII, which InvitationCode reads (it drops the rest).
        return ascii_forms(self.cleaned_data["code"])


class _TickedStatements(forms.TypedMultipleChoiceField):
    """The statements ticked, as ids. Any id is taken, not only those of the list as it
    is now: a statement ticked on a page loaded before someone else moderated it has
    left the list, and refusing the whole action for it ("Select a valid choice. 30 is
    not one of the available choices.") did nothing and showed a database id. The
    service changes only those still in the list (services.moderate, `still`)."""

    def valid_value(self, value: Any) -> bool:
        text = str(value)
        return text.isascii() and text.isdigit() and 0 < len(text) <= 18


class ModerationForm(forms.Form):
    statements = _TickedStatements(
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Tick at least one statement."),
            "invalid_choice": _("Tick statements from the list."),
        },
    )
    action = forms.ChoiceField(choices=[("accept", _("Accept")), ("reject", _("Reject"))])

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["statements"].choices = choices  # type: ignore[attr-defined]


ZIP_MAGIC = b"PK\x03\x04"


def _is_zip(upload: Any) -> bool:
    upload.seek(0)
    start = upload.read(4)
    upload.seek(0)
    return bool(start == ZIP_MAGIC)


class StatementEditForm(StatementForm):
    """A moderator's change to the words of a statement waiting for moderation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].label = _("Statement")
        self.fields["text"].help_text = _(
            "Change only what needs to change, such as a name or anything else that"
            " points to one person, and keep the point it makes. Up to 280 characters."
        )
        self.fields["text"].error_messages["required"] = _("Write the statement's words.")


class ImportForm(forms.Form):
    """A Polis export as one .zip file (Sayso's own export, or a Polis export zipped) or
    as its CSV files one by one, with the settings the export does not carry."""

    CSV_FIELDS = {
        "comments": "comments.csv",
        "votes": "votes.csv",
        "participants_votes": "participants-votes.csv",
    }

    topic = forms.CharField(
        label=_("Question of the conversation"),
        max_length=200,
        required=False,
        help_text=_(
            "With separate CSV files, write it here: they do not include it. With a .zip"
            " file, you can leave it empty to use the question saved in it (Sayso's exports"
            " and most Polis exports have it); what you write here is used instead."
        ),
        error_messages={
            "max_length": _(
                "Keep the question to %(limit_value)d characters; it has %(show_value)d."
            )
        },
    )
    description = forms.CharField(
        label=_("Background"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Leave it empty to use the background saved in the .zip file, if any."),
    )
    archive = forms.FileField(
        label=_("Export file (.zip)"),
        required=False,
        help_text=_(
            "The .zip file you get when you export a conversation from Sayso, or a Polis"
            " export zipped."
        ),
        widget=forms.FileInput(attrs={"accept": ".zip,application/zip"}),
    )
    comments = forms.FileField(label=_("comments.csv"), required=False)
    votes = forms.FileField(label=_("votes.csv"), required=False)
    participants_votes = forms.FileField(
        label=_("participants-votes.csv"),
        required=False,
        help_text=_("Only needed when the export has no votes.csv."),
    )
    # As on the creation form (ConversationForm): the model's fields, labels and default.
    moderation = Conversation._meta.get_field("moderation").formfield(
        widget=forms.RadioSelect, required=False
    )
    data_practice = forms.ModelChoiceField(
        label=Conversation._meta.get_field("data_practice").verbose_name.capitalize(),
        queryset=DataPractice.objects.none(),
        required=False,
        empty_label=_("Not about one data practice"),
        help_text=_("Optional. Links the results to what the organisation does."),
    )

    CHOOSE_AGAIN = _(
        "Choose the file again: a browser does not keep a chosen file when the page comes"
        " back with a problem."
    )

    def __init__(self, *args: Any, community: Community, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["data_practice"].queryset = DataPractice.objects.filter(  # type: ignore[attr-defined]
            community=community
        ).select_related("organisation")

    def ask_for_files_again(self) -> None:
        """Say, next to each file field a file was chosen in, that it must be chosen
        again: the page came back with a problem, and no browser refills a file field."""
        for name in ("archive", *self.CSV_FIELDS):
            if self.files.get(name):
                # The bound field copied its help text when it was made (in cleaning).
                bound = self[name]
                bound.help_text = (
                    format_html("{} {}", bound.help_text, self.CHOOSE_AGAIN)
                    if bound.help_text
                    else self.CHOOSE_AGAIN
                )

    def clean_moderation(self) -> str:
        # The radio buttons always send one; a post without it (a script) gets the default.
        return self.cleaned_data.get("moderation") or Conversation.Moderation.PRE.value

    NO_QUESTION_IN_CSV = _(
        "Write the question people were asked: separate files do not include it."
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Fields already refused (an empty file, say): no second message that contradicts
        # the first ("Choose the comments.csv file" under "The submitted file is empty.").
        refused = set(self.errors)
        if (
            not self.files.get("archive")
            and any(self.files.get(name) for name in self.CSV_FIELDS)
            and not cleaned.get("topic")
            and "topic" not in refused
        ):
            # Said at once, before any file is read: only a .zip file can carry the
            # question (its summary.csv), and this form takes no summary.csv.
            self.add_error("topic", self.NO_QUESTION_IN_CSV)
        for name in ("archive", *self.CSV_FIELDS):
            upload = cleaned.get(name)
            if upload is not None and upload.size > MAX_UPLOAD_BYTES:
                self.add_error(name, _("This file is larger than 200 MB."))
        csv_files = [name for name in self.CSV_FIELDS if cleaned.get(name)]
        for name in csv_files:
            if name in cleaned and _is_zip(cleaned[name]):
                self.add_error(
                    name,
                    _(
                        "This is a .zip file. Choose it under “Export file (.zip)” instead, or"
                        " unzip it and choose %(file)s here."
                    )
                    % {"file": self.CSV_FIELDS[name]},
                )
        if cleaned.get("archive"):
            if csv_files:
                self.add_error(
                    "archive", _("Choose either the .zip file or the CSV files, not both.")
                )
            return cleaned
        if not csv_files:
            if not refused & {"archive", *self.CSV_FIELDS}:
                self.add_error(
                    "archive", _("Choose the .zip file of the export, or its CSV files below.")
                )
            return cleaned
        if not cleaned.get("comments") and "comments" not in refused:
            self.add_error("comments", _("Choose the comments.csv file from the export."))
        if (
            not cleaned.get("votes")
            and not cleaned.get("participants_votes")
            and not refused & {"votes", "participants_votes"}
        ):
            self.add_error(
                "votes",
                _("Add votes.csv, or participants-votes.csv if the export has no votes.csv."),
            )
        return cleaned

    def polis_files(self) -> dict[str, Any]:
        return {
            file: self.cleaned_data[name]
            for name, file in self.CSV_FIELDS.items()
            if self.cleaned_data.get(name)
        }

    def field_for(self, file: str | None) -> str | None:
        """The field a refused file's message goes next to (None: the whole form). A
        missing question (summary.csv did not give it) goes next to the question."""
        if file == "summary.csv":
            return "topic"
        if self.cleaned_data.get("archive"):
            return "archive"
        names = {file: name for name, file in self.CSV_FIELDS.items()}
        return names.get(file or "")


class CiteForm(forms.Form):
    statement = forms.IntegerField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(
        choices=[("consensus", "consensus"), ("group", "group")], widget=forms.HiddenInput
    )
    group = forms.IntegerField(required=False, widget=forms.HiddenInput)
