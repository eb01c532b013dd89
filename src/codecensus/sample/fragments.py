"""Reusable text fragments for the sample generator: technology stacks (files,
commands, test runners), code and prose pools, and realistic tool outputs
(test-runner summaries, git, deploy, install logs).

Bodies are built once per process from a fixed seed and reused, which keeps
generation fast; per-session variety comes from which fragments are chosen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache, lru_cache


@dataclass(frozen=True, slots=True)
class Stack:
    key: str
    files: tuple[str, ...]
    test_cmds: tuple[str, ...]
    runner: str  # pytest | jest | vitest | gotest | cargo | maven | swift | playwright | none
    run_cmds: tuple[str, ...]
    run_out: tuple[str, ...]
    install_cmds: tuple[str, ...]
    misc_cmds: tuple[str, ...]
    deploy_cmds: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    git: bool = True
    test_files: tuple[str, ...] = ()


STACKS: dict[str, Stack] = {}


def _s(stack: Stack) -> None:
    STACKS[stack.key] = stack


_s(Stack(
    "django",
    ("orders/views.py", "orders/models.py", "orders/serializers.py", "orders/urls.py", "config/settings.py",
     "orders/admin.py"),
    ("pytest orders -q", "python -m pytest -x orders/tests", "pytest -k total --maxfail=1 -q"),
    "pytest",
    ("python manage.py migrate", "python manage.py makemigrations orders", "python manage.py check"),
    ("Operations to perform:\n  Apply all migrations: admin, auth, contenttypes, orders, sessions\nRunning migrations:\n"
     "  No migrations to apply.", "System check identified no issues (0 silenced)."),
    ("pip install -r requirements.txt", "pip install 'django>=5.1,<5.2' djangorestframework"),
    ("git status --short", "ls orders/", "git log --oneline -5", "python --version"),
    (),
    ("django.db.utils.OperationalError: no such table: orders_order",
     "ImportError: cannot import name 'OrderSerializer' from 'orders.serializers'",
     "AssertionError: assert Decimal('10.01') == Decimal('10.00')"),
    test_files=("orders/tests/test_views.py", "orders/tests/conftest.py", "orders/tests/test_serializers.py"),
))
_s(Stack(
    "fastapi",
    ("app/main.py", "app/models.py", "app/schemas.py", "app/routers/items.py", "app/db.py",
     "alembic/versions/8c1f_split_name.py"),
    ("pytest -q", "python -m pytest tests/ -x", "pytest tests/test_items.py -q"),
    "pytest",
    ("alembic upgrade head", "alembic downgrade -1", "python -c 'import app.main'"),
    ("INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\nINFO  [alembic.runtime.migration] Will assume "
     "transactional DDL.\nINFO  [alembic.runtime.migration] Running upgrade 3a9d -> 8c1f, split name",),
    ("pip install fastapi 'uvicorn[standard]' sqlalchemy alembic httpx", "pip install -e '.[dev]'"),
    ("git status --short", "ls app/ app/routers", "docker ps --format '{{.Names}}'"),
    (),
    ("sqlalchemy.exc.ProgrammingError: column users.first_name does not exist",
     "pydantic_core._pydantic_core.ValidationError: 1 validation error for ItemOut"),
    test_files=("tests/test_items.py", "tests/conftest.py"),
))
_s(Stack(
    "python",
    ("src/toolkit/core.py", "src/toolkit/cli.py", "src/toolkit/io.py", "scripts/clean_export.py", "pyproject.toml",
     "src/toolkit/pricing.py"),
    ("pytest -q", "python -m pytest --cov=src -q", "pytest tests/test_core.py -q"),
    "pytest",
    ("python scripts/clean_export.py data/export_march.csv", "python -m toolkit.cli --help"),
    ("Processed 18,204 rows (212 skipped) → out/clean_export_march.csv",),
    ("pip install -r requirements.txt", "uv venv && uv pip install -e '.[dev]'", "python3 -m pip install --user pandas"),
    ("ls", "git status --short", "python3 --version", "which python3"),
    (),
    ("KeyError: 'Customer ID'", "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9 in position 1042",
     "ModuleNotFoundError: No module named 'pandas'"),
    test_files=("tests/test_core.py", "tests/test_cli.py", "tests/conftest.py"),
))
_s(Stack(
    "pandas",
    ("analysis/analyze.py", "analysis/charts.py", "data/sales_2025.csv", "analysis/stats.py", "data/survey.csv"),
    (),
    "none",
    ("python analysis/analyze.py", "python analysis/stats.py --out reports/", "python analysis/charts.py"),
    (),
    ("pip install pandas matplotlib openpyxl scipy statsmodels",),
    ("ls data/", "head -5 data/sales_2025.csv", "wc -l data/*.csv"),
    (),
    ("ValueError: could not convert string to float: '1.234,50'", "KeyError: 'region'",
     "FileNotFoundError: [Errno 2] No such file or directory: 'data/sales.xlsx'"),
    git=False,
))
_s(Stack(
    "node",
    ("src/server.ts", "src/routes/orders.ts", "src/lib/dates.ts", "src/db.ts", "package.json", "src/middleware/errors.ts"),
    ("npm test", "npx jest src/routes --runInBand", "npm test -- --coverage"),
    "jest",
    ("npm run build", "npm run lint", "curl -s -o /dev/null -w '%{http_code}' localhost:3000/api/orders"),
    ("> api@1.8.0 build\n> tsc -p tsconfig.build.json\n", "200"),
    ("npm install", "npm install --save-dev jest ts-jest @types/jest"),
    ("git status --short", "ls src/ src/routes", "node --version", "git log --oneline -5"),
    (),
    ("TypeError: Cannot read properties of undefined (reading 'id')",
     "Error: Cannot find module './lib/dates' from 'src/routes/orders.ts'"),
    test_files=("tests/orders.test.ts", "src/lib/dates.test.ts"),
))
_s(Stack(
    "react",
    ("src/App.tsx", "src/components/Hero.tsx", "src/components/SignupForm.tsx", "src/components/Pricing.tsx",
     "src/index.css", "tailwind.config.js"),
    ("npx vitest run", "npm test -- --run", "npx playwright test"),
    "vitest",
    ("npm run build", "npm run lint"),
    ("vite v5.4.8 building for production...\n✓ 48 modules transformed.\ndist/index.html                   0.46 kB │ gzip:  "
     "0.30 kB\ndist/assets/index-DiwrgTda.css   12.31 kB │ gzip:  3.12 kB\ndist/assets/index-C9gq1Bvl.js   "
     "152.72 kB │ gzip: 49.31 kB\n✓ built in 1.84s",),
    ("npm install", "npm install -D tailwindcss postcss autoprefixer", "npm create vite@latest . -- --template react-ts"),
    ("git status --short", "ls src/components", "cat package.json | head -30"),
    (),
    ("Type 'string | undefined' is not assignable to type 'string'.",
     "Warning: A component is changing an uncontrolled input to be controlled."),
    test_files=("src/components/SignupForm.test.tsx", "e2e/checkout.spec.ts"),
))
_s(Stack(
    "nextjs",
    ("app/page.tsx", "app/layout.tsx", "app/search/page.tsx", "next.config.js", "components/SearchBox.tsx"),
    (),
    "none",
    ("npm run build",),
    ("   ▲ Next.js 14.2.5\n\n   Creating an optimized production build ...\n ✓ Compiled successfully\n ✓ Generating "
     "static pages (7/7)\n",),
    ("npm install", "npm i -g vercel"),
    ("git status --short", "ls app/", "vercel whoami"),
    ("vercel --prod", "vercel env pull .env.local"),
    ("useSearchParams() should be wrapped in a suspense boundary at page \"/search\".",),
))
_s(Stack(
    "go",
    ("internal/cache/cache.go", "internal/dsn/dsn.go", "cmd/server/main.go", "go.mod", "internal/cache/janitor.go"),
    ("go test ./...", "go test -race ./internal/...", "go test -run TestParseDSN -v ./internal/dsn"),
    "gotest",
    ("go build ./...", "go vet ./..."),
    ("",),
    ("go mod tidy",),
    ("git status --short", "ls internal/", "go version"),
    (),
    ("fatal error: concurrent map writes", "WARNING: DATA RACE"),
    test_files=("internal/cache/cache_test.go", "internal/dsn/dsn_test.go"),
))
_s(Stack(
    "rust",
    ("src/main.rs", "src/parser.rs", "src/lib.rs", "Cargo.toml", "src/server.rs", "src/pool.rs"),
    ("cargo test", "cargo test -- --test-threads=1", "cargo test server::tests"),
    "cargo",
    ("cargo build --release", "cargo clippy -- -D warnings"),
    ("   Compiling csv2json v0.1.0\n    Finished `release` profile [optimized] target(s) in 14.82s",),
    ("cargo add clap --features derive", "cargo add csv serde_json"),
    ("git status --short", "ls src/", "cargo --version", "cat Cargo.toml"),
    (),
    ("error[E0502]: cannot borrow `self.rows` as mutable because it is also borrowed as immutable",
     "thread 'server::tests::graceful_shutdown' panicked at src/server.rs:88:9:\nAddress already in use (os error 98)"),
    test_files=("tests/cli.rs",),
))
_s(Stack(
    "swift",
    ("Sources/App/SettingsView.swift", "Sources/App/SettingsViewModel.swift", "Sources/App/ContentView.swift",
     "Package.swift"),
    ("swift test",),
    "swift",
    ("swift build",),
    ("Building for debugging...\nBuild complete! (6.12s)",),
    (),
    ("git status --short", "ls Sources/App"),
    (),
    ("error: cannot find 'AppStorage' in scope",),
    test_files=("Tests/AppTests/SettingsViewModelTests.swift",),
))
_s(Stack(
    "java",
    ("src/main/java/com/acme/billing/InvoiceService.java", "src/main/java/com/acme/billing/TaxCalculator.java",
     "src/main/resources/application.yml", "pom.xml"),
    ("./mvnw -q test", "mvn test -Dtest=InvoiceServiceTest"),
    "maven",
    ("./mvnw -q compile",),
    ("",),
    (),
    ("git log --oneline -10", "grep -rn calculateTax src/main/java | head -20", "ls src/main/java/com/acme/billing"),
    (),
    ("java.lang.NullPointerException: Cannot invoke \"java.math.BigDecimal.multiply\" because \"rate\" is null",),
    test_files=("src/test/java/com/acme/billing/InvoiceServiceTest.java",),
))
_s(Stack(
    "k8s",
    ("k8s/deployment.yaml", "k8s/service.yaml", "k8s/ingress.yaml", "Dockerfile", "k8s/hpa.yaml"),
    (),
    "none",
    ("kubectl get pods -n staging", "kubectl describe pod -n staging -l app=api", "kubectl logs -n staging deploy/api --tail=50",
     "kubectl rollout status deployment/api -n staging", "curl -sI https://staging.api.internal/health"),
    ("NAME                   READY   STATUS             RESTARTS      AGE\napi-7d9c6b5f8-2xkqp   0/1     CrashLoopBackOff   "
     "6 (42s ago)   7m12s\napi-7d9c6b5f8-9hzr4   0/1     CrashLoopBackOff   6 (38s ago)   7m12s",
     "deployment \"api\" successfully rolled out", "HTTP/2 200\ncontent-type: application/json"),
    ("brew install kubectl helm",),
    ("kubectl config current-context", "git status --short", "ls k8s/"),
    ("kubectl apply -f k8s/", "kubectl set image deployment/api api=registry.example.com/api:1.14.2 -n staging",
     "docker push registry.example.com/api:1.14.2"),
    ("Readiness probe failed: Get \"http://10.42.1.17:8080/health\": dial tcp 10.42.1.17:8080: connect: connection refused",
     "OOMKilled"),
))
_s(Stack(
    "docker",
    ("docker-compose.yml", "Dockerfile", ".env.example", "Makefile"),
    (),
    "none",
    ("docker compose up -d", "docker compose ps", "docker compose logs api --tail=40", "make reset-db"),
    ("[+] Running 4/4\n ✔ Network app_default    Created\n ✔ Container app-db-1     Healthy\n ✔ Container app-redis-1  "
     "Started\n ✔ Container app-api-1    Started",
     "NAME          IMAGE          STATUS                   PORTS\napp-api-1     app-api        Up 12 seconds            "
     "0.0.0.0:8000->8000/tcp\napp-db-1      postgres:16    Up 20 seconds (healthy)  5432/tcp"),
    ("brew install --cask docker",),
    ("docker --version", "git status --short", "cat .env.example"),
    (),
    ("connection to server at \"db\" (172.18.0.2), port 5432 failed: Connection refused",),
))
_s(Stack(
    "gha",
    (".github/workflows/ci.yml", ".github/workflows/nightly.yml", "pyproject.toml", ".github/dependabot.yml"),
    (),
    "none",
    ("gh workflow run ci.yml", "gh run list --limit 5", "gh run view --log-failed", "actionlint"),
    ("STATUS  TITLE                 WORKFLOW  BRANCH      EVENT         ID          ELAPSED  AGE\n✓       Add CI "
     "workflow       ci        feature/ci  pull_request  9876543210  2m14s    1m",),
    ("brew install gh actionlint",),
    ("git status --short", "ls .github/workflows", "gh auth status"),
    (),
    ("Error: Process completed with exit code 1.", "The workflow is not valid. .github/workflows/ci.yml (Line: 14, Col: 9)"),
))
_s(Stack(
    "aws",
    ("infra/main.tf", "infra/variables.tf", "infra/outputs.tf", "dist/index.html"),
    (),
    "none",
    ("terraform init", "terraform plan -out plan.tfplan", "aws sts get-caller-identity"),
    ("Terraform has been successfully initialized!", "Plan: 7 to add, 0 to change, 0 to destroy."),
    ("brew install terraform awscli",),
    ("git status --short", "ls infra/", "aws --version"),
    ("terraform apply plan.tfplan", "aws s3 sync dist/ s3://site-prod-assets --delete",
     "aws cloudfront create-invalidation --distribution-id E2QWRUHEXAMPLE --paths /index.html"),
    ("AccessDenied: Access Denied", "Error: creating CloudFront Distribution: InvalidViewerCertificate"),
))
_s(Stack(
    "git",
    ("src/billing/proration.py", "src/billing/currency.py", "CHANGELOG.md"),
    ("pytest -q",),
    "pytest",
    ("git fetch origin", "git rebase origin/main", "git diff --name-only --diff-filter=U", "git rebase --continue"),
    ("Successfully rebased and updated refs/heads/feature/billing-v2.",),
    (),
    ("git status", "git log --oneline --graph -15", "git branch -vv"),
    (),
    ("CONFLICT (content): Merge conflict in src/billing/proration.py",),
))
_s(Stack(
    "nginx",
    ("/etc/nginx/sites-available/app.conf", "/etc/nginx/nginx.conf"),
    (),
    "none",
    ("sudo nginx -t", "sudo systemctl reload nginx", "sudo certbot renew --dry-run", "curl -sI https://app.example.org"),
    ("nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf "
     "test is successful", "Congratulations, all simulated renewals succeeded", "HTTP/2 200\nserver: nginx/1.24.0"),
    ("sudo apt-get install -y nginx certbot python3-certbot-nginx",),
    ("systemctl status nginx --no-pager", "sudo ufw status"),
    ("sudo certbot --nginx -d app.example.org --redirect",),
    ("Certbot failed to authenticate some domains (authenticator: nginx).",),
    git=False,
))
_s(Stack(
    "sql",
    ("queries/monthly_revenue.sql", "queries/mrr.sql", "schema/bookings.sql", "queries/report_check.csv"),
    (),
    "none",
    ("psql \"$DATABASE_URL\" -f queries/mrr.sql", "duckdb analytics.duckdb < queries/monthly_revenue.sql"),
    (),
    (),
    ("ls queries/", "git status --short"),
    (),
    ("ERROR:  column \"plan_interval\" does not exist", "ERROR:  syntax error at or near \"WINDOW\""),
))
_s(Stack(
    "airflow",
    ("dags/etl_orders.py", "dags/utils/bq.py", "tests/test_dag_integrity.py"),
    ("pytest tests/ -q",),
    "pytest",
    ("airflow dags test etl_orders 2025-11-01", "airflow dags list-import-errors"),
    ("[2025-11-02T02:00:14.118+0000] {dagrun.py:854} INFO - Marking run <DagRun etl_orders @ 2025-11-01> successful",),
    ("pip install 'apache-airflow==2.9.3' apache-airflow-providers-google",),
    ("ls dags/", "git status --short"),
    (),
    ("airflow.exceptions.AirflowException: Task received SIGTERM signal",),
))
_s(Stack(
    "appsscript",
    ("Code.gs", "Invoices.gs", "HubspotSync.gs", "appsscript.json"),
    (),
    "none",
    ("clasp push", "clasp run sendInvoices", "clasp logs"),
    ("└─ Code.gs\n└─ Invoices.gs\n└─ appsscript.json\nPushed 3 files.",),
    ("npm install -g @google/clasp", "clasp login"),
    ("clasp status", "ls"),
    (),
    ("Exception: Invalid email: ", "TypeError: Cannot read properties of null (reading 'getRange')"),
    git=False,
))
_s(Stack(
    "docs",
    ("drafts/proposal.md", "drafts/notes.md", "drafts/outline.md", "references.bib"),
    (),
    "none",
    ("wc -w drafts/*.md", "pandoc drafts/proposal.md -o drafts/proposal.docx"),
    ("  1843 drafts/proposal.md\n   412 drafts/notes.md\n  2255 total",),
    ("brew install pandoc",),
    ("ls drafts/",),
    (),
    ("pandoc: drafts/figure1.png: withBinaryFile: does not exist (No such file or directory)",),
    git=False,
))
_s(Stack(
    "notebook",
    ("notebooks/model.ipynb", "notebooks/features.py", "data/train.csv"),
    (),
    "none",
    ("jupyter nbconvert --to script notebooks/model.ipynb --stdout | head -80",),
    (),
    (),
    ("ls notebooks/ data/",),
    git=False,
))
_s(Stack(
    "llm",
    ("agent/loop.py", "agent/tools.py", "agent/prompts.py", "tests/test_loop.py"),
    ("pytest -q", "pytest tests/test_loop.py -q"),
    "pytest",
    ("python -m agent.loop --question 'How many refunds last week?'",),
    ("step 1: search_docs(query='refund policy')\nstep 2: run_sql(...)\nanswer: 37 refunds were issued last week.",),
    ("pip install anthropic duckdb",),
    ("git status --short", "ls agent/"),
    (),
    ("anthropic.RateLimitError: Error code: 429",),
    test_files=("tests/test_loop.py", "tests/fixtures/transcript.json"),
))
_s(Stack(
    "scraper",
    ("scraper/scrape.py", "scraper/parse.py", "crontab.txt", "requirements.txt"),
    ("pytest -q",),
    "pytest",
    ("python scraper/scrape.py --dry-run", "crontab -l", "tail -20 logs/scrape.log"),
    ("fetched 14 pages, 312 prices → data/prices/2025-11-12.csv",
     "30 2 * * * cd ~/prices && .venv/bin/python scraper/scrape.py >> logs/scrape.log 2>&1"),
    ("pip install httpx selectolax tenacity",),
    ("ls", "git status --short"),
    (),
    ("httpx.HTTPStatusError: Client error '429 Too Many Requests'",),
    test_files=("tests/test_parse.py",),
))
_s(Stack(
    "chrome",
    ("manifest.json", "src/content.js", "src/service_worker.js", "src/options.html", "src/options.js"),
    ("npm test",),
    "jest",
    ("npm run build", "npx web-ext lint --source-dir dist"),
    ("webpack 5.94.0 compiled successfully in 812 ms",),
    ("npm install",),
    ("ls src/", "git status --short"),
    (),
    ("Uncaught (in promise) Error: Could not establish connection. Receiving end does not exist.",),
    test_files=("src/content.test.js",),
))
_s(Stack(
    "pygame",
    ("game/main.py", "game/sprites.py", "game/settings.py", "highscore.json"),
    (),
    "none",
    ("python game/main.py",),
    ("pygame 2.6.0 (SDL 2.28.4, Python 3.12.4)\nHello from the pygame community. https://www.pygame.org/contribute.html",),
    ("pip install pygame",),
    ("ls game/",),
    (),
    ("pygame.error: No available video device",),
    git=False,
))
_s(Stack(
    "streamlit",
    ("dashboard/app.py", "dashboard/data.py", "data/sales.xlsx", "requirements.txt"),
    (),
    "none",
    ("streamlit run dashboard/app.py --server.headless true", "python -c 'import dashboard.data as d; print(d.load().shape)'"),
    ("\n  You can now view your Streamlit app in your browser.\n\n  Local URL: http://localhost:8501\n", "(18204, 14)"),
    ("pip install streamlit pandas openpyxl plotly",),
    ("ls data/ dashboard/",),
    (),
    ("StreamlitAPIException: `st.cache` is deprecated. Please use `st.cache_data`.",),
    git=False,
))
_s(Stack(
    "discord",
    ("bot/index.js", "bot/commands/poll.js", "bot/deploy-commands.js", "package.json"),
    (),
    "none",
    ("node bot/deploy-commands.js", "node bot/index.js"),
    ("Successfully reloaded 2 application (/) commands.", "Ready! Logged in as PollBot#4821"),
    ("npm install discord.js dotenv",),
    ("ls bot/", "node --version"),
    (),
    ("DiscordAPIError[50001]: Missing Access",),
))
_s(Stack(
    "site",
    ("index.html", "styles.css", "gallery.html", "contact.html", "js/menu.js"),
    (),
    "none",
    ("npx serve . -l 5000", "npx lighthouse http://localhost:5000 --only-categories=performance,accessibility --quiet"),
    ("   ┌────────────────────────────────────┐\n   │   Serving!                         │\n   │   Local: http://localhost:5000     │\n"
     "   └────────────────────────────────────┘",),
    (),
    ("ls", "ls images | head"),
    ("netlify deploy --prod --dir .",),
    (),
    git=False,
))


# ------------------------------------------------------------------ code pools

_PY = (
    "def load_orders(path: Path) -> list[Order]:\n    \"\"\"Read orders from a CSV export.\"\"\"\n    with path.open(newline=\"\", "
    "encoding=\"utf-8-sig\") as fh:\n        reader = csv.DictReader(fh)\n        return [Order.from_row(normalise(row)) for row in "
    "reader]\n",
    "class OrderSerializer(serializers.ModelSerializer):\n    total = serializers.SerializerMethodField()\n\n    class Meta:\n"
    "        model = Order\n        fields = [\"id\", \"customer\", \"items\", \"total\", \"created_at\"]\n\n    def get_total(self, "
    "obj: Order) -> str:\n        total = sum((item.price * item.quantity for item in obj.items.all()), Decimal(\"0\"))\n        "
    "return str(total.quantize(Decimal(\"0.01\"), rounding=ROUND_HALF_UP))\n",
    "@router.get(\"/items/{item_id}\", response_model=ItemOut)\nasync def read_item(item_id: int, session: AsyncSession = "
    "Depends(get_session)) -> Item:\n    item = await session.get(Item, item_id)\n    if item is None:\n        raise "
    "HTTPException(status_code=404, detail=\"item not found\")\n    return item\n",
    "def normalise(row: dict[str, str]) -> dict[str, str]:\n    out = {}\n    for key, value in row.items():\n        key = "
    "re.sub(r\"[^a-z0-9]+\", \"_\", key.strip().lower()).strip(\"_\")\n        out[key] = value.strip()\n    return out\n",
    "def test_total_rounding(order_with_items):\n    data = OrderSerializer(order_with_items).data\n    assert data[\"total\"] == "
    "\"10.00\"\n\n\n@pytest.mark.parametrize(\"qty,price,expected\", [(1, \"0.10\", \"0.10\"), (3, \"0.335\", \"1.01\")])\ndef "
    "test_line_totals(qty, price, expected):\n    assert line_total(qty, Decimal(price)) == Decimal(expected)\n",
    "def monthly_revenue(df: pd.DataFrame) -> pd.DataFrame:\n    df = df[df[\"qty\"] > 0]\n    df = df[~df[\"email\"].str.endswith"
    "(\"@example.com\")]\n    out = (df.assign(month=df[\"date\"].dt.to_period(\"M\"))\n             .groupby(\"month\", as_index=False)"
    "[\"revenue\"].sum())\n    out[\"growth\"] = out[\"revenue\"].pct_change().round(3)\n    return out\n",
    "class Pricer:\n    def __init__(self, config: PricingConfig) -> None:\n        self._config = config\n\n    def price(self, "
    "line: Line) -> Decimal:\n        base = line.unit_price * line.quantity\n        discount = self._config.discount_for(line.sku)"
    "\n        return (base * (1 - discount)).quantize(CENT)\n",
    "def main(argv: list[str] | None = None) -> int:\n    parser = argparse.ArgumentParser(description=__doc__)\n    "
    "parser.add_argument(\"src\", type=Path)\n    parser.add_argument(\"--out\", type=Path, default=Path(\"out\"))\n    args = "
    "parser.parse_args(argv)\n    rows = load_orders(args.src)\n    write_report(rows, args.out)\n    return 0\n",
    "fig, ax = plt.subplots(figsize=(8, 4.5))\nax.plot(summary[\"month\"].astype(str), summary[\"revenue\"] / 1e3, marker=\"o\")\n"
    "ax.set_ylabel(\"Revenue (k€)\")\nax.set_title(\"Monthly revenue\")\nax.grid(alpha=0.3)\nfig.tight_layout()\nfig.savefig("
    "\"reports/monthly_revenue.png\", dpi=150)\n",
    "async def run(question: str, client: Anthropic, max_steps: int = 8) -> str:\n    messages = [{\"role\": \"user\", \"content\": "
    "question}]\n    for step in range(max_steps):\n        resp = client.messages.create(model=MODEL, max_tokens=1024, tools=TOOLS,"
    " messages=messages)\n        log.info(\"step %d stop_reason=%s\", step, resp.stop_reason)\n        if resp.stop_reason != "
    "\"tool_use\":\n            return text_of(resp)\n        messages += [assistant_turn(resp), tool_results(resp)]\n    raise "
    "StepLimitExceeded(max_steps)\n",
)
_PY_HEAD = ("from __future__ import annotations\n\nimport csv\nimport re\nfrom decimal import ROUND_HALF_UP, Decimal\n"
            "from pathlib import Path\n\n",
            "import logging\n\nimport pandas as pd\nimport matplotlib.pyplot as plt\n\nlog = logging.getLogger(__name__)\n\n")
_TS = (
    "export function parseRange(input: string, tz = 'Europe/Berlin'): DateRange {\n  const [start, end] = input.split('..');\n"
    "  if (!start) throw new RangeError(`invalid range: ${input}`);\n  return {\n    start: toZoned(start, tz),\n    end: end ? "
    "toZoned(end, tz) : null,\n  };\n}\n",
    "router.get('/orders', asyncHandler(async (req, res) => {\n  const status = String(req.query.status ?? 'open');\n  const "
    "orders = await db.order.findMany({ where: { status }, include: { customer: true } });\n  const missing = orders.find((o) => "
    "!o.customer);\n  if (missing) {\n    return res.status(422).json({ error: 'customer_required', orderId: missing.id });\n  }\n"
    "  res.json(orders.map(toDto));\n}));\n",
    "export function SignupForm({ onSubmit }: Props) {\n  const [state, dispatch] = useReducer(reducer, initialState);\n  "
    "return (\n    <form onSubmit={(e) => { e.preventDefault(); onSubmit(state); }} className=\"space-y-4\">\n      <input\n"
    "        type=\"email\"\n        value={state.email}\n        onChange={(e) => dispatch({ type: 'email', value: e.target.value })}\n"
    "        className=\"w-full rounded-md border px-3 py-2\"\n      />\n      <button type=\"submit\" className=\"btn-primary\">Join "
    "the waitlist</button>\n    </form>\n  );\n}\n",
    "export default function Hero() {\n  return (\n    <section className=\"mx-auto max-w-5xl px-6 py-24 text-center\">\n      "
    "<h1 className=\"text-4xl font-bold tracking-tight sm:text-6xl\">Ship faster with less busywork</h1>\n      <p className=\""
    "mt-6 text-lg text-gray-600\">Automate the boring parts of your week.</p>\n      <a href=\"#signup\" className=\"mt-10 "
    "inline-block rounded-md bg-indigo-600 px-5 py-3 text-white\">Get started</a>\n    </section>\n  );\n}\n",
    "describe('parseRange', () => {\n  it.each([\n    ['2025-03-30..2025-03-31', 23],\n    ['2025-10-26..2025-10-27', 25],\n  "
    "])('handles DST in %s', (input, hours) => {\n    const r = parseRange(input);\n    expect(hoursBetween(r.start, r.end!))."
    "toBe(hours);\n  });\n\n  it('rejects empty input', () => {\n    expect(() => parseRange('')).toThrow(RangeError);\n  });\n"
    "});\n",
    "const PLANS: Plan[] = [\n  { name: 'Starter', monthly: 9, yearly: 90, features: ['1 project', 'Email support'] },\n  "
    "{ name: 'Team', monthly: 29, yearly: 290, features: ['10 projects', 'Priority support'] },\n];\n\nexport function Pricing()"
    " {\n  const [yearly, setYearly] = useState(false);\n  return <PlanGrid plans={PLANS} yearly={yearly} onToggle={setYearly}"
    " />;\n}\n",
    "test('checkout completes', async ({ page, request }) => {\n  await request.post('/api/test/seed', { data: { cart: "
    "'basic' } });\n  await page.goto('/cart');\n  await page.getByRole('button', { name: 'Checkout' }).click();\n  await "
    "expect(page.getByRole('heading', { name: 'Order confirmed' })).toBeVisible();\n});\n",
)
_TS_HEAD = ("import { useReducer, useState } from 'react';\nimport type { Props } from './types';\n\n",
            "import { Router } from 'express';\nimport { asyncHandler } from '../middleware/errors';\nimport { db } from "
            "'../db';\n\nconst router = Router();\n\n")
_GO = (
    "func (c *Cache) Get(key string) (Entry, bool) {\n\tc.mu.RLock()\n\tdefer c.mu.RUnlock()\n\te, ok := c.items[key]\n\tif !ok "
    "|| e.expired(c.now()) {\n\t\treturn Entry{}, false\n\t}\n\treturn e, true\n}\n",
    "func (c *Cache) janitor(ctx context.Context) {\n\tt := time.NewTicker(c.interval)\n\tdefer t.Stop()\n\tfor {\n\t\tselect {\n"
    "\t\tcase <-ctx.Done():\n\t\t\treturn\n\t\tcase <-t.C:\n\t\t\tc.mu.Lock()\n\t\t\tc.evictExpiredLocked()\n\t\t\tc.mu.Unlock()\n"
    "\t\t}\n\t}\n}\n",
    "func TestParseDSN(t *testing.T) {\n\tt.Parallel()\n\ttests := []struct {\n\t\tname    string\n\t\tin      string\n\t\twant    "
    "Config\n\t\twantErr error\n\t}{\n\t\t{\"ipv6\", \"postgres://u:p@[::1]:5432/db\", Config{Host: \"::1\", Port: 5432}, nil},\n"
    "\t\t{\"encoded password\", \"postgres://u:p%40ss@h/db\", Config{Password: \"p@ss\"}, nil},\n\t\t{\"empty\", \"\", Config{}, "
    "ErrEmptyDSN},\n\t}\n\tfor _, tt := range tests {\n\t\tt.Run(tt.name, func(t *testing.T) {\n\t\t\tgot, err := ParseDSN(tt.in)\n"
    "\t\t\tif !errors.Is(err, tt.wantErr) {\n\t\t\t\tt.Fatalf(\"err = %v, want %v\", err, tt.wantErr)\n\t\t\t}\n\t\t\t_ = got\n\t\t})"
    "\n\t}\n}\n",
    "func main() {\n\tcfg := config.FromEnv()\n\tsrv := server.New(cfg)\n\tctx, stop := signal.NotifyContext(context.Background(), "
    "os.Interrupt, syscall.SIGTERM)\n\tdefer stop()\n\tif err := srv.Run(ctx); err != nil && !errors.Is(err, http.ErrServerClosed)"
    " {\n\t\tlog.Fatal(err)\n\t}\n}\n",
)
_RS = (
    "#[derive(Parser, Debug)]\n#[command(version, about = \"Convert CSV to JSON\")]\nstruct Args {\n    /// Input CSV file\n    "
    "input: PathBuf,\n    /// Pretty-print the output\n    #[arg(long)]\n    pretty: bool,\n    /// One JSON object per line\n"
    "    #[arg(long)]\n    ndjson: bool,\n}\n",
    "fn convert<R: Read, W: Write>(reader: R, mut out: W, ndjson: bool) -> Result<usize, ConvertError> {\n    let mut rdr = "
    "csv::Reader::from_reader(reader);\n    let headers = rdr.headers()?.clone();\n    let mut n = 0;\n    for (i, rec) in "
    "rdr.records().enumerate() {\n        let rec = rec.map_err(|e| ConvertError::Row { line: i + 2, source: e })?;\n        "
    "write_row(&mut out, &headers, &rec, ndjson)?;\n        n += 1;\n    }\n    Ok(n)\n}\n",
    "impl ConnectionPool {\n    pub async fn get(&self) -> Result<PooledConn, PoolError> {\n        let permit = "
    "self.semaphore.clone().acquire_owned().await?;\n        let conn = {\n            let mut idle = self.idle.lock();\n"
    "            idle.pop()\n        };\n        match conn {\n            Some(c) => Ok(PooledConn::new(c, permit)),\n            "
    "None => self.connect(permit).await,\n        }\n    }\n}\n",
    "#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[tokio::test]\n    async fn graceful_shutdown() {\n        let (addr, "
    "ready) = spawn_server(\"127.0.0.1:0\").await;\n        ready.await.unwrap();\n        let resp = reqwest::get(format!("
    "\"http://{addr}/health\")).await.unwrap();\n        assert_eq!(resp.status(), 200);\n    }\n}\n",
)
_SWIFT = (
    "struct SettingsView: View {\n    @AppStorage(\"notificationsEnabled\") private var notificationsEnabled = true\n    @State "
    "private var showDeleteConfirm = false\n\n    var body: some View {\n        Form {\n            Section(\"Notifications\") {"
    "\n                Toggle(\"Push notifications\", isOn: $notificationsEnabled)\n            }\n            Section {\n"
    "                Button(\"Delete account\", role: .destructive) { showDeleteConfirm = true }\n            }\n        }\n"
    "        .confirmationDialog(\"Delete your account?\", isPresented: $showDeleteConfirm) {\n            Button(\"Delete\", "
    "role: .destructive) { viewModel.deleteAccount() }\n        }\n    }\n}\n",
    "@MainActor\nfinal class SettingsViewModel: ObservableObject {\n    @Published private(set) var isDeleting = false\n\n    "
    "func deleteAccount() {\n        isDeleting = true\n        Task { try? await api.deleteAccount(); isDeleting = false }\n    }"
    "\n}\n",
)
_JAVA = (
    "@Service\n@Transactional\npublic class InvoiceService {\n    private final TaxCalculator taxCalculator;\n    private final "
    "InvoiceRepository invoices;\n\n    public Invoice finalise(Long invoiceId) {\n        Invoice invoice = invoices.findById("
    "invoiceId).orElseThrow();\n        BigDecimal tax = taxCalculator.calculateTax(invoice.getNet(), invoice.getRegion());\n"
    "        invoice.setTax(tax);\n        return invoices.save(invoice);\n    }\n}\n",
    "public BigDecimal calculateTax(BigDecimal net, String region) {\n    BigDecimal rate = rates.get(region);\n    if "
    "(legacyRounding) {\n        return net.multiply(rate).setScale(2, RoundingMode.HALF_EVEN);\n    }\n    return net.multiply("
    "rate).setScale(2, RoundingMode.HALF_UP);\n}\n",
)
_YAML = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: staging\nspec:\n  replicas: 2\n  selector:\n"
    "    matchLabels:\n      app: api\n  template:\n    metadata:\n      labels:\n        app: api\n    spec:\n      containers:\n"
    "        - name: api\n          image: registry.example.com/api:1.14.2\n          ports:\n            - containerPort: 8000\n"
    "          readinessProbe:\n            httpGet:\n              path: /health\n              port: 8000\n            "
    "initialDelaySeconds: 10\n          resources:\n            requests: {cpu: 250m, memory: 256Mi}\n            limits: "
    "{cpu: '1', memory: 512Mi}\n",
    "name: ci\non:\n  pull_request:\n  push:\n    branches: [main]\nconcurrency:\n  group: ci-${{ github.ref }}\n  "
    "cancel-in-progress: true\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n    strategy:\n"
    "      matrix:\n        python: ['3.11', '3.12', '3.13']\n    steps:\n      - uses: actions/checkout@v4\n      - uses: "
    "actions/setup-python@v5\n        with:\n          python-version: ${{ matrix.python }}\n          cache: pip\n      - run: "
    "pip install -e '.[dev]'\n      - run: ruff check .\n      - run: pytest --cov=src -q\n",
    "services:\n  api:\n    build: .\n    ports: ['8000:8000']\n    env_file: .env\n    volumes: ['./:/app']\n    depends_on:\n"
    "      db:\n        condition: service_healthy\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: "
    "postgres\n    volumes: ['pgdata:/var/lib/postgresql/data']\n    healthcheck:\n      test: ['CMD-SHELL', 'pg_isready -U "
    "postgres']\n      interval: 2s\n      retries: 15\n  redis:\n    image: redis:7\nvolumes:\n  pgdata: {}\n",
    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: api\n  annotations:\n    cert-manager.io/cluster-"
    "issuer: letsencrypt\nspec:\n  rules:\n    - host: staging.api.internal\n      http:\n        paths:\n          - path: /\n"
    "            pathType: Prefix\n            backend:\n              service: {name: api, port: {number: 80}}\n",
)
_HCL = (
    "resource \"aws_s3_bucket\" \"site\" {\n  bucket = var.bucket_name\n}\n\nresource \"aws_s3_bucket_public_access_block\" "
    "\"site\" {\n  bucket                  = aws_s3_bucket.site.id\n  block_public_acls       = true\n  block_public_policy     "
    "= true\n  restrict_public_buckets = true\n}\n",
    "resource \"aws_cloudfront_distribution\" \"site\" {\n  enabled             = true\n  default_root_object = \"index.html\"\n"
    "  origin {\n    domain_name              = aws_s3_bucket.site.bucket_regional_domain_name\n    origin_id                "
    "= \"s3-site\"\n    origin_access_control_id = aws_cloudfront_origin_access_control.site.id\n  }\n  custom_error_response "
    "{\n    error_code         = 404\n    response_code      = 200\n    response_page_path = \"/index.html\"\n  }\n}\n",
)
_SQL = (
    "WITH paid AS (\n  SELECT o.id, o.customer_id, date_trunc('month', o.paid_at) AS month, o.amount_cents\n  FROM orders o\n"
    "  WHERE o.status = 'paid' AND o.is_test = false\n),\nrefunds AS (\n  SELECT order_id, sum(amount_cents) AS refunded\n  FROM "
    "refunds GROUP BY order_id\n)\nSELECT p.month,\n       sum(p.amount_cents - coalesce(r.refunded, 0)) / 100.0 AS revenue\n"
    "FROM paid p\nLEFT JOIN refunds r ON r.order_id = p.id\nGROUP BY p.month\nORDER BY p.month;\n",
    "CREATE TABLE bookings (\n  id          bigserial PRIMARY KEY,\n  room_id     bigint NOT NULL REFERENCES rooms(id),\n  "
    "during      tstzrange NOT NULL,\n  price_cents integer NOT NULL CHECK (price_cents >= 0),\n  deleted_at  timestamptz,\n  "
    "EXCLUDE USING gist (room_id WITH =, during WITH &&) WHERE (deleted_at IS NULL)\n);\n",
    "SELECT plan,\n       sum(CASE WHEN interval = 'year' THEN amount_cents / 12 ELSE amount_cents END) / 100.0 AS mrr,\n"
    "       count(*) FILTER (WHERE started_at >= date_trunc('month', now())) AS new_subs\nFROM subscriptions\nWHERE status = "
    "'active' AND NOT is_trial\nGROUP BY plan;\n",
)
_JS = (
    "function sendInvoices() {\n  const sheet = SpreadsheetApp.getActive().getSheetByName('Invoices');\n  const [header, "
    "...rows] = sheet.getDataRange().getValues();\n  const col = Object.fromEntries(header.map((h, i) => [h, i]));\n  "
    "rows.forEach((row, i) => {\n    const email = String(row[col['Email']] || '').trim();\n    if (!email.includes('@')) "
    "return logSkipped(i + 2, 'missing email');\n    GmailApp.sendEmail(email, `Invoice ${row[col['Number']]}`, "
    "body(row, col));\n  });\n}\n",
    "client.on(Events.InteractionCreate, async (interaction) => {\n  if (!interaction.isChatInputCommand()) return;\n  const "
    "command = client.commands.get(interaction.commandName);\n  if (!command) return;\n  try {\n    await command.execute("
    "interaction);\n  } catch (err) {\n    console.error(err);\n    await interaction.reply({ content: 'Something went wrong.', "
    "ephemeral: true });\n  }\n});\n",
    "chrome.runtime.onMessage.addListener((msg, _sender, sendResponse) => {\n  if (msg.type !== 'rate') return;\n  "
    "getRate(msg.currency).then(sendResponse);\n  return true;\n});\n",
)
_CSS = (
    "@media (max-width: 768px) {\n  .nav-links { display: none; }\n  .nav-toggle { display: block; }\n  .hero { padding-top: "
    "5rem; }\n}\n\n.gallery {\n  display: grid;\n  grid-template-columns: repeat(auto-fill, minmax(160px, 1fr));\n  gap: 1rem;\n}"
    "\n\n.gallery img { max-width: 100%; height: auto; }\n",
    "<section class=\"gallery\" aria-label=\"Selected work\">\n  <img src=\"images/harbor-640.jpg\" srcset=\"images/harbor-640.jpg"
    " 640w, images/harbor-1280.jpg 1280w\" sizes=\"(max-width: 600px) 100vw, 33vw\" alt=\"Harbor at dawn\" loading=\"lazy\">\n"
    "  <img src=\"images/market-640.jpg\" alt=\"Night market\" loading=\"lazy\">\n</section>\n",
)
_CONF = (
    "server {\n    listen 443 ssl http2;\n    server_name app.example.org;\n\n    ssl_certificate /etc/letsencrypt/live/app."
    "example.org/fullchain.pem;\n    ssl_certificate_key /etc/letsencrypt/live/app.example.org/privkey.pem;\n    "
    "add_header Strict-Transport-Security \"max-age=31536000\" always;\n\n    location / {\n        proxy_pass http://127.0.0.1:"
    "3000;\n        proxy_set_header Host $host;\n        proxy_set_header X-Forwarded-Proto $scheme;\n    }\n}\n",
)

_TOML = (
    "[project]\nname = \"toolkit\"\nversion = \"0.4.2\"\nrequires-python = \">=3.11\"\ndependencies = [\n  \"pandas>=2.2\",\n"
    "  \"httpx>=0.27\",\n]\n",
    "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\naddopts = \"-q --strict-markers\"\n\n[tool.ruff]\nline-length = 100\n",
    "[dependencies]\nclap = { version = \"4.5\", features = [\"derive\"] }\ncsv = \"1.3\"\nserde_json = \"1.0\"\n\n"
    "[dev-dependencies]\nassert_cmd = \"2.0\"\n",
)
_JSON = (
    "{\n  \"name\": \"web\",\n  \"version\": \"1.8.0\",\n  \"private\": true,\n  \"scripts\": {\n    \"dev\": \"vite\",\n"
    "    \"build\": \"tsc && vite build\",\n    \"test\": \"vitest\"\n  }\n}\n",
    "{\n  \"manifest_version\": 3,\n  \"name\": \"Price Helper\",\n  \"version\": \"0.3.0\",\n  \"permissions\": "
    "[\"storage\"],\n  \"background\": { \"service_worker\": \"src/service_worker.js\" }\n}\n",
    "{\n  \"timeZone\": \"Europe/Berlin\",\n  \"exceptionLogging\": \"STACKDRIVER\",\n  \"runtimeVersion\": \"V8\"\n}\n",
)

_PROSE: dict[str, tuple[str, ...]] = {
    "generic": (
        "This section describes the current state, the problem we are trying to solve, and the approach we propose. "
        "It is written for readers who know the domain but have not followed the day-to-day discussion.",
        "The main constraint is time: the work has to fit into the existing schedule without delaying other "
        "commitments. We therefore prioritise changes that are reversible and can be delivered in small steps.",
        "We measured the baseline over the last quarter. The figures below are averages; the variation between months "
        "was small enough that a single baseline is reasonable for planning.",
        "Risks are listed with an owner and a mitigation. None of them is blocking, but two need a decision before "
        "the second phase starts.",
        "In summary, the proposal is low-risk, incremental, and measurable. We recommend starting with the first "
        "phase and reviewing the results before committing to the rest.",
    ),
    "grant": (
        "Specific Aims. Chronic wound healing remains poorly predicted by current clinical scores, and patients often "
        "wait weeks before a failing treatment is changed. Our long-term goal is to give clinicians an early, reliable "
        "signal of healing trajectory.",
        "Aim 1 will establish a longitudinal cohort of 240 patients with standardised imaging at weeks 0, 2 and 4. "
        "Expected outcome: a validated dataset that links early tissue changes to healing at week 12.",
        "Aim 2 will develop and validate a prediction model using the imaging features from Aim 1, with external "
        "validation at a second site. This aim does not depend on the success of Aim 3.",
        "Significance. Earlier identification of non-healing wounds could shorten time to effective treatment by "
        "several weeks and reduce amputations, hospital stays and costs.",
        "Approach. We will use a prospective design with pre-registered analyses. Power calculations indicate that 240 "
        "patients provide 80% power to detect a difference of 0.08 in AUC.",
    ),
    "legal": (
        "Question presented. Whether the post-employment non-compete in the employment agreement is enforceable "
        "against an employee who worked remotely from another state for the entire term.",
        "Brief answer. Probably not in full. Courts in the employee's state of residence have declined to enforce "
        "restrictive covenants that exceed what is necessary to protect legitimate business interests.",
        "Discussion. The agreement selects the employer's home state law, but a choice-of-law clause will not be "
        "honoured where it contravenes a fundamental policy of the state with the materially greater interest. "
        "[CITATION TO VERIFY]",
        "Clause 9.2 (Limitation of liability) caps each party's aggregate liability at the fees paid in the prior "
        "twelve months, but the carve-out for indemnification obligations leaves the indemnity in clause 11 uncapped.",
        "Proposed redline: 'Except for breaches of clause 7 (Confidentiality), each party's aggregate liability, "
        "including under clause 11, shall not exceed two times the fees paid in the twelve months preceding the claim.'",
        "The agreement renews automatically for successive one-year terms unless either party gives ninety days' "
        "notice. We recommend reducing the notice period to thirty days.",
    ),
    "blog": (
        "Our CI pipeline used to take 24 minutes on an average pull request. Today it takes 11. None of the changes "
        "were clever; most of them were about not doing work twice.",
        "The biggest win was caching dependencies by the hash of the lockfile instead of the branch name. Cache hit "
        "rate went from 31% to 94% overnight.",
        "The second change was splitting the test suite by historical duration rather than by file count, which "
        "evened out the four shards to within thirty seconds of each other.",
        "What didn't work: we tried running the integration tests against SQLite instead of Postgres. It was faster, "
        "and it hid two real bugs in the first week. We reverted it.",
    ),
    "email": (
        "Subject: quick question about {company}'s onboarding\n\nHi {first_name}, I noticed your team grew quite a bit "
        "this year. Teams that size usually start feeling the pain of manual account setup. Would a 15-minute call next "
        "week be useful?",
        "Subject: re: onboarding\n\nHi {first_name}, following up with one concrete example: a 400-person company cut "
        "new-hire setup from two days to forty minutes. Happy to share how.",
        "Subject: closing the loop\n\nHi {first_name}, I don't want to clutter your inbox, so this is my last note. If "
        "onboarding becomes a priority later, just reply to this email.",
    ),
    "lesson": (
        "Learning objective: students can identify the slope and intercept of a linear function from a table, a "
        "graph and an equation.",
        "Warm-up (8 minutes): students match four tables to four graphs in pairs and justify one match aloud.",
        "Direct instruction (12 minutes): model how a constant rate of change appears in each representation, using "
        "the phone-plan example.",
        "Exit ticket: given the table (0, 3), (1, 5), (2, 7), write the equation and explain what the 3 means.",
        "Quiz item 4: A taxi charges a fixed fee plus a price per kilometre. A 5 km ride costs 12 and a 9 km ride costs "
        "18. What is the fixed fee? (Answer: 4.5)",
    ),
    "board": (
        "TL;DR: revenue was 4% above plan, driven by expansion in existing accounts; new logo acquisition was 12% "
        "below plan and is our main risk for Q4.",
        "Net revenue retention reached 118%, up from 109% last quarter, after the pricing change in August.",
        "Burn was 0.8M below plan because two senior hires slipped into Q4; runway is 26 months at the current rate.",
        "Asks of the board: introductions to two enterprise design partners, and approval of the revised hiring plan.",
    ),
    "report": (
        "Design basis: the structure is designed to EN 1993-1-1 with the UK National Annex. Steel grade S355 is used "
        "throughout.",
        "Load combinations follow EN 1990 Equation 6.10 with partial factors of 1.35 for permanent and 1.5 for "
        "variable actions.",
        "Beam B3 (UKB 356x171x51) has a bending utilisation of 0.87 and a shear utilisation of 0.34; deflection under "
        "variable load is span/412.",
        "Members with utilisation above 0.9 are flagged in Table 4 and should be reviewed if loads change.",
    ),
    "marketing": (
        "Plan less. Ship more.\n\nThe planning tool for teams who would rather be building.",
        "FOR IMMEDIATE RELEASE — Today the company announced the general availability of its planning tool, used in "
        "beta by more than 300 teams.",
        "\"We built this because our own planning meetings took longer than the work,\" said the company's CEO.",
        "About the company: a 40-person software company headquartered in Lisbon, building tools for small teams.",
    ),
    "readme": (
        "## Quickstart\n\n```bash\npip install toolkit\ntoolkit convert data.csv --out data.json\n```",
        "## Configuration\n\n| Option | Default | Description |\n|---|---|---|\n| `--out` | `out/` | Output directory |\n"
        "| `--strict` | `false` | Fail on the first malformed row |",
        "## Troubleshooting\n\nIf you see `UnicodeDecodeError`, the file is probably not UTF-8; pass `--encoding latin-1`.",
    ),
    "spec": (
        "## Problem\n\nUsers miss important updates because notifications are all-or-nothing.",
        "## Proposal\n\nAdd per-channel preferences stored in a `notification_preferences` table keyed by user and event "
        "type. Delivery goes through the existing job queue with an idempotency key of (event_id, channel).",
        "## Phases\n\n1. Read-only shadow of the new tables\n2. Dual-write with reconciliation job\n3. Cut-over behind a "
        "flag\n4. Remove the old path",
        "## Risks\n\n- Dual-write drift: mitigated by a nightly reconciliation report\n- Queue backlog during the "
        "migration: rate-limit the backfill",
        "## Open questions\n\n- Do we need quiet hours in v1?\n- Who owns the email templates?",
    ),
}
GENRE_BY_TOPIC = {
    "grant-proposal": "grant", "contract-review": "legal", "legal-memo": "legal", "tech-blog": "blog",
    "sales-emails": "email", "readme-docs": "readme", "lesson-plan": "lesson", "press-release": "marketing",
    "board-update": "board", "engineering-report": "report", "product-roadmap": "spec", "feature-spec": "spec",
    "plan-microservices": "spec", "booking-schema": "spec",
}

_LANG_BY_EXT = {
    "py": "py", "ipynb": "py", "ts": "ts", "tsx": "ts", "js": "js", "gs": "js", "go": "go", "rs": "rs", "swift": "swift",
    "java": "java", "yml": "yaml", "yaml": "yaml", "tf": "hcl", "sql": "sql", "css": "css", "html": "css",
    "conf": "conf", "md": "md", "toml": "toml", "json": "json", "bib": "md", "txt": "md", "csv": "csv", "xlsx": "csv",
    "mod": "go", "xml": "java",
}
_POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "py": (_PY, _PY_HEAD), "ts": (_TS, _TS_HEAD), "js": (_JS, ("'use strict';\n\n",)), "go": (_GO, ("package cache\n\n"
    "import (\n\t\"context\"\n\t\"sync\"\n\t\"time\"\n)\n\n",)), "rs": (_RS, ("use std::io::{Read, Write};\n\n",)),
    "swift": (_SWIFT, ("import SwiftUI\n\n",)), "java": (_JAVA, ("package com.acme.billing;\n\nimport java.math.BigDecimal;\n\n",)),
    "yaml": (_YAML, ("",)), "hcl": (_HCL, ("",)), "sql": (_SQL, ("-- generated report query\n",)), "css": (_CSS, ("",)),
    "conf": (_CONF, ("",)), "toml": (_TOML, ("",)), "json": (_JSON, ("",)),
}


def lang_of(path: str) -> str:
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _LANG_BY_EXT.get(ext, "md")


@cache
def bodies(lang: str, genre: str = "generic") -> tuple[str, ...]:
    """A fixed pool of file bodies for one language (or prose genre)."""
    rng = random.Random(f"bodies:{lang}:{genre}")
    out: list[str] = []
    if lang == "md":
        paras = _PROSE.get(genre, _PROSE["generic"])
        for i in range(10):
            k = 3 + i % 5
            chosen = [paras[rng.randrange(len(paras))] for _ in range(k)]
            out.append("# Draft\n\n" + "\n\n".join(chosen) + "\n")
        return tuple(out)
    if lang == "csv":
        for i in range(6):
            rows = ["date,order_id,region,sku,qty,unit_price,revenue,email"]
            for j in range(40 + 30 * i):
                q = rng.randint(-1, 9) or 1
                p = round(rng.uniform(4, 250), 2)
                rows.append(f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{100000 + j},"
                            f"{rng.choice(('north', 'south', 'east', 'west'))},SKU-{rng.randint(100, 999)},{q},{p},"
                            f"{round(q * p, 2)},customer{j}@mail.test")
            out.append("\n".join(rows) + "\n")
        return tuple(out)
    blocks, heads = _POOLS.get(lang, _POOLS["py"])
    for i in range(12):
        k = 2 + i % 5
        chosen = [blocks[rng.randrange(len(blocks))] for _ in range(k)]
        out.append(heads[i % len(heads)] + "\n\n".join(chosen))
    return tuple(out)


@lru_cache(maxsize=512)
def numbered(text: str, start: int = 1) -> str:
    """The `cat -n` rendering Claude Code's Read tool returns (arrow separator)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return "\n".join(f"{i:>6}\u2192{line}" for i, line in enumerate(lines, start))


