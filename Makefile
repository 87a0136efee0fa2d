# Every target runs on the embedded local stack by default. Settings: .env.example, then .env over it (write
# only the lines you change); ENV_FILE=<file> reads that file alone (a deploy's settings must not inherit the
# local stack's endpoints); a variable set in the environment wins over any file. Point the *_ENDPOINT
# variables at nothing to use AWS. `make print-setting NAME=<variable>` shows the value the commands see.
# Locally, PORT_BASE moves every port, and each endpoint follows its port unless set (infra/local/ports.mjs,
# preloaded here once for every command; ENV_FILE is read as written).
SHELL := /bin/bash
PORTS_PRELOAD := $(dir $(abspath $(firstword $(MAKEFILE_LIST))))infra/local/ports-preload.mjs
ifdef ENV_FILE
NODE_OPTS := --env-file=$(ENV_FILE)
else
ENV_FILE := $(if $(wildcard .env),.env over .env.example,.env.example)
NODE_OPTS := --env-file=.env.example $(if $(wildcard .env),--env-file=.env) --import=$(PORTS_PRELOAD)
endif
TSX := node $(NODE_OPTS) --import tsx
## The built entry points (infra/bin.ts): the commands below run `node dist/bin/<name>.mjs`, bundled with
## esbuild by `make bin` when a file they are built from changed (dist/bin/deps.mk lists those files, as
## `cc -MD` would). tsx stays for development and tests.
BIN := dist/bin
bin = node $(NODE_OPTS) $(BIN)/$(1).mjs
# No built-in implicit rules: make would search them for every file deps.mk lists (~30 ms per command).
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

.PHONY: install bin up down clean logs status query backfill bench bench-receiver test demo typecheck send-alarm run

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

-include $(BIN)/deps.mk
$(BIN)/.built: package-lock.json tsconfig.json infra/bin.ts infra/lambda/bin-bundle.ts infra/lambda/bundle.ts infra/lambda/build.ts | node_modules/.package-lock.json
	@node --import tsx infra/lambda/build.ts --bin

## Build the entry points now (every target below does it when needed)
bin: $(BIN)/.built

## Local stack: kinesalite, s3rver, dynalite in the background (data under DATA_DIR), provisioned.
up: install bin
	$(call bin,stack) up

down: bin
	$(call bin,stack) down

status: bin
	$(call bin,stack) status

## The value a setting has for the commands here (environment, else .env, else .env.example; or ENV_FILE alone)
.PHONY: print-setting
print-setting:
	@node $(NODE_OPTS) -p 'process.env[process.argv[1]] ?? ""' '$(NAME)'

## Stop the stack, then remove DATA_DIR, QUERY_CACHE_DIR, .cache/, cdk.out/ and dist/ (and say which); the saved
## reports in reports/ are kept (infra/local/clean.ts)
clean: bin
	@$(call bin,stack) clean

## The local services' logs ($$DATA_DIR/logs), pretty-printed and followed: make logs [SERVICE=paging] [LINES=50] [FOLLOW=0]
## An unknown SERVICE lists the valid ones and fails (infra/local/logs.ts).
logs: install bin
	@files=$$($(call bin,stack) log-files "$(SERVICE)") || exit $$?; \
	tail -n $(or $(LINES),50) $(if $(filter 0,$(FOLLOW)),,-F) $$files | node_modules/.bin/pino-pretty --translateTime SYS:HH:MM:ss.l --ignore pid,hostname

## SQL over the lake: make query SQL="SELECT ..." | NAME=<named query>|list  [FORMAT=table|vertical|csv|json]
## (ENGINE=athena to run on Athena). table wraps long values, and prints rows wider than the terminal (120 columns
## when not a terminal) vertically; vertical: one "column: value" line per field (analysis/query/text-table.ts)
query: install bin
	$(call bin,query) --name="$$NAME" --format="$$FORMAT" -- "$$SQL"

