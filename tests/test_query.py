"""facets.detect, occupation names in text, query.validate and query.plan (with and without a conversation)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant.errors import QuestionError
from assistant.facets import detect
from assistant.index import name_words
from assistant.models import Facet, Turn
from assistant.query import Reader, plan, validate
from assistant.text import common_words
from assistant.retrieval import vocabulary
from assistant.spelling import Speller

SUBJECT = "ot-support-worker"
CANONICAL = "occupational therapy support worker"


# --- facets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What band do OT support workers start on?", [Facet.band]),
        ("Is it on agenda for change?", [Facet.band]),
        ("How much do they earn?", [Facet.pay]),
        ("salary", [Facet.pay]),
        ("and the pay?", [Facet.pay]),
        ("How many hours a week?", [Facet.hours]),
        ("Do they work weekends?", [Facet.hours]),
        ("What is the pay and hours?", [Facet.pay, Facet.hours]),  # two facets joined by "and", in RULES order
        ("hours and pay", [Facet.pay, Facet.hours]),
        ("What are the entry requirements?", [Facet.entry]),
        ("Do I need a degree?", [Facet.entry]),
        ("What GCSEs do I need?", [Facet.entry]),
        ("What qualifications do I need?", [Facet.qualifications]),  # qualifications, not entry
        ("Can I do an apprenticeship?", [Facet.apprenticeships]),
        ("What skills do I need?", [Facet.skills]),
        ("What does the job involve?", [Facet.duties]),
        ("What do OT support workers do?", [Facet.duties]),  # a weak trigger (1) still wins when alone
        ("Where do they work?", [Facet.workplaces]),
        ("How can I progress?", [Facet.progression]),
        ("Can I train as an occupational therapist later?", [Facet.progression]),
        ("How much annual leave do they get?", [Facet.benefits]),  # not pay: "how much" alone is no trigger
        ("Do they get a pension?", [Facet.benefits]),
        ("What other job titles are there?", [Facet.titles]),
        ("What are they also called?", [Facet.titles]),
        ("Tell me about the weather", []),
        ("what about for OT assistants?", []),
    ],
)
def test_detect(question: str, expected: list[Facet]) -> None:
    assert detect(question) == expected


# --- occupation names (the registry the seed pages declare) -------------------------------------

OT = "occupational-therapist"


def names(text: str, registry) -> list[tuple[int, int, str, str]]:
    """(start, end, text, occupation id) of each exact name, as the matcher finds them."""
    return [(h.start, h.end, h.text, ",".join(registry.occupations[i].id for i in h.exact))
            for h in registry.matcher.find(text) if h.exact]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What do OT assistants earn?", [(8, 21, "OT assistants", SUBJECT)]),
        ("Are rehab assistants the same as OT support workers?",
         [(4, 20, "rehab assistants", SUBJECT), (33, 51, "OT support workers", SUBJECT)]),
        ("Is an OTA a rehab assistant's job?", [(6, 9, "OTA", SUBJECT), (12, 29, "rehab assistant's", SUBJECT)]),
        ("OTAs", [(0, 4, "OTAs", SUBJECT)]),
        ("OT-support-worker pay", [(0, 17, "OT-support-worker", SUBJECT)]),
        ("ot ASSISTANT", [(0, 12, "ot ASSISTANT", SUBJECT)]),
        # Longest first: "OT support workers" is one mention, not "OT" + "support workers".
        ("Do OT support workers earn more than OTs?", [(3, 21, "OT support workers", SUBJECT), (37, 40, "OTs", OT)]),
        ("Do OTs earn more than nurses?", [(3, 6, "OTs", OT), (22, 28, "nurses", "nurse")]),
        ("What does an occupational therapist earn?", [(13, 35, "occupational therapist", OT)]),
        ("What does a registered nurse do?", [(12, 28, "registered nurse", "nurse")]),
        ("What do healthcare support workers earn?", [(8, 34, "healthcare support workers", "healthcare-support-worker")]),
        ("What do health-care support workers' managers earn?",
         [(8, 35, "health-care support workers", "healthcare-support-worker")]),
        ("How do I become a paramedic?", []),  # not a name the pages give
        ("How much is the pay?", []),
        ("Is an otter a pilot-fish?", []),  # no name inside other words
    ],
)
def test_names_in_text(text: str, expected, seed_registry) -> None:
    assert names(text, seed_registry) == expected


# --- validate -----------------------------------------------------------------------------------


def test_validate_trims_and_collapses_whitespace() -> None:
    assert validate("  What   band\n do\tthey start on?  ", 1000) == "What band do they start on?"
    assert validate("a" * 1000, 1000) == "a" * 1000


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "The question is empty."),
        ("   \n\t ", "The question is empty."),
        ("a" * 1001, "The question is 1,001 characters long; please keep it under 1,000."),
        ("\x00\x01", "That doesn't look like a question (it has no words). Please type your question."),
        ("What\x00 band?", "That doesn't look like a question"),
        ("\x01\x02\x03 band \x04\x05\x06", "That doesn't look like a question"),
        ("12345 ???", "That doesn't look like a question"),
        ("\ufffd\ufffd band?", "That doesn't look like a question"),
        (None, "The question must be text."),
    ],
)
def test_validate_refuses(question, message: str) -> None:
    with pytest.raises(QuestionError) as err:
        validate(question, 1000)
    assert str(err.value).startswith(message)


# --- plan ---------------------------------------------------------------------------------------


@pytest.fixture
def reader(seed_registry) -> Reader:
    """A Reader as the Retriever makes it (retrieval.vocabulary): corpus words plus everyday words and every
    occupation name's words. "ots" is a corpus word: the BBC page says "OTs work with patients"."""
    corpus_words = {"band": 3, "pay": 2, "support": 5, "workers": 4, "salary": 2, "hours": 3, "earn": 1, "ots": 1,
                    "assistants": 2, "practices": 1, "start": 2, "professional": 1, "join": 1, "associate": 1,
                    "members": 1}
    speller = Speller(vocabulary(SimpleNamespace(word_counts=corpus_words,
                                                 name_words=name_words([], seed_registry.occupations))))
    return Reader(registry=seed_registry, speller=speller, publishers={}, common_words=common_words())