def snippets(lang: str) -> tuple[str, ...]:
    """Code blocks usable as Edit new_string / old_string."""
    if lang == "md":
        return tuple(p for ps in _PROSE.values() for p in ps)
    blocks, _ = _POOLS.get(lang, _POOLS["py"])
    return blocks


def prose(genre: str) -> tuple[str, ...]:
    return _PROSE.get(genre, _PROSE["generic"])


# ------------------------------------------------------------------ assistant prose

EXPLAIN = (
    "The entry point is `{file}`, which wires the configuration, sets up logging and hands control to the main loop.",
    "Most of the business logic lives in `{file2}`; everything else is glue code around it.",
    "Data flows in one direction: input is parsed and validated first, then transformed, then written out. Nothing "
    "writes back to the input.",
    "Errors are handled at the boundary: inner functions raise, and the outer layer converts exceptions into "
    "user-facing messages or HTTP responses.",
    "Configuration comes from environment variables with defaults in one settings module, so behaviour can differ "
    "between your machine and production if those variables differ.",
    "There are two places where state is shared between requests: the connection pool and an in-memory cache. Both "
    "are created once at startup.",
    "The tests mirror the package layout; fixtures in `conftest` build realistic objects so individual tests stay short.",
    "A subtle point: the retry logic wraps the whole operation, so a partial failure can be retried from the start. "
    "That is safe only because each step is idempotent.",
    "If you change `{file2}`, check its callers first — three modules import it directly.",
    "In short: the structure is conventional, the naming is consistent, and the riskiest part is the shared cache.",
)
PLAN_STEPS = (
    "Inventory what exists today and who depends on it.",
    "Define the target state and the smallest first step that moves toward it.",
    "Introduce the new path behind a feature flag, with the old path still in place.",
    "Run both in parallel and compare results for a week.",
    "Switch traffic gradually, watching error rates and latency.",
    "Remove the old path once the new one has been stable for two releases.",
    "Write down what we will explicitly not do in this phase.",
)
THINKING = (
    "The user wants {obj}. Let me look at the relevant files first before changing anything.",
    "The error suggests the problem is upstream of where it surfaces. I should check {file} before editing.",
    "Tests are the quickest way to confirm the behaviour. Let me run them first to see the current state.",
    "I need to be careful not to change the public interface here. A minimal fix is better.",
    "The output shows the remaining failure is unrelated to my change; let me verify that by reading the test.",
    "Now I should summarise what changed and what the user should check.",
)
STARTS = (
    "I'll start by looking at the project structure.",
    "Let me look at `{file}` first.",
    "Let me reproduce the problem before changing anything.",
    "I'll explore the codebase to understand how this is wired up.",
    "Let me check what's there already.",
)
FOUND = (
    "Found the issue: {cause}.",
    "The problem is in `{file}`: {cause}.",
    "I see what's happening — {cause}.",
)
NEXT = (
    "Now let me run the tests again.",
    "Let me verify the change.",
    "Next, I'll update `{file2}` to match.",
    "Let me check the output.",
    "That worked. Moving on to the next part.",
    "Let me fix that.",
)

