"""The single source of every facet definition (taxonomy.md §2–§8).

Prompts, offline rules, reports and docs all read from here; nothing else may
spell out a work mode, an outcome or an SOC group by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

TAXONOMY_VERSION: Final = "2026-06.1"


@dataclass(frozen=True, slots=True)
class Label:
    key: str
    name: str
    description: str


# §2 Work mode: one per session, the mode of most of the work.
WORK_MODES: Final[tuple[Label, ...]] = (
    Label("build", "Build", "writes new code: a new program, feature, script, page or project"),
    Label("fix", "Fix", "repairs or modifies existing code: bugs, errors, failing builds, refactors, migrations"),
    Label("test", "Test", "writes, runs or repairs tests; QA of existing behaviour"),
    Label(
        "orchestrate",
        "Orchestrate",
        "builds automation: CI pipelines, agents, workflows, scheduled jobs, tool chains",
    ),
    Label(
        "operate",
        "Operate",
        "runs software: install, configure, deploy, administer, monitor, git and cloud operations",
    ),
    Label(
        "understand",
        "Understand",
        "explains or explores an existing system or codebase, answers questions about it",
    ),
    Label("plan", "Plan", "designs a change: architecture, specs, plans, task breakdowns, without doing it"),
    Label("analyze", "Analyze", "analyses data: queries, statistics, charts, notebooks, reports on data"),
    Label(
        "write",
        "Write",
        "writes prose: documents, presentations, papers, emails, fiction, documentation",
    ),
)
MODE_KEYS: Final = tuple(m.key for m in WORK_MODES)

# Roll-ups used in reports (§2).
MODE_ROLLUP: Final[dict[str, str]] = {
    "build": "code",
    "fix": "code",
    "test": "code",
    "orchestrate": "code",
    "operate": "operate",
    "plan": "plan/understand",
    "understand": "plan/understand",
    "analyze": "analysis/writing",
    "write": "analysis/writing",
}
CODE_PRODUCING_MODES: Final = frozenset({"build", "fix", "test", "orchestrate"})

# §3 Outcome.
OUTCOMES: Final[tuple[Label, ...]] = (
    Label(
        "verified_success",
        "Verified success",
        "the user's goal was achieved and the transcript holds hard evidence: a commit of the work, "
        "tests that pass after the final change, or the user's explicit confirmation that it works",
    ),
    Label("success", "Success", "the goal looks achieved, but without such evidence"),
    Label(
        "partial",
        "Partial",
        "part of the goal was achieved, or it was achieved with problems left open",
    ),
    Label(
        "failure",
        "Failure",
        "nothing of the goal was achieved, or the session was abandoned stuck",
    ),
    Label("unclear", "Unclear", "the transcript cannot tell (e.g. it stops before any result)"),
)
OUTCOME_KEYS: Final = tuple(o.key for o in OUTCOMES)
# Ordinal score used for AUC against resolved/unresolved labels (higher = more successful).
OUTCOME_SCORE: Final[dict[str, float]] = {
    "verified_success": 1.0,
    "success": 0.75,
    "partial": 0.4,
    "unclear": 0.3,
    "failure": 0.0,
}
AT_LEAST_PARTIAL: Final = frozenset({"verified_success", "success", "partial"})
AT_LEAST_SUCCESS: Final = frozenset({"verified_success", "success"})

# Evidence kinds that make a success "verified".
OUTCOME_EVIDENCE: Final[tuple[Label, ...]] = (
    Label("commit", "Commit", "a git commit of the work after the last change"),
    Label("tests_pass", "Tests pass", "a test run that passes after the final change"),
    Label("user_confirmed", "User confirmed", "the user explicitly confirms that it works"),
)

# §4 Expertise (task-specific).
EXPERTISE: Final[tuple[Label, ...]] = (
    Label("1", "Novice", "vague goal in everyday words; accepts what comes; cannot diagnose; asks what basic terms mean"),
    Label("2", "Beginner", "some vocabulary; follows the agent's lead; verifies only by 'does it run'"),
    Label("3", "Intermediate", "clear goals with files or commands named; some verification; occasional corrections"),
    Label("4", "Advanced", "precise constraints and acceptance criteria; asks for specific checks; redirects the approach"),
    Label("5", "Expert", "directs design; anticipates pitfalls; catches subtle errors; defines how to verify"),
)
EXPERTISE_LEVELS: Final = (1, 2, 3, 4, 5)
EXPERTISE_SIGNALS: Final = (
    "how precisely the user frames what to do (goals, constraints, files, interfaces, acceptance criteria)",
    "what the user asks the agent to verify and how (tests, edge cases, reading diffs)",
    "who corrects whom (does the user catch the agent's mistakes and redirect, or does the agent correct the user)",
)

# §5 Occupation: SOC 2018 major groups.
SOC_MAJOR_GROUPS: Final[tuple[Label, ...]] = (
    Label("11", "Management", "chief executives, general and operations managers, managers of functions and projects"),
    Label("13", "Business and Financial Operations", "accountants, analysts, auditors, HR, marketing and management analysts"),
    Label("15", "Computer and Mathematical", "software developers, data scientists, engineers of systems and networks, statisticians"),
    Label("17", "Architecture and Engineering", "architects, civil, mechanical, electrical and hardware engineers, drafters"),
    Label("19", "Life, Physical, and Social Science", "scientists and researchers in biology, chemistry, physics, economics, psychology"),
    Label("21", "Community and Social Service", "counsellors, social workers, clergy, health educators"),
    Label("23", "Legal", "lawyers, paralegals, judges, legal support"),
    Label("25", "Educational Instruction and Library", "teachers, professors, tutors, librarians, instructional designers"),
    Label("27", "Arts, Design, Entertainment, Sports, and Media", "designers, writers, editors, artists, musicians, journalists, game designers"),
    Label("29", "Healthcare Practitioners and Technical", "physicians, nurses, pharmacists, clinical technicians"),
    Label("31", "Healthcare Support", "medical assistants, aides"),
    Label("33", "Protective Service", "police, firefighters, security guards"),
    Label("35", "Food Preparation and Serving Related", "cooks, chefs, servers"),
    Label("37", "Building and Grounds Cleaning and Maintenance", "janitors, groundskeepers"),
    Label("39", "Personal Care and Service", "fitness trainers, hairdressers, childcare workers"),
    Label("41", "Sales and Related", "sales representatives, real-estate agents, retail and account sales"),
    Label("43", "Office and Administrative Support", "clerks, administrative assistants, customer service, bookkeeping clerks"),
    Label("45", "Farming, Fishing, and Forestry", "agricultural workers"),
    Label("47", "Construction and Extraction", "construction trades"),
    Label("49", "Installation, Maintenance, and Repair", "mechanics, technicians who repair equipment"),
    Label("51", "Production", "manufacturing and production workers"),
    Label("53", "Transportation and Material Moving", "drivers, pilots, logistics workers"),
)
NOT_INFERABLE: Final = "not_inferable"
SOC_KEYS: Final = tuple(g.key for g in SOC_MAJOR_GROUPS)
OCCUPATION_KEYS: Final = (*SOC_KEYS, NOT_INFERABLE)
SOFTWARE_SOC: Final = "15"

# §6 Decisions.
DECISION_KINDS: Final[tuple[Label, ...]] = (
    Label("planning", "Planning", "what to do, which approach, what counts as done"),
    Label("execution", "Execution", "which files, what code, which commands"),
)

# §3 outcome flags.
TROUBLE_FLAGS: Final[tuple[Label, ...]] = (
    Label("trouble", "Trouble", "repeated errors, failed attempts, or the user had to correct the agent"),
    Label("recovered", "Recovered", "trouble, but the session still ended in success"),
    Label("abandoned", "Abandoned", "trouble, and the user stopped with the problem unresolved"),
)


# Why a facet holds no finding: expertise NULL, occupation `not_inferable`, outcome `unclear` (§3–§5). Stored with
# each such facet (facets.<facet>_reason), counted in the classify run's manifest.
ABSTENTION_REASONS: Final[tuple[Label, ...]] = (
    Label("empty_session", "Empty session", "nothing in the session: no prompt, tool call or reply"),
    Label("no_answer", "No valid answer", "the backend gave no valid answer (an LLM's reply failed validation and "
          "its repair, or the server refused the request)"),
    Label("no_human_request", "No human request", "the session holds no prompt typed by the human"),
    Label("too_little_text", "Too little text", "the human's prompts hold too few words to judge from (greetings, "
          "slash commands, wrappers, a word or two)"),
    Label("unreadable_request", "Unreadable request", "the request is in a language the offline embedder cannot "
          "read, and nothing was done"),
    Label("thin_evidence", "Thin evidence", "enough text, but no clear evidence for any label"),
    Label("nothing_done", "Nothing done", "the agent neither acted nor replied"),
    Label("no_result", "No result", "the transcript stops before any result (no turn was concluded)"),
    Label("model_cannot_tell", "Model could not tell", "the LLM answered that the record cannot tell"),
    Label("not_recorded", "Not recorded", "classified before reasons were stored, or by a backend that gives none"),
)
ABSTENTION_REASON_KEYS: Final = tuple(r.key for r in ABSTENTION_REASONS)
# What the report says for each reason (one plain phrase per key; the report's abstentions table)
ABSTENTION_REASON_WORDS: Final[dict[str, str]] = {
    "empty_session": "empty session",
    "no_answer": "no valid answer from the classifier",
    "no_human_request": "no request typed by the human",
    "too_little_text": "too little text from the human",
    "unreadable_request": "request in a language the classifier cannot read",
    "thin_evidence": "thin evidence",
    "nothing_done": "the agent did nothing",
    "no_result": "the transcript stops before any result",
    "model_cannot_tell": "the model could not tell",
    "not_recorded": "not recorded: re-run `codecensus classify`",
}
assert tuple(ABSTENTION_REASON_WORDS) == ABSTENTION_REASON_KEYS
# the facets that can abstain, with the value that says so (expertise: None)
ABSTAINING_FACETS: Final = ("expertise", "occupation", "outcome")


def abstains_sql(facet: str, column: str | None = None) -> str:
    """The SQL condition under which ``facet`` (one of :data:`ABSTAINING_FACETS`) abstains, on ``column`` (the
    facet's own name when not given): the rows its ``<facet>_reason`` column is about."""
    col = column or facet
    return {"expertise": f"{col} IS NULL", "occupation": f"{col} = '{NOT_INFERABLE}'", "outcome": f"{col} = 'unclear'"}[facet]

def label(collection: tuple[Label, ...], key: str | int) -> Label:
    """Look up a label by key, raising KeyError with the valid keys."""
    k = str(key)
    for item in collection:
        if item.key == k:
            return item
    raise KeyError(f"{key!r} is not one of {[i.key for i in collection]}")


def soc_name(key: str) -> str:
    if key == NOT_INFERABLE:
        return "Not inferable"
    return label(SOC_MAJOR_GROUPS, key).name