BAND_TURN = Turn(question="What band do OT support workers start on?", facet=Facet.band, subject=SUBJECT)
OT_PAY_TURN = Turn(question="What do OTs earn?", facet=Facet.pay, subject=OT)


def test_plan_fixes_typos_and_names_the_occupation(reader: Reader) -> None:
    p = plan("What band do OT suport wrkers start on?", [], reader)
    assert (p.corrected, p.facets, p.subject_kind, p.subject, p.alias, p.unknown_terms, p.inherited) == (
        "What band do OT support workers start on?", [Facet.band], "target", SUBJECT, "OT support workers", [],
        False)
    assert p.dense_text == f"What band do {CANONICAL} start on?"
    assert p.lexical_text == f"What band do {CANONICAL} start on? band pay scale agenda for change"
    assert p.topic_text == "What band do start on?"


def test_and_the_pay_inherits_the_occupation(reader: Reader) -> None:
    p = plan("and the pay?", [BAND_TURN], reader)
    assert (p.facets, p.subject_kind, p.subject, p.alias, p.inherited, p.resolved_by) == (
        [Facet.pay], "target", SUBJECT, None, True, "conversation")
    assert p.dense_text == f"and the pay? ({CANONICAL})"
    # With no conversation the occupation is the corpus's only one, but nothing was inherited.
    fresh = plan("and the pay?", [], reader)
    assert (fresh.subject, fresh.facets, fresh.inherited, fresh.resolved_by) == (SUBJECT, [Facet.pay], False, "only")