# ------------------------------------------------------------------ tool outputs


def test_output(runner: str, rng: random.Random, *, passed: int, failed: int, path: str) -> str:
    """A realistic test-runner summary (parsed by codecensus.sources.common.test_status)."""
    total = passed + failed
    dur = round(rng.uniform(0.4, 25.0), 2)
    if runner == "pytest":
        dots = "." * min(passed, 60) + "F" * failed
        lines = ["============================= test session starts ==============================",
                 "platform linux -- Python 3.12.4, pytest-8.3.3, pluggy-1.5.0",
                 "rootdir: /app", "configfile: pyproject.toml", f"collected {total} items", "",
                 f"{path} {dots:<50} [100%]"]
        if failed:
            lines += ["", "=================================== FAILURES ===================================",
                      f"____________________________ test_case_{rng.randint(1, 40)} ____________________________",
                      "", "    def test_total_rounding(order_with_items):", "        data = OrderSerializer(order_with_items).data",
                      ">       assert data[\"total\"] == \"10.00\"", "E       AssertionError: assert '10.01' == '10.00'", "",
                      "=========================== short test summary info ============================"]
            lines += [f"FAILED {path}::test_case_{i} - AssertionError" for i in range(1, failed + 1)]
            lines.append(f"========================= {failed} failed, {passed} passed in {dur}s =========================")
        else:
            lines.append(f"============================== {passed} passed in {dur}s ===============================")
        return "\n".join(lines)
    if runner in ("jest", "vitest"):
        if runner == "jest":
            head = [("FAIL " if failed else "PASS ") + path]
            head += [f"  ✓ case {i} ({rng.randint(1, 30)} ms)" for i in range(1, min(passed, 8) + 1)]
            head += [f"  ✕ case {i} ({rng.randint(1, 30)} ms)" for i in range(1, failed + 1)]
            suites = f"Test Suites: {'1 failed, ' if failed else ''}{rng.randint(2, 6)} passed, {rng.randint(3, 7)} total"
            tests = f"Tests:       {f'{failed} failed, ' if failed else ''}{passed} passed, {total} total"
            return "\n".join([*head, "", suites, tests, "Snapshots:   0 total", f"Time:        {dur} s",
                              "Ran all test suites."])
        head = [f" {'❯' if failed else '✓'} {path} ({total} tests{f' | {failed} failed' if failed else ''}) {rng.randint(5, 900)}ms"]
        files = f" Test Files  {'1 failed | ' if failed else ''}{rng.randint(2, 6)} passed"
        tests = f"      Tests  {f'{failed} failed | ' if failed else ''}{passed} passed ({total})"
        return "\n".join([*head, "", files, tests, f"   Duration  {dur}s"])
    if runner == "gotest":
        pkg = "github.com/acme/svc/" + path.rsplit("/", 1)[0]
        if failed:
            return "\n".join(["--- FAIL: TestCache_ConcurrentGet (0.01s)",
                              "    cache_test.go:42: expected 3 entries, got 2", "FAIL",
                              f"FAIL\t{pkg}\t{dur}s", f"ok  \tgithub.com/acme/svc/internal/dsn\t{round(dur / 3, 3)}s", "FAIL"])
        return f"ok  \t{pkg}\t{dur}s\nok  \tgithub.com/acme/svc/internal/dsn\t{round(dur / 3, 3)}s"
    if runner == "cargo":
        lines = [f"running {total} tests"]
        lines += [f"test tests::case_{i} ... ok" for i in range(1, min(passed, 10) + 1)]
        lines += [f"test server::tests::case_{i} ... FAILED" for i in range(1, failed + 1)]
        status = "FAILED" if failed else "ok"
        lines += ["", f"test result: {status}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out; "
                  f"finished in {dur}s"]
        return "\n".join(lines)
    if runner == "maven":
        return "\n".join(["[INFO] -------------------------------------------------------",
                          "[INFO]  T E S T S", "[INFO] -------------------------------------------------------",
                          f"[INFO] Tests run: {total}, Failures: {failed}, Errors: 0, Skipped: 0",
                          "[INFO] BUILD " + ("FAILURE" if failed else "SUCCESS")])
    if runner == "swift":
        return (f"Test Suite 'All tests' {'failed' if failed else 'passed'}.\n\t Executed {total} tests, with {failed} "
                f"failures (0 unexpected) in {dur} ({dur + 0.03:.3f}) seconds")
    if runner == "playwright":
        out = [f"Running {total} tests using 4 workers", ""]
        if failed:
            out += [f"  {failed} failed", "    [chromium] › checkout.spec.ts:14:5 › checkout completes"]
        out.append(f"  {passed} passed ({dur}s)")
        return "\n".join(out)
    return f"{passed} passed, {failed} failed"


