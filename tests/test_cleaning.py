"""cleaning.py: encoding repair, page-furniture removal, exact block spans, heading/bullet labels."""

from __future__ import annotations

import pytest

from assistant.cleaning import clean, normalise, repair_mojibake
from conftest import SEEDS


def blocks_of(raw: str) -> list[tuple[str, str, str | None]]:
    text, blocks = clean(raw)
    return [(b.kind, text[b.start : b.end], b.section) for b in blocks]


def rebuild(text: str, blocks) -> str:
    """The cleaned text as clean() promises to lay it out: blocks, `• ` before bullets, one newline
    between consecutive bullets and a blank line everywhere else."""
    out, prev = "", None
    for b in blocks:
        if out:
            out += "\n" if b.kind == "bullet" and prev == "bullet" else "\n\n"
        out += ("• " if b.kind == "bullet" else "") + text[b.start : b.end]
        prev = b.kind
    return out


# --- GBK mojibake repair ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("拢20,329", "£20,329"),
        ("From 拢20,329 to 拢24,881 (Band 2-Band 4)", "From £20,329 to £24,881 (Band 2-Band 4)"),
        ("it鈥檚 good", "it’s good"),  # E2 80 99 73 read as GBK: 鈥 + 檚
        ("team鈥 I thought", "team’ I thought"),  # third byte lost: repaired as ’
        ("大象传媒", "大象传媒"),  # genuine Chinese does not decode as UTF-8: left alone
        ("£20,329 and it’s fine", "£20,329 and it’s fine"),  # already right: untouched
        ("", ""),
    ],
)
def test_repair_mojibake(broken: str, fixed: str) -> None:
    assert repair_mojibake(broken) == fixed


def test_clean_drops_a_masthead_in_another_script_but_keeps_the_page() -> None:
    text, _ = clean("大象传媒\n\nMeet Amy, who earns 拢20,329 and it鈥檚 a job she loves.")
    assert text == "Meet Amy, who earns £20,329 and it’s a job she loves."


# --- page furniture -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("This is a decorative purple line to separate and organise content on the page.\n"
         "Support workers help patients.", "Support workers help patients."),
        ("BETATry an improved version of this page\n\nSupport workers help patients.",
         "Support workers help patients."),
        ("Support workers help patients.\n\nMake a comment or report a problem with this page",
         "Support workers help patients."),
        ("We’re building a new service – your feedback will help us to improve it.\nReal text.", "Real text."),
        ("  1. More about how to get into this career\nTry it out\nReal text.", "Real text."),
        ("Support workers help patients.\n\n  • .\n\nThey work shifts.",
         "Support workers help patients.\n\nThey work shifts."),
        ("For careers advice in all parts of the UK visit: , , and .\n\nThey work shifts.", "They work shifts."),
        ("Sources: LMI for All, National Careers Service, .", "Sources: LMI for All, National Careers Service."),
        ("Salary, a pound sign Salary: £1", "Salary: £1"),
        ("Salary, a pound sign Salary: £15,250 to £22,500 average per year\nHours, a clock face Hours: 37.5 per week",
         "Salary: £15,250 to £22,500 average per year\n\nHours: 37.5 per week"),
        ("The average salary is £24,000 to £30,000 [1]. This will vary.",
         "The average salary is £24,000 to £30,000. This will vary."),
        ("[Featured Image] A therapist uses blocks with a patient.\n"
         "Written by Coursera Staff • Updated on\nReal text.", "Real text."),
        ("Real text.\n\nKeep reading\n\nUpdated on\nWritten by:\n\nEditorial Team", "Real text."),
    ],
)
def test_chrome_is_removed_and_nothing_else(raw: str, cleaned: str) -> None:
    assert clean(raw)[0] == cleaned


def test_footnote_marker_removed_but_bracketed_words_kept() -> None:
    assert clean("Pay is £24,000 [1], [2] or more [see note].")[0] == "Pay is £24,000, or more [see note]."


def test_control_characters_and_bidi_overrides_are_stripped() -> None:
    raw = "Pay\u202e is\x07 good.\u200b\ufeff Band\u2066 3\u2069 applies.\x1b\r\nNext line.\u200f"
    assert clean(raw)[0] == "Pay is good. Band 3 applies.\n\nNext line."