## An incident's timeline in words, then its verdicts: make incident ID=<incident id or alarm name>
## (an alarm name picks its latest incident; FORMAT=json for JSON; TZ=Europe/Paris for local times, default UTC)
.PHONY: incident
incident: install bin
	$(call bin,incident) "$(ID)" $(if $(FORMAT),--format "$(FORMAT)") $(if $(TZ),--tz "$(TZ)")

## Static HTML report (overview + one page per incident, inline SVG charts) of the incidents opened in
## [FROM, TO) (ISO 8601; default the last 7 days), under OUT (default reports/<timestamp>/, kept by make clean);
## prints the folder.
## Times in TZ (default UTC). make report FROM=2026-11-28T00:00:00Z TO=2026-11-29T00:00:00Z
.PHONY: report
report: install bin
	@REPORT_FROM="$(FROM)" REPORT_TO="$(TO)" REPORT_OUT="$(OUT)" $(call bin,report)

## Replay what arrived in [FROM, TO) (ISO 8601; a day alone is its UTC midnight) through the lake processor:
## make backfill FROM=<day> TO=<day after>. Without FROM/TO it prints the days the raw archive holds; a range with
## no data exits 0 with a note on stderr naming them (processors/lake/archive-days.ts).
## Replay the batches the lake's event source mapping gave up on (failures/lake/): make backfill FAILURES=1
backfill: install bin
	$(call bin,backfill) $(if $(FAILURES),--failures $(if $(FAILURES_PREFIX),--failures-prefix "$(FAILURES_PREFIX)"),--from "$(FROM)" --to "$(TO)")

## Post a CloudWatch alarm event file, or a built-in sample that pages locally (SAMPLE=list lists them), to the
## running alarm endpoint (DIRECT=1 writes it to the stream): make send-alarm FILE=event.json | SAMPLE=rds-cpu;
## other sources' samples (schemas/fixtures/): SOURCE=alertmanager [SAMPLE=firing|partial|resolved] |
## SOURCE=events-v2 [SAMPLE=trigger|acknowledge|resolve] | SOURCE=sns [SAMPLE=alarm|ok|amp] (published to the
## simulator's local SNS topic, delivered signed to /events/sns) | SOURCE=heartbeat CHECK=<check id>
## [SAMPLE=checkin|watchdog] (a check-in of an on-call `heartbeats` check)
send-alarm: install bin
	$(call bin,send-alarm) $(if $(SOURCE),--source "$(SOURCE)") $(if $(CHECK),--check "$(CHECK)") \
	  $(if $(SAMPLE),--sample "$(SAMPLE)",$(if $(SOURCE),,"$(FILE)")) $(if $(DIRECT),--direct)

## A heartbeat check's check-in URL (GET or POST it), from HEARTBEAT_SECRET and PUBLIC_BASE_URL of the settings:
## make heartbeat-url CHECK=<check id>  (README "Heartbeats")
.PHONY: heartbeat-url
heartbeat-url: install bin
	@$(call bin,send-alarm) --source heartbeat --check "$(CHECK)" --print-url

## The services in the foreground against whatever the environment points at (what a container runs)
run: install bin
	$(call bin,run)

## --max-semi-space-size: a larger young generation halves scavenge time for the processor's
## short-lived rows (docs/adr/0001-parquet-writer.md); the lake service runs with the same flag.
bench: install
	node $(NODE_OPTS) --max-semi-space-size=64 --import tsx --expose-gc test/bench/bench.ts

## The webhook receiver under a storm of signed Twilio and Resend callbacks (a ramp of offered rates on
## its built bundle, the bare hono ceiling, every 2xx'd callback checked on the stream); prints a RESULT line
bench-receiver: install
	node --import tsx infra/lambda/build.ts receiver --out dist/local
	node $(NODE_OPTS) --import tsx test/bench/receiver.ts

typecheck: install
	npx tsc --noEmit -p .