def git_commit_output(rng: random.Random, branch: str, message: str, files: int) -> str:
    sha = f"{rng.getrandbits(28):07x}"
    ins, dels = rng.randint(4, 220), rng.randint(0, 90)
    return f"[{branch or 'main'} {sha}] {message}\n {files} files changed, {ins} insertions(+), {dels} deletions(-)"


def git_push_output(rng: random.Random, branch: str, repo: str) -> str:
    a, b = f"{rng.getrandbits(28):07x}", f"{rng.getrandbits(28):07x}"
    return f"To github.com:{repo}.git\n   {a}..{b}  {branch or 'main'} -> {branch or 'main'}"


COMMIT_MESSAGES = {
    "fix": ("Fix {thing}", "Handle missing values in {thing}", "Fix regression in {thing}"),
    "build": ("Add {thing}", "Implement {thing}", "Initial version of {thing}"),
    "test": ("Add tests for {thing}", "Stabilise {thing} tests"),
    "orchestrate": ("Add {thing}", "Automate {thing}"),
    "operate": ("Update deployment config for {thing}", "Configure {thing}"),
    "write": ("Add draft of {thing}", "Update {thing}"),
    "plan": ("Add design doc for {thing}",),
    "analyze": ("Add analysis of {thing}",),
    "understand": ("Add notes on {thing}",),
}