def test_normalise() -> None:
    assert normalise("e\u0301te\u00a0and\u2028more\ttabs\r\nx\ry  \u2003 z\x0b") == "éte and\nmore tabs\nx\ny z"


# --- blocks: exact spans, kinds and sections ----------------------------------------------------


def test_blocks_are_exact_spans_with_kinds_and_sections() -> None:
    raw = (
        "Pay and benefits\n\nThe pay is good.\n\n• 27 days of leave\n• a pension\n\n"
        "You also need\n\nHours\n\n1. Working hours\n\nAround 37.5 hours.\n"
    )
    text, blocks = clean(raw)
    assert text == (
        "Pay and benefits\n\nThe pay is good.\n\n• 27 days of leave\n• a pension\n\n"
        "1. Working hours\n\nAround 37.5 hours."
    )
    assert [(b.kind, b.start, b.end, b.section) for b in blocks] == [
        ("heading", 0, 16, "Pay and benefits"),
        ("paragraph", 18, 34, "Pay and benefits"),
        ("bullet", 38, 54, "Pay and benefits"),
        ("bullet", 57, 66, "Pay and benefits"),
        ("heading", 68, 84, "Working hours"),  # "You also need" (a lost list's lead-in) and "Hours" (emptied) gone
        ("paragraph", 86, 104, "Working hours"),
    ]
    assert [text[b.start : b.end] for b in blocks] == [
        "Pay and benefits", "The pay is good.", "27 days of leave", "a pension", "1. Working hours",
        "Around 37.5 hours.",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1. Take a short course.\n2) Apply for jobs\n- dash item\n* star item\n– en dash item",
         [("bullet", "Take a short course.", None), ("heading", "2) Apply for jobs", "Apply for jobs"),
          ("bullet", "dash item", "Apply for jobs"), ("bullet", "star item", "Apply for jobs"),
          ("bullet", "en dash item", "Apply for jobs")]),
        ("What does the job involve?\n\nIt involves helping.",
         [("heading", "What does the job involve?", "What does the job involve?"),
          ("paragraph", "It involves helping.", "What does the job involve?")]),
        # A question of more than 20 words is a paragraph, not a heading.
        ("Why would anyone want to do a job like this one that pays so little and asks you to work so many "
         "weekends and nights too?\n\nNext.",
         [("paragraph", "Why would anyone want to do a job like this one that pays so little and asks you to work "
           "so many weekends and nights too?", None), ("paragraph", "Next.", None)]),
        # Figures and colons make a line a paragraph, however short.
        ("Starter: £15,250 to £19,000\nBand 3", [("paragraph", "Starter: £15,250 to £19,000", None),
                                                ("paragraph", "Band 3", None)]),
        # A heading straight after another heading heads an empty section and is dropped.
        ("Pay\n\nHours\n\nThey work 37.5 hours.",
         [("heading", "Hours", "Hours"), ("paragraph", "They work 37.5 hours.", "Hours")]),
        # A lead-in ending in ":" is kept when its list follows.
        ("Skills\n\nQualities needed:\n\n• Patience\n• Tact",
         [("heading", "Skills", "Skills"), ("paragraph", "Qualities needed:", "Skills"),
          ("bullet", "Patience", "Skills"), ("bullet", "Tact", "Skills")]),
        # ... and cut back to the sentences before it when its list is lost.
        ("Pay rises each year. For more information, check out:\n\nNext.",
         [("paragraph", "Pay rises each year.", None), ("paragraph", "Next.", None)]),
    ],
)
def test_block_kinds(raw: str, expected) -> None:
    assert blocks_of(raw) == expected


def test_heading_ending_in_need_is_kept() -> None:
    assert blocks_of("Pay\n\nThe pay is good.\n\nSkills you need\n\nSupport workers need patience.") == [
        ("heading", "Pay", "Pay"),
        ("paragraph", "The pay is good.", "Pay"),
        ("heading", "Skills you need", "Skills you need"),
        ("paragraph", "Support workers need patience.", "Skills you need"),
    ]


def test_sentences_before_an_orphan_lead_in_are_kept() -> None:
    raw = "OT support workers work with people of all ages. For example, helping\n\nNext."
    assert clean(raw)[0] == "OT support workers work with people of all ages.\n\nNext."


# --- the real seed pages ------------------------------------------------------------------------