## The whole suite, then its summary line ($(1): a word before it). VITEST_PREFIX: a command to run vitest under.
vitest = @mkdir -p .cache && rm -f .cache/vitest-results.json && $(VITEST_PREFIX) npx vitest run --reporter=default --reporter=json \
	--outputFile.json=.cache/vitest-results.json; rc=$$?; \
	node -e 'const r=require("./.cache/vitest-results.json"); \
	console.log(`$(1)$${r.numPassedTests} passed, $${r.numFailedTests} failed, $${r.numPendingTests} skipped`)'; \
	exit $$rc

## Every test: unit (in-process), integration (real engines, processes, bundles, CDK) and crash projects
## (vitest.config.ts); the formatter, linter and line width first.
test: install typecheck lint
	$(call vitest,)

## The in-process tests only (a few seconds): the loop to run while editing.
.PHONY: test-unit format lint
test-unit: install
	npx vitest run --project unit

## Format the tree (Biome, biome.jsonc); `make lint` checks it.
format: install
	npx biome format --write .

## Formatting, lint rules and the line width (120), as CI checks them; the layers are a test (test/layers.test.ts).
lint: install
	npx biome ci --reporter=summary --diagnostic-level=error .
	@git ls-files '*.ts' '*.mjs' '*.cjs' | xargs awk 'length > 120 { print FILENAME ":" FNR ": " length \
	  " characters (at most 120)"; bad = 1 } END { exit bad }'

## The whole suite again with the clock CLOCK_AHEAD ahead (Debian's faketime moves the clock of every
## process the tests start): no test may depend on the calendar. CI runs it after `make test` (.ci/run).
CLOCK_AHEAD ?= +400d
.PHONY: test-clock-ahead
test-clock-ahead: VITEST_PREFIX = faketime -f '$(CLOCK_AHEAD)'
test-clock-ahead: install
	@command -v faketime >/dev/null || { echo "test-clock-ahead needs faketime (apt-get install faketime)" >&2; exit 1; }
	@echo "the clock moved $(CLOCK_AHEAD): $$(faketime -f '$(CLOCK_AHEAD)' date -u +%FT%TZ)"
	$(call vitest,clock-ahead: )

demo: install bin
	$(call bin,demo)

## AWS deployment (infra/cdk, see infra/cdk/README.md). CDK_CONTEXT passes context, e.g.
## make deploy CDK_CONTEXT="-c stage=prod -c certificateArn=arn:aws:acm:... -c domain=pagetrail.example.com"
## `lambdas` bundles the Lambda functions (paging, lake, alarm-intake) with esbuild into dist/lambda/<name>/index.mjs (offline,
## no Docker); synth and deploy build them first and the stack uses them as they are.
.PHONY: lambdas synth deploy
CDK := CDK_DISABLE_CLI_TELEMETRY=true npx --no-install cdk
lambdas: install
	node --import tsx infra/lambda/build.ts

synth: install lambdas
	$(CDK) synth --quiet --no-notices $(CDK_CONTEXT)
	@echo "templates in cdk.out/"

deploy: install lambdas
	$(CDK) deploy --no-notices --require-approval broadening $(CDK_CONTEXT)

## The paging path under an alert storm with faults (a benchmark; prints a RESULT line)
.PHONY: storm
storm: install
	node --import tsx infra/lambda/build.ts paging-service lake-service --out dist/local
	node $(NODE_OPTS) --import tsx test/bench/storm.ts

## The monthly AWS cost per service (infra/cost): from the last storm's calls and bytes per alarm
## (.cache/storm/last.json, else infra/cost/measured.json) and infra/cost/prices.json (us-east-1, dated):
## make cost [ALARMS_PER_MONTH=10000000] [PEOPLE=50] [PAGES_PER_ALARM=3] [RECEIPTS_PER_PAGE=2]
.PHONY: cost
cost: install
	@node --import tsx infra/cost/cli.ts

