"""Spotting personal details in a statement: an email address, a phone number, a UK
postcode, a social media @handle, a person's name. Moderation shows these as hints
beside the duplicate and spam hints, so that an organiser can reject (or, while it
waits, edit) a statement that would name or reach someone before (pre-moderation) or
soon after (post-moderation) everyone sees it. Hints only: nothing is rejected for them.

Django-free and plain: text in, kinds out. A hint only asks an organiser to look, so a
rare miss is acceptable, but ordinary figures in statements ("24/7", "£5.50", dates,
times, years, "9am to 5pm") and ordinary capitals (a sentence's first word, days,
months, "the Data Protection Act") must not be flagged, or the hints stop being read.
"""

from __future__ import annotations

import re

EMAIL = "email"
PHONE = "phone"
POSTCODE = "postcode"
HANDLE = "handle"
NAME = "name"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# Starts with a letter after @, not part of an email address (no word character or dot
# before the @): "@jo_bloggs", not "jo@example.org" nor "meet @ 5".
_HANDLE = re.compile(r"(?<![\w.@])@[A-Za-z][A-Za-z0-9_]{1,29}\b")
# A run of digits with the separators phone numbers are written with (spaces, dashes,
# dots, brackets), optionally after "+". Slashes, commas, colons and currency signs end
# a run, which keeps "24/7", "1,000", "9:30" and "£5.50" out.
_DIGIT_RUN = re.compile(r"(?<![\w+£$€.,/:])\+?\(?\d[\d ().-]*\d(?![\w/:%])")
# UK postcodes as people write them, in capitals: "LS1 4AP", "SW1A 1AA", "M1 1AE".
# Capitals only: lower case "a4 5th" is prose far more often than a postcode.
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}\b")
_YEAR = re.compile(r"(?:19|20)\d\d")
# A date or a clock time written with the separators a phone number can have too, so a
# run holds it: "05.01.2024", "2024-01-05", "05-01-24", "09.00", "9:30:15", "09.00-17.30".
# Each part must be a possible day, month, hour or minute: "01.23.45.67.89" (a French
# number) is not a date. Day and month may come in either order.
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DATE = rf"(?:{_DAY}[./-]{_DAY}[./-](?:19|20)?\d\d|(?:19|20)\d\d[./-]{_MONTH}[./-]{_DAY})"
_TIME = r"(?:[01]?\d|2[0-3])[.:][0-5]\d(?:[.:][0-5]\d)?"
_DATE_OR_TIME = re.compile(rf"{_DATE}(?:-{_DATE})?|{_TIME}(?:-{_TIME})?")


def _looks_like_phone(run: str) -> bool:
    digits = re.sub(r"\D", "", run)
    if run.startswith(("+", "0", "(")):
        # "+44 7700 900123", "07700 900123", "(0113) 496 0000": 9 to 15 digits.
        return 9 <= len(digits) <= 15
    groups = re.split(r"[ ().-]+", run.strip("()"))
    if all(_YEAR.fullmatch(g) for g in groups):
        return False  # "2023 2024 2025": years, not a number to call
    # Without a leading 0 or +: 10 or 11 digits, as North American and many other
    # numbers have ("555-123-4567"). Shorter runs are amounts, dates and times.
    return 10 <= len(digits) <= 11


def _holds_phone(run: str) -> bool:
    """A date or time in a run splits it: "05.01.2024 09.00" would otherwise read as 12
    digits starting with 0, a phone number. What stands either side is judged alone, so
    "07700 900123 09.00" still holds a phone number."""
    parts: list[list[str]] = [[]]
    for chunk in run.split():
        if _DATE_OR_TIME.fullmatch(chunk.strip("()")):
            parts.append([])
        else:
            parts[-1].append(chunk)
    return any(part and _looks_like_phone(" ".join(part)) for part in parts)