def test_follow_up_inherits_an_occupation_only_mentioned(reader: Reader) -> None:
    p = plan("and the hours?", [OT_PAY_TURN], reader)
    assert (p.facets, p.subject_kind, p.subject, p.inherited) == ([Facet.hours], "related", OT, True)
    assert p.lexical_text == "and the hours? (occupational therapist) hours per week working week shifts"


def test_follow_up_naming_an_occupation_inherits_the_facet(reader: Reader) -> None:
    p = plan("what about a rehab assistant?", [Turn(question="How much do they earn?", facet=Facet.pay,
                                                      subject=SUBJECT)], reader)
    assert (p.facets, p.subject_kind, p.subject, p.alias, p.inherited) == (
        [Facet.pay], "target", SUBJECT, "rehab assistant", True)
    assert p.dense_text == f"what about a {CANONICAL} ? salary pay £ per year"  # the facet it carries


def test_abstained_turns_are_not_inherited(reader: Reader) -> None:
    history = [Turn(question="How much do they earn?", facet=Facet.pay, subject=SUBJECT),
               Turn(question="Where in France?", facet=Facet.workplaces, abstained=True)]
    p = plan("and for a rehab assistant?", history, reader)
    assert (p.facets, p.subject, p.inherited) == ([Facet.pay], SUBJECT, True)


def test_long_follow_up_does_not_inherit_the_facet(reader: Reader) -> None:
    p = plan("Could you tell me something about what it is like in general?", [BAND_TURN], reader)
    assert (p.facets, p.subject, p.inherited) == ([], SUBJECT, True)  # 12 words: the facet is not carried over


def test_an_occupation_the_pages_do_not_cover_is_named(reader: Reader) -> None:
    p = plan("How do I become a paramedic?", [BAND_TURN], reader)
    assert (p.facets, p.subject_kind, p.subject, p.asked, p.inherited) == (
        [Facet.entry], "other", None, "paramedic", False)
    assert p.candidates == [SUBJECT]  # the one covered occupation is offered instead


def test_plural_ota_stays_the_occupation(reader: Reader) -> None:
    p = plan("How much do OTAs earn?", [], reader)
    assert (p.corrected, p.subject_kind, p.subject) == ("How much do OTAs earn?", "target", SUBJECT)


@pytest.mark.parametrize(
    ("question", "corrected", "alias"),
    [
        ("What do OTSWs earn?", "What do OTSWs earn?", "OTSWs"),  # a plural alias is left as typed
        ("What band are OT techs on?", "What band are OT techs on?", "OT techs"),
    ],
)
def test_plural_aliases_fold_onto_the_occupation(reader: Reader, question: str, corrected: str, alias: str) -> None:
    p = plan(question, [], reader)
    assert (p.corrected, p.subject_kind, p.alias, p.unknown_terms) == (corrected, "target", alias, [])


def test_inherited_mentioned_occupation_is_in_dense_text(reader: Reader) -> None:
    p = plan("and the hours?", [OT_PAY_TURN], reader)
    assert "occupational therapist" in p.dense_text


def test_gp_practices_is_a_place_not_an_occupation(reader: Reader) -> None:
    p = plan("Can they work in GP practices?", [BAND_TURN], reader)
    assert (p.subject_kind, p.subject) == ("target", SUBJECT)


def test_one_unknown_word_does_not_veto_a_question(reader: Reader) -> None:
    """"body" is in neither the pages nor everyday English; the rest of the question still counts."""
    p = plan("Which professional body can support workers join as associate members?", [], reader)
    assert (p.subject, p.unknown_terms) == (SUBJECT, [])
    assert plan("Do OT support workers get paid overtime?", [], reader).unknown_terms == ["overtime"]


def test_a_next_step_to_another_occupation_asks_about_progression(reader: Reader) -> None:
    p = plan("Is a foundation degree a route from OT support worker to occupational therapist?", [], reader)
    assert (p.facets, p.subject) == ([Facet.progression], SUBJECT)
