"""An article's terms: its content words, each counted, stemmed, and marked where it occurs as
a name, for grouping different coverage of one event (the judge weighs them: ``salience``).

Capitalisation marks names in English; in German every noun is capitalised, so there a name is
a capitalised word that no article or adjective makes a common noun.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import compress

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


def _stem(term: str) -> str:
    """Strip one inflection ending, so "Gespräche"/"Gespräch" and "talks"/"talk" meet."""
    if len(term) >= 6:
        for ending in ("es", "en", "s", "e", "n"):
            if term.endswith(ending):
                return term[: -len(ending)]
    return term


# German nouns come after an article or an adjective ("der Krieg", "russischen Außenminister");
# a capitalised word inside a sentence after anything else ("mit Lawrow", "in Riad", "Sergei
# Lawrow") is most likely a name.
_DETERMINERS = _word_set(
    """
    der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner
    sein seine seinen seinem seiner ihr ihre ihren ihrem ihrer unser unsere dieser diese diesen
    diesem dieses jeder jede jeden jedem alle allen beiden zwei drei vier viele vielen mehrere
    einige
    """
)


def _german_name_cue(previous: str) -> bool:
    form = normalize(previous)
    if form in _DETERMINERS:
        return False
    return not (previous[:1].islower() and form.endswith(("e", "en", "er", "es", "em")))


def _term(form: str) -> str:
    """The term a word counts as, its possessive left off ("Rutte's" counts as "rutte"); empty
    for stop words and words under 3 letters."""
    if form.endswith("'s"):
        form = form[:-2]
    return "" if len(form) < 3 or form in _STOP else _stem(form)


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

    def __init__(self) -> None:
        self.term: dict[str, str] = {}
        self.vote: dict[str, int] = {}  # +1 an English stop word, -1 a German one, else 0
        self.capital: dict[str, bool] = {}  # a capitalised content word: maybe a name

    def learn(self, words: list[str]) -> None:
        new = set(words).difference(self.term)
        if len(self.term) + len(new) > self.LIMIT:
            self.term.clear()
            self.vote.clear()
            self.capital.clear()
            new = set(words)
        for word in new:
            form = normalize(word)
            term = _term(form)
            self.term[word] = term
            self.vote[word] = (form in _ENGLISH) - (form in _GERMAN)
            self.capital[word] = bool(term) and word[0].isupper()

    def count(self, text: str, title: str | None = None) -> tuple[Counter[str], set[str]]:
        """Each content term's count, and the terms that occur as names (capitalised inside a
        sentence; in German, only where no article or adjective makes it a common noun)."""
        full = f"{title}.\n{text}" if title else text
        # Words and the text between them in one pass: match objects would cost more than the
        # words, and only capitalised words need to know what comes before them.
        parts = (_ASCII_SPLIT if full.isascii() else _SPLIT).split(full)
        words = parts[1::2]
        vocabulary = self
        vocabulary.learn(words)
        english = sum(map(vocabulary.vote.__getitem__, words[:400])) >= 0  # no more German
        named: set[str] = set()
        for n in compress(range(len(words)), map(vocabulary.capital.__getitem__, words)):
            term = vocabulary.term[words[n]]
            if n == 0 or term in named:
                continue
            gap = parts[2 * n]
            # A word ends in a letter or digit, so only the gap can end a sentence; a gap and
            # word shorter than three characters reach back further (to a line's start, say).
            if _opens_sentence(
                gap[-3:] if len(gap) + len(words[n - 1]) >= 3 else _before(parts, 2 * n + 1)
            ):
                continue
            if english or _german_name_cue(words[n - 1]):
                named.add(term)
        counts = Counter(map(vocabulary.term.__getitem__, words))
        del counts[""]
        return counts, named