SEED_SENTENCES = {
    "000_cae7dbe4d5536001.txt": [
        "Meet Amy, who works alongside occupational therapists to help ill, injured or elderly people to be as "
        "independent as possible.",
        "I had a lot of input from an occupational therapy team’ I thought, it's been a huge positive impact",
        "She recommends volunteering as a great way to get a sense of exactly where your passion lies and which "
        "role could suit you best.",
        "They will usually start on band 3 of the NHS pay scale.",
        "Occupational therapists usually start on band 5 of the pay scale.",
        "Occupational therapy (OT) technical instructor roles are sometimes referred to by different titles, "
        "including OT support worker, OT assistant, OT technician or rehabilitation assistant.",
        "OT technical instructor average salary: From £20,329 to £24,881 (Band 2-Band 4)",
        "OT technical instructor typical working hours: On average 40-42 hours per week",
        "Becky helps people who are missing limbs or whose limbs need support.",
    ],
    "001_69bf7876f34085a8.txt": [
        "Occupational therapy support workers work with occupational therapists to help sick, injured or old "
        "people to be as independent as possible.",
        "Salary: £15,250 to £22,500 average per year",
        "Hours: 37.5 per week",
        "There are no set entry requirements, but some employers may ask for:",
        "4 or 5 GCSEs at grades 9 to 4 (A* to C)",
        "You may find it useful to have a qualification in health and social care, but this isn’t essential.",
        "showing an older person how to use equipment to help them remain living independently.",
        "Starter: £15,250 to £19,000",
        "You’ll usually work around 37.5 hours a week.",
        "You could then go on to train as an occupational therapist.",
        "Last updated: 10 September 2018",
    ],
    "002_a9a386c7eb13e28c.txt": [
        "Becoming an occupational therapy support worker is a hugely rewarding and diverse career.",
        "Some employers may have specific requirements regarding experience and prior learning, depending on the "
        "role.",
        "The ability to relate to people of all ages and backgrounds",
        "Some employers have in-house training available for their support staff.",
        "Chris' role as a technician is paramount to the department and as a technician his close work with "
        "patients allows him to build up a rapport and really make a difference, supporting the planning of "
        "activities and leading sessions.",
    ],
    "003_4506d2baf339449e.txt": [
        "An occupational therapy support worker, sometimes called an occupational therapy assistant or "
        "occupational therapy technician, works under the direction of an occupational therapist to provide a "
        "treatment plan for each patient.",
        "Occupational therapy support workers may also perform basic clerical duties such as scheduling "
        "appointments, answering phone calls and emails, collecting patients’ medical histories, and ordering "
        "medical supplies.",
        "Documenting a patient’s progress as required by the occupational therapist",
        "According to the National Careers Service in the UK, the average salary range for occupational therapy "
        "support workers is £24,000 to £30,000. This will likely fluctuate",
        "Level 2 Certificate in Healthcare Support Services",
    ],
    "004_06dd9789db2f19ae.txt": [
        "Occupational therapy support workers help people who struggle with day-to-day activities to live a full "
        "and independent life.",
        "Assistive technology helps profoundly disabled people communicate, use IT, get about and control "
        "household services and equipment (lights, TV, etc).",
        "OT support workers can be based in hospitals, clinics and GP practices.",
        "Your standard working week will be around 37.5 hours and may include a mix of shifts, such as nights, "
        "early starts, evenings and weekends.",
        "You’ll be paid on the Agenda for Change (AFC) pay system, typically starting on band 3.",
        "as well as 27 days of annual leave, plus bank holidays",
    ],
}


def _seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "sentences"), sorted(SEED_SENTENCES.items()))
def test_seed_sentences_survive_cleaning(name: str, sentences: list[str]) -> None:
    text, _ = clean(_seed(name))
    assert [s for s in sentences if s not in text] == []


def test_nhs_seed_keeps_all_ages_sentence() -> None:
    text, _ = clean(_seed("004_06dd9789db2f19ae.txt"))
    assert "OT support workers work with people of all ages and situations with a range of conditions." in text


@pytest.mark.parametrize("name", sorted(SEED_SENTENCES))
def test_seed_blocks_are_exact_spans(name: str) -> None:
    text, blocks = clean(_seed(name))
    assert rebuild(text, blocks) == text
    assert [b for b in blocks if text[b.start : b.end] != text[b.start : b.end].strip()] == []