INSTALL_OUT = (
    "Collecting pandas\n  Using cached pandas-2.2.3-cp312-cp312-macosx_11_0_arm64.whl (11.3 MB)\nInstalling collected "
    "packages: pytz, tzdata, numpy, pandas\nSuccessfully installed numpy-2.1.3 pandas-2.2.3 pytz-2024.2 tzdata-2024.2",
    "\nadded 214 packages, and audited 215 packages in 6s\n\n41 packages are looking for funding\n  run `npm fund` for "
    "details\n\nfound 0 vulnerabilities",
    "Resolved 34 packages in 412ms\nInstalled 34 packages in 88ms",
    "==> Downloading https://ghcr.io/v2/homebrew/core/manifests/1.9.0\n==> Pouring bottle.arm64_sonoma.bottle.tar.gz\n"
    "🍺  installed",
)

DEPLOY_OUT = {
    "kubectl": "deployment.apps/api configured\nservice/api unchanged\ningress.networking.k8s.io/api unchanged",
    "vercel": "Vercel CLI 37.4.2\n🔍  Inspect: https://vercel.com/acme/web/9xQ2\n✅  Production: https://web-acme.vercel.app [42s]",
    "terraform": "Apply complete! Resources: 7 added, 0 changed, 0 destroyed.",
    "aws": "upload: dist/index.html to s3://site-prod-assets/index.html\nupload: dist/assets/index-C9gq1Bvl.js to "
           "s3://site-prod-assets/assets/index-C9gq1Bvl.js",
    "docker": "The push refers to repository [registry.example.com/api]\n1.14.2: digest: sha256:4f1c0e… size: 1786",
    "netlify": "Deploy is live!\nWebsite URL:       https://portfolio-demo.netlify.app",
    "certbot": "Successfully deployed certificate for app.example.org to /etc/nginx/sites-enabled/app.conf\n"
               "Congratulations! You have successfully enabled HTTPS on https://app.example.org",
}


def deploy_output(cmd: str) -> str:
    for key, out in DEPLOY_OUT.items():
        if key in cmd:
            return out
    return "done"


def analysis_table(rng: random.Random) -> str:
    months = ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08")
    rev = rng.uniform(80_000, 400_000)
    rows = ["     month     revenue  orders  growth"]
    for i, m in enumerate(months[: rng.randint(5, 8)]):
        g = rng.uniform(-0.08, 0.12)
        rev *= 1 + g
        rows.append(f"{i}  {m}  {rev:>10,.2f}  {rng.randint(800, 5000):>6}  {g if i else float('nan'):>6.3f}")
    stats = [f"\nrows: {rng.randint(5_000, 90_000):,}  refunds excluded: {rng.randint(10, 900)}",
             f"mean order value: {rng.uniform(20, 180):.2f}", f"p-value: {rng.uniform(0.001, 0.2):.4f}"]
    return "\n".join(rows + stats)