## The local stack (its own DATA_DIR and free ports) under traffic while each engine in turn is stopped and
## restarted — stream, tables, bucket, Scheduler —, the provider hung, then refusing, and a second lake writer
## runs (a benchmark; prints a RESULT line, exits 1 on a missed target). Settings: test/bench/chaos-plan.ts
.PHONY: chaos
chaos: install
	node $(NODE_OPTS) --import tsx test/bench/chaos.ts

## The stage's provider secrets in Secrets Manager, from TWILIO_AUTH_TOKEN, RESEND_API_KEY and RESEND_WEBHOOK_SECRET:
## make secrets STAGE=prod ENV_FILE=.env.prod  (prints name, created|updated|unchanged|kept and ARN; never a value)
.PHONY: secrets providers
secrets: install
	$(TSX) infra/deploy/secrets-cli.ts --stage "$(STAGE)"

## Point the on-call file's Twilio numbers, WhatsApp sender and Messaging Service, and the Resend webhook, at the
## stage's receiver (PUBLIC_BASE_URL), idempotently; prints each change as old → new:
## make providers STAGE=prod ENV_FILE=.env.prod [FILE=oncall.json] [DRY_RUN=1] [NO_SECRET=1]
providers: install
	$(TSX) infra/deploy/providers-cli.ts --stage "$(STAGE)" $(if $(FILE),--file "$(FILE)") \
	  $(if $(DRY_RUN),--dry-run) $(if $(NO_SECRET),--no-secret)

## End-to-end check of the stage the environment points at: a synthetic alarm for the `smoke` team, then its
## page, delivery receipt and lake row, each with its latency; then it resolves the alarm. Exit 1 names the
## missing step. make smoke [DIRECT=1]  (SMOKE_TIMEOUT_S, default 180; infra/deploy/smoke.ts)
.PHONY: smoke
smoke: install bin
	$(call bin,smoke) $(if $(DIRECT),--direct)

## API keys of the incident API (/api/v1) in CONSOLE_AUTH_TABLE; the key is printed once, stored as its SHA-256:
## make api-key NAME=ci-bot TEAMS=app,db [ACTIONS=read,acknowledge,resolve,note] | LIST=1 | REVOKE=<id>
.PHONY: api-key
api-key: install
	@$(TSX) infra/console/api-key.ts $(if $(LIST),--list) $(if $(REVOKE),--revoke "$(REVOKE)") \
		$(if $(NAME),--name "$(NAME)") $(if $(TEAMS),--teams "$(TEAMS)") $(if $(ACTIONS),--actions "$(ACTIONS)")

## Once, after the deploy that added the incidents table's list index: index the incidents written before it
## (infra/console/incident-index.ts; without it they are listed at their next write, or age out by TTL)
.PHONY: incident-index
incident-index: install
	@$(TSX) infra/console/incident-index.ts

## A person's console sessions: make sessions PERSON=alice [REVOKE=1] (REVOKE=1 ends them all)
.PHONY: sessions
sessions: install
	@$(TSX) infra/console/sessions.ts $(if $(PERSON),--person "$(PERSON)") $(if $(REVOKE),--revoke)

## Who is on call for each team and escalation level at AT (ISO 8601, default now), schedules resolved:
## make oncall [AT=2026-12-24T20:00:00+01:00] [FILE=infra/local/oncall/example-teams.json] (default ONCALL_FILE)
.PHONY: oncall oncall-check
oncall: install bin
	@$(call bin,oncall) --at "$(or $(AT),now)" $(if $(FILE),--file "$(FILE)")

## Validate the on-call file without starting anything; every problem at once, one line each (file: path: problem);
## schedules' coverage gaps over WEEKS (default 2) from AT (default now): make oncall-check [FILE=…] [WEEKS=2] [AT=…]
oncall-check: install bin
	@$(call bin,oncall-check) $(if $(FILE),--file "$(FILE)") $(if $(WEEKS),--weeks "$(WEEKS)") $(if $(AT),--at "$(AT)")