# --- names ----------------------------------------------------------------------------
#
# A name has no pattern of its own, so only a few conservative signs count:
#   1. a title before a capitalised word: "Mr Patel", "Dr. Jones", "Mrs O'Brien",
#      "Pani Nowak"; and "mr", "mrs", "ms", "mx", "dr" before a word in small letters
#      ("mr patel", "Dr jones"), since names typed on a phone often are;
#   2. a role word before a capitalised word: "my manager Dave", "supervisor Karen
#      Smith", "our boss, Jeff"; and after "my", "our", "the" (or at a sentence's
#      start) before a word in small letters that is not one ordinary statements put
#      there ("our shift manager priya patel watches", but not "my manager said no"
#      nor "the supervisor role"): _small_name_after_role;
#   3. two or three capitalised words in a row: "everyone knows Karen Smith reads
#      them", and at a sentence's start too ("Tom Baker reads them", "Agnieszka
#      Kowalska z nocnej zmiany") unless the first word is one that sentences often
#      start with (_SENTENCE_OPENERS: "Since Black Friday ...", "Yesterday Karen ...",
#      where only the words after it count). Particles inside a name ("Dylan ap Rhys",
#      "Vincent van Gogh", "Maria de la Cruz") do not break the run.
#   4. one capitalised word, even a sentence's first, then "from", "in", "on" or "at"
#      and a particular place in a workplace: "Mohammed from aisle 12", "Tom on
#      nights", "Karen in HR", "Sam from the night shift" (_named_by_place). A bare
#      "from the warehouse" is not particular enough: "Noise in the warehouse".
# Not names: days and months, "I'm", words written in capitals ("NHS"), runs of four or
# more capitalised words (headings), runs after "the", "a" or "an" ("the Smart
# Scanner"), and runs holding a word that organisations, places, laws and products are
# named with ("Amazon Web Services", "the Data Protection Act", "Human Resources",
# "Microsoft Teams", "Tower Bridge Road"). The trade-off: a company, product or place
# named with other words ("we use Google Maps", "in Leeds Kirkgate", "Google Maps
# tracks us"), or a statement written in title case that starts with a word the list
# does not hold ("Pick Rates are too high"), is flagged. Listing every brand, place
# and opening word cannot be done, and a hint that asks an organiser to look twice
# costs less than a name that slips by.

