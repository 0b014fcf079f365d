"""Profanity and spam rules for Russian and English reviews.

Text is folded before matching (lower case, ё as е, look-alike letters of the other
script mapped, `*`, `@` and `0` inside words read as letters, separators inside a
word dropped), so "f*ck", "х у й" or a Cyrillic word with a Latin "x" are caught.
Patterns are anchored at word starts: "хуже", "учеба" and "Scunthorpe" pass.
Each rule names its reason; the classifier turns reasons into a decision.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

# Latin letters that look like Cyrillic ones, and the reverse.
_TO_CYRILLIC: Final = str.maketrans("aeopcxykmtbh", "аеорсхукмтвн")
_TO_LATIN: Final = str.maketrans("аеорсхукмтвн", "aeopcxykmtbh")
# Symbols people put in a word to dodge a filter.
_MASKS: Final = str.maketrans({"*": "u", "@": "a", "$": "s", "0": "o", "3": "e", "1": "i"})
# "f.u.c.k", "х-у-й", "х у й": single letters joined by separators become one word.
_SPACED: Final = re.compile(r"\b(?:\w[\s.\-_]){2,}\w\b")

# Obscene: the review is rejected.
_RU_OBSCENE: Final = re.compile(
    r"\b(?:"
    r"(?:на|по|за|от|ни|до|о|а)?ху(?:й|я|ю|ё|е[вглнспт])"
    r"|\w*пизд"
    r"|(?:за|на|по|от|вы|у|раз|съ|до|про|подъ|въ|долбо|)[её]б(?:а|у|л|н|ть|ис|ёт|ет|ыр)"
    r"|бля(?:д|т|\b)"
    r"|сук(?:а|и|ин|е|у)\b"
    r"|муд(?:ак|ил|оз)"
    r"|п[ие]д[ао]р"
    r"|залуп|гандон|шлюх|гнид"
    r")"
)
_EN_OBSCENE: Final = re.compile(
    r"\b(?:\w*fuck|motherf|cunt|asshole|bitch|whore|slut|retard|fag(?:got)?\b|dickhead|wank)"
)
# Mild: the review waits for a moderator.
_RU_MILD: Final = re.compile(r"\b(?:хрен|хер\b|херн|жоп|говн|дерьм|срань|засранц|идиот|дебил)")
_EN_MILD: Final = re.compile(r"\b(?:shit|crap\b|crappy|damn|piss|bastard|idiot|moron|stupid ass)")

_LINK: Final = re.compile(
    r"https?://|\bwww\.|\b[\w-]{2,}\.(?:com|ru|net|org|info|biz|xyz|top|io|рф|shop|online|site|"
    r"store|club|me|ly|su)\b"
)
_EMAIL: Final = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_PHONE: Final = re.compile(r"(?<!\w)\+?\d[\d\s().-]{8,}\d(?!\w)")
_MESSENGER: Final = re.compile(
    r"\b(?:telegram|телеграм\w*|телега|tg|тг|whatsapp|ватсап\w*|вотсап\w*|viber|вайбер\w*|"
    r"vk\.com|инстаграм\w*|instagram)\b|(?<!\w)@[a-z][\w]{3,}"
)
_PROMOTION: Final = re.compile(
    r"промокод|промо-код|по ссылке|переходи|подписывай|заработ|доход от|казино|ставк[иа] на|"
    r"крипт|биткоин|кредит без|займ|скидк\w* \d+ ?%|пиши(?:те)? в (?:лс|личку)|интим|знакомств|"
    r"\bpromo ?code|discount code|coupon|casino|bitcoin|crypto|earn (?:money|\$)|make money|"
    r"work from home|click (?:here|the link)|visit (?:my|our)|free gift|buy cheap|best price at|"
    r"follow me|dm me|check out my"
)
_REPEATED_CHARACTER: Final = re.compile(r"(\w)\1{5,}")
_WORD: Final = re.compile(r"\w+")


def fold(text: str) -> str:
    """The form the rules read: NFKC, lower case, ё as е, masks as letters, spaced
    letters joined."""
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е")
    text = re.sub(
        r"(?<=\w)[*@$](?=\w)|(?<=\w)[0-3](?=[a-zа-я])", lambda m: m[0].translate(_MASKS), text
    )
    return _SPACED.sub(lambda m: re.sub(r"[\s.\-_]", "", m[0]), text)


def _scripts(folded: str) -> tuple[str, str]:
    """The text with every word in its main script: Latin look-alikes inside a mostly
    Cyrillic word become Cyrillic, and the reverse."""

    def to_cyrillic(match: re.Match[str]) -> str:
        word = match[0]
        cyrillic = sum("а" <= c <= "я" for c in word)
        return word.translate(_TO_CYRILLIC) if cyrillic * 2 >= len(word) else word

    def to_latin(match: re.Match[str]) -> str:
        word = match[0]
        latin = sum("a" <= c <= "z" for c in word)
        return word.translate(_TO_LATIN) if latin * 2 >= len(word) else word

    return _WORD.sub(to_cyrillic, folded), _WORD.sub(to_latin, folded)


@dataclass(frozen=True)
class RuleHits:
    """What the rules found in a review; each true field is a reason."""

    obscene: bool = False
    mild_profanity: bool = False
    link: bool = False
    contact: bool = False
    promotion: bool = False
    repetition: bool = False
    shouting: bool = False


def check(text: str) -> RuleHits:
    """Run every rule over `text` (title and body together)."""
    folded = fold(text)
    cyrillic, latin = _scripts(folded)
    words = _WORD.findall(folded)
    letters = [c for c in text if c.isalpha()]
    upper = sum(c.isupper() for c in letters)
    most_common = max((words.count(w) for w in set(words)), default=0)
    return RuleHits(
        obscene=bool(_RU_OBSCENE.search(cyrillic) or _EN_OBSCENE.search(latin)),
        mild_profanity=bool(_RU_MILD.search(cyrillic) or _EN_MILD.search(latin)),
        link=bool(_LINK.search(folded)),
        contact=bool(_EMAIL.search(folded) or _PHONE.search(folded) or _MESSENGER.search(folded)),
        promotion=bool(_PROMOTION.search(folded)),
        repetition=bool(
            _REPEATED_CHARACTER.search(folded)
            or (len(words) >= 6 and most_common / len(words) >= 0.4)
        ),
        shouting=len(letters) >= 20 and upper / len(letters) >= 0.7,
    )
