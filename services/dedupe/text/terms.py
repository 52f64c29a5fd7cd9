"""An article's terms: its content words, each counted as its lemma and marked where it occurs
as a name, for grouping different coverage of one event (the judge weighs them: ``salience``).

A word's term is its dictionary form in the article's language (simplemma's German or English
lemmas: "Sanktionen" and "Sanktion" meet, as do "talks" and "talk"), normalised and without
hyphens ("Hitler-Gruß" and "Hitlergruß" meet). Each term keeps the form a reader knows: its
lemma as the article writes it most often ("Gespräch", "Lawrow").

Capitalisation marks names in English; in German every noun is capitalised, so there a name is a
capitalised word that no article, contraction or adjective makes a common noun, and that does
not end as only common nouns do ("-ung", "-heit", "-schaft", ...).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import compress

import simplemma

from services.dedupe.text.normalize import normalize

_WORD = r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]"
_SPLIT = re.compile(f"({_WORD})")  # words at odd positions, the text between at even ones
# The same split of ASCII text (most English news), faster: no Unicode tables.
_ASCII_SPLIT = re.compile(f"({_WORD})", re.ASCII)
_SENTENCE_END = re.compile(r"[.!?:\"“”„]\s*$")


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_GERMAN = _word_set(
    """
    aber alle allem allen aller alles als also am an ander andere anderen auch auf aus bei
    beim bereits bis bisher bin bist da dabei dadurch dafuer dagegen daher damit dann darauf
    darum das dass dem den denen denn der deren des deshalb dessen die dies diese diesem
    diesen dieser dieses doch dort du durch ein eine einem einen einer eines einige er es
    etwa euch fuer gegen gewesen gibt habe haben hat hatte hatten hier hin hinter ich ihm
    ihn ihnen ihr ihre ihrem ihren ihrer im immer in ins ist ja jede jedoch jetzt kann kein
    keine koennen konnte man mehr mehrere mit muss nach nicht nichts noch nun nur ob oder
    ohne schon sehr sei seien sein seine seinem seinen seiner seit sich sie sind so solche
    soll sollen sollte sondern sowie ueber um und uns unter vom von vor waehrend war waren
    was weil weiter weitere welche wenn wer werde werden wie wieder will wir wird wurde
    wurden zu zum zur zwar zwischen sagte sagt heute gestern morgen jahr jahre jahren erste
    ersten ersten neue neuen mal dazu laut demnach sowohl einen wegen unter etwa rund gut
    ganz viele vielen eigenen wuerde wuerden beide beiden unser unsere unseren erklaert
    erklaerte stark starke staerker schwierig gemeinsam gemeinsame aeusserte betonte betont
    sagen gesagt meinte teil seite seiten montag dienstag mittwoch donnerstag freitag
    samstag sonntag januar februar maerz april mai juni juli august september oktober
    november dezember uhr prozent woche wochen tag tage tagen monat monaten zeit beim kommen
    kommt geht gehen steht stehen liegt lassen machen macht gemacht moeglich moeglichen
    wichtig wichtige wichtigen groesste grosse grossen neuen neues letzte letzten naechste
    naechsten weiterhin zudem allerdings bislang derzeit dabei darueber daran deutlich klar
    weg fall frage fragen ziel ende beginn anfang
    """
)
_ENGLISH = _word_set(
    """
    a about after again against all also an and any are as at be because been before being
    between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just more
    most my no nor not now of off on once only or other our out over own said same she
    should so some such than that the their them then there these they this those through to
    too under until up very was we were what when where which while who whom why will with
    would you your says say told according also new one two three first last year years time
    week weeks monday tuesday wednesday thursday friday saturday sunday mr mrs ms people
    would could many much may might must like well back still even made make get going since
    around january february march april june july august september october november december
    percent today yesterday tomorrow including however while among several another just
    later earlier
    """
)
_STOP = {normalize(w) for w in _GERMAN | _ENGLISH}


# German nouns come after an article or an adjective ("der Krieg", "russischen Außenminister");
# a capitalised word inside a sentence after anything else ("mit Lawrow", "in Riad", "Sergei
# Lawrow") is most likely a name.
_DETERMINERS = _word_set(
    """
    der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner
    sein seine seinen seinem seiner ihr ihre ihren ihrem ihrer unser unsere dieser diese diesen
    diesem dieses jeder jede jeden jedem alle allen beiden zwei drei vier viele vielen mehrere
    einige im am zum zur vom beim ins ans aufs durchs fuers uebers ums
    """
)
# Endings of German common nouns (and of no name): "Lockerung", "Freiheit", "Botschaft".
_COMMON_NOUN_ENDINGS = (
    "ung", "ungen", "heit", "heiten", "keit", "keiten", "schaft", "schaften", "tion", "tionen",
    "nis", "nisse", "tum", "ismus", "taet", "taeten", "ling", "linge",
)  # fmt: skip


def _german_name_cue(previous: str) -> bool:
    form = normalize(previous)
    if form in _DETERMINERS:
        return False
    return not (previous[:1].islower() and form.endswith(("e", "en", "er", "es", "em")))


def _lemma(word: str, language: str) -> tuple[str, str]:
    """The term a word counts as and the form it is shown in, its possessive left off ("Rutte's"
    counts as "rutte"); the term is empty for stop words and words under 3 letters."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) < 3 or normalize(word) in _STOP:
        return "", ""
    shown = simplemma.lemmatize(word, lang=language)
    term = normalize(shown).replace("-", "")
    return ("", "") if len(term) < 3 or term in _STOP else (term, shown)