_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")  # after _APOSTROPHES
# Written as people write them, capitals and all ("Mr", "Dr."): lower case "miss" and
# "sir" are ordinary words ("we miss London").
# "Pan" and "Pani" are the Polish "Mr" and "Mrs" (Welsh "pan", "when", is followed by a
# small letter, which no title rule takes).
_TITLES = frozenset(
    {
        "Mr", "Mrs", "Ms", "Mx", "Miss", "Dr", "Prof", "Professor", "Sir", "Dame", "Lord",
        "Lady", "Pan", "Pani",
    }
)  # fmt: skip
_ROLES = frozenset(
    {
        "manager", "supervisor", "boss", "gaffer", "foreman", "forewoman", "director",
        "leader", "teamleader", "lead", "coordinator", "co-ordinator", "controller",
        "colleague", "coworker", "co-worker", "workmate", "landlord", "landlady",
        "caseworker", "officer", "steward", "rep", "trainer", "owner", "ceo", "chief",
        "nurse", "doctor", "consultant", "teacher", "headteacher", "neighbour", "agent",
    }
)  # fmt: skip
# Capitalised at the start of a sentence, never a name: they break a run of capitals.
_NOT_NAMES = frozenset(
    {
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "mondays", "tuesdays", "wednesdays", "thursdays", "fridays", "saturdays", "sundays",
        "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december",
        "i'm", "i've", "i'd", "i'll",
        "the", "a", "an", "and", "or", "but", "if", "when", "while", "because", "so",
        "we", "you", "they", "he", "she", "it", "our", "my", "your", "their", "his",
        "her", "its", "this", "that", "these", "those", "there", "here", "why", "what",
        "who", "how", "where", "which", "no", "not", "yes", "please", "all", "every",
        "some", "any", "more", "most", "only", "also", "as", "at", "in", "on", "for",
        "to", "of", "by", "with", "from", "do", "does", "don't", "should",
        "must", "can", "will", "would", "could", "is", "are", "be", "have", "has",
        "let", "stop", "ok", "okay", "hi", "hello", "thanks", "sorry",
    }
)  # fmt: skip
# What organisations, places, laws and products are named with: a run holding one is
# not a person's name.
_NAMING_WORDS = frozenset(
    {
        "services", "service", "web", "cloud", "online", "digital", "app", "apps",
        "software", "system", "systems", "platform", "portal", "teams", "office",
        "council", "trust", "bank", "university", "college", "school", "academy",
        "hospital", "clinic", "surgery", "group", "company", "ltd", "limited", "plc",
        "inc", "llc", "corp", "corporation", "department", "ministry", "agency",
        "authority", "commission", "commissioner", "committee", "board", "union",
        "association", "society", "foundation", "institute", "centre", "center",
        "network", "partnership", "federation", "fund", "club", "party", "government",
        "parliament", "court", "police", "act", "regulation", "regulations", "law",
        "bill", "directive", "code", "policy", "charter", "standard", "data",
        "protection", "privacy", "information", "access", "request", "rights", "health",
        "care", "social", "national", "international", "global", "general", "royal",
        "united", "kingdom", "states", "new", "north", "south", "east", "west",
        "northern", "southern", "eastern", "western", "central", "street", "road",
        "lane", "avenue", "square", "park", "station", "airport", "house", "building",
        "estate", "city", "town", "county", "borough", "district", "england",
        "scotland", "wales", "ireland", "britain", "british", "english", "scottish",
        "welsh", "irish", "european", "europe", "america", "american", "human",
        "resources", "management", "manager", "supervisor", "director", "officer",
        "managers", "supervisors", "leaders", "directors", "officers", "workers",
        "drivers", "pickers", "staff", "team", "leader", "shift", "night", "day",
        "morning", "afternoon", "evening",
        "christmas", "easter", "holiday", "week", "weekend", "express", "mail", "post",
        "news", "times", "tv", "radio", "maps", "drive", "pay", "prime", "store",
        "stores", "market", "warehouse", "depot", "logistics", "solutions",
        "technologies", "tech", "analytics", "labs", "media", "energy", "gas", "water",
        "power", "rail", "transport", "airways", "airlines", "motors", "foods", "retail",
        "supermarket", "scanner", "scanners", "camera", "cameras", "tracker", "tracking",
        "rd", "ln", "ave", "blvd", "st", "co", "river", "lake", "hill", "mountain",
        "trail", "island", "bridge", "church", "elementary", "program", "programme",
        "course", "classes", "education", "grant", "grants", "centres", "centers",
        "days", "matter", "lives",
    }
)  # fmt: skip
_ARTICLES = frozenset({"the", "a", "an"})
# Words that often open a statement, capitalised only because they do: at a sentence's
# start such a word does not count towards a name ("Since Black Friday the targets went
# up", "Delete Everything ..."), though the words after it still do ("Yesterday Karen
# Smith shouted"). Words in _NOT_NAMES (The, We, Our, I, This, My, A, An, If, When ...)
# never start a run, and a run holding a word in _NAMING_WORDS ("Managers Should ...",
# "Staff Rotas ...") is no name anywhere, so neither needs a place here. English, then
# Welsh, then Polish; a short list of the commonest, not every word a sentence can
# start with.
_SENTENCE_OPENERS = frozenset(
    {
        "since", "after", "before", "during", "until", "unless", "although", "though",
        "yesterday", "today", "tomorrow", "tonight", "last", "next", "then", "now",
        "even", "just", "maybe", "perhaps", "instead", "without", "under", "over",
        "once", "everyone", "everybody", "nobody", "people", "bosses", "employers",
        "members", "colleagues", "tenants", "patients", "residents", "delete", "keep",
        "ban", "give", "make", "tell", "ask", "use", "end", "publish", "share", "show",
        "allow", "limit", "scrap", "protect", "respect", "consult", "treat", "involve",
        "get", "put", "explain", "start", "create",
        "establish", "implement", "introduce", "increase", "reduce", "improve",
        "provide", "support", "require", "build", "fund", "remove", "go", "vote",
        "both", "each", "many", "few", "several", "other", "another", "such", "too",
        "very", "much", "nothing", "everything", "something", "someone", "anyone",
        # Welsh: is, was, will be, should, we are, I am, our, my, your, if, why, how,
        # where, not, we, with, without, before, on, in, every, everyone, I would like.
        "mae", "mae'n", "roedd", "bydd", "dylai", "dylid", "dylen", "rydym", "rydyn",
        "rwy", "rwy'n", "dw", "dwi", "ein", "fy", "eich", "os", "pam", "sut", "ble",
        "nid", "ni", "gyda", "heb", "cyn", "ar", "yn", "pob", "pawb", "hoffwn",
        # Polish: our, my, if, when, this, these, not, yes, I, why, how, what, who,
        # where, everyone, every, workers, managers, employer, data, from, after,
        # before, without, for, we should, we want, please, today, yesterday, always,
        # never.
        "nasz", "nasza", "nasze", "nasi", "mój", "moja", "moje", "jeśli", "jeżeli",
        "kiedy", "gdy", "gdyby", "to", "ten", "ta", "te", "ci", "nie", "tak", "ja",
        "czy", "dlaczego", "jak", "co", "kto", "gdzie", "wszyscy", "każdy",
        "pracownicy", "kierownicy", "kierownictwo", "pracodawca", "dane", "od", "po",
        "przed", "bez", "dla", "powinniśmy", "chcemy", "proszę", "dzisiaj", "wczoraj",
        "zawsze", "nigdy",
    }
)  # fmt: skip
# Small words inside a name, written in small letters, that join its capitalised parts
# ("Dylan ap Rhys", "Vincent van Gogh", "Maria de la Cruz"): between two capitalised
# words they do not break a run. Elsewhere they are ordinary words.
_PARTICLES = frozenset(
    {
        "ap", "ab", "ferch", "verch", "van", "von", "der", "den", "de", "da", "di", "du",
        "del", "della", "la", "le", "dos", "das", "bin", "ibn", "al", "el",
    }
)  # fmt: skip
# Between two words, what starts a new sentence (or a quotation, a list item).
_SENTENCE_BREAK = re.compile("[.!?\u2026:;\"\u201c\u201d'(\\[\n\u2022*]")
# Curly apostrophes and single quotes read as straight ones (U+2019 in "I am" shortened).
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})


