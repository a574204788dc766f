"""What a question asks about, and which sentences of a page answer it.

Each facet has question triggers (scored, so "what qualifications do I need" is qualifications,
not entry), sentence evidence, section headings that mark whole sections as evidence, words to
add to the lexical query, and for pay, band and hours a pattern that pulls the figure out verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .models import Facet


@dataclass(frozen=True)
class FacetRule:
    facet: Facet
    label: str
    triggers: tuple[tuple[str, float], ...]
    evidence: str
    sections: str = r"(?!x)x"  # matches nothing unless given
    expansion: str = ""
    value: str | None = None

    def trigger_score(self, question: str) -> float:
        return sum(w for pattern, w in self.triggers if re.search(pattern, question))

    def is_evidence(self, sentence: str, section: str | None) -> bool:
        return bool(re.search(self.evidence, sentence, re.IGNORECASE)) or bool(
            section and re.search(self.sections, section, re.IGNORECASE)
        )

    def strength(self, sentence: str) -> float:
        """How much of this sentence is about the facet: distinct evidence matches, capped at 3, over 3."""
        hits = {m.group(0).lower() for m in re.finditer(self.evidence, sentence, re.IGNORECASE)}
        return min(len(hits), 3) / 3

    def values(self, sentence: str) -> list[str]:
        return re.findall(self.value, sentence) if self.value else []


_MONEY = r"£\s?\d[\d,]*(?:\.\d+)?(?:\s*(?:to|-|–)\s*£\s?\d[\d,]*(?:\.\d+)?)?"
# A working week's hours: "37.5 hours a week", "40-42 hours per week", "Hours: 39 to 41 a week", or
# "around 37.5 hours" in a sentence about the week; not "24 hours a day" or "days of 12 hours or more".
_NUM = r"\d+(?:\.\d+)?(?:\s*(?:-|–|to)\s*\d+(?:\.\d+)?)?"
_HOURS = (_NUM + r"(?=\s*(?:hours?\s+)?(?:a|per|each)\s+week)|" + _NUM +
          r"(?=\s*hours\b)(?!\s*hours\s+a\s+day)(?!\s*hours\s+or\s+(?:more|longer))")
_BAND = r"\b[Bb]and\s*\d+(?:\s*(?:-|–|to)\s*(?:[Bb]and\s*)?\d+)?"

RULES: tuple[FacetRule, ...] = (
    FacetRule(Facet.band, "Pay band",
              ((r"\bbands?\b", 3), (r"agenda for change|\bafc\b", 3), (r"pay (scale|grade)|\bgrade\b", 2)),
              r"\bband\s*\d", expansion="band pay scale agenda for change", value=_BAND),
    FacetRule(Facet.pay, "Pay",
              ((r"\bpay\b(?!\s*(bands?|scales?|grades?|system))|\b(paid|salary|salaries|earn\w*|wages?|money|income|"
                r"remuneration|per annum)\b|£", 3),
               (r"how much (do|does|can|will|would)\b.*\b(get|make|take home)\b", 3), (r"\brate\b", 1)),
              r"£\s?\d|\bsalary\b", expansion="salary pay £ per year", value=_MONEY),
    FacetRule(Facet.hours, "Hours",
              ((r"\bhours?\b|\bhrs\b", 3), (r"\bshifts?\b|working week|full[- ]time|part[- ]time|\brota\b", 3),
               (r"\bweekends?\b|\bnights?\b|\bevenings?\b|\bschedule\b|9 to 5|how long .* work", 2)),
              r"\d\s*hours|hours:|\bshifts?\b|working week",
              expansion="hours per week working week shifts", value=_HOURS),
    FacetRule(Facet.entry, "Entry requirements",
              ((r"entry requirements?|\brequirements?\b|\brequired\b", 3), (r"\bgcses?\b|a[- ]levels?", 3),
               (r"\bdegree\b|\buni(versity)?\b", 2), (r"get into|how (do|can|would) i (get|become|start)|"
               r"\bbecome\b|what do (i|you) need|do (i|you) need|\bexperience\b|\bentry\b|\bqualify\b", 2)),
              r"entry requirements|no (set|specific)|employers (may|often|expect|will)|gcse|work experience|"
              r"relevant experience|experience (in|of)|get into|no specific qualifications|apply for",
              sections=r"entry requirements",
              expansion="entry requirements gcses experience employers"),
    FacetRule(Facet.qualifications, "Qualifications and training",
              ((r"qualifications?|diplomas?|\bbtec\b|\bnvq\b|\bsvq\b|\bqcf\b|t[- ]levels?|certificates?", 3),
               (r"\bcourses?\b|\bcollege\b|\bstudy\b|\btrain(ing|ed)?\b", 2)),
              r"qualification|diploma|btec|nvq|qcf|t-level|certificate|foundation degree|level [23]|"
              r"course|training", sections=r"training|qualif|education",
              expansion="qualifications diploma level certificate course training"),
    FacetRule(Facet.apprenticeships, "Apprenticeships",
              ((r"apprentice\w*", 5),), r"apprentice", expansion="apprenticeship apprenticeships"),
    FacetRule(Facet.skills, "Skills and qualities",
              ((r"\bskills?\b|qualities|characteristics|attributes|strengths|personality|good at|"
                r"what kind of person|what makes a good", 3),),
              r"\bskills?\b|\babilit(y|ies)\b|\bqualities\b|\battitude\b|\bpatience\b|\btact\b|\binitiative\b|"
              r"\bnumeracy\b|\bliteracy\b|\bconfidence\b|\benthusiasm\b",
              sections=r"skills|qualities", expansion="skills qualities ability communication"),
    FacetRule(Facet.duties, "What the job involves",
              ((r"\bduties\b|\btasks?\b|responsibilit|day[- ]to[- ]day|typical day|involve", 3),
               (r"what (do|does|will|would) .*\b(do|help)\b|what is an? |what's an? |what are", 1)),
              r"\bhelp|\bassist|\bsupport|\bencourag|\bmonitor|\bduties\b|\bteach|\bdocument|\bactivities\b|"
              r"\brehabilitation\b|\bprogress\b",
              sections=r"what you.ll do|duties|working life|what is|^tasks$",
              expansion="duties help patients activities day-to-day"),
    FacetRule(Facet.workplaces, "Where they work",
              ((r"where (do|does|would|will|can|could|might)\b", 4),
               (r"\bbased\b|workplaces?|environment|settings?|\blocations?\b", 3),
               (r"hospitals?|clinics?|care homes?|\bcommunity\b", 1)),
              r"based in|hospitals?|clinics|\bgp\b|residential|care homes|own homes?|settings|day centre|"
              r"health centres", expansion="based hospitals clinics homes settings"),
    FacetRule(Facet.progression, "Career progression",
              ((r"progress\w*|career (path|ladder)|promot\w*|move up|advance\w*|next step|in the future|"
                r"later on|go on to|move on|become an? (team leader|senior|qualified|registered)", 3),
               (r"train (as|to become|to be)|team lead|route (to|into)", 4), (r"\broute\b", 3)),
              r"team lead|progress (your|their) career|career progression|train (as|to become)|"
              r"(?:go on to|to) become an? [a-z]+|career path|leadership|go on to|advance their skill",
              sections=r"progression|career path",
              expansion="progression team leader senior qualified train become"),
    FacetRule(Facet.benefits, "Leave and benefits",
              ((r"\bleave\b|holidays?|pension|benefits?|perks|discounts?|annual|days off|vacation", 3),),
              r"annual leave|pension|discounts|bank holidays|benefits",
              expansion="annual leave pension bank holidays benefits"),
    FacetRule(Facet.titles, "Other job titles",
              ((r"other (names?|titles?|job titles?)|also (called|known)|another name|\baka\b|"
                r"job titles?|different titles?|what else .* called|same (thing|job|role) as|same as", 4),),
              r"also known as|sometimes (called|referred)|referred to|\baka\b|different titles|known as",
              sections=r"also known as|other (job )?titles|alternative (labels|titles)|alternate titles|reported job titles",
              expansion="also known as titles referred called"),
)

RULE = {r.facet: r for r in RULES}
STRONG = 3.0  # a trigger this strong names a facet on its own


def detect(question: str) -> list[Facet]:
    """Facets asked about, strongest first: one, or two when the question joins them ("pay and hours")."""
    q = question.lower()
    scored = sorted(((r.trigger_score(q), i, r.facet) for i, r in enumerate(RULES)), key=lambda x: (-x[0], x[1]))
    best = [f for s, _, f in scored if s >= STRONG]
    if not best:
        best = [f for s, _, f in scored[:1] if s > 0]
    joined = re.search(r"\band\b|&|\bplus\b|\bas well\b|,", q)
    return best[:2] if joined else best[:1]


# Words that name what pages say about a job, not the job: "X pay" is about Xs.
TOPIC_WORDS = frozenset(w.lower() for r in RULES for w in re.findall(r"[a-z]+", f"{r.label} {r.expansion}".lower())) | {
    "work", "working", "job", "jobs", "career", "careers", "guide", "profile", "information", "overview", "salary",
    "requirements", "qualities"}
