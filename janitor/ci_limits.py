"""fetch-state's defaults and bounds, apart from janitor.ci_state so that building the command line (which
shows them in --help) does not import python-gitlab for every command."""

DEFAULT_JOB_NAME = "janitor:plan"
DEFAULT_ARTIFACT_PATH = "janitor-output/janitor-state.json"
# Ten pages of 100: a schedule's plan job is rarely further back than that, even in a busy project.
DEFAULT_MAX_JOBS = 1000
MAX_JOBS = 100_000
# A state file is one short line per pending item; 64 MiB is hundreds of thousands of items.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_BYTES = 1024 * 1024 * 1024