def _capitalised(word: str) -> bool:
    """Written like a name: a capital, then a small letter or an apostrophe ("Karen",
    "O'Brien", "McDonald"); not "NHS", "LEDs", "I" or "iPhone"."""
    return (
        len(word) > 1
        and word[0].isupper()
        and (word[1].islower() or word[1] == "'")
        and word.casefold() not in _NOT_NAMES
    )


def _joins(gap: str) -> bool:
    """Only spaces between two words keep them in one run: a comma, a full stop or a
    new line ends it."""
    return gap.isspace() and "\n" not in gap


# Titles as they are often typed on a phone, in small letters too ("mr patel"). Only
# these: "miss", "sir", "lord" and the Polish "pan" are ordinary words in small letters.
_SMALL_TITLES = frozenset({"mr", "mrs", "ms", "mx", "dr"})
# Before a role word (up to three words before it: "our shift manager"), what makes
# the word after the role a person rather than something the role does.
_POSSESSIVES = frozenset({"my", "our", "the", "your", "their", "his", "her"})
# Words in small letters that ordinary statements put after a role word or a title
# ("my manager said no", "the supervisor role", "our boss never listens", "ms teams"),
# besides those of _NOT_NAMES, _SENTENCE_OPENERS, _NAMING_WORDS and _ROLES.
_NOT_NAMES_AFTER_ROLE = frozenset(
    {
        "was", "were", "been", "being", "had", "did", "may", "might", "shall", "cannot",
        "cant", "can't", "won't", "wont", "doesn't", "doesnt", "didn't", "didnt",
        "isn't", "isnt", "wasn't", "wasnt", "aren't", "arent", "don't", "dont",
        "hasn't", "hasnt", "haven't", "havent", "wouldn't", "wouldnt", "shouldn't",
        "shouldnt", "couldn't", "couldnt", "he's", "she's", "who's", "whose", "whom",
        "i", "me", "him", "them", "us", "than", "about", "into", "onto", "up", "down",
        "out", "off", "away", "back", "or", "nor", "yet", "either", "neither",
        "whether", "rather", "like", "unlike", "always", "never", "often", "sometimes",
        "already", "still", "again", "also", "ever", "soon", "later", "first", "said",
        "told", "asked", "knew", "saw", "got", "made", "gave", "took", "sent", "kept",
        "thought", "felt", "left", "let", "set", "put", "say", "tell", "know", "see",
        "look", "check", "watch", "read", "want", "need", "think", "feel", "seem", "try",
        "take", "decide", "care", "hate", "love", "role", "roles", "position",
        "job", "jobs", "level", "levels", "title", "meeting", "meetings", "dashboard",
        "account", "report", "reports", "review", "reviews", "screen", "view",
        "decision", "decisions", "approval", "side", "training", "bonus", "rota",
        "rotas", "role's", "himself", "herself", "themselves", "personally", "alone",
        "only", "too", "etc", "what", "whatever", "whoever", "here", "there",
        "executive", "assistant", "deputy", "secretary", "clerk", "worker", "staff",
        "however", "therefore", "meanwhile", "anyway", "otherwise",
    }
)  # fmt: skip
# A particular place in a workplace, after "from", "in", "on" or "at": a unit with its
# number or letter ("aisle 12", "team B"), a named shift, team or crew ("the night
# shift"), or a department ("nights", "HR", "accounts"). "From the warehouse" alone
# says too little: "Noise in the warehouse", "Data from the depot".
_PARTICULAR_PLACE = re.compile(
    r",?\s+(?:from|in|on|at)\s+(?:(?:the|our|my)\s+)?(?:"
    r"(?:aisle|bay|dock|door|gate|zone|line|section|unit|area|floor|team|shift|site"
    r"|depot|store|branch|ward|desk|till|van|route|block|lane|pod|cell|station|room"
    r"|crew|cage|belt)s?\s+(?:\d+[a-z]?|[a-z])\b"
    r"|[^\W\d_]+\s+(?:shift|team|crew)\b"
    r"|(?:nights|days|lates|earlies|weekends|hr|accounts|payroll|dispatch|despatch"
    r"|reception|security|maintenance|goods[- ]in|goods[- ]out|packing|picking"
    r"|returns|loading|admin|finance|upstairs|downstairs)\b)",
    re.IGNORECASE,
)
# Capitalised words that open such a sentence and are no name ("Noise on nights",
# "Feedback from the night shift"): common nouns a suffix does not already mark.
_NOT_NAMES_BEFORE_PLACE = frozenset(
    {
        "work", "life", "overtime", "feedback", "input", "help", "noise", "safety",
        "rules", "temps", "cover", "absence", "leave", "abuse", "stress", "heat",
        "cold", "morale", "transparency", "equipment", "workload", "music", "lighting",
        "food", "space", "time", "money", "monitoring", "surveillance",
        "conditions", "everything", "anything", "nothing", "somebody", "anybody",
        "visibility", "consistency", "accountability", "privacy", "fairness", "pressure",
    }
)  # fmt: skip
# Endings of common nouns, seldom of first names: "Training on nights", "Management
# in HR", "Pressure from the night shift". Plurals too ("Breaks on nights"), but for
# "-is" and "-us" (Chris, Lewis, Marcus).
_NOUN_ENDINGS = ("ing", "tion", "sion", "ment", "ness", "ity", "ure", "ship", "ism", "ance")