@dataclass(frozen=True)
class CountedTerms:
    counts: Counter[str]  # each term's count, in the order of first occurrence
    named: set[str]  # the terms that occur as names
    shown: dict[str, str]  # each term as a reader knows it: its most frequent written form


def _before(parts: list[str], word: int) -> str:
    """The three characters before ``parts[word]`` in the text ``parts`` was split from."""
    before = parts[word - 1]
    while len(before) < 3 and word > 1:
        word -= 1
        before = parts[word - 1] + before
    return before[-3:]


def _opens_sentence(before: str) -> bool:
    """Whether a word after these characters starts a sentence (or a line)."""
    return "\n" in before or _SENTENCE_END.search(before) is not None


class TermCounter:
    """Counts an article's terms, with what it needs of each distinct word in plain dicts read
    by C-level ``map`` (an article has hundreds of words, and a function call per word would cost
    more than the counting). A stream's vocabulary keeps growing (names, typos), so the dicts
    are emptied when full. One per process that does text work: the dicts only remember, so
    two counters count alike."""

    LIMIT = 1 << 17
    LANGUAGES = ("en", "de")

    def __init__(self) -> None:
        # simplemma reads a language's dictionary at its first word of that language, which
        # takes a while: read here, when the process starts, no article waits for it.
        for language in self.LANGUAGES:
            simplemma.lemmatize("Gespräche", lang=language)
        self.vote: dict[str, int] = {}  # +1 an English stop word, -1 a German one, else 0
        self.capital: dict[str, bool] = {}  # a capitalised word: maybe a name
        # Per language: each word's term and shown form, and whether it may be a German name.
        self.term: dict[str, dict[str, str]] = {lang: {} for lang in self.LANGUAGES}
        self.shown: dict[str, dict[str, str]] = {lang: {} for lang in self.LANGUAGES}
        self.german_name: dict[str, bool] = {}

    def _clear(self) -> None:
        self.vote.clear()
        self.capital.clear()
        self.german_name.clear()
        for language in self.LANGUAGES:
            self.term[language].clear()
            self.shown[language].clear()

    def _language(self, words: list[str]) -> str:
        """Learns what any word needs in either language; says which language the text is in."""
        new = set(words).difference(self.vote)
        if len(self.vote) + len(new) > self.LIMIT:
            self._clear()
            new = set(words)
        for word in new:
            form = normalize(word)
            self.vote[word] = (form in _ENGLISH) - (form in _GERMAN)
            self.capital[word] = word[0].isupper()
        return "en" if sum(map(self.vote.__getitem__, words[:400])) >= 0 else "de"

    def _learn(self, words: list[str], language: str) -> None:
        term, shown = self.term[language], self.shown[language]
        for word in set(words).difference(term):
            term[word], shown[word] = _lemma(word, language)
            if language == "de":
                self.german_name[word] = not term[word].endswith(_COMMON_NOUN_ENDINGS)

    def count(self, text: str, title: str | None = None) -> CountedTerms:
        """Each content term's count, the terms that occur as names (capitalised inside a
        sentence; in German, only where no article or adjective makes it a common noun), and
        each term's shown form."""
        full = f"{title}.\n{text}" if title else text
        # Words and the text between them in one pass: match objects would cost more than the
        # words, and only capitalised words need to know what comes before them.
        parts = (_ASCII_SPLIT if full.isascii() else _SPLIT).split(full)
        words = parts[1::2]
        language = self._language(words)
        self._learn(words, language)
        term_of = self.term[language]
        english = language == "en"
        named: set[str] = set()
        for n in compress(range(len(words)), map(self.capital.__getitem__, words)):
            term = term_of[words[n]]
            if not term or n == 0 or term in named:
                continue
            gap = parts[2 * n]
            # A word ends in a letter or digit, so only the gap can end a sentence; a gap and
            # word shorter than three characters reach back further (to a line's start, say).
            if _opens_sentence(
                gap[-3:] if len(gap) + len(words[n - 1]) >= 3 else _before(parts, 2 * n + 1)
            ):
                continue
            if english or (self.german_name[words[n]] and _german_name_cue(words[n - 1])):
                named.add(term)
        terms = list(map(term_of.__getitem__, words))
        counts = Counter(terms)
        del counts[""]
        shown: dict[str, str] = {}
        for (term, form), _ in Counter(zip(terms, map(self.shown[language].__getitem__, words),
                                           strict=True)).most_common():  # fmt: skip
            if term:
                shown.setdefault(term, form)
        return CountedTerms(counts, named, shown)
