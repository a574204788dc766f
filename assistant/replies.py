"""Replies that quote nothing: declining, asking which occupation is meant, suggesting what to ask.

Every occupation named here comes from the index's registry; the templates only know facets.
"""

from __future__ import annotations

from . import facets
from .models import Answer, ClarifyOption, Facet, Occupation
from .occupations.registry import Registry

# A question per facet, for starters and suggestions about a named occupation.
FACET_QUESTIONS: dict[Facet, str] = {
    Facet.band: "What band do {plural} start on?",
    Facet.pay: "How much do {plural} earn?",
    Facet.hours: "How many hours a week do {plural} work?",
    Facet.entry: "What do I need to become {a_name}?",
    Facet.qualifications: "What qualifications could I study to become {a_name}?",
    Facet.apprenticeships: "Can I become {a_name} through an apprenticeship?",
    Facet.skills: "What skills do {plural} need?",
    Facet.duties: "What does {a_name} do?",
    Facet.workplaces: "Where do {plural} work?",
    Facet.progression: "How can {a_name} progress?",
    Facet.benefits: "What leave and benefits do {plural} get?",
    Facet.titles: "What else are {plural} called?",
}
# Follow-ups in the conversation's own words: the occupation carries over, so no name is needed.
FOLLOW_UPS: dict[Facet, list[Facet]] = {
    Facet.band: [Facet.pay, Facet.hours], Facet.pay: [Facet.band, Facet.hours],
    Facet.hours: [Facet.pay, Facet.workplaces], Facet.entry: [Facet.apprenticeships, Facet.qualifications],
    Facet.qualifications: [Facet.entry, Facet.apprenticeships], Facet.apprenticeships: [Facet.entry, Facet.progression],
    Facet.skills: [Facet.duties, Facet.entry], Facet.duties: [Facet.skills, Facet.workplaces],
    Facet.workplaces: [Facet.hours, Facet.duties], Facet.progression: [Facet.qualifications, Facet.band],
    Facet.benefits: [Facet.pay, Facet.hours], Facet.titles: [Facet.duties, Facet.band],
    Facet.other: [Facet.duties, Facet.pay],
}
PRONOUN_QUESTIONS: dict[Facet, str] = {
    Facet.band: "What band do they start on?", Facet.pay: "How much do they earn?",
    Facet.hours: "How many hours do they work?", Facet.entry: "What are the entry requirements?",
    Facet.qualifications: "What qualifications could I study for?", Facet.apprenticeships: "Can I do an apprenticeship?",
    Facet.skills: "What skills do I need?", Facet.duties: "What does the job involve?",
    Facet.workplaces: "Where do they work?", Facet.progression: "How can I progress?",
    Facet.benefits: "What leave and benefits do they get?", Facet.titles: "What other job titles are there?",
}


def a_name(name: str) -> str:
    first = name[:1].lower()
    vowel = first in "aeiou" and not name.lower().startswith(("uni", "use", "eu", "one"))
    return f"{'an' if vowel or name[:2].isupper() and first in 'aefhilmnorsx' else 'a'} {name}"


def facets_of(occ: Occupation) -> list[Facet]:
    return [Facet(f) for f in occ.facets if f in Facet._value2member_map_]


def question_for(occ: Occupation, facet: Facet) -> str:
    return FACET_QUESTIONS[facet].format(plural=occ.plural, a_name=a_name(occ.name))


def examples_for(occ: Occupation, n: int = 2) -> list[str]:
    return [question_for(occ, f) for f in (facets_of(occ) or [Facet.duties])[:n]]


def follow_ups(facet: Facet, occ: Occupation | None) -> list[str]:
    """Two follow-ups the occupation's pages can answer."""
    have = set(facets_of(occ)) if occ else set(PRONOUN_QUESTIONS)
    wanted = [f for f in FOLLOW_UPS.get(facet, []) if f in have]
    wanted += [f for f in facets_of(occ) if f != facet and f not in wanted] if occ else []
    return [PRONOUN_QUESTIONS[f] for f in wanted[:2]]


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""


def coverage(registry: Registry, occ: Occupation | None = None) -> tuple[str, list[str]]:
    """What the sources cover, in a sentence, and questions to try."""
    if occ is not None and occ.covered:
        labels = [facets.RULE[f].label.lower() for f in facets_of(occ)]
        what = f": {_listing(labels)}" if labels else ""
        return f"For {occ.plural} they cover{what}.", examples_for(occ)
    covered = registry.examples(5)
    total = len(registry.covered)
    if not covered:
        return "The index has no pages yet.", []
    if total == 1:
        return coverage(registry, covered[0])
    names = _listing([o.plural for o in covered])
    lead = f"They cover {names}." if total <= 5 else f"They cover {total:,} occupations, for example {names}."
    return lead, [examples_for(o, 1)[0] for o in covered[:2]]


def abstain(question: str, reason: str, registry: Registry, occ: Occupation | None = None) -> Answer:
    lead, examples = coverage(registry, occ)
    # No curly double quotes here: in an answer they mark words quoted from a source, and nothing is.
    text = f"I can't answer that from my sources: {reason}\n\n{lead}"
    if examples:
        text += f" For example, try *{examples[0]}*"
    return Answer(question=question, answer=text, abstained=True, reason=reason, suggestions=examples,
                  subject=occ.id if occ else None, occupation=occ.name if occ else None, outcome="abstain")


def uncovered(question: str, asked: str, nearest: list[Occupation], registry: Registry,
              facet: Facet | None = None) -> Answer:
    """"I have no pages about Xs. I do have: Ys, Zs." Never an answer from
    another occupation's pages. Each occupation offered is a choice: picking it asks the same question
    about it."""
    from .occupations.names import plural_of

    shown = plural_of(asked) if not asked.lower().endswith("s") else asked
    reason = f"I have no pages about {shown}."
    text = reason
    if nearest:
        text += f" I do have: {', '.join(o.plural for o in nearest)}."
    lead, _ = coverage(registry)
    if len(registry.covered) > len(nearest):
        text += f"\n\n{lead}"
    suggestions = [examples_for(o, 1)[0] for o in nearest[:2]]
    options = [ClarifyOption(occupation_id=o.id, name=o.name, question=o.name) for o in nearest]
    return Answer(question=question, answer=text, abstained=True, reason=reason, suggestions=suggestions,
                  clarify=options, pending=question, facet=facet, outcome="uncovered")


def clarify(question: str, alias: str | None, choices: list[Occupation], facet: Facet | None) -> Answer:
    """Ask which occupation is meant; each choice is a button that sends its name, and the waiting
    question is then answered for it."""
    said = f"by ‘{alias}’ " if alias else ""
    reason = f"the question could be about {len(choices)} occupations."
    lines = [f"Which occupation do you mean {said}?".replace(" ?", "?"), ""]
    lines += [f"- {o.name}" for o in choices]
    options = [ClarifyOption(occupation_id=o.id, name=o.name, question=o.name) for o in choices]
    return Answer(question=question, answer="\n".join(lines), abstained=True, reason=reason, clarify=options,
                  pending=question, facet=facet, suggestions=[o.name for o in choices[:3]], outcome="clarify")