def _small_name_like(word: str) -> bool:
    """A word in small letters that could be a first name or a surname after a role
    word or a title: not a word ordinary statements put there, nor a verb or adverb
    by its ending ("watches" is judged by the word after it, in _small_name_after)."""
    folded = word.casefold()
    return (
        len(word) > 1
        and word.islower()
        and folded not in _NOT_NAMES
        and folded not in _SENTENCE_OPENERS
        and folded not in _NAMING_WORDS
        and folded not in _ROLES
        and folded not in _NOT_NAMES_AFTER_ROLE
        and not folded.endswith(("ly", "ed", "'s", *_NOUN_ENDINGS))
    )


def _small_name_after(
    words: list[tuple[str, int, int]], gaps: list[str], i: int, *, title: bool = False
) -> bool:
    """Whether the word after words[i] (a role word or a title) reads as a name in small
    letters: "priya patel", "dave". After a role word, one ending in "s" ("watches",
    "james") counts only with a second name-like word after it ("james smith", not
    "watches us"); after a title it is a surname ("dr jones")."""
    if i + 1 >= len(words) or not re.fullmatch(r"[.,]?\s+", gaps[i + 1]):
        return False
    first = words[i + 1][0]
    if not _small_name_like(first):
        return False
    if title or not first.endswith("s"):
        return True
    return (
        i + 2 < len(words)
        and _joins(gaps[i + 2])
        and _small_name_like(words[i + 2][0])
        and not words[i + 2][0].endswith("s")
    )


