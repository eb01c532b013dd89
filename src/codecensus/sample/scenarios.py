"""Scenario content for the sample generator: who the users are, what they ask for,
and how their wording reflects their expertise and language.

Pure data plus small helpers; nothing here writes files. Labels come from
``codecensus.taxonomy`` (work modes, SOC groups); the topics below are the
planted ground truth that clustering should recover.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codecensus.taxonomy import MODE_KEYS, SOC_KEYS


@dataclass(frozen=True, slots=True)
class Occupation:
    soc: str
    share: float  # share of users at the start of the corpus
    growth: float  # how much later this group tends to join (0 = evenly, 1+ = mostly late)
    expertise: float  # mean personal skill (1-5) on its own kind of work
    modes: dict[str, float]  # work-mode affinity
    roles: tuple[str, ...]  # how such a user sometimes describes themselves


OCCUPATIONS: tuple[Occupation, ...] = (
    Occupation(
        "15", 0.50, 0.0, 3.4,
        {"fix": 3.9, "build": 2.2, "test": 0.9, "orchestrate": 0.9, "operate": 1.0, "understand": 0.8,
         "plan": 0.6, "analyze": 0.35, "write": 0.35},
        ("I'm a backend developer", "I work on our platform team", "I'm the only engineer at a small startup",
         "I'm a data engineer", "I do mostly frontend work", "I'm an SRE"),
    ),
    Occupation(
        "13", 0.08, 0.35, 2.3,
        {"analyze": 3.0, "write": 1.4, "build": 0.8, "orchestrate": 0.9, "fix": 0.6, "understand": 0.8,
         "operate": 0.4, "plan": 0.4},
        ("I'm a financial analyst", "I work in accounting", "I'm a marketing analyst", "I do HR analytics"),
    ),
    Occupation(
        "27", 0.06, 0.2, 2.3,
        {"build": 2.5, "write": 2.0, "fix": 1.0, "operate": 0.6, "understand": 0.5, "analyze": 0.3},
        ("I'm a designer", "I'm a freelance writer", "I'm a video editor", "I'm a photographer"),
    ),
    Occupation(
        "11", 0.045, 1.1, 2.2,
        {"plan": 2.0, "write": 2.0, "analyze": 2.0, "build": 1.0, "orchestrate": 1.0, "understand": 0.8,
         "operate": 0.5},
        ("I'm a product manager", "I run a small company", "I'm an engineering manager", "I manage operations"),
    ),
    Occupation(
        "19", 0.06, 0.2, 2.6,
        {"analyze": 3.0, "write": 1.5, "build": 0.8, "fix": 0.8, "operate": 0.6, "understand": 1.0},
        ("I'm a biologist", "I'm a PhD student in economics", "I'm a chemist", "I do research in psychology"),
    ),
    Occupation(
        "41", 0.035, 1.3, 1.8,
        {"analyze": 2.0, "write": 2.6, "orchestrate": 1.2, "build": 1.0, "operate": 0.3},
        ("I'm in sales", "I'm an account executive", "I run sales ops", "I'm a real-estate agent"),
    ),
    Occupation(
        "23", 0.025, 1.3, 1.8,
        {"write": 3.0, "analyze": 1.0, "understand": 0.8, "build": 0.5, "orchestrate": 0.6},
        ("I'm a lawyer", "I'm a paralegal", "I work in legal ops", "I'm in-house counsel"),
    ),
    Occupation(
        "25", 0.05, 0.2, 2.2,
        {"write": 2.0, "build": 1.5, "analyze": 1.4, "understand": 1.0, "operate": 0.8},
        ("I'm a teacher", "I teach high-school math", "I'm a university lecturer", "I'm a librarian"),
    ),
    Occupation(
        "17", 0.04, 0.1, 2.8,
        {"analyze": 2.5, "build": 1.2, "fix": 1.0, "write": 1.2, "test": 0.5},
        ("I'm a civil engineer", "I'm a mechanical engineer", "I'm an electrical engineer", "I'm an architect"),
    ),
    Occupation(
        "43", 0.03, 0.4, 1.7,
        {"orchestrate": 1.5, "fix": 1.0, "analyze": 1.5, "write": 1.2, "operate": 0.8},
        ("I'm an office manager", "I do admin work", "I work in customer service", "I'm a bookkeeper"),
    ),
    Occupation(
        "29", 0.015, 0.3, 2.0,
        {"analyze": 2.0, "write": 1.5, "build": 0.8},
        ("I'm a nurse", "I'm a physician", "I'm a pharmacist"),
    ),
    Occupation(
        "21", 0.01, 0.3, 1.6,
        {"write": 2.0, "analyze": 1.0},
        ("I'm a social worker", "I'm a counsellor"),
    ),
)
OCC_BY_SOC: dict[str, Occupation] = {o.soc: o for o in OCCUPATIONS}

# Mode-mix drift over the corpus (fix falls; operate, analyze, write rise). Linear in the time fraction.
MODE_DRIFT: dict[str, tuple[float, float]] = {
    "fix": (1.35, 0.62),
    "build": (1.0, 0.95),
    "test": (1.0, 0.95),
    "orchestrate": (0.95, 1.1),
    "operate": (0.7, 1.45),
    "understand": (1.0, 1.0),
    "plan": (1.0, 1.05),
    "analyze": (0.7, 1.5),
    "write": (0.7, 1.55),
}


def mode_drift(mode: str, frac: float) -> float:
    a, b = MODE_DRIFT[mode]
    return a + (b - a) * frac


@dataclass(frozen=True, slots=True)
class Topic:
    key: str
    title: str  # planted topic label (truth.csv)
    mode: str
    stack: str
    occ: dict[str, float]  # SOC group → affinity
    obj: str  # short technical noun phrase, reused by non-English prompt frames
    novice: tuple[str, ...]  # everyday words
    mid: tuple[str, ...]  # some vocabulary, names a file or command
    expert: tuple[str, ...]  # precise: files, interfaces, constraints
    changes: tuple[str, ...]  # what the agent reports having done
    causes: tuple[str, ...] = ()  # what the agent finds (fix/test/operate)
    checks: tuple[str, ...] = ()  # acceptance criteria an expert names
    terms: tuple[str, ...] = ()  # jargon a novice asks about
    remaining: tuple[str, ...] = ("one edge case is still open",)  # left open in partial outcomes
    features: tuple[str, ...] = ()  # follow-up requests


_SW = {"15": 1.0}

TOPICS: tuple[Topic, ...] = (
    # ---------------------------------------------------------------- fix
    Topic(
        "django-pytest", "fix failing pytest in a Django app", "fix", "django", _SW,
        "failing pytest tests in my Django app",
        ("the tests on my website project are all red now and I don't know why. can you make them pass?",
         "something broke in the shop app, when I run the tests it says failed. please fix"),
        ("Some pytest tests in the orders app started failing after I upgraded Django. Can you find out why?",
         "`pytest` fails in `{file}` with an assertion about the order total. Can you fix it?"),
        ("`{test_cmd}` fails 3 tests in `{file}` since the Django 5.1 upgrade. I suspect the Decimal rounding in "
         "`OrderSerializer.get_total`. Fix the root cause, not the assertions.",
         "After bumping Django, `test_views.py::test_total_rounding` and two fixtures-based tests fail. Keep the "
         "public API of `{file2}` unchanged and don't touch the migrations."),
        ("Fixed the rounding in `OrderSerializer.get_total` to use `quantize(Decimal('0.01'), ROUND_HALF_UP)`",
         "Updated the `order_with_items` fixture to create prices as `Decimal` instead of float",
         "Added a regression test for totals that end in .005"),
        ("the serializer sums float prices before converting to Decimal, so 0.1 + 0.2 style errors leak into totals",
         "Django 5.1 changed the default rounding used by `DecimalField.to_python`"),
        ("all tests in orders/ pass", "no change to the REST response schema"),
        ("fixture", "migration", "assertion", "Decimal"),
        ("the discount test still fails on leap days",),
        ("also make the admin list show the rounded total",),
    ),
    Topic(
        "react-form-bug", "fix a React state bug in a form", "fix", "react", {"15": 1.0, "27": 0.3},
        "a React form state bug",
        ("when I type in the signup box the letters disappear sometimes, it's so annoying. fix please",
         "my form on the website resets itself when I click the checkbox. why??"),
        ("The signup form in `{file}` loses input when the terms checkbox is toggled. Looks like a state issue.",
         "There's a bug in our React signup form: the email field clears after validation runs."),
        ("`SignupForm` re-mounts on every checkbox toggle because the `key` on the wrapper is derived from "
         "`Date.now()`. Remove that, keep the component controlled, and add a vitest case that types, toggles, "
         "and asserts the value survives.",
         "The form in `{file}` mixes controlled and uncontrolled inputs; React warns about it in the console. "
         "Convert everything to controlled state with a single `useReducer`, no new dependencies."),
        ("Removed the unstable `key={{Date.now()}}` from the form wrapper",
         "Moved the field values into a single `useReducer` so toggling the checkbox no longer resets state",
         "Added a test that types into the email field, toggles the checkbox and checks the value"),
        ("the wrapper gets a new `key` on every render, so React unmounts and remounts the form",),
        ("no console warnings", "existing tests still pass"),
        ("state", "component", "hook", "re-render"),
        ("the password strength meter still flickers",),
        ("also show the validation error under each field",),
    ),
    Topic(
        "express-500", "fix 500 errors in an Express API", "fix", "node", _SW,
        "500 errors in our Express API",
        ("our app shows 'internal server error' when people try to check out. can you look?",
         "the server crashes when I open the orders page, it says 500"),
        ("`GET /api/orders` returns 500 in staging since yesterday. Logs show an unhandled promise rejection.",
         "The orders route in `{file}` throws when the customer has no address. Can you fix it and add a test?"),
        ("`GET /api/orders?status=open` 500s with `TypeError: Cannot read properties of undefined (reading 'id')` "
         "in `{file}`. Handle a missing `customer` explicitly (return 422 with an error body), add a jest test, "
         "and make sure the async handler errors reach the error middleware.",),
        ("Wrapped the async route handlers so rejections reach the error middleware",
         "Return 422 with `{{error: 'customer_required'}}` when an order has no customer",
         "Added jest tests for the missing-customer and happy paths"),
        ("the async handler is not wrapped, so the rejection never reaches the error middleware",
         "orders created by the import script have `customer: null`"),
        ("`npm test` green", "no 500 for orders without a customer"),
        ("endpoint", "middleware", "promise", "stack trace"),
        ("the pagination still returns duplicates on page boundaries",),
        ("log the request id with every error",),
    ),
    Topic(
        "python-script-crash", "fix a crashing Python data script", "fix", "python",
        {"15": 0.6, "19": 1.0, "13": 0.8, "17": 0.6},
        "a crashing Python script",
        ("my python script that cleans the spreadsheet stopped working, it just shows a bunch of red text",
         "I got a script from a colleague and it crashes on my computer. I don't know python really"),
        ("My script `{file}` crashes with a KeyError on the new export file. Can you make it robust?",
         "The cleaning script fails with `UnicodeDecodeError` on some CSVs. Please fix it."),
        ("`{file}` crashes on the March export: `KeyError: 'Customer ID'` (the column was renamed to `customer_id`). "
         "Normalise headers once at load time, fail with a clear message listing missing columns, and add a "
         "pytest case with a tiny fixture CSV.",),
        ("Normalised column names to snake_case right after loading",
         "Read the CSV with `encoding='utf-8-sig'` and fall back to latin-1",
         "Added a clear error listing any missing required columns"),
        ("the export now uses `customer_id` instead of `Customer ID`",
         "some files are saved with a BOM and a Windows code page"),
        ("script runs on all files in data/", "a test covers the renamed headers"),
        ("KeyError", "encoding", "traceback", "CSV"),
        ("dates in the old files are still parsed as strings",),
        ("also write a log of skipped rows",),
    ),
    Topic(
        "go-race", "fix a data race in a Go service", "fix", "go", _SW,
        "a data race in a Go service",
        ("our go server crashes randomly, a friend said it might be a race thing?",),
        ("`go test -race ./...` reports a data race in the cache package. Can you fix it?",
         "The in-memory cache in `{file}` panics with `concurrent map writes` under load."),
        ("`go test -race ./internal/cache` flags a race between `Get` and the janitor goroutine in `{file}`. "
         "Guard the map with a `sync.RWMutex` (no `sync.Map`, we need ordered eviction), keep `Get` lock-free "
         "on the hot path if you can prove it's safe, and add a stress test with 64 goroutines.",),
        ("Guarded the map with a `sync.RWMutex`", "Moved eviction into the same critical section as insert",
         "Added a concurrent stress test that runs under `-race`"),
        ("the janitor goroutine deletes from the map while `Get` reads it without a lock",),
        ("`go test -race ./...` clean", "no measurable regression in BenchmarkGet"),
        ("goroutine", "mutex", "race detector"),
        ("the benchmark is 8% slower on the write path",),
        ("add a metric for evictions",),
    ),
    Topic(
        "css-mobile-layout", "fix a broken mobile layout in CSS", "fix", "site", {"15": 0.6, "27": 1.0, "25": 0.3},
        "a broken mobile layout",
        ("my website looks weird on my phone, the menu covers everything. can you fix it? i don't know css",
         "on iphone the pictures on my site go off the screen"),
        ("The navbar overlaps the hero on screens under 768px. Can you fix the CSS in `{file}`?",
         "The gallery grid overflows horizontally on mobile. Please fix it."),
        ("Below 768px the fixed navbar in `{file}` overlaps the hero because the body has no top padding and the "
         "grid uses fixed 320px columns. Switch the gallery to `repeat(auto-fill, minmax(160px, 1fr))`, add a "
         "`scroll-padding-top`, no JS changes.",),
        ("Added a mobile breakpoint that collapses the menu into a toggle",
         "Switched the gallery to a responsive `auto-fill` grid", "Made images `max-width: 100%`"),
        ("the gallery uses fixed-width columns that don't fit on small screens",),
        ("no horizontal scroll at 375px", "menu usable with keyboard"),
        ("media query", "CSS", "breakpoint", "flexbox"),
        ("the footer still wraps awkwardly on very small phones",),
        ("make the menu close after clicking a link",),
    ),
    Topic(
        "refactor-legacy", "refactor a legacy Python module", "fix", "python", _SW,
        "refactoring a legacy Python module",
        ("this old code is a mess, can you clean it up?",),
        ("`{file}` is a 900-line module with global state. Can you split it up without changing behaviour?",),
        ("Split `{file}` into `parsing`, `pricing` and `io` modules. Behaviour must not change: characterise the "
         "current outputs with golden tests first, then refactor in small commits. Keep the public functions "
         "re-exported from the old module path for one release.",
         "Remove the module-level `CONFIG` global from `{file}`; inject it through `Pricer.__init__`. Type-annotate "
         "everything you touch and keep mypy --strict clean on the new modules."),
        ("Added golden-file tests that capture the current output", "Split the module into three focused modules",
         "Replaced the global config with constructor injection", "Kept backwards-compatible re-exports"),
        ("the pricing code reads the global config at import time",),
        ("golden tests unchanged", "mypy --strict clean"),
        ("refactor", "global variable", "type hints"),
        ("two helper functions are still duplicated",),
    ),
    Topic(
        "alembic-migration", "migrate a Postgres schema with Alembic", "fix", "fastapi", _SW,
        "a Postgres schema migration with Alembic",
        ("I need to change the database but I'm scared of losing data",),
        ("I need an Alembic migration that splits `users.name` into first and last name.",),
        ("Write an Alembic migration that splits `users.name` into `first_name`/`last_name`, backfills in batches of "
         "10k, is reversible, and doesn't lock the table for more than a second. Test upgrade and downgrade "
         "against a throwaway Postgres container.",),
        ("Added a reversible Alembic migration with a batched backfill", "Updated the SQLAlchemy model",
         "Tested upgrade → downgrade → upgrade on a local Postgres"),
        ("the old model assumed a single `name` column everywhere",),
        ("downgrade restores the original data", "no long table lock"),
        ("migration", "schema", "rollback"),
        ("names with three parts are split naively",),
    ),
    Topic(
        "sheet-macro", "fix a broken spreadsheet script", "fix", "appsscript", {"43": 1.0, "13": 0.7, "41": 0.5},
        "a broken Google Sheets script",
        ("the button in our google sheet that sends the invoices doesn't do anything anymore. help!",
         "my spreadsheet macro gives an error since we added a new column"),
        ("Our Apps Script that emails invoices from the sheet fails with `Exception: Invalid email`. Can you fix it?",),
        ("The Apps Script in `{file}` reads columns by index; since column F was inserted it sends the wrong amounts. "
         "Look up columns by header name, skip rows with an empty email, and log skipped rows to a 'Log' sheet.",),
        ("Read columns by header name instead of fixed positions", "Skip rows with an empty or invalid email",
         "Log skipped rows to a separate sheet"),
        ("the script reads column 5 but the email moved to column 6",),
        ("invoices go to the right people", "no error on empty rows"),
        ("script", "trigger", "column index"),
        ("the PDF attachment still uses the old template",),
    ),
    # ---------------------------------------------------------------- build
    Topic(
        "react-landing", "build a React landing page", "build", "react", {"15": 0.7, "27": 1.0, "11": 0.6, "41": 0.4},
        "a React landing page",
        ("I want a nice website for my new product, with a big picture and a button to sign up",
         "can you make me a landing page? something modern looking"),
        ("Build a landing page in React with a hero, three feature cards and a signup form. Use Tailwind.",
         "I need a React + Vite landing page with a pricing section and an FAQ accordion."),
        ("Build the landing page in `src/` with Vite + React + TypeScript: `Hero`, `FeatureGrid` (3 cards from a "
         "typed array), `Pricing` (monthly/yearly toggle) and `SignupForm` posting to `/api/waitlist`. Tailwind "
         "only, no UI kit. Lighthouse accessibility ≥ 95 and no layout shift on load.",),
        ("Created `Hero`, `FeatureGrid`, `Pricing` and `SignupForm` components",
         "Added a monthly/yearly toggle to the pricing section", "Wired the signup form to `/api/waitlist`",
         "Made the layout responsive with Tailwind breakpoints"),
        (), ("Lighthouse a11y ≥ 95", "builds with `npm run build`"),
        ("component", "Tailwind", "npm", "deploy"),
        ("the testimonials carousel isn't done yet",),
        ("add a dark mode toggle", "make the hero image lazy-load"),
    ),
    Topic(
        "fastapi-crud", "build a CRUD REST API with FastAPI", "build", "fastapi", _SW,
        "a CRUD REST API in FastAPI",
        ("I need a backend for my app where I can save and list things. I heard fastapi is easy?",),
        ("Create a FastAPI app with CRUD endpoints for `items`, using SQLite and SQLAlchemy.",
         "Build a small REST API for bookings with FastAPI and pydantic models."),
        ("Build `app/` with FastAPI: `/items` CRUD, pydantic v2 schemas separate from SQLAlchemy 2.0 models, "
         "async session dependency, pagination via `limit`/`cursor`, 404/409 error bodies. Tests with httpx "
         "`AsyncClient` covering every endpoint.",),
        ("Created SQLAlchemy models and pydantic schemas for items", "Added CRUD endpoints with cursor pagination",
         "Added an async DB session dependency", "Wrote API tests with httpx"),
        (), ("every endpoint has a test", "OpenAPI docs render"),
        ("endpoint", "ORM", "REST", "schema"),
        ("authentication isn't wired yet",),
        ("add filtering by status",),
    ),
    Topic(
        "rust-cli", "build a command-line tool in Rust", "build", "rust", _SW,
        "a command-line tool in Rust",
        ("I want to learn rust, can you make a small program that renames my photos by date?",),
        ("Build a Rust CLI with clap that converts CSV to JSON.",
         "Create a small Rust tool that counts lines of code per language in a directory."),
        ("Build `csv2json` in Rust: clap derive API, streaming with `csv::Reader` (no loading the whole file), "
         "`--pretty` and `--ndjson` flags, exit code 2 on malformed rows with the line number. Integration tests "
         "with `assert_cmd`.",),
        ("Created the clap CLI with `--pretty` and `--ndjson`", "Streamed rows with `csv::Reader`",
         "Return exit code 2 with the line number on malformed rows", "Added integration tests with assert_cmd"),
        (), ("`cargo test` green", "handles a 1 GB file in constant memory"),
        ("crate", "cargo", "borrow checker"),
        ("Windows line endings aren't handled",),
    ),
    Topic(
        "discord-bot", "build a Discord bot in Node.js", "build", "discord", {"15": 0.8, "27": 0.6, "25": 0.3},
        "a Discord bot",
        ("can you make a discord bot for my gaming server that says hi to new people?",),
        ("Build a Discord bot with discord.js that has a /poll slash command.",),
        ("discord.js v14 bot: `/poll` slash command with up to 5 options using buttons, one vote per user, results "
         "after a timeout. Register commands per guild in dev. Token from env, never logged.",),
        ("Set up the discord.js client and slash-command registration", "Implemented `/poll` with button voting",
         "Stored votes per user so each member votes once"),
        (), ("one vote per user", "token only read from env"),
        ("bot token", "slash command", "intents"),
        ("polls don't survive a bot restart",),
    ),
    Topic(
        "chrome-extension", "build a Chrome extension", "build", "chrome", {"15": 0.8, "41": 0.4, "27": 0.3},
        "a Chrome extension",
        ("can you make a browser add-on that hides the comments on youtube?",),
        ("Build a Manifest V3 Chrome extension that highlights prices on shopping sites.",),
        ("MV3 extension: content script that converts prices on the page to EUR using a cached rate from the "
         "service worker (refresh every 12h), options page for the currency, no remote code, minimal permissions.",),
        ("Created the MV3 manifest, content script and service worker", "Cached exchange rates in `chrome.storage`",
         "Added an options page for the currency"),
        (), ("no `<all_urls>` host permission", "works offline with a cached rate"),
        ("manifest", "content script", "extension"),
        ("prices inside iframes aren't converted",),
    ),
    Topic(
        "swiftui-screen", "build a SwiftUI screen for an iOS app", "build", "swift", {"15": 1.0, "27": 0.3},
        "a SwiftUI screen",
        ("I want my app to have a settings page like other apps",),
        ("Add a SwiftUI settings screen with toggles stored in UserDefaults.",),
        ("Build `SettingsView` in SwiftUI: sections for notifications and privacy, `@AppStorage`-backed toggles, "
         "a destructive 'Delete account' button with confirmation dialog. Previews for light/dark and Dynamic "
         "Type XXL. Unit-test the view model.",),
        ("Created `SettingsView` with notification and privacy sections", "Backed toggles with `@AppStorage`",
         "Added a confirmation dialog for account deletion"),
        (), ("previews build", "`swift test` passes"),
        ("view", "Xcode", "simulator"),
        ("the account deletion API call is still a stub",),
    ),
    Topic(
        "streamlit-dashboard", "build an internal sales dashboard in Streamlit", "build", "streamlit",
        {"41": 1.0, "13": 0.8, "11": 0.8, "15": 0.3},
        "a sales dashboard in Streamlit",
        ("my boss wants a dashboard with our sales numbers, with charts. can you make it?",
         "I have an excel file with sales, I want to see it as graphs on a web page"),
        ("Build a Streamlit dashboard from `data/sales.xlsx` with revenue by month and by region.",),
        ("Streamlit app in `{file}`: load `data/sales.xlsx` once with `st.cache_data`, sidebar filters for region "
         "and rep, KPI row (revenue, deals, win rate), monthly revenue chart, top-10 accounts table. Numbers must "
         "match the pivot in the finance sheet.",),
        ("Built the Streamlit app with region and rep filters", "Added KPI tiles and a monthly revenue chart",
         "Cached the Excel load so filtering is instant"),
        (), ("totals match the finance pivot",),
        ("dashboard", "Python", "chart"),
        ("the win-rate tile ignores deals without a close date",),
        ("add a download button for the filtered table",),
    ),
    Topic(
        "portfolio-site", "build a personal portfolio website", "build", "site", {"27": 1.0, "25": 0.5, "15": 0.3},
        "a personal portfolio website",
        ("I'm a photographer and I need a website to show my work. something simple and clean",
         "make me a website about me with my projects"),
        ("Build a static portfolio site with a gallery and a contact form, plain HTML/CSS.",),
        ("Static portfolio: semantic HTML, CSS grid gallery with lazy-loaded `srcset` images, a contact form "
         "posting to Formspree, no frameworks, total page weight under 500 KB excluding images.",),
        ("Created the home, gallery and contact pages", "Built a responsive CSS grid gallery",
         "Hooked the contact form up to Formspree"),
        (), ("page weight < 500 KB",),
        ("HTML", "hosting", "domain"),
        ("the about page still has placeholder text",),
        ("add a lightbox when clicking a photo",),
    ),
    Topic(
        "pygame-game", "build a small game in Pygame", "build", "pygame", {"25": 0.8, "27": 0.6, "15": 0.4},
        "a small Pygame game",
        ("my son wants a simple game where you catch falling apples, can we make it?",),
        ("Write a Pygame game where the player dodges falling blocks, with a score and game over screen.",),
        ("Pygame 2: fixed-timestep loop at 60 Hz, sprite groups for player/obstacles, difficulty ramp every 15 s, "
         "high score persisted to JSON, no global mutable state.",),
        ("Implemented the game loop with a fixed timestep", "Added falling obstacles with a difficulty ramp",
         "Saved the high score to a JSON file"),
        (), ("runs at 60 fps",),
        ("game loop", "sprite", "pip"),
        ("there's no sound yet",),
        ("add a start menu",),
    ),
    # ---------------------------------------------------------------- test
    Topic(
        "ts-unit-tests", "write unit tests for a TypeScript utility module", "test", "node", _SW,
        "unit tests for TypeScript utilities",
        ("can you add tests to my code? people say I should have tests",),
        ("Write jest tests for the date helpers in `{file}`.",),
        ("Write jest tests for `{file}`: table-driven cases for `parseRange` incl. DST transitions in "
         "Europe/Berlin, invalid input, and open-ended ranges. 100% branch coverage on that file; mock nothing.",),
        ("Added table-driven tests for `parseRange`", "Covered DST transitions and invalid input",
         "Reached full branch coverage on the date helpers"),
        ("`parseRange` treats an empty end date as midnight instead of open-ended",),
        ("100% branch coverage on the module",),
        ("unit test", "mock", "coverage"),
        ("one DST case still depends on the machine's timezone",),
    ),
    Topic(
        "playwright-e2e", "add Playwright end-to-end tests", "test", "react", _SW,
        "Playwright end-to-end tests",
        ("I want something that clicks through my website automatically to check it works",),
        ("Add Playwright tests for the checkout flow.",),
        ("Add Playwright e2e tests for signup → checkout: use role-based locators only, seed data through the "
         "API not the UI, run against `npm run preview`, and make them pass 10/10 with `--repeat-each=10`.",),
        ("Added Playwright config and a checkout spec", "Seeded test data through the API",
         "Replaced CSS selectors with role-based locators"),
        ("the checkout button is disabled until an async price check finishes",),
        ("stable over 10 repeats",),
        ("end-to-end test", "selector", "headless browser"),
        ("the payment step is mocked, not tested",),
    ),
    Topic(
        "python-coverage", "raise test coverage of a Python package", "test", "python", {"15": 1.0, "19": 0.3},
        "test coverage for a Python package",
        ("someone told me my code needs more tests, can you add some?",),
        ("Increase pytest coverage of `src/` to above 80%.",),
        ("Coverage of `src/` is 54%. Raise it to ≥ 85% with meaningful tests (no tests that only import modules); "
         "use `hypothesis` for the parser round-trip property; keep the suite under 10 s.",),
        ("Added tests for the parser and CLI", "Added a hypothesis round-trip property for `parse`/`dump`",
         "Raised coverage from 54% to 87%"),
        ("`dump` drops trailing whitespace so the round trip isn't exact",),
        ("coverage ≥ 85%", "suite under 10 s"),
        ("coverage", "pytest", "fixture"),
        ("the CLI error paths are still untested",),
    ),
    Topic(
        "go-table-tests", "write table-driven tests in Go", "test", "go", _SW,
        "table-driven Go tests",
        ("can you write tests for my go code?",),
        ("Write table-driven tests for the URL parser in `{file}`.",),
        ("Table-driven tests for `ParseDSN` in `{file}`: every documented option, IPv6 hosts, percent-encoded "
         "passwords, and error cases with exact error values via `errors.Is`. Use `t.Run` subtests and "
         "`t.Parallel()`.",),
        ("Added table-driven subtests for `ParseDSN`", "Covered IPv6 hosts and encoded passwords",
         "Checked error values with `errors.Is`"),
        ("`ParseDSN` doesn't unescape `%40` in passwords",),
        ("`go test ./...` green", "tests run in parallel"),
        ("table test", "subtest"),
        ("timeouts in the DSN are not validated",),
    ),
    Topic(
        "flaky-cargo", "fix flaky cargo tests", "test", "rust", _SW,
        "flaky Rust tests",
        ("my rust tests sometimes pass and sometimes fail, weird",),
        ("Some `cargo test` tests are flaky in CI. Can you find out why?",),
        ("`cargo test` is flaky: `server::tests::graceful_shutdown` fails ~1 in 20 runs. Find the race (I suspect "
         "the fixed port 8080 and a sleep-based wait), fix it with an ephemeral port and a readiness channel, "
         "and prove it with 200 consecutive runs.",),
        ("Bound test servers to port 0 and passed the real port back",
         "Replaced `sleep` with a readiness channel", "Ran the test 200 times without a failure"),
        ("two tests bind the same fixed port and race on startup",),
        ("200 consecutive passes",),
        ("flaky test", "race condition"),
        ("one integration test still needs network access",),
    ),
    # ---------------------------------------------------------------- orchestrate
    Topic(
        "gha-ci", "set up GitHub Actions CI", "orchestrate", "gha", _SW,
        "GitHub Actions CI",
        ("I want the tests to run by themselves when I push to github, is that possible?",),
        ("Set up GitHub Actions to run lint and tests on every pull request.",
         "Add a CI workflow in `.github/workflows/ci.yml` for our Python project."),
        ("Add `.github/workflows/ci.yml`: matrix on Python 3.11–3.13, cache pip by lockfile hash, ruff + pytest "
         "with coverage upload, cancel superseded runs with `concurrency`, least-privilege `permissions`. "
         "Required check name must stay `ci / test`.",),
        ("Added a CI workflow with a Python version matrix", "Cached dependencies by lockfile hash",
         "Cancelled superseded runs with a concurrency group", "Restricted token permissions to read-only"),
        (), ("workflow green on a PR", "job name `ci / test` unchanged"),
        ("workflow", "YAML", "runner", "pull request"),
        ("the coverage upload still needs a token secret",),
        ("also run the tests nightly",),
    ),
    Topic(
        "nightly-scraper", "schedule a nightly scraping job", "orchestrate", "scraper",
        {"15": 0.7, "41": 0.8, "13": 0.6, "19": 0.4},
        "a nightly scraping job",
        ("every morning I copy prices from a website into excel by hand. can the computer do it for me?",),
        ("Write a scraper for competitor prices and schedule it nightly with cron.",),
        ("Scraper for the public price list: respect robots.txt, 1 req/s, retries with backoff, write a dated CSV "
         "to `data/prices/`, exit non-zero on layout change so cron mails me. Schedule via crontab at 02:30 and "
         "log to `logs/scrape.log`.",),
        ("Wrote the scraper with rate limiting and retries", "Saved results to a dated CSV",
         "Installed a crontab entry for 02:30 with logging"),
        (), ("respects robots.txt", "fails loudly on layout changes"),
        ("cron", "scraping", "HTML"),
        ("the site's second page uses JavaScript and isn't scraped",),
    ),
    Topic(
        "llm-agent", "build an LLM agent workflow with tool calls", "orchestrate", "llm", {"15": 1.0, "11": 0.4},
        "an LLM agent workflow with tools",
        ("I want an AI assistant that can look things up in our docs and answer questions",),
        ("Build a small agent loop with the Anthropic SDK that can call a search tool and a calculator.",),
        ("Agent loop in `{file}` using the Anthropic Messages API with tool use: `search_docs` and `run_sql` "
         "(read-only, parameterised), max 8 steps, structured logging of each step, and a replayable transcript "
         "fixture for tests. No framework.",),
        ("Implemented the agent loop with a step limit", "Added `search_docs` and a read-only `run_sql` tool",
         "Logged each step and added a replay-based test"),
        (), ("at most 8 steps", "SQL tool can't write"),
        ("API key", "prompt", "tool call"),
        ("the retry on rate limits is naive",),
    ),
    Topic(
        "crm-sync", "automate CRM lead sync between HubSpot and Sheets", "orchestrate", "appsscript",
        {"41": 1.0, "43": 0.8, "11": 0.5, "13": 0.4},
        "syncing CRM leads into Google Sheets",
        ("every monday I copy our new leads from hubspot to a google sheet. can this be automatic?",),
        ("Write an Apps Script that pulls new HubSpot contacts into our leads sheet every hour.",),
        ("Apps Script: pull contacts created since the last run from the HubSpot v3 API (token in Script "
         "Properties), upsert by email into 'Leads', time-driven trigger hourly, and never overwrite the 'Owner' "
         "column that reps edit by hand.",),
        ("Wrote the HubSpot pull with incremental `createdAt` filtering", "Upserted rows by email",
         "Added an hourly time-driven trigger"),
        (), ("no duplicates", "manual Owner edits preserved"),
        ("API", "trigger", "token"),
        ("deleted contacts are not removed from the sheet",),
    ),
    Topic(
        "airflow-dag", "write an Airflow DAG for an ETL pipeline", "orchestrate", "airflow", _SW,
        "an Airflow ETL DAG",
        ("we need our data copied every night from the app database to the warehouse",),
        ("Write an Airflow DAG that loads yesterday's orders into BigQuery.",),
        ("Airflow 2 DAG `etl_orders`: idempotent daily partitions keyed on `ds`, extract with a server-side cursor, "
         "load to BigQuery via `WRITE_TRUNCATE` on the partition, data-quality check on row counts, retries=3 with "
         "exponential backoff, SLA 06:00.",),
        ("Wrote the `etl_orders` DAG with idempotent daily partitions", "Added a row-count data-quality check",
         "Configured retries and an SLA"),
        (), ("re-running a day doesn't duplicate rows",),
        ("DAG", "ETL", "warehouse"),
        ("backfill for last year hasn't been tested",),
    ),
    # ---------------------------------------------------------------- operate
    Topic(
        "k8s-deploy", "deploy to Kubernetes", "operate", "k8s", _SW,
        "deploying to Kubernetes",
        ("I need to put our app on the kubernetes cluster, I have never done this",),
        ("Deploy the API to our staging Kubernetes cluster with a Deployment, Service and Ingress.",
         "The new release is stuck in `CrashLoopBackOff` on staging. Can you get it running?"),
        ("Roll out `api:1.14.2` to the staging namespace: fix the `CrashLoopBackOff` (I think the readiness probe "
         "hits `/health` before migrations finish), set resource requests/limits, and verify with "
         "`kubectl rollout status` and a curl through the ingress.",),
        ("Fixed the readiness probe path and initial delay", "Set CPU/memory requests and limits",
         "Applied the manifests and waited for the rollout to complete"),
        ("the readiness probe fails because the app listens on 8000 but the probe targets 8080",
         "the pod is OOM-killed at the default 128Mi limit"),
        ("rollout complete", "ingress returns 200"),
        ("pod", "cluster", "container", "YAML"),
        ("the HPA is still not scaling on custom metrics",),
    ),
    Topic(
        "docker-compose-dev", "set up a local dev environment with Docker Compose", "operate", "docker", _SW,
        "a local Docker Compose dev environment",
        ("new laptop and I can't get the project running. it needs some database thing",),
        ("Set up docker compose with Postgres and Redis for local development.",),
        ("`docker-compose.yml` for local dev: api (bind-mounted, hot reload), Postgres 16 with a named volume and "
         "healthcheck, Redis 7; api waits on healthy Postgres; `.env.example` documents every variable; "
         "`make up` and `make reset-db` targets.",),
        ("Added Postgres and Redis services with healthchecks", "Made the api wait for a healthy database",
         "Documented environment variables in `.env.example`"),
        ("the api container starts before Postgres accepts connections",),
        ("`docker compose up` works from a clean clone",),
        ("container", "volume", "port"),
        ("seed data still has to be loaded by hand",),
    ),
    Topic(
        "s3-static-site", "host a static site on AWS S3 and CloudFront", "operate", "aws", {"15": 1.0, "27": 0.4},
        "hosting a static site on S3 and CloudFront",
        ("how do I put my website online with amazon? it's just html files",),
        ("Deploy our built site to S3 behind CloudFront with HTTPS.",),
        ("Terraform the static hosting: private S3 bucket with OAC, CloudFront with an ACM cert in us-east-1, "
         "SPA fallback to index.html, cache headers (immutable for hashed assets). Then sync `dist/` and "
         "invalidate only `/index.html`.",),
        ("Created the bucket and CloudFront distribution with Terraform", "Synced the build to S3",
         "Invalidated the CloudFront cache for index.html"),
        ("the bucket policy blocked CloudFront because OAC wasn't attached",),
        ("site served over HTTPS", "bucket not public"),
        ("bucket", "CDN", "DNS"),
        ("the custom domain's DNS still points to the old host",),
    ),
    Topic(
        "git-rebase", "resolve git merge conflicts and rebase a branch", "operate", "git", {"15": 1.0, "27": 0.2},
        "git merge conflicts during a rebase",
        ("git says there are conflicts and I'm scared to break everything. help",),
        ("Rebase my feature branch onto main and resolve the conflicts.",),
        ("Rebase `feature/billing-v2` onto `origin/main`: resolve conflicts in `{file}` keeping main's new "
         "currency handling plus my proration logic, run the tests after each resolved commit, and push with "
         "`--force-with-lease` only when green.",),
        ("Rebased the branch onto origin/main", "Resolved the conflicts keeping both changes",
         "Ran the tests and pushed with --force-with-lease"),
        ("both branches edited the same pricing function",),
        ("tests green after rebase",),
        ("rebase", "merge conflict", "branch"),
        ("one commit message still references the old ticket",),
    ),
    Topic(
        "nginx-ssl", "configure nginx with Let's Encrypt SSL", "operate", "nginx", _SW,
        "nginx with Let's Encrypt SSL",
        ("my site says not secure in the browser, how do I get the lock icon?",),
        ("Set up nginx as a reverse proxy with HTTPS via certbot on our Ubuntu server.",),
        ("nginx reverse proxy for the app on :3000 with certbot certs, HTTP→HTTPS redirect, HSTS (no preload yet), "
         "gzip for text types, and an auto-renew dry run. `nginx -t` must pass before every reload.",),
        ("Configured the nginx reverse proxy", "Issued certificates with certbot and enabled redirects",
         "Verified renewal with `certbot renew --dry-run`"),
        ("port 80 was blocked by the firewall so the HTTP challenge failed",),
        ("HTTPS works", "renewal dry run passes"),
        ("SSL certificate", "reverse proxy", "server"),
        ("the www subdomain has no certificate yet",),
    ),
    Topic(
        "python-env-setup", "set up Python and Jupyter on a new laptop", "operate", "python",
        {"19": 1.0, "25": 0.8, "13": 0.7, "17": 0.5, "29": 0.4, "15": 0.2},
        "setting up Python and Jupyter",
        ("I got a new mac and need python for my class, and the jupyter thing. please help me install it",
         "pip doesn't work, it says command not found"),
        ("Help me set up a Python environment with Jupyter, pandas and matplotlib.",),
        ("Set up Python 3.12 via uv with a per-project venv, Jupyter with a named kernel, and pin pandas/"
         "matplotlib/scipy in a lockfile. Don't touch the system Python.",),
        ("Installed Python 3.12 and created a virtual environment", "Installed Jupyter with a named kernel",
         "Installed pandas, matplotlib and scipy"),
        ("the shell was picking up the system Python first on PATH",),
        ("kernel shows up in Jupyter",),
        ("virtual environment", "terminal", "PATH", "kernel"),
        ("the conda install from before is still on PATH",),
    ),
    Topic(
        "vercel-deploy", "deploy a Next.js app to Vercel", "operate", "nextjs", {"15": 1.0, "27": 0.5, "11": 0.3},
        "deploying a Next.js app to Vercel",
        ("I made a website with next and want it online, can you do it?",),
        ("Deploy our Next.js app to Vercel and set up the environment variables.",),
        ("Deploy to Vercel: production env vars from `.env.production` (never commit them), preview deployments "
         "per PR, fix the build error about `useSearchParams` needing a Suspense boundary, and verify the "
         "production URL returns 200.",),
        ("Fixed the Suspense boundary build error", "Configured environment variables on Vercel",
         "Deployed to production and checked the URL"),
        ("`useSearchParams` is used in a page without a Suspense boundary",),
        ("production build passes", "site returns 200"),
        ("deploy", "environment variable", "build"),
        ("the custom domain is still propagating",),
    ),
    # ---------------------------------------------------------------- understand
    Topic(
        "explain-rust", "explain a Rust codebase", "understand", "rust", _SW,
        "understanding a Rust codebase",
        ("I'm new to this rust project, what does it even do?",),
        ("Can you walk me through how this Rust project is structured?",
         "Explain how requests flow through this Rust service."),
        ("Explain the ownership model around `ConnectionPool` in `{file}`: who holds the `Arc`, where the "
         "`Mutex` is taken, and whether any `await` happens while it's held. Cite line numbers.",),
        ("Mapped the module structure", "Traced the request path from `main` to the handlers",
         "Explained where the pool's lock is held"),
        (), (), ("crate", "trait", "lifetime"),
    ),
    Topic(
        "explain-java-legacy", "understand a legacy Java service before changing it", "understand", "java", _SW,
        "a legacy Java service",
        ("I have to change something in this old java code and I don't understand any of it",),
        ("Explain how invoicing works in this Java service before I change it.",),
        ("Before I touch `InvoiceService`, map every caller of `calculateTax`, which config flags change its "
         "behaviour, and where transactions begin/commit. Don't change any code.",),
        ("Listed all callers of `calculateTax`", "Documented the config flags that change tax behaviour",
         "Explained the transaction boundaries"),
        (), (), ("dependency injection", "bean", "transaction"),
    ),
    Topic(
        "explain-notebook", "explain what a machine-learning notebook does", "understand", "notebook",
        {"19": 1.0, "13": 0.7, "11": 0.6, "15": 0.4},
        "a machine-learning notebook",
        ("a student left this notebook and I need to know what the model does, in simple words",),
        ("Explain what this Jupyter notebook does step by step and whether the evaluation is sound.",),
        ("Review `{file}`: is there leakage between the train/test split and the scaler fit? Is the reported AUC "
         "computed on held-out data? List every place where the random seed matters.",),
        ("Summarised each section of the notebook", "Flagged that the scaler is fit before the split",
         "Listed where randomness affects the results"),
        (), (), ("model", "training", "accuracy", "overfitting"),
    ),
    Topic(
        "explain-sql", "explain a complex SQL query", "understand", "sql", {"13": 1.0, "15": 0.6, "43": 0.5, "41": 0.4},
        "a complex SQL query",
        ("my colleague wrote this database query and I need to know what it's counting",),
        ("Explain what this SQL query in `{file}` does, line by line.",),
        ("Explain `{file}`: why the LEFT JOIN on refunds can double-count revenue, what the window function's "
         "frame is, and what happens to orders with NULL region.",),
        ("Explained each CTE", "Showed how the refunds join duplicates rows",
         "Explained the window frame and NULL handling"),
        (), (), ("JOIN", "query", "table"),
    ),
    # ---------------------------------------------------------------- plan
    Topic(
        "plan-microservices", "plan a monolith-to-microservices migration", "plan", "django", {"15": 1.0, "11": 0.5},
        "splitting a monolith into services",
        ("our app is getting too big, should we split it up?",),
        ("Plan how we could split the billing part of our Django monolith into a separate service.",),
        ("Draft a migration plan for extracting billing from the monolith: strangler-fig routing, data ownership "
         "and the dual-write period, contract tests, rollback per phase, and what we explicitly won't do. No code.",),
        ("Mapped billing's dependencies on the rest of the monolith", "Proposed a phased strangler-fig plan",
         "Listed risks and a rollback for each phase"),
        (), (), ("microservice", "API", "database"),
    ),
    Topic(
        "feature-spec", "write a technical spec for a new feature", "plan", "node", {"15": 1.0, "11": 0.8},
        "a technical spec for a feature",
        ("we want to add notifications to our app, where do we even start?",),
        ("Write a technical design doc for adding email notifications to our app.",),
        ("Write a design doc for notification preferences: data model, API changes, delivery via queue with "
         "idempotency keys, failure modes, migration plan, and an explicit list of open questions. Keep it to "
         "two pages.",),
        ("Wrote the data model and API changes", "Described queue-based delivery with idempotency keys",
         "Listed failure modes and open questions"),
        (), (), ("design doc", "queue", "API"),
    ),
    Topic(
        "booking-schema", "design a database schema for a booking app", "plan", "sql", _SW,
        "a database schema for bookings",
        ("I want to make an app where people book appointments. how should I store the data?",),
        ("Design the Postgres schema for a booking app with rooms, bookings and payments.",),
        ("Design the Postgres schema for bookings: prevent double booking with an exclusion constraint on "
         "`tstzrange`, soft deletes, money as integer cents, and indexes for the three queries in `{file}`.",),
        ("Proposed tables for rooms, bookings and payments", "Used an exclusion constraint to prevent overlaps",
         "Suggested indexes for the main queries"),
        (), (), ("table", "foreign key", "index"),
    ),
    Topic(
        "product-roadmap", "plan a product roadmap and sprint breakdown", "plan", "docs", {"11": 1.0, "15": 0.3, "41": 0.3},
        "a product roadmap and sprint plan",
        ("I need to show my team a plan for the next months, can you help organise it?",),
        ("Turn our feature list into a quarterly roadmap with two-week sprints.",),
        ("From `{file}`, build a Q1 roadmap: group features into outcomes, estimate in t-shirt sizes, sequence by "
         "dependency and risk, and split the first two sprints into tickets with acceptance criteria.",),
        ("Grouped features into outcome themes", "Sequenced work by dependency and risk",
         "Broke the first two sprints into tickets"),
        (), (), ("roadmap", "sprint", "backlog"),
    ),
    # ---------------------------------------------------------------- analyze
    Topic(
        "sales-csv-pandas", "analyse sales CSV with pandas", "analyze", "pandas",
        {"41": 1.0, "13": 1.0, "11": 0.8, "15": 0.3},
        "analysing a sales CSV",
        ("I have a big excel with all our sales and I want to know which products sell best",
         "can you look at this sales file and tell me what's going on? numbers went down I think"),
        ("Load `data/sales_2025.csv` with pandas and show revenue by month and by product category.",),
        ("Analyse `data/sales_2025.csv`: monthly revenue with YoY growth, cohort retention by first-purchase month, "
         "and the top 10 SKUs by margin. Exclude refunds (negative qty) and test orders (email ends in @example.com). "
         "Save charts to `reports/` and print the tables.",),
        ("Computed revenue by month and category", "Built a retention table by first-purchase cohort",
         "Saved the charts to `reports/`"),
        (), ("refunds excluded", "numbers reconcile with the finance total"),
        ("pivot table", "pandas", "CSV", "average"),
        ("the currency conversion for EU orders is approximate",),
        ("break it down by region too",),
    ),
    Topic(
        "survey-stats", "run statistics on survey data", "analyze", "pandas", {"19": 1.0, "25": 0.6, "21": 0.6, "29": 0.4},
        "statistics on survey data",
        ("I did a survey for my research and need the statistics, I'm not good at math",),
        ("Run a t-test and a regression on my survey data in `{file}`.",),
        ("For `{file}`: report Cronbach's alpha per scale, a mixed-effects model with school as random intercept, "
         "check residual assumptions, and correct for multiple comparisons with Holm. Output APA-style tables.",),
        ("Computed reliability for each scale", "Fitted a mixed-effects model with a random intercept",
         "Checked residuals and applied Holm correction"),
        (), ("APA tables",),
        ("p-value", "regression", "significant", "standard deviation"),
        ("the ordinal items are treated as continuous",),
    ),
    Topic(
        "ab-test", "analyse an A/B test", "analyze", "pandas", {"13": 1.0, "15": 0.6, "11": 0.7, "41": 0.3},
        "an A/B test analysis",
        ("we tested two versions of our signup page, which one won?",),
        ("Analyse our A/B test results in `{file}` and tell me if variant B is significantly better.",),
        ("Analyse `{file}`: check for sample-ratio mismatch first, then conversion lift with a 95% CI, CUPED "
         "variance reduction using pre-period sessions, and a sequential-testing caveat since we peeked daily.",),
        ("Checked for sample-ratio mismatch", "Estimated the conversion lift with confidence intervals",
         "Applied CUPED variance reduction"),
        (), ("SRM check passes",),
        ("statistical significance", "conversion rate", "sample size"),
        ("the mobile segment is underpowered",),
    ),
    Topic(
        "lab-curve-fit", "plot lab measurements and fit a curve", "analyze", "pandas", {"19": 1.0, "17": 0.8, "29": 0.3},
        "plotting lab measurements and fitting a curve",
        ("I have measurements from the lab in excel and need a nice graph with a line through it",),
        ("Fit a Michaelis–Menten curve to my enzyme data in `{file}` and plot it.",),
        ("Fit Michaelis–Menten to `{file}` with scipy `curve_fit`, weighted by the replicate SD, report Km/Vmax "
         "with 95% CIs from the covariance, plot residuals, and export a 300-dpi figure.",),
        ("Fitted the curve with weighted least squares", "Reported parameters with confidence intervals",
         "Exported the figure and residual plot"),
        (), ("residuals look random",),
        ("curve fit", "error bars", "regression"),
        ("one replicate looks like an outlier",),
    ),
    Topic(
        "cashflow-forecast", "build a cash-flow forecast from bank exports", "analyze", "pandas",
        {"13": 1.0, "11": 0.8, "43": 0.4},
        "a cash-flow forecast from bank exports",
        ("I need to know if we'll have enough money in the next months, I have our bank statements",),
        ("Build a 12-month cash-flow forecast from our bank CSV exports.",),
        ("From the bank exports in `data/bank/`: categorise transactions with the rules in `{file}`, build a "
         "13-week rolling cash forecast with recurring items detected automatically, and flag weeks below the "
         "minimum balance.",),
        ("Categorised transactions with the rules file", "Detected recurring payments",
         "Built a 13-week forecast and flagged low-balance weeks"),
        (), ("categories reconcile with the accountant's totals",),
        ("cash flow", "forecast", "spreadsheet"),
        ("a few transfers between our own accounts are counted as income",),
    ),
    Topic(
        "log-analysis", "find error patterns in server logs", "analyze", "python", _SW,
        "error patterns in server logs",
        ("our server had problems last night, can you look at the logs?",),
        ("Parse the nginx logs in `logs/` and find which endpoints produce the most 5xx errors.",),
        ("From `logs/*.gz`: p50/p95/p99 latency per route, 5xx rate per 5-minute bucket, correlate the spike at "
         "02:10 UTC with deploy markers, and output a short incident timeline.",),
        ("Parsed the logs into a dataframe", "Computed error rates and latency percentiles per route",
         "Built an incident timeline around the spike"),
        (), (), ("log", "latency", "status code"),
    ),
    Topic(
        "revenue-sql", "write SQL for a monthly revenue report", "analyze", "sql", {"13": 1.0, "41": 0.7, "11": 0.5, "15": 0.4},
        "SQL for a monthly revenue report",
        ("I need a report of how much money we made each month, from our database",),
        ("Write a SQL query for monthly recurring revenue by plan.",),
        ("Write the MRR query: normalise annual plans to monthly, handle mid-month upgrades by proration, exclude "
         "trials, and produce new/expansion/contraction/churn columns. Must match `{file}` for October.",),
        ("Wrote the MRR query with proration", "Split MRR movement into new, expansion, contraction and churn",
         "Checked October against the finance numbers"),
        (), ("October matches finance",),
        ("SQL", "query", "database"),
        ("annual plans paid in advance are smoothed differently from finance",),
    ),
    # ---------------------------------------------------------------- write
    Topic(
        "grant-proposal", "write a grant proposal", "write", "docs", {"19": 1.0, "25": 0.6, "21": 0.5, "29": 0.3},
        "a grant proposal",
        ("I need to apply for money for my research project and I'm bad at writing these",),
        ("Help me draft the specific aims and significance sections of my grant proposal.",),
        ("Draft the Specific Aims page (one page) for my proposal in `{file}`: hook, gap, long-term goal, "
         "central hypothesis, three aims with expected outcomes. Keep the aims independent so one failing doesn't "
         "sink the others.",),
        ("Drafted the Specific Aims page", "Wrote the significance section around the gap in current methods",
         "Made each aim stand on its own"),
        (), (), ("specific aims", "budget justification"),
    ),
    Topic(
        "contract-review", "summarise and redline a contract", "write", "docs", {"23": 1.0, "11": 0.4, "41": 0.3},
        "summarising and redlining a contract",
        ("can you read this contract and tell me if there's anything bad in it?",),
        ("Summarise the key terms of the services agreement in `{file}` and flag risky clauses.",),
        ("Review `{file}` from the customer's side: summarise term, termination, liability cap, indemnities and "
         "data-processing obligations; propose redlines for uncapped indemnity and auto-renewal; keep the "
         "governing law unchanged.",),
        ("Summarised the key commercial terms", "Flagged the uncapped indemnity and auto-renewal clauses",
         "Proposed redline language"),
        (), (), ("indemnity", "liability cap"),
    ),
    Topic(
        "legal-memo", "draft a legal research memo", "write", "docs", {"23": 1.0},
        "a legal research memo",
        ("I need to write a memo for a partner about an employment question, help me structure it",),
        ("Draft a research memo on whether a non-compete is enforceable for a remote employee.",),
        ("Draft an IRAC memo in `{file}` on enforceability of the non-compete for a remote employee: question "
         "presented, brief answer, facts, discussion by jurisdiction, and a conclusion with risk level. Flag every "
         "citation I need to verify.",),
        ("Structured the memo in IRAC form", "Discussed enforceability by jurisdiction",
         "Marked every citation that needs verification"),
        (), (), ("IRAC", "non-compete"),
    ),
    Topic(
        "tech-blog", "write a technical blog post", "write", "docs", {"15": 1.0, "27": 0.6},
        "a technical blog post",
        ("I want to write a blog post about our project but I don't know how to start",),
        ("Write a blog post about how we cut our CI time in half.",),
        ("Draft a 1,200-word post for `{file}` on cutting CI time 52%: lead with the result, show the before/after "
         "numbers, two code snippets max, and end with what didn't work. No marketing tone.",),
        ("Drafted the post with before/after numbers", "Added two short code snippets",
         "Wrote a section on what didn't work"),
        (), (), ("blog post",),
    ),
    Topic(
        "sales-emails", "write a sales outreach email sequence", "write", "docs", {"41": 1.0, "11": 0.4, "27": 0.3},
        "a sales outreach email sequence",
        ("I need to write emails to new customers, can you write them for me?",),
        ("Write a 4-email outreach sequence for IT managers at mid-size companies.",),
        ("Write a 4-step sequence for IT managers (200–1,000 employees): each under 120 words, one CTA, "
         "personalisation tokens `{{first_name}}`/`{{company}}`, no attachments, and a break-up email last.",),
        ("Wrote four emails with one call to action each", "Added personalisation tokens",
         "Kept each email under 120 words"),
        (), (), ("CTA", "open rate"),
    ),
    Topic(
        "readme-docs", "write README and API documentation", "write", "docs", _SW,
        "README and API docs",
        ("my project has no instructions, can you write some?",),
        ("Write a README with installation, usage and API sections for this project.",),
        ("Rewrite `README.md`: 30-second quickstart, configuration table generated from `{file}`, API reference "
         "for the public functions with examples that actually run, and a troubleshooting section.",),
        ("Wrote a quickstart", "Documented every configuration option", "Added runnable API examples"),
        (), (), ("README", "documentation"),
    ),
    Topic(
        "lesson-plan", "create a lesson plan and quiz", "write", "docs", {"25": 1.0},
        "a lesson plan and quiz",
        ("I teach 8th grade and need a lesson about fractions for next week, with a quiz",),
        ("Create a 50-minute lesson plan on photosynthesis with a 10-question quiz.",),
        ("Create a 50-minute lesson on linear functions aligned to the standards in `{file}`: warm-up, direct "
         "instruction, two differentiated activities, exit ticket, and a 10-item quiz with an answer key and "
         "common misconceptions.",),
        ("Wrote the lesson plan with timings", "Added differentiated activities", "Wrote the quiz and answer key"),
        (), (), ("learning objective", "rubric"),
    ),
    Topic(
        "press-release", "write a press release and marketing copy", "write", "docs", {"27": 1.0, "11": 0.6, "41": 0.5},
        "a press release and marketing copy",
        ("we are launching a new product and need text for the website and a press release",),
        ("Write a press release for our product launch and three taglines.",),
        ("Write a 400-word press release (inverted pyramid, one exec quote, boilerplate) plus homepage copy in "
         "`{file}`: headline ≤ 8 words, subhead ≤ 20, three benefit blocks. Tone: plain, no superlatives.",),
        ("Wrote the press release", "Drafted homepage headline and benefit blocks", "Proposed three taglines"),
        (), (), ("press release", "tagline"),
    ),
    Topic(
        "board-update", "write a quarterly board update", "write", "docs", {"11": 1.0, "13": 0.4},
        "a quarterly board update",
        ("I have to send an update to our investors and I hate writing these",),
        ("Draft our Q3 board update from the metrics in `{file}`.",),
        ("Draft the Q3 board update from `{file}`: TL;DR, metrics vs plan with variance explanations, top three "
         "risks with owners, asks of the board. Two pages, no adjectives without numbers.",),
        ("Drafted the TL;DR and metrics section", "Explained variance against plan", "Listed risks and asks"),
        (), (), ("board deck", "KPI"),
    ),
    Topic(
        "engineering-report", "write a structural engineering calculation report", "write", "docs",
        {"17": 1.0},
        "an engineering calculation report",
        ("I need to turn my calculations into a proper report for the client",),
        ("Write up the beam design calculations in `{file}` as a calculation report.",),
        ("Turn `{file}` into a calculation report: design basis and codes (Eurocode 3), load combinations table, "
         "member checks with utilisation ratios, and a summary flagging anything above 0.9 utilisation.",),
        ("Wrote the design basis and load combinations", "Tabulated member checks with utilisation ratios",
         "Flagged members above 0.9 utilisation"),
        (), (), ("load combination", "utilisation"),
    ),
)

TOPICS_BY_MODE: dict[str, tuple[Topic, ...]] = {m: tuple(t for t in TOPICS if t.mode == m) for m in MODE_KEYS}


def _check() -> None:
    assert len(TOPICS) >= 40, len(TOPICS)
    assert len({t.key for t in TOPICS}) == len(TOPICS)
    assert len({t.title for t in TOPICS}) == len(TOPICS)
    for t in TOPICS:
        assert t.mode in MODE_KEYS, t.key
        assert set(t.occ) <= set(SOC_KEYS), t.key
    for m in MODE_KEYS:
        assert TOPICS_BY_MODE[m], m
    for o in OCCUPATIONS:
        assert o.soc in SOC_KEYS and set(o.modes) <= set(MODE_KEYS)


_check()


# ------------------------------------------------------------------ prompt style by expertise (English)

NOVICE_OPENERS = ("", "", "hi, ", "hello! ", "ok so ", "hey, ", "hi claude, ", "quick question: ")
NOVICE_TAILS = (
    "i'm not a programmer so please keep it simple",
    "no idea what I'm doing here honestly",
    "what does {term} even mean?",
    "can you just do it for me?",
    "sorry if this is a dumb question",
    "please explain like I'm 5",
    "",
    "",
)
BEGINNER_TAILS = ("It should just work when I run it.", "Not sure where to start.", "Thanks!", "",
                  "Can you explain what you change?")
BEGINNER_TAILS_PROSE = ("Not sure where to start.", "Thanks!", "", "Can you explain as you go?",
                        "I have some notes but they're messy.")
MID_TAILS = ("Run `{test_cmd}` when you're done.", "The main code is in `{file}`.", "Keep the change small.",
             "Check that `{run_cmd}` still works afterwards.", "")
EXPERT_CONSTRAINT_HEAD = ("Constraints:", "Requirements:", "Rules:")
EXPERT_VERIFY = (
    "Before editing anything, reproduce it and show me the failing output.",
    "Run `{test_cmd}` before and after and paste both summaries.",
    "Show me the diff before you commit.",
    "Don't touch `{file2}`.",
    "Done means: {check}.",
    "Acceptance: {check}.",
    "I'll review the diff, so keep commits small and focused.",
)

# Experts on operations / automation without a test suite.
EXPERT_VERIFY_OPS = (
    "Show me the plan or diff before applying anything.",
    "Verify with `{run_cmd}` afterwards and paste the output.",
    "Dry-run first; nothing touches production until I say so.",
    "If the health check fails, roll back immediately.",
    "Done means: {check}.",
)
# Experts on non-code work (understand / plan / analyze / write) ask for different checks.
EXPERT_VERIFY_PROSE = (
    "Cite file paths and line numbers for every claim.",
    "Separate what you verified from what you inferred.",
    "Flag every assumption explicitly.",
    "Don't change any files.",
    "Keep it under two pages; no filler.",
    "Show your working for every number.",
    "List open questions at the end instead of guessing.",
)
PROSE_CHECKS: dict[str, tuple[str, ...]] = {
    "understand": ("every claim has a file:line reference", "nothing is modified"),
    "plan": ("each phase has a rollback", "risks have owners"),
    "analyze": ("numbers reconcile with the source totals", "every chart has labelled axes and units"),
    "write": ("no unsupported claims", "it fits the length limit"),
}

# Follow-ups, by expertise level (1..5). Placeholders: {term} {file} {file2} {test_cmd} {feature} {check} {error}
FOLLOWUPS: dict[int, tuple[str, ...]] = {
    1: ("it says error now, what do i do?", "nothing changed when I open it", "what is a {term}?",
        "ok I did that. now what?", "yes go ahead", "sure, whatever you think is best", "is it done?",
        "i see a red message: {error}", "can you do it for me, I don't understand the terminal"),
    2: ("I ran it and I think it works?", "still getting an error: {error}", "can you explain what you changed?",
        "ok looks ok. can you also {feature}?", "does this mean it's fixed?", "yes please continue"),
    3: ("Looks good. Also {feature}.", "Run `{test_cmd}` again please.", "That broke the import in `{file}`, check it.",
        "Can you add a test for that?", "OK, continue with the next step.", "Why did you change `{file2}`?"),
    4: ("Check the edge case where the input is empty; add a test for it.",
        "No, don't catch the exception there; fix the cause in `{file}`.", "Show me the diff before committing.",
        "Good. Now {feature}, same constraints.", "Run `{test_cmd}` and paste the summary line.",
        "That's not what I asked — revert the change to `{file2}`."),
    5: ("You're masking the bug: that retry hides the real failure. Revert it and fix the root cause in `{file}`.",
        "Run `{test_cmd}` with -x and paste the first failure only.",
        "This will break on concurrent writes — think about ordering before you edit again.",
        "Good. Squash into one commit with a message that explains why, not what.",
        "Wrong layer: keep `{file2}` pure and do the I/O at the edge.",
        "Before continuing: {check}? Prove it."),
}
CONFIRM_PROSE: dict[int, tuple[str, ...]] = {
    1: ("perfect, that's exactly what I needed, thank you!!", "wow this is great, thanks so much"),
    2: ("Great, this is what I needed. Thanks!", "Perfect, I'll use this as is."),
    3: ("Checked it against my notes — this is right. Thanks.", "Good, that's what I needed."),
    4: ("Verified: {check}. Thanks.", "Checked every number against the source — correct."),
    5: ("Verified: {check}. Good work.", "Reviewed line by line; it's correct. Done."),
}
CONFIRM: dict[int, tuple[str, ...]] = {
    1: ("works now, thanks!!", "yay it works 🎉 thank you so much", "omg it works, thank you"),
    2: ("works now, thanks", "perfect, that fixed it", "Great, it works now!"),
    3: ("Works now, thanks.", "Confirmed, it works on my machine too.", "Tested it myself — works. Thanks."),
    4: ("Verified locally: {check}. Works, thanks.", "Checked it end to end, works as expected."),
    5: ("Verified: {check}. Good work.", "Confirmed on staging — it works. Ship it."),
}
GIVE_UP: dict[int, tuple[str, ...]] = {
    1: ("forget it, it's still broken. I'll ask someone", "this isn't working, I give up", "never mind, I'll do it by hand"),
    2: ("still the same error. I'll try again tomorrow", "ok this is taking too long, let's stop here"),
    3: ("Still failing. I'll dig into it myself later.", "Let's stop here, this isn't converging."),
    4: ("Stop. This approach isn't working; I'll handle it manually.", "Abort — revert everything, I'll take it from here."),
    5: ("Stop. You're going in circles. Revert to the last good state, I'll fix it myself.",),
}
PARTIAL_OK: dict[int, tuple[str, ...]] = {
    1: ("ok it kind of works but {remaining}. leave it for now", "better than before I guess"),
    2: ("OK, most of it works but {remaining}. Good enough for today.",),
    3: ("Fine, but {remaining}. I'll open a ticket for that.",),
    4: ("Acceptable for now; {remaining} — note it as a follow-up.",),
    5: ("Partial. {remaining}; leave a TODO with the reason and stop there.",),
}
# The agent correcting a novice (taxonomy §4: "the agent corrects the user").
AGENT_CORRECTS = (
    "Just to clarify: the problem isn't with your computer — {cause}.",
    "One small correction: {term} isn't something you need to install; it's part of the code.",
    "Actually, the error message points somewhere else: {cause}.",
)

# ------------------------------------------------------------------ other languages

LANGUAGES = ("es", "de", "fr", "pt", "ja", "zh", "ru", "ko", "vi", "id")


@dataclass(frozen=True, slots=True)
class LangPack:
    code: str
    frames: dict[str, tuple[str, ...]]  # mode → opening prompt with {obj}
    novice_tail: tuple[str, ...]
    expert_tail: tuple[str, ...]  # with {check} / {file}
    followup: tuple[str, ...]
    confirm: tuple[str, ...]
    give_up: tuple[str, ...]
    partial: tuple[str, ...]
    ack: tuple[str, ...] = field(default=())  # assistant's first sentence
    done: tuple[str, ...] = field(default=())  # assistant's closing sentence


def _frames(build: str, fix: str, test: str, orch: str, operate: str, understand: str, plan: str,
            analyze: str, write: str) -> dict[str, tuple[str, ...]]:
    return {"build": (build,), "fix": (fix,), "test": (test,), "orchestrate": (orch,), "operate": (operate,),
            "understand": (understand,), "plan": (plan,), "analyze": (analyze,), "write": (write,)}


LANG_PACKS: dict[str, LangPack] = {
    "es": LangPack(
        "es",
        _frames("Hola, necesito crear {obj}. ¿Me ayudas?", "Tengo un problema con {obj}. ¿Puedes arreglarlo?",
                "Necesito tests para {obj}.", "Quiero automatizar esto: {obj}.", "¿Me ayudas con {obj}? Nunca lo he hecho.",
                "¿Me puedes explicar {obj}?", "Quiero planificar {obj} antes de empezar.", "Necesito analizar datos: {obj}.",
                "Ayúdame a escribir {obj}, por favor."),
        ("No sé mucho de programación.", "¿Qué significa {term}?", ""),
        ("Criterio de aceptación: {check}.", "No toques `{file}`.", "Ejecuta los tests antes y después."),
        ("Sigue sin funcionar.", "Vale, ¿y ahora qué hago?", "Sí, adelante.", "¿Puedes explicarme qué cambiaste?"),
        ("¡Ya funciona, gracias!", "Perfecto, funciona."),
        ("Déjalo, sigue roto. Lo intento mañana.", "No funciona, me rindo."),
        ("Funciona en parte, pero {remaining}. Lo dejamos así por ahora.",),
        ("Claro, voy a revisar el proyecto primero.",), ("Listo, ya está hecho.",),
    ),
    "de": LangPack(
        "de",
        _frames("Ich möchte {obj} bauen. Kannst du mir helfen?", "Ich habe ein Problem mit {obj}. Kannst du das beheben?",
                "Ich brauche Tests für {obj}.", "Ich möchte das automatisieren: {obj}.", "Hilf mir bitte mit {obj}.",
                "Kannst du mir {obj} erklären?", "Ich möchte {obj} planen, bevor wir anfangen.",
                "Ich muss Daten auswerten: {obj}.", "Hilf mir bitte, {obj} zu schreiben."),
        ("Ich kenne mich mit Programmieren nicht aus.", "Was bedeutet {term}?", ""),
        ("Akzeptanzkriterium: {check}.", "Fass `{file}` nicht an.", "Lass die Tests vorher und nachher laufen."),
        ("Geht immer noch nicht.", "Okay, und jetzt?", "Ja, mach weiter.", "Was hast du genau geändert?"),
        ("Funktioniert jetzt, danke!", "Super, läuft."),
        ("Lass es, das ist immer noch kaputt. Ich versuche es morgen.", "Klappt nicht, ich gebe auf."),
        ("Teilweise ok, aber {remaining}. Lassen wir es erstmal so.",),
        ("Klar, ich schaue mir zuerst das Projekt an.",), ("Fertig, alles erledigt.",),
    ),
    "fr": LangPack(
        "fr",
        _frames("Je voudrais créer {obj}. Tu peux m'aider ?", "J'ai un problème avec {obj}. Tu peux corriger ?",
                "J'ai besoin de tests pour {obj}.", "Je veux automatiser ceci : {obj}.", "Aide-moi avec {obj} s'il te plaît.",
                "Tu peux m'expliquer {obj} ?", "Je veux planifier {obj} avant de commencer.",
                "Je dois analyser des données : {obj}.", "Aide-moi à rédiger {obj}."),
        ("Je ne suis pas développeur.", "Ça veut dire quoi, {term} ?", ""),
        ("Critère d'acceptation : {check}.", "Ne touche pas à `{file}`.", "Lance les tests avant et après."),
        ("Ça ne marche toujours pas.", "D'accord, et maintenant ?", "Oui, vas-y.", "Qu'est-ce que tu as changé ?"),
        ("Ça marche maintenant, merci !", "Parfait, ça fonctionne."),
        ("Laisse tomber, c'est toujours cassé. Je réessaierai demain.", "Ça ne marche pas, j'abandonne."),
        ("Ça marche en partie, mais {remaining}. On s'arrête là pour l'instant.",),
        ("Bien sûr, je commence par regarder le projet.",), ("C'est fait.",),
    ),
    "pt": LangPack(
        "pt",
        _frames("Preciso criar {obj}. Pode me ajudar?", "Estou com um problema em {obj}. Consegue corrigir?",
                "Preciso de testes para {obj}.", "Quero automatizar isto: {obj}.", "Me ajuda com {obj}? Nunca fiz isso.",
                "Pode me explicar {obj}?", "Quero planejar {obj} antes de começar.", "Preciso analisar dados: {obj}.",
                "Me ajuda a escrever {obj}?"),
        ("Não entendo muito de programação.", "O que significa {term}?", ""),
        ("Critério de aceite: {check}.", "Não mexa em `{file}`.", "Rode os testes antes e depois."),
        ("Continua sem funcionar.", "Ok, e agora?", "Sim, pode seguir.", "O que você mudou?"),
        ("Funcionou, obrigado!", "Perfeito, agora funciona."),
        ("Deixa, continua quebrado. Tento amanhã.", "Não está funcionando, desisto."),
        ("Funciona em parte, mas {remaining}. Vamos deixar assim por enquanto.",),
        ("Claro, vou olhar o projeto primeiro.",), ("Pronto, está feito.",),
    ),
    "ja": LangPack(
        "ja",
        _frames("{obj}を作りたいです。手伝ってもらえますか？", "{obj}で問題があります。直してもらえますか？",
                "{obj}のテストが必要です。", "{obj}を自動化したいです。", "{obj}を手伝ってください。初めてです。",
                "{obj}について説明してもらえますか？", "始める前に{obj}の計画を立てたいです。",
                "データ分析が必要です：{obj}。", "{obj}を書くのを手伝ってください。"),
        ("プログラミングはよく分かりません。", "{term}ってどういう意味ですか？", ""),
        ("受け入れ条件：{check}。", "`{file}`は変更しないでください。", "変更前後でテストを実行してください。"),
        ("まだ動きません。", "次はどうすればいいですか？", "はい、進めてください。", "何を変更したか説明してください。"),
        ("動きました、ありがとうございます！", "完璧です、動きました。"),
        ("もういいです、まだ壊れています。明日また試します。", "うまくいかないので諦めます。"),
        ("一部は動きますが、{remaining}。今日はここまでにします。",),
        ("まずプロジェクトを確認します。",), ("完了しました。",),
    ),
    "zh": LangPack(
        "zh",
        _frames("我想做{obj}，能帮我吗？", "{obj}出问题了，能帮我修一下吗？", "我需要给{obj}写测试。", "我想把这个自动化：{obj}。",
                "帮我弄一下{obj}，我从来没做过。", "能给我解释一下{obj}吗？", "开始之前我想先规划{obj}。",
                "我需要分析数据：{obj}。", "帮我写{obj}。"),
        ("我不太懂编程。", "{term}是什么意思？", ""),
        ("验收标准：{check}。", "不要改 `{file}`。", "改之前和改之后都跑一下测试。"),
        ("还是不行。", "好的，然后呢？", "可以，继续。", "你改了什么？"),
        ("可以了，谢谢！", "完美，已经好了。"),
        ("算了，还是坏的。我明天再试。", "不行，我放弃了。"),
        ("部分可以了，但是{remaining}。先这样吧。",),
        ("好的，我先看一下项目。",), ("已经完成了。",),
    ),
    "ru": LangPack(
        "ru",
        _frames("Хочу сделать {obj}. Поможешь?", "У меня проблема с {obj}. Можешь исправить?", "Нужны тесты для {obj}.",
                "Хочу автоматизировать: {obj}.", "Помоги с {obj}, я никогда этого не делал.", "Объясни, пожалуйста, {obj}.",
                "Хочу спланировать {obj}, прежде чем начинать.", "Нужно проанализировать данные: {obj}.",
                "Помоги написать {obj}."),
        ("Я не программист.", "Что значит {term}?", ""),
        ("Критерий приёмки: {check}.", "Не трогай `{file}`.", "Прогони тесты до и после."),
        ("Всё ещё не работает.", "Хорошо, а дальше что?", "Да, продолжай.", "Что ты поменял?"),
        ("Теперь работает, спасибо!", "Отлично, всё работает."),
        ("Забей, всё ещё сломано. Попробую завтра.", "Не получается, сдаюсь."),
        ("Частично работает, но {remaining}. Пока оставим так.",),
        ("Конечно, сначала посмотрю проект.",), ("Готово.",),
    ),
    "ko": LangPack(
        "ko",
        _frames("{obj}을(를) 만들고 싶어요. 도와줄 수 있나요?", "{obj}에 문제가 있어요. 고쳐줄 수 있나요?",
                "{obj} 테스트가 필요해요.", "이걸 자동화하고 싶어요: {obj}.", "{obj} 좀 도와주세요. 처음 해봐요.",
                "{obj}을(를) 설명해 줄 수 있나요?", "시작하기 전에 {obj} 계획을 세우고 싶어요.",
                "데이터 분석이 필요해요: {obj}.", "{obj} 작성을 도와주세요."),
        ("프로그래밍은 잘 몰라요.", "{term}이(가) 무슨 뜻이에요?", ""),
        ("완료 기준: {check}.", "`{file}`은(는) 건드리지 마세요.", "수정 전후로 테스트를 돌려주세요."),
        ("아직도 안 돼요.", "네, 이제 뭐 하면 돼요?", "네, 계속하세요.", "뭘 바꿨는지 설명해 주세요."),
        ("이제 잘 돼요, 감사합니다!", "완벽해요, 작동해요."),
        ("그만할게요, 아직도 안 돼요. 내일 다시 해볼게요.", "안 되네요, 포기할게요."),
        ("일부는 되는데 {remaining}. 일단 여기까지 할게요.",),
        ("네, 먼저 프로젝트를 살펴볼게요.",), ("완료했습니다.",),
    ),
    "vi": LangPack(
        "vi",
        _frames("Mình muốn làm {obj}. Bạn giúp được không?", "Mình gặp lỗi với {obj}. Bạn sửa giúp được không?",
                "Mình cần viết test cho {obj}.", "Mình muốn tự động hóa: {obj}.", "Giúp mình với {obj}, mình chưa làm bao giờ.",
                "Bạn giải thích giúp mình {obj} được không?", "Mình muốn lên kế hoạch cho {obj} trước.",
                "Mình cần phân tích dữ liệu: {obj}.", "Giúp mình viết {obj}."),
        ("Mình không rành lập trình.", "{term} nghĩa là gì vậy?", ""),
        ("Tiêu chí nghiệm thu: {check}.", "Đừng sửa `{file}`.", "Chạy test trước và sau khi sửa."),
        ("Vẫn chưa chạy được.", "Ok, giờ làm gì tiếp?", "Được, làm tiếp đi.", "Bạn đã sửa gì vậy?"),
        ("Chạy được rồi, cảm ơn!", "Tuyệt, chạy rồi."),
        ("Thôi, vẫn lỗi. Mai mình thử lại.", "Không được, mình bỏ cuộc."),
        ("Chạy được một phần nhưng {remaining}. Tạm thời để vậy.",),
        ("Được, mình xem qua dự án trước nhé.",), ("Xong rồi.",),
    ),
    "id": LangPack(
        "id",
        _frames("Saya mau bikin {obj}. Bisa bantu?", "Ada masalah dengan {obj}. Bisa diperbaiki?", "Saya butuh tes untuk {obj}.",
                "Saya mau mengotomatiskan: {obj}.", "Tolong bantu {obj}, saya belum pernah melakukannya.",
                "Bisa jelaskan {obj}?", "Saya mau merencanakan {obj} dulu.", "Saya perlu analisis data: {obj}.",
                "Tolong bantu tulis {obj}."),
        ("Saya tidak terlalu paham pemrograman.", "{term} itu artinya apa?", ""),
        ("Kriteria penerimaan: {check}.", "Jangan ubah `{file}`.", "Jalankan tes sebelum dan sesudah."),
        ("Masih belum jalan.", "Oke, terus apa?", "Ya, lanjut.", "Apa yang kamu ubah?"),
        ("Sudah jalan, terima kasih!", "Sempurna, sudah berfungsi."),
        ("Sudahlah, masih rusak. Besok saya coba lagi.", "Tidak berhasil, saya menyerah."),
        ("Sebagian sudah jalan, tapi {remaining}. Segini dulu.",),
        ("Baik, saya lihat proyeknya dulu.",), ("Selesai.",),
    ),
}

# Pseudonymous first/last names for user handles and fake PII (no real people).
FIRST_NAMES = (
    "alex", "maria", "jonas", "priya", "wei", "fatima", "lucas", "sofia", "kenji", "amara", "diego", "hannah",
    "omar", "yuki", "lena", "mateo", "aisha", "noah", "chloe", "ravi", "elena", "tomas", "ines", "david", "mei",
    "samir", "julia", "pedro", "ana", "felix", "nina", "arjun", "sara", "leo", "zoe", "ivan", "olga", "minh",
    "budi", "sekar", "jin", "hyun", "claire", "pierre", "marta", "kofi", "emma", "liam", "grace", "hugo",
)
LAST_NAMES = (
    "garcia", "mueller", "chen", "patel", "kim", "nguyen", "silva", "rossi", "dubois", "tanaka", "novak",
    "smith", "johnson", "lopez", "schmidt", "wang", "singh", "ivanova", "santos", "moreau", "sato", "park",
    "tran", "wijaya", "kowalski", "jansen", "haddad", "okafor", "larsen", "becker", "costa", "ferreira",
)
PROJECT_WORDS = (
    "atlas", "beacon", "cobalt", "delta", "ember", "falcon", "granite", "harbor", "iris", "juniper", "kepler",
    "lumen", "meridian", "nimbus", "orbit", "pioneer", "quartz", "raven", "summit", "tidal", "umbra", "vertex",
    "willow", "zephyr",
)
SLUG_ADJ = ("sunny", "quiet", "brave", "gentle", "swift", "curious", "lazy", "happy", "fuzzy", "clever", "noble",
            "bright", "misty", "rustic", "velvet", "wild", "calm", "golden", "silent", "merry")
SLUG_VERB = ("sleeping", "dancing", "wandering", "humming", "jumping", "drifting", "singing", "floating",
             "roaming", "spinning", "glowing", "whistling", "running", "dreaming", "tumbling")
SLUG_NOUN = ("bumblebee", "otter", "lighthouse", "pancake", "falcon", "meadow", "teapot", "comet", "walrus",
             "lantern", "penguin", "river", "sparrow", "cactus", "octopus", "glacier", "mango", "badger")


# ------------------------------------------------------------------ sessions where nothing can be judged
# Short sessions of kinds every real corpus holds, in which a classifier must abstain on some facet, each for its own
# reason (taxonomy.ABSTENTION_REASONS); the planner's STUB_KINDS says which kind gives which reason.

# A greeting and nothing else, in the user's language ("en" for the others).
GREETINGS: dict[str, tuple[str, ...]] = {
    "en": ("hi", "hello", "hey", "hello!", "hi?"), "es": ("hola",), "fr": ("bonjour",), "de": ("hallo",),
    "pt": ("olá",), "ru": ("привет",), "zh": ("你好",), "ja": ("こんにちは",), "ko": ("안녕",),
}
GREETING_REPLIES = ("Hello! What would you like to work on today?", "Hi! How can I help you with this project?",
                    "Hello! I'm ready to help. What are we working on?")
# A question written in a language the offline embedder (USE-multilingual) was not trained on, answered in a few
# words without a tool: (question, answer). Vietnamese, Hindi, Bengali, Greek, Tamil.
UNREADABLE_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("Giải thích giúp tôi sự khác nhau giữa tiến trình và luồng trong hệ điều hành.",
     "Tiến trình có vùng nhớ riêng; các luồng trong cùng một tiến trình dùng chung vùng nhớ đó."),
    ("Làm thế nào để đọc tệp cấu hình YAML trong dự án này?",
     "Bạn có thể dùng một thư viện đọc YAML rồi nạp tệp cấu hình khi chương trình khởi động."),
    ("इस फ़ंक्शन में त्रुटि क्यों आ रही है, कृपया समझाइए।",
     "कृपया फ़ंक्शन का कोड और पूरा त्रुटि संदेश दिखाइए, तब मैं कारण बता सकूँगा।"),
    ("এই পৃষ্ঠার জন্য একটি লগইন ফর্ম কীভাবে বানাবো?",
     "একটি ফর্মে ইমেল ও পাসওয়ার্ডের দুটি ঘর এবং একটি জমা দেওয়ার বোতাম রাখুন।"),
    ("Πώς μπορώ να αλλάξω τη θύρα του διακομιστή σε αυτό το έργο;",
     "Η θύρα ορίζεται συνήθως σε μια μεταβλητή περιβάλλοντος, για παράδειγμα PORT."),
    ("இந்த நிரலில் உள்ள பிழையை எப்படி சரி செய்வது?",
     "பிழைச் செய்தியைப் பகிருங்கள்; அதன் பிறகு காரணத்தைச் சொல்ல முடியும்."),
)
# Claude Code's /init: the command, then its expanded instructions as a meta line (not typed by the human).
INIT_PROMPT = ("Please analyze this codebase and create a CLAUDE.md file, which will be given to future instances of "
               "Claude Code to operate in this repository. Add: 1. Commands that will be commonly used, such as how to "
               "build, lint, and run tests. 2. High-level code architecture and structure.")
INIT_REPLIES = ("I've created CLAUDE.md with the build and test commands and an overview of the project's layout.",
                "CLAUDE.md is in place: it lists how to run the project and its tests, and describes the main modules.")