def test_seed_chrome_is_gone() -> None:
    everything = "\n".join(clean(_seed(name))[0] for name in sorted(SEED_SENTENCES))
    furniture = [
        "大象传媒", "拢", "鈥", "decorative", "BETA", "Try it out", "Make a comment", "Help us improve",
        "Related careers", "You may be interested in", "visit: ", "[1]", "Salary, a pound sign",
        "Hours, a clock face", "Featured Image", "Written by", "Keep reading", "Updated on", "Editorial Team",
        "We're building a new service", " ,", "\u00a0",
    ]
    assert {f: everything.count(f) for f in furniture} == {f: 0 for f in furniture}


def test_seed_bbc_structure() -> None:
    text, blocks = clean(_seed("000_cae7dbe4d5536001.txt"))
    headings = [text[b.start : b.end] for b in blocks if b.kind == "heading"]
    assert headings == [
        "What to expect if you want to be an occupational therapy technical instructor",
        "What qualifications do you need to be an occupational therapy technical instructor?",
    ]
    assert [b.kind for b in blocks].count("bullet") == 7


# --- gaps: where the cleaning removed something -------------------------------------------------


def gaps_of(raw: str) -> list[tuple[str, bool]]:
    text, blocks = clean(raw)
    return [(text[b.start : b.end], b.gap_before) for b in blocks]


def test_a_removed_furniture_line_between_two_paragraphs_is_a_gap() -> None:
    text, blocks = clean("Pay rises each year.\nFind out more\nThey work shifts.")
    # The cleaned text shows an ordinary blank line; only the block says something was taken out there.
    assert text == "Pay rises each year.\n\nThey work shifts."
    assert [(b.start, b.end, b.gap_before) for b in blocks] == [(0, 20, False), (22, 39, True)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Blank lines remove nothing: no gap.
        ("One.\n\n\n\nTwo.", [("One.", False), ("Two.", False)]),
        # Markers dropped inside a line leave the line one block, with no gap in it or after it.
        ("Pay is £24,000 [1]. It varies.\nNext.", [("Pay is £24,000. It varies.", False), ("Next.", False)]),
        # Furniture before the first block: nothing before it to be joined to.
        ("BETATry an improved version of this page\nOne.\nTwo.", [("One.", False), ("Two.", False)]),
        # A line in another script, a short line said again, an empty "visit: ." line.
        ("One.\n大象传媒\nTwo.", [("One.", False), ("Two.", True)]),
        ("Teamwork\n\nTeamwork\n\nTwo.", [("Teamwork", False), ("Two.", True)]),
        ("One.\nFor advice visit: , and .\nTwo.", [("One.", False), ("Two.", True)]),
        # A decorative line between bullets cuts the list in two.
        ("• a\n\nThis is a decorative purple line to separate and organise content on the page.\n• b",
         [("a", False), ("b", True)]),
        # The lead-in of a lost list: cut from its paragraph, the gap is after what is kept ...
        ("Pay rises each year. For more information, check out:\n\n  • .\nNext.",
         [("Pay rises each year.", False), ("Next.", True)]),
        # ... or the whole paragraph when that is all it said.
        ("One.\n\nFor more information, check out:\n\nTwo.", [("One.", False), ("Two.", True)]),
        # A heading with nothing under it.
        ("One.\n\nPay\n\nHours\n\nThey work 37.5 hours.",
         [("One.", False), ("Hours", True), ("They work 37.5 hours.", False)]),
    ],
)
def test_gaps(raw: str, expected: list[tuple[str, bool]]) -> None:
    assert gaps_of(raw) == expected


def test_bbc_seed_gap_where_the_lead_in_of_its_links_was() -> None:
    # The page's paragraph ends "... band 5 of the pay scale. For more information on the two different
    # roles, check out:" and its links are gone: the lead-in is cut, and the next paragraph is after a gap.
    text, blocks = clean(_seed("000_cae7dbe4d5536001.txt"))
    assert "check out" not in text
    i = next(i for i, b in enumerate(blocks) if text[b.start : b.end].endswith("band 5 of the pay scale."))
    after = blocks[i + 1]
    assert text[after.start : after.end].startswith("Occupational therapy (OT) technical instructor roles")
    assert after.gap_before
    assert text[blocks[i].end : after.start] == "\n\n"  # the text alone does not show it