def _small_name_after_role(words: list[tuple[str, int, int]], gaps: list[str], i: int) -> bool:
    """words[i] is a role word: "my/our/the [shift] manager priya patel", or a role
    word opening a sentence ("Shift manager dave ...")."""
    k = i
    while True:
        if k == 0 or _SENTENCE_BREAK.search(gaps[k]):
            # The sentence starts at words[k]: "Manager dave", "Shift manager dave", but
            # not "Scientists should lead federal agencies".
            if i - k > 1:
                return False
            break
        if not _joins(gaps[k]) or i - k >= 3:
            return False
        k -= 1
        if words[k][0].casefold() in _POSSESSIVES:
            break
    return _small_name_after(words, gaps, i)


def _named_by_place(word: str, after: str) -> bool:
    """A capitalised word followed by a particular place: "Mohammed from aisle 12"."""
    folded = word.casefold()
    if (
        not _capitalised(word)
        or folded in _NAMING_WORDS
        or folded in _SENTENCE_OPENERS
        or folded in _ROLES
        or folded in _NOT_NAMES_BEFORE_PLACE
        or folded.endswith(_NOUN_ENDINGS)
        or (folded.endswith("s") and not folded.endswith(("is", "us")))
    ):
        return False
    return _PARTICULAR_PLACE.match(after) is not None


def _names_someone(text: str) -> bool:
    text = text.translate(_APOSTROPHES)
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    gaps = [
        text[words[i - 1][2] : start] if i else text[:start]
        for i, (_w, start, _e) in enumerate(words)
    ]
    for i, (word, _start, end) in enumerate(words):
        if word.casefold() in _SMALL_TITLES and _small_name_after(words, gaps, i, title=True):
            # "mr patel", "Dr jones": a title then a name in small letters (not the
            # Polish "Pan": the Welsh "Pan fydd ..." is "when ...").
            return True
        if word.casefold() in _ROLES and _small_name_after_role(words, gaps, i):
            return True  # "our shift manager priya patel"
        if _named_by_place(word, text[end : end + 60]):
            return True  # "Mohammed from aisle 12"
    for i in range(1, len(words)):
        word, gap, before = words[i][0], gaps[i], words[i - 1][0]
        if not _capitalised(word) or word.casefold() in _NAMING_WORDS:
            continue
        if before in _TITLES and re.fullmatch(r"\.?\s+", gap):
            return True  # "Mr Patel", "Dr. Jones"
        if before.casefold() in _ROLES and re.fullmatch(r",?\s+", gap):
            return True  # "manager Dave", "boss, Jeff"
    i = 0
    while i < len(words):
        if not _capitalised(words[i][0]):
            i += 1
            continue
        end = i
        while True:
            j = end + 1
            while j < len(words) and words[j][0] in _PARTICLES and _joins(gaps[j]):
                j += 1  # "Dylan ap Rhys": the particle joins two capitalised words
            if j < len(words) and _capitalised(words[j][0]) and _joins(gaps[j]):
                end = j
            else:
                break
        # The capitalised words of the run, without the particles between them.
        run = [w for w, _s, _e in words[i : end + 1] if w not in _PARTICLES]
        starts_sentence = i == 0 or bool(_SENTENCE_BREAK.search(gaps[i]))
        after_article = i > 0 and gaps[i].isspace() and words[i - 1][0].casefold() in _ARTICLES
        opener = starts_sentence and run[0].casefold() in _SENTENCE_OPENERS
        named = len(run) - opener
        if (
            named >= 2
            and len(run) <= 3
            and not after_article
            and not any(w.casefold() in _NAMING_WORDS for w in run)
        ):
            return True
        i = end + 1
    return False


def personal_details(text: str) -> tuple[str, ...]:
    """The kinds of personal detail the text seems to hold, in a fixed order (EMAIL,
    PHONE, POSTCODE, HANDLE, NAME), each at most once; empty when none."""
    found = []
    if _EMAIL.search(text):
        found.append(EMAIL)
    without_emails = _EMAIL.sub(" ", text)
    if any(_holds_phone(m.group()) for m in _DIGIT_RUN.finditer(without_emails)):
        found.append(PHONE)
    if _POSTCODE.search(without_emails):
        found.append(POSTCODE)
    if _HANDLE.search(without_emails):
        found.append(HANDLE)
    if _names_someone(without_emails):
        found.append(NAME)
    return tuple(found)
