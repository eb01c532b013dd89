"""Prototype sentences the offline backend compares prompts with.

Each label of :mod:`codecensus.taxonomy` gets its own description (read from
the taxonomy, never restated) plus a few short, generic requests of that kind
written in English: multilingual embedding models map requests in other
languages onto them. Keep them generic: they describe the *kind* of work, not
any particular corpus. Changing a sentence changes the rubric hash, so results
of different versions are never mixed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from codecensus.taxonomy import EXPERTISE, SOC_MAJOR_GROUPS, WORK_MODES

# --- §2 work modes ----------------------------------------------------------------------------------
# Measured on the dev set (tests/devset, both splits) and the unlabelled sample, and left out on purpose:
# - more English requests per mode covering every clause of §2 (equal counts per mode): no change in mode accuracy
#   on either split, ~25 unlabelled sessions moved, and one dev outcome got worse (outcome and expertise use the
#   spread of a prompt's similarities to these prototypes as their unit);
# - more "understand" or "operate" requests: question-like and setup-like phrasings are generic and drew requests
#   of other modes (mode accuracy -0.02 to -0.05 on both splits);
# - translations (4 core requests per mode in zh, es, pt, fr, de, ja, ru, ko): better embedding-only agreement on
#   non-English prompts, but held-out accuracy fell (B -0.03 to -0.05) and single translated sentences became
#   "hubs", the best match of many long English task statements (+60 benchmark runs called plan). Both embedders
#   are multilingual and map other languages onto these English sentences.
MODE_EXAMPLES: Mapping[str, tuple[str, ...]] = {
    "build": (
        "Create a new web app with a login page and a dashboard.",
        "Write a script that downloads the files and saves them to a folder.",
        "Add a new feature: users can export their data.",
        "Build a command line tool from scratch.",
        "Implement this plan: new endpoints, new components and a database model.",
        "Make me a simple game that runs in the browser.",
        "Add a settings page and a dark mode toggle.",
        "Set up a new project with a backend API and a frontend.",
        "Write a REST API with CRUD endpoints for products.",
        "Create a mobile app that tracks my expenses.",
    ),
    "fix": (
        "Fix this bug: the page crashes when I click save.",
        "I get this error when I run the app, please fix it.",
        "The build is failing, find out why and repair it.",
        "Refactor this module and rename the class everywhere.",
        "It still doesn't work, the button does nothing.",
        "Migrate the code to the new version of the library.",
        "Change the layout so the sidebar is on the left.",
        "The API returns 500, debug it.",
        "Update the existing function to handle empty input.",
        "Clean up this code and remove the duplication.",
    ),
    "test": (
        "Write unit tests for this module.",
        "Add integration tests and make the failing tests pass.",
        "Increase test coverage and check the edge cases.",
        "Run the test suite and fix the flaky tests.",
        "Do a QA pass of the existing behaviour.",
        "Write end-to-end tests for the checkout flow.",
        "Add property-based tests for the parser.",
    ),
    "orchestrate": (
        "Set up a GitHub Actions workflow that runs the tests and deploys.",
        "Create a CI pipeline for this repository.",
        "Build a bot that runs every night and sends me a report.",
        "Write a scheduled job that syncs the data every hour.",
        "Configure subagents, hooks and skills for my coding assistant.",
        "Automate the release process so it runs on every tag.",
        "Chain these tools into a workflow that runs automatically.",
    ),
    "operate": (
        "Install the dependencies and start the server.",
        "Deploy the app to production.",
        "Configure nginx and restart the service.",
        "Commit and push my changes to GitHub.",
        "Set up my development environment and the shell config.",
        "Check why the container keeps restarting and look at the logs.",
        "Configure the firewall and open port 443.",
        "Uninstall the old packages and clean up the disk.",
        "Change my editor and terminal settings.",
        "The service will not start, check the configuration and the logs.",
        "Back up the database and rotate the old log files.",
    ),
    "understand": (
        "Explain how this codebase works.",
        "What does this function do?",
        "Walk me through the architecture of this project.",
        "Where is the authentication handled in this repo?",
        "Can you answer a question about this tool?",
        "Read the project and summarize what it does.",
        "Why does this code behave like this?",
        "How does the caching layer decide what to evict?",
        "Is it possible to do this with the current setup?",
    ),
    "plan": (
        "Design the architecture before we write any code.",
        "Write a technical spec and a task breakdown for this feature.",
        "Make a plan for the migration, don't implement it yet.",
        "Propose options and trade-offs for the approach.",
        "Create a roadmap and milestones for the project.",
        "Write the requirements document and the detailed design.",
        "Let's discuss the idea and the approach before implementing.",
        "Break the project into phases with estimates.",
    ),
    "analyze": (
        "Analyze this CSV file and compute summary statistics.",
        "Query the database and make a chart of monthly sales.",
        "Explore the dataset in a notebook and report what you find.",
        "Count how many transactions happened per day.",
        "Build a data visualization of these numbers.",
        "Compare the two groups in the data and show the differences in a table.",
        "Clean the data and fit a regression model.",
    ),
    "write": (
        "Write a blog post about our launch.",
        "Draft an email to the client.",
        "Write the documentation and the README for users.",
        "Help me write a paper, an essay or a report.",
        "Write a cover letter and fill in this application.",
        "Create slides for my presentation.",
        "Edit and proofread this document.",
        "Write a newsletter for our subscribers.",
        "Write a story and the dialogue for the characters.",
        "Translate this text and improve the wording.",
        "Help me apply for a grant and write the application.",
        "Write a funding proposal for this programme.",
        "Answer the questions of this application form about my project.",
    ),
}

# --- §5 occupations: the domain of the work (what a person in the group would ask for) ----------------
OCCUPATION_EXAMPLES: Mapping[str, tuple[str, ...]] = {
    "11": (
        "I manage a team and need a project status report for leadership.",
        "Prepare the budget and hiring plan for my department.",
        "As the founder, I need our business strategy and goals for the quarter.",
    ),
    "13": (
        "Build a financial model and analyze the quarterly revenue.",
        "Prepare the tax filing and reconcile the accounts.",
        "Write the marketing campaign plan and analyze customer segments.",
        "Review the HR policy and the payroll process.",
    ),
    "15": (
        "Fix the bug in the backend service and add tests.",
        "Refactor the React components and update the API client.",
        "Set up the database schema and the deployment pipeline.",
        "Train the machine learning model and evaluate it.",
        # running one's software (deploys, containers, servers) is software work too: without it, a deployment
        # request in es, de, pt, zh or ko stayed under the text-only threshold of group 15 (z 1.9-2.5 against
        # 2.92; en 2.93) and was not_inferable. Dev set: no figure changed; 2 of 255 unlabelled sessions moved
        # (both operate sessions with commands, not_inferable -> 15).
        "Deploy the application with Docker and configure the production server.",
    ),
    "17": (
        "Calculate the load on the beam for the structural design.",
        "Design the circuit board and check the electrical specifications.",
        "Simulate the mechanical part in CAD.",
    ),
    "19": (
        "Analyze the results of my lab experiment for the research paper.",
        "Run the statistical analysis for my economics study.",
        "Process the sequencing data for the biology project.",
    ),
    "21": ("Prepare a counselling plan for my client.", "Organize the community outreach program."),
    "23": (
        "Draft a contract clause and review the legal terms.",
        "Summarize this court ruling for the case.",
        "Check the compliance of this agreement with the regulation.",
    ),
    "25": (
        "Create exam questions and a lesson plan for my students.",
        "Prepare course material for my class.",
        "Grade the assignments with this rubric.",
    ),
    "27": (
        "Write the script for my video and the social media posts.",
        "Design the logo and the visual identity.",
        "Edit the article for the magazine.",
        "Compose the music and produce the podcast episode.",
    ),
    "29": (
        "Summarize the patient's medical history for the clinic.",
        "Check the drug dosage guidelines for treatment.",
    ),
    "31": ("Schedule patient appointments and update the care notes.",),
    "33": ("Write the incident report for the security patrol.",),
    "35": ("Plan the restaurant menu and the recipes.",),
    "37": ("Schedule the cleaning and maintenance of the building.",),
    "39": ("Plan the training program for my fitness clients.",),
    "41": (
        "Write a sales pitch for a prospect and update the CRM.",
        "Prepare the listing for the property I am selling.",
    ),
    "43": (
        "Organize the office files and the calendar.",
        "Answer customer service emails and update the records.",
    ),
    "45": ("Plan the planting and the harvest for the farm.",),
    "47": ("Estimate the materials for the construction job.",),
    "49": ("Diagnose the repair needed for the machine.",),
    "51": ("Optimize the production line in the factory.",),
    "53": ("Plan the delivery routes for the trucks.",),
}

# --- §4 expertise: how the human frames the work ---------------------------------------------------------
EXPERTISE_EXAMPLES: Mapping[str, tuple[str, ...]] = {
    "novice": (
        "It doesn't work, please help.",
        "What is a terminal and how do I open it?",
        "Make me an app, I don't know how to code.",
        "I don't understand what this error means.",
        "Can you just do everything for me?",
    ),
    "expert": (
        "Keep the public interface stable, add a regression test for the race condition and benchmark the hot path.",
        "Use a transaction with row-level locking; reject the approach with a global mutex.",
        "The diff is wrong: the cache key must include the tenant id. Verify with a failing test first.",
        "Acceptance criteria: all endpoints return 4xx on invalid input, p95 latency under 50 ms.",
        "Don't touch the schema; write the migration separately and check it against production data.",
    ),
}

# --- §3 feedback on the agent's work ----------------------------------------------------------------------
FEEDBACK_EXAMPLES: Mapping[str, tuple[str, ...]] = {
    "confirm": (
        "It works now, thanks!",
        "Perfect, that fixed it.",
        "Great, everything is working.",
        "Looks good, thank you.",
    ),
    "complain": (
        "It still doesn't work.",
        "Same error again.",
        "You broke it, nothing works now.",
        "That's wrong, it's still failing.",
    ),
}


def mode_texts() -> dict[str, list[str]]:
    """Per work mode: the taxonomy description, then the example requests."""
    out = {}
    for m in WORK_MODES:
        out[m.key] = [f"The session mainly {m.description}.", *MODE_EXAMPLES[m.key]]
    return out


def occupation_texts() -> dict[str, list[str]]:
    out = {}
    for g in SOC_MAJOR_GROUPS:
        out[g.key] = [f"Work of {g.name.lower()} occupations: {g.description}.", *OCCUPATION_EXAMPLES[g.key]]
    return out


def expertise_texts() -> dict[str, list[str]]:
    lo = next(e for e in EXPERTISE if e.key == "1")
    hi = next(e for e in EXPERTISE if e.key == "5")
    return {
        "novice": [f"A {lo.name.lower()} user: {lo.description}.", *EXPERTISE_EXAMPLES["novice"]],
        "expert": [f"An {hi.name.lower()} user: {hi.description}.", *EXPERTISE_EXAMPLES["expert"]],
    }


def feedback_texts() -> dict[str, list[str]]:
    return {k: list(v) for k, v in FEEDBACK_EXAMPLES.items()}


def prototype_hash() -> str:
    """Hash of every prototype sentence (part of the offline rubric hash)."""
    h = hashlib.sha256()
    for group in (mode_texts(), occupation_texts(), expertise_texts(), feedback_texts()):
        for k in sorted(group):
            for t in group[k]:
                h.update(f"{k}\t{t}\n".encode())
    return h.hexdigest()[:16]


__all__ = [
    "expertise_texts",
    "feedback_texts",
    "mode_texts",
    "occupation_texts",
    "prototype_hash",
]
